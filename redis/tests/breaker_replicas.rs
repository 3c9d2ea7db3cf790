//! One circuit breaker shared by four OS processes through one real
//! `redis-server` (issue 12's acceptance tests):
//!
//! - a breaker opened by failures that one replica sees rejects on every
//!   replica within the staleness bound (`sync_interval + store_timeout`
//!   after the store opened it), and on none before;
//! - in each half-open period exactly one probe runs, cluster-wide: while the
//!   upstream keeps failing, every probe reopens the breaker and the next one
//!   comes one `open_for` later at the earliest; once it recovers, one probe
//!   closes the breaker on every replica.
//!
//! The replicas are this test binary itself, started again with
//! `STEADFAST_REPLICA_URL` set: the ignored tests [`staleness_replica`] and
//! [`probe_replica`] are their bodies. Times are the Redis server's clock
//! (`TIME`, µs), which every replica reads once at its start to place its own
//! monotonic readings on it.

mod support;

use std::time::{Duration, Instant};

use steadfast::store::{BreakerSpec, BreakerStore, OnStoreError, Outcomes};
use steadfast::{CircuitBreaker, Rejected};
use steadfast_redis::RedisStore;
use support::{
    CallError, RedisServer, call_through, leak_store, report, server_time_us, spawn_replica,
};

const REPLICAS: usize = 4;
/// How often the replicas' breakers sync with the store, and how long a
/// store call may take: the staleness bound is their sum.
const SYNC_INTERVAL: Duration = Duration::from_millis(100);
const STORE_TIMEOUT: Duration = Duration::from_millis(200);

/// The server's clock, placed on this process's monotonic clock.
struct ServerClock {
    at: Instant,
    server_us: u64,
}

impl ServerClock {
    fn read(url: &str) -> (ServerClock, redis::Connection) {
        let mut redis = redis::Client::open(url).unwrap().get_connection().unwrap();
        let server_us = server_time_us(&mut redis);
        (
            ServerClock {
                at: Instant::now(),
                server_us,
            },
            redis,
        )
    }

    fn now_us(&self) -> u64 {
        self.server_us + self.at.elapsed().as_micros() as u64
    }
}

fn env_us(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name}: started by the acceptance test"))
        .parse()
        .unwrap()
}

/// The staleness test's breaker: a window of 100 calls, opened by half of
/// them failing, open for a minute (longer than the test).
fn staleness_breaker(store: &'static RedisStore) -> CircuitBreaker {
    CircuitBreaker::builder()
        .name("replicas-staleness")
        .window_calls(100)
        .min_calls(20)
        .failure_ratio(0.5)
        .open_for(Duration::from_secs(60))
        .store(store)
        // A store failure must show up as a failure of the test.
        .on_store_error(OnStoreError::Closed)
        .store_timeout(STORE_TIMEOUT)
        .sync_interval(SYNC_INTERVAL)
        .build()
}

