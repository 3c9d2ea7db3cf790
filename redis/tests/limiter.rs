//! `#[rate_limit(shared = …)]` over a limiter whose store is a real
//! `redis-server` (started by the test on a free port): two "replicas" (two
//! limiters, each with its own in-process state and its own `RedisStore`)
//! share one limit; when Redis is killed each call follows its limiter's
//! `on_store_error` within one store timeout, none hangs; after a restart the
//! limit is shared again, without rebuilding anything.

mod support;

use std::time::{Duration, Instant};

use steadfast::store::OnStoreError;
use steadfast::{RateLimiter, Rejected, rate_limit};
use support::{RedisServer, leak_store};

/// One replica's limiter: 10 per second, bursts of 5, shared under one name.
fn replica(url: &str, on_error: OnStoreError) -> &'static RateLimiter {
    let store = leak_store(url);
    Box::leak(Box::new(
        RateLimiter::builder()
            .name("replicated")
            .rate(10)
            .burst(5)
            .store(store)
            .on_store_error(on_error)
            .store_timeout(Duration::from_millis(100))
            .build(),
    ))
}

#[rate_limit(shared = limiter)]
async fn call(limiter: &RateLimiter) -> Result<(), Rejected> {
    Ok(())
}

/// Admitted calls out of `n` through `limiter`.
async fn admitted(limiter: &RateLimiter, n: u32) -> u32 {
    let mut admitted = 0;
    for _ in 0..n {
        match call(limiter).await {
            Ok(()) => admitted += 1,
            Err(Rejected::RateLimited {
                name: "replicated", ..
            }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    admitted
}

#[tokio::test]
async fn two_replicas_share_one_limit_through_redis() {
    let server = RedisServer::start();
    let (a, b) = (
        replica(&server.url(), OnStoreError::Closed),
        replica(&server.url(), OnStoreError::Closed),
    );
    let start = Instant::now();
    let total = admitted(a, 8).await + admitted(b, 8).await;
    // Within a few milliseconds: the burst of 5, and at most one more turn
    // if 100 ms passed on a slow machine.
    let extra = u32::try_from(start.elapsed().as_millis() / 100).unwrap();
    assert!(
        (5..=5 + extra).contains(&total),
        "{total} admitted by two replicas of one limit of burst 5 (in {:?})",
        start.elapsed()
    );
    assert_eq!(
        a.try_acquire(),
        Ok(()),
        "each replica's own bucket was not used while Redis decided"
    );
}

#[tokio::test]
async fn with_redis_killed_each_limiter_follows_on_store_error_then_shares_again() {
    let mut server = RedisServer::start();
    let url = server.url();
    let closed = replica(&url, OnStoreError::Closed);
    let open = replica(&url, OnStoreError::Open);
    let local = replica(&url, OnStoreError::Local);
    assert_eq!(admitted(closed, 5).await, 5, "the shared burst");
    assert_eq!(admitted(open, 1).await, 0, "spent, for every replica");

    server.stop();
    let limit = Duration::from_millis(100 + 150);
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(
            call(closed).await,
            Err(Rejected::store_unavailable("replicated"))
        );
        assert!(start.elapsed() < limit, "closed: {:?}", start.elapsed());
        let start = Instant::now();
        assert_eq!(call(open).await, Ok(()), "fail open admits");
        assert!(start.elapsed() < limit, "open: {:?}", start.elapsed());
    }
    // Local: the replica's own bucket, burst 5, then its own limit.
    assert_eq!(admitted(local, 8).await, 5);
    // Every failure is counted for `health()`.
    assert_eq!((closed.store_failures(), open.store_failures()), (3, 3));
    assert!(closed.is_shared());

    server.restart();
    // A fresh server holds no state: a full shared burst again, decided by
    // Redis (the local replica's own bucket is spent, so admissions there
    // prove the store is back).
    let start = Instant::now();
    let mut back = 0;
    for _ in 0..20 {
        if call(local).await.is_ok() {
            back += 1;
        }
    }
    let extra = u32::try_from(start.elapsed().as_millis() / 100).unwrap() + 1;
    assert!(
        (5..=5 + extra).contains(&back),
        "{back} admitted after the restart (in {:?})",
        start.elapsed()
    );
}
