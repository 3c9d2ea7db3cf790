//! Batched mode against a real `redis-server`: one script run takes up to n
//! turns that are free now (`RedisStore::take_many`), exactly as many as the
//! bucket holds; and a batched limiter through `#[rate_limit(shared = …)]`
//! makes at least 10× fewer round trips than calls below its limit, and keeps
//! its documented over-admission bound (`burst + R·t + (n − 1)` for one
//! process) above it.

mod support;

use std::time::{Duration, Instant};

use steadfast::store::{OnStoreError, RateBatch, RateSpec, RateStore};
use steadfast::{RateLimiter, Rejected, rate_limit};
use steadfast_redis::RedisStore;
use support::{RedisServer, leak_store, server_time_us};

const SECOND: Duration = Duration::from_secs(1);

/// Script runs the server has counted (`EVALSHA` and `EVAL`).
fn script_runs(redis: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(redis).unwrap();
    info.lines()
        .filter(|line| line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:"))
        .filter_map(|line| {
            line.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[tokio::test]
async fn take_many_takes_as_many_free_turns_as_the_bucket_holds() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url()).unwrap();
    // 10 per second (a turn every 100 ms), 5 back to back.
    let spec = RateSpec::new(10, SECOND, 5, Duration::ZERO);
    let start = Instant::now();
    let first = store.take_many("batch", spec, 3).await.unwrap();
    let second = store.take_many("batch", spec, 3).await.unwrap();
    let third = store.take_many("batch", spec, 3).await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(first, RateBatch::new(3, Duration::ZERO));
    if elapsed < Duration::from_millis(100) {
        assert_eq!(second.granted, 2, "the rest of the burst");
        assert_eq!(third.granted, 0, "none left");
        assert!(third.retry_after <= Duration::from_millis(100), "{third:?}");
        assert!(
            third.retry_after + elapsed >= Duration::from_millis(100),
            "{third:?}"
        );
    }
    // One-turn decisions share the same state.
    assert!(matches!(
        store.take("batch", spec).await.unwrap(),
        steadfast::store::RateDecision::Rejected { .. }
    ));
}

#[rate_limit(shared = limiter)]
async fn call(limiter: &RateLimiter) -> Result<(), Rejected> {
    Ok(())
}

fn batched(store: &'static RedisStore, name: &'static str) -> &'static RateLimiter {
    Box::leak(Box::new(
        RateLimiter::builder()
            .name(name)
            .rate(RATE)
            .burst(BURST)
            .store(store)
            .batch(BATCH)
            .on_store_error(OnStoreError::Closed)
            .build(),
    ))
}

const RATE: u32 = 200;
const BURST: u32 = 20;
const BATCH: u32 = 16;

/// Below the limit (100 calls/s against 200/s), every call is admitted and a
/// round trip serves a batch: at least 10× fewer round trips than calls.
#[tokio::test]
async fn below_the_limit_a_batched_limiter_makes_ten_times_fewer_round_trips() {
    let server = RedisServer::start();
    let mut redis = server.connection();
    let store = leak_store(&server.url());
    let limiter = batched(store, "paced");
    let runs_before = script_runs(&mut redis);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for _ in 0..100 {
        tick.tick().await;
        assert_eq!(call(limiter).await, Ok(()), "below the limit");
    }
    let round_trips = script_runs(&mut redis) - runs_before;
    println!("100 calls below the limit, {round_trips} round trips");
    assert!(
        round_trips * 10 <= 100,
        "{round_trips} round trips for 100 calls"
    );
}

/// Over the limit, the documented bound holds (`burst + R·t + (n − 1)` for
/// one process), and a refusal is remembered until the next free turn, so
/// refused calls cost no round trip either.
#[tokio::test]
async fn over_the_limit_a_batched_limiter_keeps_its_bound() {
    let server = RedisServer::start();
    let mut redis = server.connection();
    let store = leak_store(&server.url());
    let limiter = batched(store, "hammered");
    let runs_before = script_runs(&mut redis);
    let before = server_time_us(&mut redis);
    let deadline = Instant::now() + SECOND;
    let (mut calls, mut admitted) = (0_u64, 0_u64);
    while Instant::now() < deadline {
        calls += 1;
        match call(limiter).await {
            Ok(()) => admitted += 1,
            Err(Rejected::RateLimited { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    let after = server_time_us(&mut redis);
    let round_trips = script_runs(&mut redis) - runs_before;
    let bound =
        u64::from(BURST) + u64::from(RATE) * (after - before) / 1_000_000 + u64::from(BATCH - 1);
    println!("{calls} calls, {admitted} admitted (bound {bound}), {round_trips} round trips");
    assert!(admitted <= bound, "{admitted} admitted, over {bound}");
    assert!(
        admitted >= u64::from(RATE) / 2,
        "the limiter admitted: {admitted}"
    );
    assert!(
        round_trips * 10 <= calls,
        "{round_trips} round trips for {calls} calls"
    );
}
