//! Health checks that act (`steadfast::health::HealthCheck`), on paused
//! time: the probe loop's period and timeout, the verdict after N failures
//! and M successes, the breaker it holds and releases (never an operator's
//! hold), readiness apart from liveness, and the `checks[]` JSON.
//!
//! Every check here but the readiness test's is `gates_readiness(false)`, so
//! that the tests, which share the process's list of checks, do not move
//! one another's readiness.

mod recorder;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use steadfast::circuit_breaker::State;
use steadfast::health::{CheckHealth, CheckStatus, HealthCheck};
use steadfast::{CircuitBreaker, health};
use tokio::time::{Instant, sleep};
use tracing::Level;

const SECOND: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_millis(100);
/// A moment after a probe is due: it has run and been recorded.
const AFTER: Duration = Duration::from_millis(10);

fn snapshot(name: &str) -> CheckHealth {
    health()
        .checks
        .into_iter()
        .find(|check| check.name == name)
        .unwrap_or_else(|| panic!("{name} not in health()"))
}

/// Sleeps until `at` past `start`.
async fn until(start: Instant, at: Duration) {
    tokio::time::sleep_until(start + at).await;
}

async fn probe_of(healthy: &'static AtomicBool) -> Result<(), String> {
    if healthy.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err("connection refused".to_owned())
    }
}

static DB: CircuitBreaker = CircuitBreaker::builder().name("checks-db").build();
static DB_HEALTHY: AtomicBool = AtomicBool::new(false);
static DB_CHECK: HealthCheck = HealthCheck::builder("checks-db-probe")
    .every(SECOND)
    .timeout(TIMEOUT)
    .failures_to_act(3)
    .successes_to_release(2)
    .breaker("checks-db")
    .gates_readiness(false)
    .build();

#[tokio::test(start_paused = true)]
async fn n_failures_hold_the_breaker_open_and_m_successes_release_it() {
    DB.register();
    let start = Instant::now();
    let probes = DB_CHECK.start(|| probe_of(&DB_HEALTHY));

    // Probes at 0 s, 1 s: failing, not yet acting.
    for (second, failures) in [(0, 1), (1, 2)] {
        until(start, SECOND * second + AFTER).await;
        let check = snapshot("checks-db-probe");
        assert_eq!(check.consecutive_failures, failures);
        assert_eq!(check.status, CheckStatus::Pending);
        assert_eq!(DB.forced(), None, "{failures} failures do not act");
        assert!(DB.call(|| Ok::<_, String>(())).is_ok());
    }
    // The third, at 2 s: down, and the breaker held open.
    until(start, 2 * SECOND + AFTER).await;
    let check = snapshot("checks-db-probe");
    assert_eq!(check.status, CheckStatus::Down);
    assert!(check.holds_breaker);
    assert_eq!(DB.forced(), Some(State::Open));
    assert!(DB.call(|| Ok::<_, String>(())).is_err(), "calls rejected");

    // More failures keep it down and held; one success is not enough.
    until(start, 3 * SECOND + AFTER).await;
    assert_eq!(snapshot("checks-db-probe").consecutive_failures, 4);
    DB_HEALTHY.store(true, Ordering::Relaxed);
    until(start, 4 * SECOND + AFTER).await;
    let check = snapshot("checks-db-probe");
    assert_eq!(
        (check.status, check.consecutive_successes),
        (CheckStatus::Down, 1)
    );
    assert_eq!(DB.forced(), Some(State::Open), "1 success does not release");

    // The second success: up, and the breaker released (closed, not held).
    until(start, 5 * SECOND + AFTER).await;
    let check = snapshot("checks-db-probe");
    assert_eq!(check.status, CheckStatus::Up);
    assert!(!check.holds_breaker);
    assert_eq!((DB.forced(), DB.state()), (None, State::Closed));
    assert!(DB.call(|| Ok::<_, String>(())).is_ok());
    probes.abort();
}

static HELD: CircuitBreaker = CircuitBreaker::builder().name("checks-held").build();
static HELD_CHECK: HealthCheck = HealthCheck::builder("checks-held-probe")
    .failures_to_act(1)
    .successes_to_release(1)
    .breaker("checks-held")
    .gates_readiness(false)
    .build();