/// One replica of [`an_opened_breaker_rejects_on_every_replica_within_the_bound`]:
/// calls until `STEADFAST_END_US`, every 25 ms a call that succeeds; the
/// `failing` one (role in `STEADFAST_ROLE`) every 5 ms, calls that fail from
/// `STEADFAST_FAIL_FROM_US` on (so that they are over half of the shared
/// window's calls: about 200 a second against 120). Prints its first rejection's time (0: none)
/// and its successes, failures and rejections.
#[test]
#[ignore = "a replica process of an_opened_breaker_rejects_on_every_replica_within_the_bound"]
fn staleness_replica() {
    let url = std::env::var("STEADFAST_REPLICA_URL").expect("started by the acceptance test");
    let failing = std::env::var("STEADFAST_ROLE").unwrap() == "failing";
    let (fail_from, end) = (env_us("STEADFAST_FAIL_FROM_US"), env_us("STEADFAST_END_US"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(staleness_breaker(leak_store(&url))));
    // A store-backed breaker syncs from a registered `'static`.
    breaker.register();
    let (clock, _redis) = ServerClock::read(&url);
    let period = Duration::from_millis(if failing { 5 } else { 25 });
    let (mut first_rejection, mut successes, mut failures, mut rejections) = (0, 0, 0, 0);
    runtime.block_on(async {
        loop {
            let now = clock.now_us();
            if now >= end {
                break;
            }
            match call_through(breaker, failing && now >= fail_from).await {
                Ok(()) => successes += 1,
                Err(CallError::Upstream) => failures += 1,
                Err(CallError::Rejected(Rejected::CircuitOpen { .. })) => {
                    if first_rejection == 0 {
                        first_rejection = now;
                    }
                    rejections += 1;
                }
                Err(CallError::Rejected(other)) => panic!("replica: {other}"),
            }
            tokio::time::sleep(period).await;
        }
    });
    println!("STALENESS {first_rejection} {successes} {failures} {rejections}");
}

/// A breaker opened by the failures one replica sees rejects on all four
/// within `sync_interval + store_timeout` of the store's opening it (plus
/// one call period, 25 ms, for a replica to make a call that shows it), and
/// on none before it.
#[test]
fn an_opened_breaker_rejects_on_every_replica_within_the_bound() {
    let server = RedisServer::start();
    let mut redis = server.connection();
    let start = server_time_us(&mut redis);
    let (fail_from, end) = (start + 1_500_000, start + 4_000_000);
    let (fail_from_s, end_s) = (fail_from.to_string(), end.to_string());
    let children: Vec<_> = (0..REPLICAS)
        .map(|i| {
            let role = if i == 0 { "failing" } else { "healthy" };
            spawn_replica(
                "staleness_replica",
                &server.url(),
                &[
                    ("STEADFAST_ROLE", role),
                    ("STEADFAST_FAIL_FROM_US", &fail_from_s),
                    ("STEADFAST_END_US", &end_s),
                ],
            )
        })
        .collect();
    let reports: Vec<[u64; 4]> = children
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            let line = report(child, "STALENESS ", &format!("replica {i}"));
            let numbers: Vec<u64> = line
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            [numbers[0], numbers[1], numbers[2], numbers[3]]
        })
        .collect();

    // When the store opened the breaker: its view says how much of
    // `open_for` is left, on the server's clock.
    let store = leak_store(&server.url());
    let spec: BreakerSpec = staleness_breaker(store).store_spec();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let view = runtime
        .block_on(store.report("replicas-staleness", spec, 0, Outcomes::default()))
        .unwrap();
    let now = server_time_us(&mut redis);
    assert_eq!(
        view.state,
        steadfast::circuit_breaker::State::Open,
        "{view:?}"
    );
    let opened_at = now - (spec.open_for - view.open_remaining).as_micros() as u64;
    let bound = (SYNC_INTERVAL + STORE_TIMEOUT + Duration::from_millis(25)).as_micros() as u64;

    for (i, [first_rejection, successes, failures, rejections]) in reports.iter().enumerate() {
        let lag = *first_rejection as i64 - opened_at as i64;
        println!(
            "replica {i}: first rejection {lag} µs after the store opened; \
             {successes} successes, {failures} failures, {rejections} rejections"
        );
        assert!(*first_rejection > 0, "replica {i} was never rejected");
        // 2 ms for placing each replica's clock on the server's.
        assert!(
            lag >= -2_000,
            "replica {i} rejected before the store opened"
        );
        assert!(
            lag <= bound as i64,
            "replica {i} rejected {lag} µs after the store opened, beyond the bound {bound} µs"
        );
        if i > 0 {
            assert_eq!(*failures, 0, "replica {i} saw no failure itself");
        }
    }
    assert!(opened_at > fail_from, "opened only once the failures began");
}

/// The probe test's breaker: opened by half of 20 calls failing, open for
/// 400 ms, one probe per half-open period.
const PROBE_OPEN_FOR: Duration = Duration::from_millis(400);

fn probe_breaker(store: &'static RedisStore) -> CircuitBreaker {
    CircuitBreaker::builder()
        .name("replicas-probes")
        .window_calls(20)
        .min_calls(10)
        .failure_ratio(0.5)
        .open_for(PROBE_OPEN_FOR)
        .half_open_probes(1)
        .store(store)
        .on_store_error(OnStoreError::Closed)
        .store_timeout(STORE_TIMEOUT)
        .sync_interval(Duration::from_millis(50))
        .probe_lease(Duration::from_secs(5))
        .build()
}

