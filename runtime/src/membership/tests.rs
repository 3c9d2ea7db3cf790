//! The membership's logic against the in-memory store, on paused time.

use std::sync::Arc;

use core::time::Duration;
use tokio::sync::broadcast;
use tokio::time::{Instant, sleep, timeout};

use super::memory::MemoryStore;
use super::*;

const TTL: Duration = Duration::from_secs(3);

fn store() -> (MemoryStore, Arc<dyn MembershipStore>) {
    let store = MemoryStore::default();
    (store.clone(), Arc::new(store))
}

/// The next event, within `within`.
async fn next_event(
    events: &mut broadcast::Receiver<MembershipEvent>,
    within: Duration,
) -> MembershipEvent {
    timeout(within, events.recv())
        .await
        .expect("an event in time")
        .expect("the channel is open")
}

#[tokio::test(start_paused = true)]
async fn join_list_leave() {
    let (_, store) = store();
    let a = Membership::join(store.clone(), "g1", "a", TTL)
        .await
        .unwrap();
    assert_eq!(a.members().await.unwrap(), ["a"]);
    assert_eq!(a.known_members(), ["a"]);
    assert!(a.lease_alive());
    // Kept alive well past the TTL.
    sleep(TTL * 4).await;
    assert_eq!(a.members().await.unwrap(), ["a"]);
    assert!(a.lease_alive());
    a.leave().await.unwrap();
    assert!(store.list("g1").await.unwrap().members.is_empty());
}

#[tokio::test(start_paused = true)]
async fn members_see_each_other_join_and_leave() {
    let (_, store) = store();
    let a = Membership::join(store.clone(), "g2", "a", TTL)
        .await
        .unwrap();
    let mut events = a.subscribe();
    let b = Membership::join(store.clone(), "g2", "b", TTL)
        .await
        .unwrap();
    assert_eq!(b.known_members(), ["a", "b"]);
    assert_eq!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Joined { member: "b".into() }
    );
    assert_eq!(a.known_members(), ["a", "b"]);
    b.leave().await.unwrap();
    assert_eq!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Left { member: "b".into() }
    );
    assert_eq!(a.known_members(), ["a"]);
}

#[tokio::test(start_paused = true)]
async fn a_member_that_stops_keeping_alive_expires_within_the_ttl() {
    let (_, store) = store();
    let a = Membership::join(store.clone(), "g3", "a", TTL)
        .await
        .unwrap();
    let mut events = a.subscribe();
    let b = Membership::join(store.clone(), "g3", "b", TTL)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Joined { member: "b".into() }
    );
    let start = Instant::now();
    b.abandon().await;
    assert_eq!(
        next_event(&mut events, TTL + Duration::from_secs(1)).await,
        MembershipEvent::Expired { member: "b".into() }
    );
    // Its last keep-alive was at most a third of the TTL before it stopped.
    assert!(start.elapsed() <= TTL, "{:?}", start.elapsed());
    assert_eq!(a.known_members(), ["a"]);
    assert!(a.lease_alive());
}

#[tokio::test(start_paused = true)]
async fn store_down_loses_the_lease_after_the_ttl_then_rejoins() {
    let (memory, store) = store();
    let a = Membership::join(store.clone(), "g4", "a", TTL)
        .await
        .unwrap();
    let first = a.lease();
    let mut events = a.subscribe();
    let mut alive = a.lease_watch();
    sleep(Duration::from_millis(100)).await;
    memory.set_down(true);
    let down = Instant::now();
    assert_eq!(
        next_event(&mut events, TTL * 2).await,
        MembershipEvent::LeaseLost { lease: first.id }
    );
    // Declared lost when a TTL has passed since the last refresh was sent:
    // no later than a TTL after the store went down.
    assert!(down.elapsed() <= TTL, "{:?}", down.elapsed());
    assert!(!*alive.borrow_and_update());
    assert!(!a.lease_alive());
    let line = crate::health::health()
        .memberships
        .into_iter()
        .find(|m| m.group == "g4")
        .unwrap();
    assert!(!line.lease_alive);
    assert!(line.last_keep_alive.unwrap() >= TTL - Duration::from_millis(100));
    memory.set_down(false);
    let MembershipEvent::Rejoined { lease } = next_event(&mut events, TTL).await else {
        panic!("not a rejoin");
    };
    assert_ne!(lease, first.id);
    assert!(a.lease_alive());
    assert!(*alive.borrow_and_update());
    assert_eq!(a.lease().id, lease);
    assert_eq!(a.members().await.unwrap(), ["a"]);
}

#[tokio::test(start_paused = true)]
async fn a_lease_the_store_forgot_is_lost_at_the_next_keep_alive() {
    let (memory, store) = store();
    let a = Membership::join(store.clone(), "g5", "a", TTL)
        .await
        .unwrap();
    let mut events = a.subscribe();
    memory.drop_lease(a.lease().id);
    let start = Instant::now();
    assert!(matches!(
        next_event(&mut events, TTL).await,
        MembershipEvent::LeaseLost { .. }
    ));
    assert!(start.elapsed() <= TTL / 3 + Duration::from_millis(10));
    assert!(matches!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Rejoined { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_watch_that_fails_is_resynced_by_listing() {
    let (memory, store) = store();
    let a = Membership::join(store.clone(), "g6", "a", TTL)
        .await
        .unwrap();
    let mut events = a.subscribe();
    let b = Membership::join(store.clone(), "g6", "b", TTL)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Joined { member: "b".into() }
    );
    // b stops (without revoking); the store is down for less than the
    // TTL: a's watch breaks, a's lease survives; b's lease goes meanwhile.
    let b_lease = b.lease().id;
    b.abandon().await;
    memory.set_down(true);
    sleep(Duration::from_millis(500)).await;
    memory.drop_lease(b_lease);
    memory.set_down(false);
    // b's key went while a's watch was down: the relist reports it.
    assert_eq!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Expired { member: "b".into() }
    );
    assert!(a.lease_alive());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_leaves() {
    let (_, store) = store();
    let a = Membership::join(store.clone(), "g7", "a", TTL)
        .await
        .unwrap();
    let mut events = a.subscribe();
    let b = Membership::join(store.clone(), "g7", "b", TTL)
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Joined { .. }
    ));
    assert!(
        crate::health::health()
            .memberships
            .iter()
            .any(|m| m.group == "g7" && m.member == "b")
    );
    drop(b);
    assert_eq!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Left { member: "b".into() }
    );
    assert!(
        !crate::health::health()
            .memberships
            .iter()
            .any(|m| m.group == "g7" && m.member == "b")
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_names_are_refused() {
    let (_, store) = store();
    for (group, member, ttl) in [
        ("", "a", TTL),
        ("a/b", "a", TTL),
        ("g", "", TTL),
        ("g", "a", Duration::ZERO),
    ] {
        let error = Membership::join(store.clone(), group, member, ttl)
            .await
            .unwrap_err();
        assert!(matches!(error, MembershipError::Invalid { .. }), "{error}");
    }
    assert!(store.list("g").await.unwrap().members.is_empty());
}

#[tokio::test(start_paused = true)]
async fn join_fails_clearly_when_the_store_is_down() {
    let (memory, store) = store();
    memory.set_down(true);
    let error = Membership::join(store, "g8", "a", TTL).await.unwrap_err();
    assert!(
        matches!(&error, MembershipError::Store(e) if e.kind() == crate::store::StoreErrorKind::Unavailable),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "membership store: store unavailable: store down"
    );
}