#[tokio::test(start_paused = true)]
async fn an_operators_hold_is_never_released_by_a_check() {
    HELD.register();
    let down = || HELD_CHECK.report(Err::<(), _>("down"));
    let up = || HELD_CHECK.report(Ok::<(), &str>(()));

    // Held by an operator before the check went down: left alone.
    HELD.force_open();
    down();
    assert_eq!(HELD_CHECK.status(), CheckStatus::Down);
    assert!(!snapshot("checks-held-probe").holds_breaker);
    up();
    assert_eq!(HELD_CHECK.status(), CheckStatus::Up);
    assert_eq!(
        HELD.forced(),
        Some(State::Open),
        "the operator's hold stays"
    );

    // Taken by the check, then held again by an operator: the operator's.
    HELD.reset();
    down();
    assert!(snapshot("checks-held-probe").holds_breaker);
    HELD.force_open();
    up();
    assert_eq!(HELD.forced(), Some(State::Open), "re-held by an operator");

    // Taken by the check, then forced closed by an operator: stays closed.
    HELD.reset();
    down();
    HELD.force_closed();
    up();
    assert_eq!(HELD.forced(), Some(State::Closed));

    // Taken by the check and left alone: released.
    HELD.reset();
    down();
    assert_eq!(HELD.forced(), Some(State::Open));
    up();
    assert_eq!(HELD.forced(), None);
}

static HUNG_DROPPED: AtomicU32 = AtomicU32::new(0);
static HUNG_CHECK: HealthCheck = HealthCheck::builder("checks-hung")
    .every(SECOND)
    .timeout(TIMEOUT)
    .failures_to_act(2)
    .gates_readiness(false)
    .build();

/// Counts its drops: the timed-out probe is dropped, not left running.
struct DropCount;

