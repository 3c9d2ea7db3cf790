//! Four OS processes share one limit of R calls/s through one real
//! `redis-server` (issue 12's acceptance test): over the run, the calls all
//! four admitted number at most `burst + R × t` (t from before the first
//! process started to after the last one ended, on the server's clock), and
//! at least 99 % of `burst + R × t'` (t' the time all four were asking at
//! once).
//!
//! The replicas are this test binary itself, started again with
//! `STEADFAST_REPLICA_URL` set: the ignored test [`replica`] is their body.
//! Each asks through `#[rate_limit(shared = …)]` over a limiter whose store
//! is Redis, from several tasks, as fast as it can.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use steadfast::store::OnStoreError;
use steadfast::{RateLimiter, Rejected, rate_limit};
use steadfast_redis::RedisStore;
use support::{RedisServer, server_time_us};

/// The shared limit: R calls per second, and the burst.
const RATE: u32 = 100;
const BURST: u32 = 20;
/// How long each replica asks.
const RUN: Duration = Duration::from_secs(10);
const REPLICAS: usize = 4;
/// Concurrent callers in each replica.
const CALLERS: usize = 4;

#[rate_limit(shared = limiter)]
async fn call(limiter: &RateLimiter) -> Result<(), Rejected> {
    Ok(())
}

/// One replica: asks for `RUN` and prints `admitted start_us end_us` (the
/// server's clock when it started and stopped asking). Run only as a child
/// of [`four_processes_share_one_limit`].
#[test]
#[ignore = "a replica process of four_processes_share_one_limit, started by it"]
fn replica() {
    let url = std::env::var("STEADFAST_REPLICA_URL").expect("started by the acceptance test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store: &'static RedisStore = Box::leak(Box::new(RedisStore::new(&url).unwrap()));
    let limiter: &'static RateLimiter = Box::leak(Box::new(
        RateLimiter::builder()
            .name("four-replicas")
            .rate(RATE)
            .burst(BURST)
            .store(store)
            // A store failure must show up as a failure of the test, not as
            // extra local admissions.
            .on_store_error(OnStoreError::Closed)
            .store_timeout(Duration::from_millis(500))
            .build(),
    ));
    let mut redis = redis::Client::open(url).unwrap().get_connection().unwrap();
    let start = server_time_us(&mut redis);
    let admitted: u64 = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + RUN;
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                tokio::spawn(async move {
                    let mut admitted = 0_u64;
                    while tokio::time::Instant::now() < deadline {
                        match call(limiter).await {
                            Ok(()) => admitted += 1,
                            Err(Rejected::RateLimited { .. }) => {}
                            Err(other) => panic!("replica: {other}"),
                        }
                    }
                    admitted
                })
            })
            .collect();
        let mut admitted = 0;
        for caller in callers {
            admitted += caller.await.unwrap();
        }
        admitted
    });
    let end = server_time_us(&mut redis);
    println!("REPLICA {admitted} {start} {end}");
}

#[test]
fn four_processes_share_one_limit() {
    let server = RedisServer::start();
    let mut redis = server.connection();
    let before = server_time_us(&mut redis);
    let children: Vec<_> = (0..REPLICAS)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "replica",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("STEADFAST_REPLICA_URL", server.url())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("a replica process")
        })
        .collect();
    let mut reports = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a replica failed: {:?}",
            output.status
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let line = stdout
            .lines()
            // (libtest may print `test replica ... ` on the same line first.)
            .find_map(|line| line.split_once("REPLICA ").map(|(_, report)| report))
            .unwrap_or_else(|| panic!("no report from a replica:\n{stdout}"));
        let numbers: Vec<u64> = line
            .split_whitespace()
            .take(3)
            .map(|n| n.parse().unwrap())
            .collect();
        reports.push((numbers[0], numbers[1], numbers[2]));
    }
    let after = server_time_us(&mut redis);

    let admitted: u64 = reports.iter().map(|r| r.0).sum();
    // Every admission happened between `before` and `after`.
    let bound = u64::from(BURST) + u64::from(RATE) * (after - before) / 1_000_000;
    // All four were asking between the last start and the first end.
    let overlap_us =
        reports.iter().map(|r| r.2).min().unwrap() - reports.iter().map(|r| r.1).max().unwrap();
    let allowed = u64::from(BURST) + u64::from(RATE) * overlap_us / 1_000_000;
    let per_replica: Vec<u64> = reports.iter().map(|r| r.0).collect();
    println!(
        "four replicas admitted {admitted} ({per_replica:?}); bound {bound} over {} µs; \
         {allowed} allowed while all asked ({overlap_us} µs)",
        after - before
    );
    assert!(
        admitted <= bound,
        "{admitted} admitted, over the bound {bound}"
    );
    assert!(
        admitted * 100 >= allowed * 99,
        "{admitted} admitted, under 99 % of the {allowed} the limit allowed while all asked"
    );
    assert!(
        per_replica.iter().all(|&n| n > 0),
        "every replica got turns: {per_replica:?}"
    );
}
