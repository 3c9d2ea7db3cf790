//! `#[leader]` on a real etcd (started by `support::EtcdServer`), with
//! replicas that are child processes of the test (this binary re-invoked
//! on its ignored test `leader_replica`), reporting to a fenced log in the
//! test process (`fence::FenceLog`):
//!
//! - one process: the body runs with a token, a concurrent call is refused
//!   naming the holder, `health()` lists the election, resigning lets the
//!   next call win with a greater token;
//! - 3 replicas for 60 s, etcd killed and restarted twice (once for less
//!   than the TTL, once for more): no two bodies at once, no stale write
//!   accepted;
//! - `kill -9` of the leader, twice: another leads within TTL + 1 s;
//! - `SIGSTOP` of the leader for longer than the TTL, then `SIGCONT`: its
//!   body is cancelled and the write it had under way is refused by its
//!   fencing token.
//!
//! Measured figures are printed (`cargo test -p steadfast-etcd --test
//! leader -- --nocapture`).

mod fence;
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fence::{Body, FenceLog};
use steadfast::Rejected;
use steadfast::leader;
use steadfast::leader::fencing_token;
use steadfast_etcd::EtcdStore;
use support::EtcdServer;

/// The lease: etcd's smallest TTL with its default settings.
const TTL: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------- replicas

