//! The store when Redis is down, silent, killed and restarted: every call
//! ends within the store's timeout, and the same store works again once a
//! server is back, without being rebuilt.

mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use steadfast_redis::RedisStore;
use steadfast_runtime::store::{RateDecision, RateSpec, RateStore, StoreError, StoreErrorKind};
use support::{RedisServer, free_port};

const TIMEOUT: Duration = Duration::from_millis(100);
/// What a loaded two-core machine may add to a timeout before the call
/// returns.
const SLACK: Duration = Duration::from_millis(150);

fn spec() -> RateSpec {
    RateSpec::new(100, Duration::from_secs(1), 10, Duration::ZERO)
}

/// One call, timed; it must end within the timeout (plus slack).
async fn timed_take(store: &RedisStore) -> (Result<RateDecision, StoreError>, Duration) {
    let start = Instant::now();
    let result = store.take("failover", spec()).await;
    let elapsed = start.elapsed();
    assert!(
        elapsed <= TIMEOUT + SLACK,
        "a call took {elapsed:?} (timeout {TIMEOUT:?}): {result:?}"
    );
    (result, elapsed)
}

fn down(result: &Result<RateDecision, StoreError>) -> bool {
    matches!(
        result.as_ref().map_err(StoreError::kind),
        Err(StoreErrorKind::Unavailable | StoreErrorKind::Timeout)
    )
}

/// Nothing listens on the port: every call fails at once as unavailable (or
/// at worst times out), and keeps doing so.
#[tokio::test]
async fn nothing_on_the_port_fails_within_the_timeout() {
    let store = RedisStore::new(&format!("redis://127.0.0.1:{}", free_port()))
        .unwrap()
        .with_timeout(TIMEOUT);
    for _ in 0..3 {
        let (result, _) = timed_take(&store).await;
        assert!(down(&result), "{result:?}");
    }
}

/// A server that accepts connections and never answers: the call times out
/// at the store's timeout, not later, and so does the next one. (The next
/// one may also fail at once with the timeout the connection's own connect
/// attempt recorded when it ran out in the same instant as the first call:
/// a timeout, never later; so only the first is held to "not earlier".)
#[tokio::test]
async fn a_silent_server_times_out() {
    // Connections complete in the listener's backlog; nothing reads them.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = RedisStore::new(&format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(TIMEOUT);
    for call in 0..2 {
        let (result, elapsed) = timed_take(&store).await;
        assert_eq!(
            result.as_ref().map_err(StoreError::kind),
            Err(StoreErrorKind::Timeout),
            "{result:?}"
        );
        if call == 0 {
            assert!(elapsed >= TIMEOUT - Duration::from_millis(5), "{elapsed:?}");
        }
    }
    drop(listener);
}

/// Built while Redis is down (nothing is connected at construction), the
/// store fails its calls, then works once the server is up.
#[tokio::test]
async fn a_store_built_while_redis_is_down_connects_on_first_use() {
    let mut server = RedisServer::start();
    server.stop();
    let store = RedisStore::new(&server.url())
        .unwrap()
        .with_timeout(TIMEOUT);
    let (result, _) = timed_take(&store).await;
    assert!(down(&result), "{result:?}");
    server.restart();
    let (result, _) = timed_take(&store).await;
    assert_eq!(result, Ok(RateDecision::Admitted));
}

/// `kill -9` of the server: calls fail within the timeout, none hangs; once
/// a server is back on the port, the same store decides again (its script
/// loaded anew: the new server's script cache is empty).
#[tokio::test]
async fn kill_9_then_restart_and_the_store_works_again() {
    let mut server = RedisServer::start();
    let store = RedisStore::new(&server.url())
        .unwrap()
        .with_timeout(TIMEOUT);
    let (result, _) = timed_take(&store).await;
    assert_eq!(result, Ok(RateDecision::Admitted));

    server.stop();
    for _ in 0..3 {
        let (result, _) = timed_take(&store).await;
        assert!(down(&result), "{result:?}");
    }

    let restarted = Instant::now();
    server.restart();
    let up = Instant::now();
    let mut failed_after_restart = 0;
    let result = loop {
        let (result, _) = timed_take(&store).await;
        if !down(&result) || up.elapsed() > Duration::from_secs(3) {
            break result;
        }
        // At most the call that finds the old connection dead.
        failed_after_restart += 1;
    };
    assert_eq!(result, Ok(RateDecision::Admitted));
    assert!(
        failed_after_restart <= 1,
        "{failed_after_restart} calls failed"
    );
    eprintln!(
        "restart took {:?}; the store decided again {:?} after it, {failed_after_restart} call(s) failing first",
        up - restarted,
        up.elapsed()
    );
    // The limiter state went with the old server: a full bucket again.
    for _ in 0..9 {
        assert_eq!(timed_take(&store).await.0, Ok(RateDecision::Admitted));
    }
    assert!(matches!(
        timed_take(&store).await.0,
        Ok(RateDecision::Rejected { .. })
    ));
}

/// A store outlives the runtime it first connected on: a connection belongs
/// to its runtime, so the next runtime gets its own.
#[test]
fn one_store_serves_successive_runtimes() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url())
        .unwrap()
        .with_timeout(TIMEOUT);
    for round in 0..3 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let decision = runtime.block_on(store.take("runtimes", spec()));
        assert_eq!(decision, Ok(RateDecision::Admitted), "runtime {round}");
    }
}