impl Drop for DropCount {
    fn drop(&mut self) {
        HUNG_DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_probe_times_out_counts_as_a_failure_and_is_dropped() {
    let start = Instant::now();
    let probes = HUNG_CHECK.start(|| async {
        let _guard = DropCount;
        std::future::pending::<Result<(), String>>().await
    });

    // Still running just before its timeout.
    until(start, TIMEOUT - Duration::from_millis(1)).await;
    assert_eq!(snapshot("checks-hung").consecutive_failures, 0);
    assert_eq!(HUNG_DROPPED.load(Ordering::Relaxed), 0);

    until(start, TIMEOUT + AFTER).await;
    let check = snapshot("checks-hung");
    assert_eq!(check.consecutive_failures, 1);
    assert_eq!(check.last_error.as_deref(), Some("timed out after 100ms"));
    assert_eq!(check.last_failure, Some(AFTER), "recorded at the timeout");
    assert_eq!(
        HUNG_DROPPED.load(Ordering::Relaxed),
        1,
        "the probe was dropped"
    );

    // The next probe starts on time (every 1 s, start to start).
    until(start, SECOND + TIMEOUT + AFTER).await;
    let check = snapshot("checks-hung");
    assert_eq!(check.consecutive_failures, 2);
    assert_eq!(check.status, CheckStatus::Down);
    probes.abort();
}

static PANICKY_CALLS: AtomicU32 = AtomicU32::new(0);
static PANICKY_CHECK: HealthCheck = HealthCheck::builder("checks-panicky")
    .every(SECOND)
    .gates_readiness(false)
    .build();

#[tokio::test(start_paused = true)]
async fn a_panicking_probe_is_a_failure_and_the_loop_goes_on() {
    let start = Instant::now();
    let probes = PANICKY_CHECK.start(|| async {
        if PANICKY_CALLS.fetch_add(1, Ordering::Relaxed) == 0 {
            panic!("probe bug");
        }
        Ok::<(), String>(())
    });
    until(start, AFTER).await;
    let check = snapshot("checks-panicky");
    assert_eq!(check.last_error.as_deref(), Some("probe panicked"));
    assert_eq!(check.consecutive_failures, 1);
    until(start, SECOND + AFTER).await;
    let check = snapshot("checks-panicky");
    assert_eq!(check.status, CheckStatus::Up);
    assert_eq!(check.consecutive_successes, 1);
    probes.abort();
}

static READY_HEALTHY: AtomicBool = AtomicBool::new(true);
static READY_CHECK: HealthCheck = HealthCheck::builder("checks-ready")
    .every(SECOND)
    .failures_to_act(2)
    .successes_to_release(1)
    .build();

#[tokio::test(start_paused = true)]
async fn readiness_follows_the_gating_checks_and_liveness_never_does() {
    let start = Instant::now();
    assert!(health().ready(), "no gating check started yet");

    let probes = READY_CHECK.start(|| probe_of(&READY_HEALTHY));
    let now = health();
    assert_eq!(snapshot("checks-ready").status, CheckStatus::Pending);
    assert!(!now.ready(), "pending: not ready before the first verdict");
    assert!(now.live());

    until(start, AFTER).await;
    assert!(health().ready(), "up");

    READY_HEALTHY.store(false, Ordering::Relaxed);
    until(start, SECOND + AFTER).await;
    let now = health();
    assert!(now.ready(), "one failure of two: still ready");
    until(start, 2 * SECOND + AFTER).await;
    let now = health();
    assert_eq!(snapshot("checks-ready").status, CheckStatus::Down);
    assert!(!now.ready(), "down: not ready");
    assert!(now.live(), "a failing dependency never makes it not live");

    READY_HEALTHY.store(true, Ordering::Relaxed);
    until(start, 3 * SECOND + AFTER).await;
    assert!(health().ready(), "up again");
    probes.abort();
}

static JSON_HEALTHY: AtomicBool = AtomicBool::new(true);
static JSON_CHECK: HealthCheck = HealthCheck::builder("checks-json")
    .every(Duration::from_secs(5))
    .timeout(Duration::from_millis(1500))
    .failures_to_act(1)
    .breaker("checks-json-breaker")
    .gates_readiness(false)
    .build();
static JSON_BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .name("checks-json-breaker")
    .build();

fn check_json(name: &str) -> Value {
    let json = serde_json::to_value(health()).unwrap();
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {json}"))
        .clone()
}

#[tokio::test(start_paused = true)]
async fn the_checks_serialize_with_the_documented_field_names() {
    JSON_BREAKER.register();
    let start = Instant::now();
    let probes = JSON_CHECK.start(|| probe_of(&JSON_HEALTHY));
    assert_eq!(
        check_json("checks-json"),
        json!({
            "name": "checks-json",
            "duplicate_name": false,
            "gates_readiness": false,
            "status": "pending",
            "breaker": "checks-json-breaker",
            "holds_breaker": false,
            "every_ms": 5000,
            "timeout_ms": 1500,
            "last_success_ms_ago": null,
            "last_failure_ms_ago": null,
            "last_error": null,
            "consecutive_failures": 0,
            "consecutive_successes": 0,
        })
    );

    // A success at 0 s, a failure at 5 s, read at 5.25 s.
    until(start, Duration::from_secs(4)).await;
    JSON_HEALTHY.store(false, Ordering::Relaxed);
    until(start, Duration::from_millis(5250)).await;
    assert_eq!(
        check_json("checks-json"),
        json!({
            "name": "checks-json",
            "duplicate_name": false,
            "gates_readiness": false,
            "status": "down",
            "breaker": "checks-json-breaker",
            "holds_breaker": true,
            "every_ms": 5000,
            "timeout_ms": 1500,
            "last_success_ms_ago": 5250,
            "last_failure_ms_ago": 250,
            "last_error": "connection refused",
            "consecutive_failures": 1,
            "consecutive_successes": 0,
        })
    );
    probes.abort();
}

static RESTARTED: HealthCheck = HealthCheck::builder("checks-restarted")
    .every(SECOND)
    .failures_to_act(1)
    .gates_readiness(false)
    .build();
static TWIN_A: HealthCheck = HealthCheck::builder("checks-twin")
    .gates_readiness(false)
    .build();
static TWIN_B: HealthCheck = HealthCheck::builder("checks-twin")
    .gates_readiness(false)
    .build();

#[tokio::test(start_paused = true)]
async fn a_restarted_check_starts_afresh_and_its_old_loop_ends() {
    let start = Instant::now();
    let old_calls = &*Box::leak(Box::new(AtomicU32::new(0)));
    let old = RESTARTED.start(move || {
        old_calls.fetch_add(1, Ordering::Relaxed);
        async { Err::<(), _>("old") }
    });
    until(start, AFTER).await;
    assert_eq!(RESTARTED.status(), CheckStatus::Down);

    let new = RESTARTED.start(|| async { Ok::<(), String>(()) });
    assert_eq!(RESTARTED.status(), CheckStatus::Pending, "a fresh record");
    until(start, 3 * SECOND + 2 * AFTER).await;
    assert!(old.is_finished(), "the old loop ended at its next result");
    assert_eq!(
        old_calls.load(Ordering::Relaxed),
        2,
        "probed at 0 s and 1 s only"
    );
    let check = snapshot("checks-restarted");
    assert_eq!(
        (check.status, check.consecutive_successes),
        (CheckStatus::Up, 4)
    );
    assert_eq!(check.last_error, None);
    assert_eq!(
        health()
            .checks
            .iter()
            .filter(|c| c.name == "checks-restarted")
            .count(),
        1,
        "listed once"
    );
    new.abort();
    sleep(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn two_checks_of_one_name_are_both_flagged() {
    TWIN_A.report(Ok::<(), &str>(()));
    TWIN_B.report(Ok::<(), &str>(()));
    let twins: Vec<_> = health()
        .checks
        .into_iter()
        .filter(|check| check.name == "checks-twin")
        .collect();
    assert_eq!(twins.len(), 2);
    assert!(twins.iter().all(|check| check.duplicate_name));
}

static EVENTS_CHECK: HealthCheck = HealthCheck::builder("checks-events")
    .failures_to_act(2)
    .successes_to_release(1)
    .breaker("checks-no-such-breaker")
    .gates_readiness(false)
    .build();
static EVENTS_TWIN: HealthCheck = HealthCheck::builder("checks-events")
    .gates_readiness(false)
    .build();

#[test]
fn events_name_the_check_its_error_and_its_failures() {
    let (recorder, _guard) = recorder::Recorder::install();
    EVENTS_CHECK.report(Err::<(), _>("refused"));
    EVENTS_CHECK.report(Err::<(), _>("reset"));
    EVENTS_CHECK.report(Ok::<(), &str>(()));
    EVENTS_TWIN.report(Ok::<(), &str>(()));

    let failed = recorder.events("steadfast::health", "health check failed");
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].level, Level::DEBUG);
    assert_eq!(failed[0].field("policy"), "checks-events");
    assert_eq!(failed[1].field("error"), "reset");

    let down = recorder.events("steadfast::health", "health check down");
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].level, Level::WARN);
    assert_eq!(down[0].field("failures"), "2");
    assert_eq!(down[0].field("error"), "reset");

    let missing = recorder.events(
        "steadfast::health",
        "health check cannot hold its breaker open: no registered breaker has that name",
    );
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].field("breaker"), "checks-no-such-breaker");

    let up = recorder.events("steadfast::health", "health check up");
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].level, Level::INFO);
    assert_eq!(up[0].field("policy"), "checks-events");

    let twins = recorder.events("steadfast::health", "two health checks share a name");
    assert_eq!(twins.len(), 1);
    assert_eq!(twins[0].field("policy"), "checks-events");
}

static EAGER: HealthCheck = HealthCheck::builder("checks-eager")
    .every(Duration::ZERO)
    .failures_to_act(0)
    .successes_to_release(0)
    .gates_readiness(false)
    .build();

#[test]
fn zero_settings_count_as_the_smallest_that_work() {
    assert_eq!(
        EAGER.every(),
        Duration::from_millis(1),
        "a zero period would spin"
    );
    EAGER.report(Err::<(), _>("down"));
    assert_eq!(
        EAGER.status(),
        CheckStatus::Down,
        "0 failures to act counts as 1"
    );
    EAGER.report(Ok::<(), &str>(()));
    assert_eq!(
        EAGER.status(),
        CheckStatus::Up,
        "0 successes to release counts as 1"
    );
}
