//! Membership on a real etcd (started by `support::EtcdServer`): join, list
//! and leave; members seeing each other; a member that stops keeping its
//! lease alive expiring within TTL + 1 s; etcd down: the lease lost after
//! the TTL and `health()` saying so; etcd back: rejoin.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use steadfast_etcd::EtcdStore;
use steadfast_runtime::health::health;
use steadfast_runtime::membership::{Membership, MembershipEvent, MembershipStore};
use support::EtcdServer;
use tokio::sync::broadcast;
use tokio::time::timeout;

/// etcd's smallest TTL with its default settings.
const TTL: Duration = Duration::from_secs(2);

fn store(server: &EtcdServer) -> Arc<dyn MembershipStore> {
    Arc::new(EtcdStore::new([server.endpoint()]))
}

/// The next event, within `within`.
async fn next_event(
    events: &mut broadcast::Receiver<MembershipEvent>,
    within: Duration,
) -> MembershipEvent {
    timeout(within, events.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within {within:?}"))
        .expect("the channel is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_list_leave() {
    let server = EtcdServer::start();
    let store = store(&server);
    let a = Membership::join(store.clone(), "workers", "a", TTL)
        .await
        .unwrap();
    assert_eq!(a.lease().ttl, TTL);
    assert_eq!(a.members().await.unwrap(), ["a"]);
    // Kept alive for twice the TTL.
    tokio::time::sleep(TTL * 2).await;
    assert!(a.lease_alive());
    assert_eq!(a.members().await.unwrap(), ["a"]);
    let line = health()
        .memberships
        .into_iter()
        .find(|m| m.group == "workers" && m.member == "a")
        .expect("listed in health()");
    assert!(line.lease_alive);
    assert_eq!(line.live_members, 1);
    assert_eq!(line.ttl, TTL);
    assert!(line.last_keep_alive.unwrap() < TTL, "{line:?}");
    let json = serde_json::to_value(&line).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "group",
            "last_keep_alive_ms_ago",
            "lease",
            "lease_alive",
            "live_members",
            "member",
            "ttl_ms"
        ]
    );
    assert_eq!(json["ttl_ms"], 2000);
    assert_eq!(json["group"], "workers");
    a.leave().await.unwrap();
    assert!(store.list("workers").await.unwrap().members.is_empty());
    assert!(
        !health()
            .memberships
            .iter()
            .any(|m| m.group == "workers" && m.member == "a")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_see_each_other() {
    let server = EtcdServer::start();
    let store = store(&server);
    let a = Membership::join(store.clone(), "pair", "a", TTL)
        .await
        .unwrap();
    let mut a_events = a.subscribe();
    let b = Membership::join(store.clone(), "pair", "b", TTL)
        .await
        .unwrap();
    assert_eq!(b.known_members(), ["a", "b"]);
    assert_eq!(
        next_event(&mut a_events, TTL).await,
        MembershipEvent::Joined { member: "b".into() }
    );
    assert_eq!(a.known_members(), ["a", "b"]);
    assert_eq!(a.members().await.unwrap(), ["a", "b"]);
    let mut b_events = b.subscribe();
    a.leave().await.unwrap();
    assert_eq!(
        next_event(&mut b_events, TTL).await,
        MembershipEvent::Left { member: "a".into() }
    );
    assert_eq!(b.members().await.unwrap(), ["b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_keeping_alive_expires_within_ttl_plus_1s() {
    let server = EtcdServer::start();
    let store = store(&server);
    let a = Membership::join(store.clone(), "crash", "a", TTL)
        .await
        .unwrap();
    let mut events = a.subscribe();
    let b = Membership::join(store.clone(), "crash", "b", TTL)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut events, TTL).await,
        MembershipEvent::Joined { member: "b".into() }
    );
    // As a crash: no more keep-alives, no revoke.
    let stopped = Instant::now();
    b.abandon().await;
    assert_eq!(
        next_event(&mut events, TTL + Duration::from_secs(1)).await,
        MembershipEvent::Expired { member: "b".into() }
    );
    let detected = stopped.elapsed();
    println!("expiry detected {detected:?} after the keep-alive stopped (TTL {TTL:?})");
    assert!(detected <= TTL + Duration::from_secs(1), "{detected:?}");
    assert_eq!(a.known_members(), ["a"]);
    assert_eq!(a.members().await.unwrap(), ["a"]);
    assert!(a.lease_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_down_loses_the_lease_after_the_ttl_and_back_rejoins() {
    let mut server = EtcdServer::start();
    let store = store(&server);
    let a = Membership::join(store.clone(), "outage", "a", TTL)
        .await
        .unwrap();
    let first = a.lease();
    let mut events = a.subscribe();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let down = Instant::now();
    server.kill();
    assert_eq!(
        next_event(&mut events, TTL + Duration::from_secs(1)).await,
        MembershipEvent::LeaseLost { lease: first.id }
    );
    let lost = down.elapsed();
    println!("lease declared lost {lost:?} after etcd was killed (TTL {TTL:?})");
    // A TTL after the last refresh that was sent, never later.
    assert!(lost <= TTL, "{lost:?}");
    assert!(!a.lease_alive());
    let line = health()
        .memberships
        .into_iter()
        .find(|m| m.group == "outage")
        .expect("listed in health()");
    assert!(!line.lease_alive, "{line:?}");
    assert!(line.last_keep_alive.unwrap() >= lost, "{line:?}");
    assert!(a.members().await.is_err(), "etcd is down");

    // Down for longer than the TTL; back with its data: it restores the old
    // lease, which the membership revokes before joining under a new one.
    tokio::time::sleep(TTL).await;
    let back = Instant::now();
    server.restart();
    let MembershipEvent::Rejoined { lease } = next_event(&mut events, TTL * 5).await else {
        panic!("not a rejoin");
    };
    println!(
        "rejoined {:?} after etcd was restarted (restart itself included)",
        back.elapsed()
    );
    assert_ne!(lease, first.id);
    assert!(a.lease_alive());
    assert_eq!(a.members().await.unwrap(), ["a"]);
    assert!(
        health()
            .memberships
            .iter()
            .any(|m| m.group == "outage" && m.lease_alive && m.lease == lease)
    );
    // And stays alive.
    tokio::time::sleep(TTL * 2).await;
    assert!(a.lease_alive());
    assert_eq!(a.lease().id, lease);
    // Others joining after the restart see it.
    let b = Membership::join(store.clone(), "outage", "b", TTL)
        .await
        .unwrap();
    assert_eq!(b.known_members(), ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etcd_restart_shorter_than_the_ttl_keeps_the_lease() {
    let mut server = EtcdServer::start();
    let store = store(&server);
    let ttl = Duration::from_secs(6);
    let a = Membership::join(store.clone(), "blip", "a", ttl)
        .await
        .unwrap();
    let first = a.lease();
    let mut events = a.subscribe();
    let started = Instant::now();
    server.restart();
    println!("etcd restarted in {:?}", started.elapsed());
    // etcd restores the lease (with a full TTL); the keep-alive reconnects.
    tokio::time::sleep(ttl * 2).await;
    assert!(a.lease_alive());
    assert_eq!(a.lease().id, first.id);
    assert!(events.try_recv().is_err(), "no event: nothing was lost");
    assert_eq!(a.members().await.unwrap(), ["a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_with_etcd_down_fails_clearly() {
    let mut server = EtcdServer::start();
    let store = store(&server);
    server.kill();
    let error = Membership::join(store, "nobody", "a", TTL)
        .await
        .unwrap_err();
    println!("{error}");
    assert!(
        error.to_string().starts_with("membership store: store "),
        "{error}"
    );
}
