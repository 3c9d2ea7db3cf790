//! Shared mode against a real `redis-server` on loopback (started here, on
//! a free port), in one run: a bare `PING` round trip through redis-rs's
//! `ConnectionManager` (the connection `RedisStore` uses), one
//! `RedisStore::take` (one script, one round trip), and a call through
//! `#[rate_limit(shared = …)]` over a limiter whose store is that Redis.
//! Then a latency driver prints p50 and p99 of sequential decisions next to
//! those of sequential `PING`s (criterion reports medians, not tails).
//!
//! Run with `cargo bench -p steadfast-benches --bench redis` (needs
//! `redis-server`; `scripts/test.sh` installs it).

#[path = "../../redis/tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use redis::aio::ConnectionManager;
use steadfast::store::{OnStoreError, RateSpec, RateStore};
use steadfast::{RateLimiter, Rejected, rate_limit};
use steadfast_redis::RedisStore;
use support::RedisServer;

/// A limit no run reaches: every decision admits.
fn wide() -> RateSpec {
    RateSpec::new(u32::MAX, Duration::from_secs(1), u32::MAX, Duration::ZERO)
}

#[rate_limit(shared = limiter)]
async fn limited(limiter: &RateLimiter, x: u64) -> Result<u64, Rejected> {
    Ok(x)
}

/// What every row needs: a server, a runtime, a connection, a store and a
/// limiter over it.
struct Setup {
    _server: RedisServer,
    runtime: tokio::runtime::Runtime,
    ping: ConnectionManager,
    store: &'static RedisStore,
    limiter: &'static RateLimiter,
}

fn setup() -> Setup {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ping = runtime.block_on(async {
        let client = redis::Client::open(server.url()).unwrap();
        ConnectionManager::new(client).await.unwrap()
    });
    let store: &'static RedisStore = Box::leak(Box::new(RedisStore::new(&server.url()).unwrap()));
    let limiter: &'static RateLimiter = Box::leak(Box::new(
        RateLimiter::builder()
            .name("bench-shared")
            .rate(u32::MAX)
            .store(store)
            .on_store_error(OnStoreError::Closed)
            .build(),
    ));
    Setup {
        _server: server,
        runtime,
        ping,
        store,
        limiter,
    }
}

async fn ping(connection: &mut ConnectionManager) {
    let pong: String = redis::cmd("PING").query_async(connection).await.unwrap();
    black_box(pong);
}

fn round_trips(c: &mut Criterion) {
    let Setup {
        _server,
        runtime,
        ping: mut connection,
        store,
        limiter,
    } = setup();
    let mut group = c.benchmark_group("redis-round-trip");
    group.bench_function("PING (redis-rs ConnectionManager)", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    ping(&mut connection).await;
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("RedisStore::take (one script)", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(store.take("bench-take", wide()).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("#[rate_limit(shared = …)] over Redis", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    black_box(limited(limiter, i).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// The `p`-th percentile of sorted `samples`.
fn percentile(samples: &[Duration], p: usize) -> Duration {
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

/// p50 and p99 of 20,000 sequential decisions and 20,000 sequential `PING`s,
/// interleaved, printed with their ratios (not a criterion row).
fn tails(_: &mut Criterion) {
    let Setup {
        _server,
        runtime,
        ping: mut connection,
        store,
        ..
    } = setup();
    const N: usize = 20_000;
    let (mut pings, mut takes) = (Vec::with_capacity(N), Vec::with_capacity(N));
    runtime.block_on(async {
        for _ in 0..1_000 {
            ping(&mut connection).await;
            store.take("bench-tails", wide()).await.unwrap();
        }
        for _ in 0..N {
            let start = Instant::now();
            ping(&mut connection).await;
            pings.push(start.elapsed());
            let start = Instant::now();
            black_box(store.take("bench-tails", wide()).await.unwrap());
            takes.push(start.elapsed());
        }
    });
    pings.sort_unstable();
    takes.sort_unstable();
    for (label, p) in [("p50", 50), ("p99", 99)] {
        let (ping, take) = (percentile(&pings, p), percentile(&takes, p));
        println!(
            "redis-latency/{label}: take {take:?}, PING {ping:?}, ratio {:.2}x",
            take.as_secs_f64() / ping.as_secs_f64()
        );
    }
}

criterion_group!(benches, round_trips, tails);
criterion_main!(benches);
