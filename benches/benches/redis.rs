//! Shared mode against a real `redis-server` on loopback (started here, on
//! a free port), in one run: a bare `PING` round trip through redis-rs's
//! `ConnectionManager` (the connection `RedisStore` uses), one
//! `RedisStore::take` (one script, one round trip), and a call through
//! `#[rate_limit(shared = …)]` over a limiter whose store is that Redis; and
//! a closed `#[circuit_breaker(shared = …)]` over a breaker whose store is
//! that Redis (no round trip per call: its outcomes go in batches) next to
//! the same breaker in process.
//! Then a latency driver prints p50 and p99 of sequential decisions next to
//! those of sequential `PING`s (criterion reports medians, not tails), and a
//! load driver prints the decisions per second that four OS processes make
//! together on one server (this binary started again as each of them).
//!
//! Run with `cargo bench -p steadfast-benches --bench redis` (needs
//! `redis-server`; `scripts/test.sh` installs it).

#[path = "../../redis/tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use redis::aio::ConnectionManager;
use steadfast::store::{OnStoreError, RateSpec, RateStore};
use steadfast::{CircuitBreaker, RateLimiter, Rejected, circuit_breaker, rate_limit};
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
    let store = support::leak_store(&server.url());
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

#[circuit_breaker(shared = breaker)]
async fn guarded(breaker: &CircuitBreaker, x: u64) -> Result<u64, Rejected> {
    Ok(x)
}

/// A closed breaker's call: in process, and shared through Redis (its
/// syncer reporting the outcomes every 100 ms meanwhile).
fn closed_breaker(c: &mut Criterion) {
    let Setup {
        _server,
        runtime,
        store,
        ..
    } = setup();
    static LOCAL: CircuitBreaker = CircuitBreaker::builder().name("bench-local").build();
    let shared: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::builder()
            .name("bench-shared-breaker")
            .store(store)
            .on_store_error(OnStoreError::Closed)
            .build(),
    ));
    shared.register();
    let mut group = c.benchmark_group("breaker-closed");
    for (label, breaker) in [
        ("#[circuit_breaker] in process", &LOCAL),
        ("#[circuit_breaker(shared = …)] over Redis", shared),
    ] {
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    // The shared breaker's first call starts its syncer.
                    guarded(breaker, 0).await.unwrap();
                    let start = Instant::now();
                    for i in 0..iters {
                        black_box(guarded(breaker, i).await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
    }
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

/// The load driver's processes and, in each, the decisions in flight at once
/// (redis-rs pipelines them on the store's one connection).
const PROCESSES: usize = 4;
const IN_FLIGHT: usize = 32;
/// How long the load driver's processes decide.
const LOAD_FOR: Duration = Duration::from_secs(3);
/// Set in a load-driver process: the server's URL.
const DRIVER_ENV: &str = "STEADFAST_BENCH_REDIS_DRIVER";

/// One load-driver process: `IN_FLIGHT` tasks deciding on one limiter name
/// for `LOAD_FOR`; prints its count of decisions.
fn drive(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = support::leak_store(url);
    let decided = runtime.block_on(async {
        // Connected before the clock starts.
        store.take("bench-load", wide()).await.unwrap();
        let end = Instant::now() + LOAD_FOR;
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                tokio::spawn(async move {
                    let mut decided = 0_u64;
                    while Instant::now() < end {
                        black_box(store.take("bench-load", wide()).await.unwrap());
                        decided += 1;
                    }
                    decided
                })
            })
            .collect();
        let mut decided = 0;
        for task in tasks {
            decided += task.await.unwrap();
        }
        decided
    });
    println!("{decided}");
}

/// Decisions per second from `PROCESSES` processes at once on one server
/// and one limiter (not a criterion row).
fn load(_: &mut Criterion) {
    let server = RedisServer::start();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            std::process::Command::new(&exe)
                .env(DRIVER_ENV, server.url())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let per_process: Vec<u64> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "a load-driver process failed");
            String::from_utf8(output.stdout)
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect();
    let total: u64 = per_process.iter().sum();
    println!(
        "redis-load/{PROCESSES} processes x {IN_FLIGHT} in flight: {:.0} decisions/s \
         (per process {:?} in {LOAD_FOR:?})",
        total as f64 / LOAD_FOR.as_secs_f64(),
        per_process
    );
}

criterion_group!(benches, round_trips, closed_breaker, tails, load);

fn main() {
    if let Ok(url) = std::env::var(DRIVER_ENV) {
        drive(&url);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