/// A job: opens a body, writes every 20 ms for `BODY_MS` (100 ms unless
/// set).
#[leader(election = "acceptance", lease = "2s", wait = "5s")]
async fn job() -> Result<(), Rejected> {
    let token = fencing_token().expect("inside the body");
    let _body = Body::begin(token);
    let length = std::env::var("BODY_MS").map_or(100, |ms| ms.parse().unwrap());
    let until = Instant::now() + Duration::from_millis(length);
    while Instant::now() < until {
        fence::write(token);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A body that holds on, writing every 100 ms.
#[leader(election = "acceptance", lease = "2s", wait = "60s")]
async fn hold() -> Result<(), Rejected> {
    let token = fencing_token().expect("inside the body");
    let _body = Body::begin(token);
    loop {
        fence::write(token);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A body whose steps block the thread for 300 ms, each followed by a
/// write before the next `.await`: a pause during a step resumes into that
/// write.
#[leader(election = "acceptance", lease = "2s", wait = "60s")]
async fn stepping() -> Result<(), Rejected> {
    let token = fencing_token().expect("inside the body");
    let _body = Body::begin(token);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        fence::write(token);
        tokio::task::yield_now().await;
    }
}

/// A replica: runs `MODE` (`jobs`, `hold`, `stepping`) for `RUN_FOR_MS`,
/// then prints its counts after `REPORT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a replica process of the acceptance tests, started by them"]
async fn leader_replica() {
    let endpoint = std::env::var("STEADFAST_ETCD").expect("STEADFAST_ETCD");
    leader::install_as(EtcdStore::new([endpoint]), fence::me());
    let mode = std::env::var("MODE").expect("MODE");
    let run_for: u64 = std::env::var("RUN_FOR_MS").unwrap().parse().unwrap();
    let until = Instant::now() + Duration::from_millis(run_for);
    let (mut bodies, mut lost, mut not_leader, mut other) = (0, 0, 0, 0);
    while Instant::now() < until {
        let outcome = match mode.as_str() {
            "jobs" => job().await,
            "hold" => hold().await,
            "stepping" => stepping().await,
            _ => panic!("unknown mode {mode}"),
        };
        match outcome {
            Ok(()) => bodies += 1,
            Err(Rejected::LeadershipLost { .. }) => {
                lost += 1;
                if mode == "stepping" {
                    break;
                }
            }
            Err(Rejected::NotLeader { .. }) => not_leader += 1,
            Err(_) => other += 1,
        }
        let jitter = 5 + fence::me().len() as u64 * 7 % 20;
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
    println!("REPORT bodies={bodies} lost={lost} not_leader={not_leader} other={other}");
}

fn spawn(id: &str, mode: &str, run_for: Duration, etcd: &EtcdServer, log: &FenceLog) -> Child {
    spawn_with(id, mode, run_for, etcd, log, &[])
}

fn spawn_with(
    id: &str,
    mode: &str,
    run_for: Duration,
    etcd: &EtcdServer,
    log: &FenceLog,
    env: &[(&str, &str)],
) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .envs(env.iter().copied())
        .args([
            "--exact",
            "leader_replica",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STEADFAST_ETCD", etcd.endpoint())
        .env("FENCE_LOG", &log.addr)
        .env("REPLICA", id)
        .env("MODE", mode)
        .env("RUN_FOR_MS", run_for.as_millis().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("a replica process")
}

/// A replica's `REPORT` line, once it exited successfully.
fn report(child: Child, who: &str) -> String {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{who} failed: {:?}", output.status);
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        .find_map(|line| line.split_once("REPORT ").map(|(_, r)| r.to_owned()))
        .unwrap_or_else(|| panic!("no report from {who}:\n{stdout}"))
}

fn count(report: &str, key: &str) -> u64 {
    report
        .split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {report}"))
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until `ready` holds of the log, polling every 5 ms.
fn wait_for(log: &FenceLog, within: Duration, what: &str, ready: impl Fn(&fence::Seen) -> bool) {
    let deadline = Instant::now() + within;
    while !ready(&log.seen()) {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ------------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_runs_the_body_with_a_token_refuses_a_second_call_and_resigns() {
    #[leader(election = "single", lease = "2s")]
    async fn single(hold_for: Duration) -> Result<Option<u64>, Rejected> {
        tokio::time::sleep(hold_for).await;
        Ok(fencing_token())
    }

    let server = EtcdServer::start();
    leader::install_as(EtcdStore::new([server.endpoint()]), "solo");
    let first = single(Duration::ZERO).await.unwrap().expect("a token");
    // Held for twice the TTL: kept alive.
    let held = tokio::spawn(single(TTL * 2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        single(Duration::ZERO).await,
        Err(Rejected::not_leader("single", Some("solo".into())))
    );
    let line = steadfast::health()
        .elections
        .into_iter()
        .find(|e| e.name == "single")
        .expect("listed in health()");
    assert!(line.is_leader, "{line:?}");
    assert_eq!(line.holder.as_deref(), Some("solo"));
    assert!(line.lease.is_some() && line.token > Some(first), "{line:?}");
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
        ["holder", "is_leader", "lease", "name", "token", "ttl_ms"]
    );
    assert_eq!(json["ttl_ms"], 2000);
    let second = held.await.unwrap().unwrap().unwrap();
    assert!(second > first);
    // Resigned: the next call wins at once, with a greater token.
    let third = single(Duration::ZERO).await.unwrap().unwrap();
    assert!(third > second);
    let line = steadfast::health()
        .elections
        .into_iter()
        .find(|e| e.name == "single")
        .unwrap();
    assert!(!line.is_leader && line.lease.is_none(), "{line:?}");

    // Stacked: above `#[retry]`, every attempt runs under one leadership
    // (one token); below it, `NotLeader` is not retried.
    static ATTEMPTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    #[leader(election = "stacked", lease = "2s")]
    #[steadfast::retry(attempts = 3, backoff = none)]
    async fn flaky() -> Result<Option<u64>, std::io::Error> {
        if ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            return Err(std::io::ErrorKind::ConnectionReset.into());
        }
        Ok(fencing_token())
    }
    assert!(flaky().await.unwrap().is_some());
    assert_eq!(ATTEMPTS.load(std::sync::atomic::Ordering::SeqCst), 3);

    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    #[steadfast::retry(attempts = 3, backoff = none)]
    #[leader(election = "stacked", lease = "2s")]
    async fn refused() -> Result<(), std::io::Error> {
        RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    let holding = tokio::spawn(single_on("stacked"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let error = refused().await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ResourceBusy);
    let rejected = error.get_ref().and_then(|e| e.downcast_ref::<Rejected>());
    assert_eq!(
        rejected,
        Some(&Rejected::not_leader("stacked", Some("solo".into())))
    );
    assert_eq!(
        RUNS.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "not run, not retried"
    );
    holding.await.unwrap().unwrap();
    leader::uninstall();
}

/// Holds the election `election` for a second (the programmatic API).
async fn single_on(election: &'static str) -> Result<(), Rejected> {
    let held = steadfast::leader::Leader::new(election, TTL);
    held.run(tokio::time::sleep(Duration::from_secs(1))).await
}

/// 60 s (the figure): 3 replicas running jobs back to back under
/// one election (a and b 100 ms jobs, c 3 s ones, longer than the TTL);
/// etcd killed at 20 s for 1 s (less than the TTL), and at about 38 s, just
/// as one of c's jobs begins, for 4 s (more): that body loses its lease
/// and is cancelled, and nobody leads until etcd is back.
#[test]
fn three_replicas_60s_with_etcd_restarts_no_overlap_no_stale_write() {
    let run_for = Duration::from_secs(60);
    let mut server = EtcdServer::start();
    let log = FenceLog::start();
    let start = Instant::now();
    let replicas: Vec<(String, Child)> = [("a", "100"), ("b", "100"), ("c", "3000")]
        .iter()
        .map(|(id, body_ms)| {
            let env = [("BODY_MS", *body_ms)];
            let child = spawn_with(id, "jobs", run_for, &server, &log, &env);
            (id.to_string(), child)
        })
        .collect();
    std::thread::sleep(Duration::from_secs(20).saturating_sub(start.elapsed()));
    server.kill();
    std::thread::sleep(Duration::from_secs(1));
    server.restart();
    std::thread::sleep(Duration::from_secs(36).saturating_sub(start.elapsed()));
    let begun = log.seen().begins.len();
    wait_for(&log, Duration::from_secs(10), "a long body of c", |s| {
        s.begins[begun..].iter().any(|(_, _, id)| id == "c")
    });
    server.kill();
    let outage = start.elapsed();
    std::thread::sleep(Duration::from_secs(4));
    server.restart();
    let back = Instant::now();
    let reports: Vec<(String, String)> = replicas
        .into_iter()
        .map(|(id, child)| {
            let report = report(child, &id);
            (id, report)
        })
        .collect();
    let seen = log.seen();
    let lost: u64 = reports.iter().map(|(_, r)| count(r, "lost")).sum();
    let bodies: u64 = reports.iter().map(|(_, r)| count(r, "bodies")).sum();
    let leaders: std::collections::BTreeSet<&str> =
        seen.begins.iter().map(|(_, _, id)| id.as_str()).collect();
    println!("etcd killed at 20 s for 1 s, and at {outage:?} for 4 s (as a body of c began)");
    println!(
        "3 replicas, {:?}: {} bodies began ({bodies} completed, {lost} cancelled by a lost lease), \
         led by {leaders:?}, {} writes accepted, {} refused; overlaps {}, stale writes accepted {}; \
         reports {reports:?}",
        start.elapsed(),
        seen.begins.len(),
        seen.accepted,
        seen.rejected.len(),
        seen.overlaps,
        seen.stale_accepted,
    );
    assert_eq!(seen.overlaps, 0, "two bodies at once");
    assert_eq!(seen.stale_accepted, 0, "a stale write accepted");
    assert!(
        seen.begins.len() > 20,
        "too few bodies: {}",
        seen.begins.len()
    );
    let tokens: Vec<u64> = seen.begins.iter().map(|(_, t, _)| *t).collect();
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "tokens increase: {tokens:?}"
    );
    assert!(
        seen.begins.iter().any(|(at, _, _)| *at > back),
        "leadership resumed after etcd came back"
    );
    let c = &reports.iter().find(|(id, _)| id == "c").unwrap().1;
    assert!(count(c, "lost") >= 1, "c's body cut off by the outage: {c}");
}

/// `kill -9` of the leader, twice: measured from the kill to the next
/// body's start.
#[test]
fn kill_9_of_the_leader_another_leads_within_ttl_plus_1s() {
    let server = EtcdServer::start();
    let log = FenceLog::start();
    let mut replicas: Vec<(String, Child)> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            let id = id.to_string();
            let child = spawn(&id, "hold", Duration::from_secs(60), &server, &log);
            (id, child)
        })
        .collect();
    wait_for(&log, Duration::from_secs(20), "a first leader", |s| {
        !s.begins.is_empty()
    });
    let mut failovers = Vec::new();
    for _ in 0..2 {
        // Let the leader refresh its lease a few times first.
        std::thread::sleep(Duration::from_millis(1500));
        let leader = log.seen().begins.last().unwrap().2.clone();
        let began = log.seen().begins.len();
        let index = replicas.iter().position(|(id, _)| *id == leader).unwrap();
        let (id, mut child) = replicas.remove(index);
        child.kill().unwrap();
        let killed = Instant::now();
        child.wait().unwrap();
        log.forget(&id);
        wait_for(&log, TTL + Duration::from_secs(5), "a new leader", |s| {
            s.begins.len() > began
        });
        let next = log.seen().begins[began].clone();
        let failover = next.0 - killed;
        println!(
            "kill -9 of {id}: {} leads after {failover:?} (TTL {TTL:?})",
            next.2
        );
        failovers.push(failover);
    }
    for (_, mut child) in replicas {
        let _ = child.kill();
        let _ = child.wait();
    }
    let seen = log.seen();
    println!(
        "failovers {failovers:?}; overlaps {}, stale writes accepted {}",
        seen.overlaps, seen.stale_accepted
    );
    for failover in &failovers {
        assert!(*failover <= TTL + Duration::from_secs(1), "{failovers:?}");
    }
    assert_eq!(seen.overlaps, 0);
    assert_eq!(seen.stale_accepted, 0);
}

/// `SIGSTOP` of the leader for TTL + 1.5 s while a step of its body blocks
/// the thread, then `SIGCONT`: the step ends in a write, which the log
/// refuses (a newer leader wrote with a greater token meanwhile); the body
/// is then dropped before its next step, and the call returns
/// `LeadershipLost`.
#[test]
fn sigstop_of_the_leader_past_its_ttl_cancels_its_body_and_its_write_is_fenced() {
    let server = EtcdServer::start();
    let log = FenceLog::start();
    let paused = spawn("paused", "stepping", Duration::from_secs(30), &server, &log);
    wait_for(
        &log,
        Duration::from_secs(20),
        "the stepping leader's write",
        |s| s.writes.iter().any(|(_, id)| id == "paused"),
    );
    let standby = spawn("standby", "hold", Duration::from_secs(30), &server, &log);
    // Right after a write: the next step (300 ms of blocking) is under way.
    let writes = log.seen().writes.len();
    wait_for(&log, Duration::from_secs(5), "another write", |s| {
        s.writes.len() > writes
    });
    signal(&paused, "-STOP");
    let stopped = Instant::now();
    std::thread::sleep(TTL + Duration::from_millis(1500));
    let took_over = log
        .seen()
        .begins
        .iter()
        .find(|(_, _, id)| id == "standby")
        .map(|(at, _, _)| *at - stopped);
    signal(&paused, "-CONT");
    let paused_report = report(paused, "paused");
    let seen = log.seen();
    // Every write of the paused leader before the stop was accepted (it
    // led): what was refused came after the `SIGCONT`.
    let refused = seen
        .rejected
        .iter()
        .filter(|(_, _, id)| id == "paused")
        .count();
    let standby_began = seen
        .begins
        .iter()
        .find(|(_, _, id)| id == "standby")
        .map(|(at, _, _)| *at);
    let accepted_after = seen
        .writes
        .iter()
        .filter(|(at, id)| id == "paused" && standby_began.is_some_and(|began| *at >= began))
        .count();
    println!(
        "SIGSTOP for {:?}: standby took over {took_over:?} after the stop; after SIGCONT the \
         paused leader's writes: {} refused, {accepted_after} accepted; its report: {paused_report}; \
         stale writes accepted {}",
        TTL + Duration::from_millis(1500),
        refused,
        seen.stale_accepted,
    );
    drop(seen);
    let mut standby = standby;
    let _ = standby.kill();
    let _ = standby.wait();
    assert!(
        took_over.is_some(),
        "the standby led while the leader was stopped"
    );
    assert_eq!(count(&paused_report, "lost"), 1, "its body was cancelled");
    assert_eq!(accepted_after, 0, "no write of the paused leader accepted");
    assert_eq!(refused, 1, "its write under way was refused by its token");
    assert_eq!(log.seen().stale_accepted, 0);
}
