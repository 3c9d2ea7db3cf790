//! `kill -9` of Redis under shared circuit breakers: each follows its
//! `on_store_error` within one sync interval and one store timeout (closed
//! rejects with `StoreUnavailable`, open admits, local decides in process
//! and can open by itself), no call waits on the store, and after Redis
//! restarts every breaker follows the shared state again (a failure seen by
//! another process opens it for all).

mod support;

use std::time::{Duration, Instant};

use steadfast::circuit_breaker::State;
use steadfast::store::OnStoreError;
use steadfast::{CircuitBreaker, Rejected};
use support::{CallError, RedisServer, call_through, leak_store};

const SYNC_INTERVAL: Duration = Duration::from_millis(50);
const STORE_TIMEOUT: Duration = Duration::from_millis(100);
/// What a loaded two-core machine may add before a sync's answer shows.
const SLACK: Duration = Duration::from_millis(150);

/// A registered breaker named `name` on its own store (a process of its
/// own): 5 failures of 10 open it, for a minute.
fn breaker(url: &str, name: &'static str, on_error: OnStoreError) -> &'static CircuitBreaker {
    let store = leak_store(url);
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::builder()
            .name(name)
            .window_calls(10)
            .min_calls(5)
            .failure_ratio(0.5)
            .open_for(Duration::from_secs(60))
            .store(store)
            .on_store_error(on_error)
            .sync_interval(SYNC_INTERVAL)
            .store_timeout(STORE_TIMEOUT)
            .build(),
    ));
    breaker.register();
    breaker
}

/// Calls `breaker` every 5 ms until `check` holds, or panics after
/// `within`; returns how long it took. Every call must return at once.
async fn until(
    breaker: &CircuitBreaker,
    fail: bool,
    within: Duration,
    what: &str,
    check: impl Fn(&Result<(), CallError>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let asked = Instant::now();
        let result = call_through(breaker, fail).await;
        assert!(
            asked.elapsed() < Duration::from_millis(20),
            "{what}: a call waited {:?}",
            asked.elapsed()
        );
        if check(&result) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() <= within,
            "{what}: not within {within:?} (last {result:?})"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_breaker_follows_on_store_error_and_resumes_after_a_restart() {
    let mut server = RedisServer::start();
    let url = server.url();
    let closed = breaker(&url, "failover-closed", OnStoreError::Closed);
    let open = breaker(&url, "failover-open", OnStoreError::Open);
    let local = breaker(&url, "failover-local", OnStoreError::Local);
    // Up: every breaker admits, and its syncer reaches the store.
    let bound = SYNC_INTERVAL + STORE_TIMEOUT + SLACK;
    for b in [closed, open, local] {
        until(b, false, bound, "up", |r| r.is_ok()).await;
        tokio::time::sleep(SYNC_INTERVAL * 2).await;
        assert!(b.store_healthy() && b.store_failures() == 0, "{}", b.name());
    }

    server.stop();
    let killed = Instant::now();
    // Closed: StoreUnavailable within one interval and one timeout.
    let took = until(closed, false, bound, "closed", |r| {
        *r == Err(CallError::Rejected(Rejected::store_unavailable(
            "failover-closed",
        )))
    })
    .await;
    println!("closed: rejecting {took:?} after the kill");
    // Open: admits throughout, failures included (nothing opens it).
    for _ in 0..20 {
        assert_eq!(call_through(open, true).await, Err(CallError::Upstream));
    }
    assert_eq!(call_through(open, false).await, Ok(()));
    assert_eq!(open.state(), State::Closed);
    // Local: decides in process, so its own window opens it.
    until(local, true, bound, "local opens by itself", |r| {
        matches!(r, Err(CallError::Rejected(Rejected::CircuitOpen { .. })))
    })
    .await;
    for b in [closed, open, local] {
        assert!(!b.store_healthy() && b.store_failures() > 0, "{}", b.name());
    }
    println!(
        "all three followed on_store_error {:?} after the kill",
        killed.elapsed()
    );

    server.restart();
    let restarted = Instant::now();
    // Back: every breaker follows the store again, which (restarted empty)
    // says closed: even the locally opened breaker admits.
    let recovery = Duration::from_secs(3);
    until(closed, false, recovery, "closed resumes", |r| r.is_ok()).await;
    until(local, false, recovery, "local resumes", |r| r.is_ok()).await;
    for b in [closed, open, local] {
        let start = Instant::now();
        while !b.store_healthy() {
            assert!(
                start.elapsed() < recovery,
                "{}: store not healthy again",
                b.name()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    println!("shared again {:?} after the restart", restarted.elapsed());
    // Shared again: another process's failures open the fail-open breaker.
    let other = breaker(&url, "failover-open", OnStoreError::Open);
    for _ in 0..10 {
        let _ = call_through(other, true).await;
    }
    until(
        open,
        false,
        bound * 2,
        "open follows the shared state",
        |r| matches!(r, Err(CallError::Rejected(Rejected::CircuitOpen { .. }))),
    )
    .await;
}
