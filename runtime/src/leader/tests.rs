//! The election's rules on an in-memory store, under paused time.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use core::time::Duration;
use tokio::time::{Instant, sleep};

use super::memory::Memory;
use super::*;

const TTL: Duration = Duration::from_secs(3);

/// One store for the whole test binary (the store is process-wide); each
/// test uses its own election names.
fn store() -> Memory {
    static STORE: OnceLock<Memory> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let store = Memory::default();
            install_as(store.clone(), "me");
            store
        })
        .clone()
}

#[tokio::test(start_paused = true)]
async fn the_body_runs_with_a_token_and_resigns_at_its_end() {
    let store = store();
    static L: Leader = Leader::new("t-resign", TTL);
    let token = L.run(async { fencing_token() }).await.unwrap();
    assert!(token.is_some());
    assert_eq!(store.lease_of("t-resign"), None, "resigned");
    let again = L.run(async { fencing_token() }).await.unwrap();
    assert!(again > token, "{again:?} > {token:?}");
    assert_eq!(fencing_token(), None);
}

#[tokio::test(start_paused = true)]
async fn a_second_call_is_refused_with_the_holder() {
    store();
    static L: Leader = Leader::new("t-refused", TTL);
    let first = tokio::spawn(L.run(sleep(Duration::from_secs(10))));
    sleep(Duration::from_millis(10)).await;
    let second = L.run(async {}).await;
    assert_eq!(
        second,
        Err(Rejected::not_leader("t-refused", Some("me".into())))
    );
    let line = crate::health::health()
        .elections
        .into_iter()
        .find(|e| e.name == "t-refused")
        .unwrap();
    assert!(line.is_leader);
    assert_eq!(line.holder.as_deref(), Some("me"));
    assert!(line.token.is_some() && line.lease.is_some());
    // Held past several TTLs: the keep-alive works.
    assert_eq!(first.await.unwrap(), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn with_wait_a_call_wins_when_the_holder_resigns() {
    store();
    static L: Leader = Leader::new("t-wait", TTL);
    static W: Leader = Leader::new("t-wait", TTL).wait(Duration::from_secs(5));
    let first = tokio::spawn(L.run(async {
        sleep(Duration::from_secs(2)).await;
        fencing_token().unwrap()
    }));
    sleep(Duration::from_millis(10)).await;
    let start = Instant::now();
    let second = W.run(async { fencing_token().unwrap() }).await.unwrap();
    let waited = start.elapsed();
    let first = first.await.unwrap().unwrap();
    assert!(second > first);
    assert!(
        waited >= Duration::from_millis(1900) && waited <= Duration::from_millis(2200),
        "{waited:?}"
    );
    // A wait that ends first is refused.
    static SHORT: Leader = Leader::new("t-wait", TTL).wait(Duration::from_millis(300));
    let held = tokio::spawn(L.run(sleep(Duration::from_secs(1))));
    sleep(Duration::from_millis(10)).await;
    assert!(matches!(
        SHORT.run(async {}).await,
        Err(Rejected::NotLeader { .. })
    ));
    held.await.unwrap().unwrap();
}

/// Sets a flag when dropped: the body was cancelled.
struct Dropped<'a>(&'a AtomicBool);
impl Drop for Dropped<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn a_lease_that_cannot_be_refreshed_cancels_the_body_within_the_ttl() {
    let store = store();
    static L: Leader = Leader::new("t-cut", TTL);
    let dropped = AtomicBool::new(false);
    let start = Instant::now();
    let call = L.run(async {
        let _guard = Dropped(&dropped);
        sleep(Duration::from_secs(60)).await;
    });
    let cut = async {
        sleep(Duration::from_millis(10)).await;
        store.cut_off(store.lease_of("t-cut").unwrap());
    };
    let (out, ()) = tokio::join!(call, cut);
    assert_eq!(out, Err(Rejected::leadership_lost("t-cut")));
    assert!(dropped.load(Ordering::SeqCst));
    assert!(start.elapsed() <= TTL, "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_revoked_lease_cancels_the_body_at_the_next_refresh() {
    let store = store();
    static L: Leader = Leader::new("t-revoked", TTL);
    let call = L.run(sleep(Duration::from_secs(60)));
    let revoke = async {
        sleep(Duration::from_millis(10)).await;
        store.revoke_now(store.lease_of("t-revoked").unwrap());
    };
    let start = Instant::now();
    let (out, ()) = tokio::join!(call, revoke);
    assert_eq!(out, Err(Rejected::leadership_lost("t-revoked")));
    assert!(start.elapsed() <= TTL / 3 + Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_resigns_in_the_background() {
    let store = store();
    static L: Leader = Leader::new("t-dropped", TTL);
    let call = tokio::spawn(L.run(sleep(Duration::from_secs(60))));
    sleep(Duration::from_millis(10)).await;
    assert!(store.lease_of("t-dropped").is_some());
    call.abort();
    let _ = call.await;
    sleep(Duration::from_millis(10)).await;
    assert_eq!(store.lease_of("t-dropped"), None);
    let line = crate::health::health()
        .elections
        .into_iter()
        .find(|e| e.name == "t-dropped")
        .unwrap();
    assert!(!line.is_leader && line.lease.is_none(), "{line:?}");
}

#[tokio::test(start_paused = true)]
async fn a_paused_process_drops_the_body_without_polling_it_again() {
    // A process stopped past its deadline: the clock jumps, nothing ran.
    store();
    static L: Leader = Leader::new("t-paused", TTL);
    let polls_after = std::sync::atomic::AtomicU32::new(0);
    let call = L.run(async {
        sleep(Duration::from_millis(500)).await;
        // The pause: blocks the thread (tokio's paused clock jumps).
        tokio::time::advance(TTL * 2).await;
        sleep(Duration::from_millis(1)).await;
        polls_after.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(call.await, Err(Rejected::leadership_lost("t-paused")));
    assert_eq!(polls_after.load(Ordering::SeqCst), 0);
}