/// One replica of [`exactly_one_probe_runs_per_half_open_period`]: a call
/// every 5 ms until `STEADFAST_END_US`; the upstream fails until
/// `STEADFAST_FAIL_UNTIL_US`. Prints every call that ran, as its server time
/// and `F`ailed or `S`ucceeded, and its rejections.
#[test]
#[ignore = "a replica process of exactly_one_probe_runs_per_half_open_period"]
fn probe_replica() {
    let url = std::env::var("STEADFAST_REPLICA_URL").expect("started by the acceptance test");
    let (fail_until, end) = (
        env_us("STEADFAST_FAIL_UNTIL_US"),
        env_us("STEADFAST_END_US"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(probe_breaker(leak_store(&url))));
    breaker.register();
    let (clock, _redis) = ServerClock::read(&url);
    let mut ran = Vec::new();
    let mut rejections = 0;
    runtime.block_on(async {
        loop {
            let now = clock.now_us();
            if now >= end {
                break;
            }
            let fail = now < fail_until;
            match call_through(breaker, fail).await {
                Ok(()) => ran.push(format!("{now}:S")),
                Err(CallError::Upstream) => ran.push(format!("{now}:F")),
                Err(CallError::Rejected(Rejected::CircuitOpen { .. })) => rejections += 1,
                Err(CallError::Rejected(other)) => panic!("replica: {other}"),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    println!("PROBES {rejections} {}", ran.join(","));
}

/// Four replicas call a failing upstream: the breaker opens; from then on,
/// calls run only as probes, each in its own half-open period (one
/// `open_for` at least after the last, cluster-wide), and there is one in
/// every period; once the upstream recovers, a probe closes the breaker and
/// every replica runs calls again.
#[test]
fn exactly_one_probe_runs_per_half_open_period() {
    let server = RedisServer::start();
    let mut redis = server.connection();
    let start = server_time_us(&mut redis);
    let (fail_until, end) = (start + 3_500_000, start + 5_500_000);
    let (fail_until_s, end_s) = (fail_until.to_string(), end.to_string());
    let children: Vec<_> = (0..REPLICAS)
        .map(|_| {
            spawn_replica(
                "probe_replica",
                &server.url(),
                &[
                    ("STEADFAST_FAIL_UNTIL_US", &fail_until_s),
                    ("STEADFAST_END_US", &end_s),
                ],
            )
        })
        .collect();
    let mut failed = Vec::new();
    let mut succeeded: Vec<Vec<u64>> = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let line = report(child, "PROBES ", &format!("replica {i}"));
        let (_rejections, ran) = line.split_once(' ').unwrap_or((&line, ""));
        let mut mine = Vec::new();
        for entry in ran.split(',').filter(|e| !e.is_empty()) {
            let (at, outcome) = entry.split_once(':').unwrap();
            let at: u64 = at.parse().unwrap();
            match outcome {
                "F" => failed.push(at),
                _ => mine.push(at),
            }
        }
        succeeded.push(mine);
    }
    failed.sort_unstable();

    // The breaker opened after the first calls: the first pause of 300 ms
    // (longer than the staleness bound, shorter than `open_for`) ends them.
    let opened = failed
        .windows(2)
        .position(|w| w[1] - w[0] >= 300_000)
        .expect("the breaker opened: calls stopped running");
    let probes = &failed[opened + 1..];
    let gaps: Vec<u64> = probes.windows(2).map(|w| w[1] - w[0]).collect();
    println!(
        "{} calls before the breaker opened; failed probes at {:?} ms after the first, gaps {:?} ms",
        opened + 1,
        probes
            .iter()
            .map(|p| (p - probes[0]) / 1_000)
            .collect::<Vec<_>>(),
        gaps.iter().map(|g| g / 1_000).collect::<Vec<_>>()
    );
    let open_for = PROBE_OPEN_FOR.as_micros() as u64;
    assert!(
        gaps.iter().all(|&gap| gap + 2_000 >= open_for),
        "two probes in one half-open period: gaps {gaps:?} µs"
    );
    assert!(
        probes.len() >= 3,
        "a probe in every half-open period: only {} while the upstream failed",
        probes.len()
    );
    // Recovered: the first success is a probe, alone; then every replica runs
    // calls again.
    let mut all_succeeded: Vec<u64> = succeeded.iter().flatten().copied().collect();
    all_succeeded.sort_unstable();
    let first = *all_succeeded.first().expect("a probe succeeded");
    assert!(first >= fail_until);
    assert!(
        all_succeeded.get(1).is_some_and(|&second| second > first),
        "one probe at a time"
    );
    let closed_by = first + (Duration::from_millis(50) + STORE_TIMEOUT).as_micros() as u64;
    for (i, mine) in succeeded.iter().enumerate() {
        assert!(
            mine.iter().any(|&at| at > closed_by + 10_000),
            "replica {i} runs calls again once a probe closed the breaker"
        );
    }
}
