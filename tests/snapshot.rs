//! State that survives a restart (issue 13, item 4): a breaker opened in one
//! process, its snapshot written as JSON, restored in a fresh process,
//! rejects for the time it had left, then probes.
//!
//! Every test keeps to its own breakers (`mine`): `take` and `restore` see
//! every registered breaker of the process, and tests run side by side.

use std::io;
use std::process::Command;
use std::time::Duration;

use steadfast::circuit_breaker::State;
use steadfast::snapshot::{self, Skip, Snapshot};
use steadfast::{CircuitBreaker, Failure, Rejected, circuit_breaker};
use tokio::time::{advance, sleep};

const SECOND: Duration = Duration::from_secs(1);
const NANO: Duration = Duration::from_nanos(1);

/// Opens on two failures; probes after 30 s. Takes `delay` to answer.
#[circuit_breaker(name = "snapshot-payments", window = 2, open_for = "30s")]
async fn pay(ok: bool, delay: Duration) -> io::Result<()> {
    sleep(delay).await;
    if ok {
        Ok(())
    } else {
        Err(io::Error::other("503"))
    }
}

fn payments() -> &'static CircuitBreaker {
    steadfast::health::breaker("snapshot-payments")
        .and_then(|named| named.only())
        .expect("registered from startup")
}

/// The snapshot's entries for the breakers named `name`, as JSON.
fn mine(name: &str) -> String {
    let mut snapshot = snapshot::take();
    snapshot.breakers.retain(|b| b.name == name);
    serde_json::to_string(&snapshot).expect("plain data")
}

fn is_open(result: &io::Result<()>) -> bool {
    result.as_ref().is_err_and(|e| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Rejected>())
            .is_some_and(|r| matches!(r, Rejected::CircuitOpen { .. }))
    })
}

/// The issue's test, with a real fresh process: the parent opens the
/// breaker, waits 10 s of its 30, and hands the snapshot's JSON to a child
/// process (this test binary again, running `child_restores_the_snapshot`),
/// which restores it before any call and checks that its own breaker rejects
/// for exactly the 20 s left, then admits one probe at a time.
#[tokio::test(start_paused = true)]
async fn a_breaker_opened_before_a_restart_rejects_for_the_time_left_then_probes() {
    let _ = pay(false, Duration::ZERO).await;
    let _ = pay(false, Duration::ZERO).await;
    assert_eq!(payments().state(), State::Open);
    advance(10 * SECOND).await;
    let json = mine("snapshot-payments");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["breakers"][0]["state"], "open");
    assert_eq!(value["breakers"][0]["open_left_ms"], 20_000);
    assert_eq!(value["breakers"][0]["window_failures"], 2);

    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_restores_the_snapshot", "--nocapture"])
        .env("STEADFAST_TEST_SNAPSHOT", &json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && stdout.contains("test child_restores_the_snapshot ... ok"),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(
        stdout.contains("restored: snapshot-payments open 20000ms"),
        "{stdout}"
    );
}

/// The fresh process of the test above: runs only with the snapshot in
/// `STEADFAST_TEST_SNAPSHOT` (and passes at once without it).
#[tokio::test(start_paused = true)]
async fn child_restores_the_snapshot() {
    let Ok(json) = std::env::var("STEADFAST_TEST_SNAPSHOT") else {
        return;
    };
    assert_eq!(payments().state(), State::Closed, "a fresh process");
    let saved: Snapshot = serde_json::from_str(&json).unwrap();
    // The age by the wall clock is a few milliseconds here; the parent's
    // paused clock stood still meanwhile, so the exact age is zero.
    let report = snapshot::restore_aged(&saved, Duration::ZERO).unwrap();
    println!("report: {}", serde_json::to_string(&report).unwrap());
    let restored = &report.restored[0];
    println!(
        "restored: {} {} {}ms",
        restored.name,
        restored.state,
        restored.open_left.as_millis()
    );
    assert_eq!(payments().state(), State::Open);
    assert!(is_open(&pay(true, Duration::ZERO).await), "rejects at once");
    advance(20 * SECOND - NANO).await;
    assert!(
        is_open(&pay(true, Duration::ZERO).await),
        "rejects until 20 s"
    );
    advance(NANO).await;
    // The probe takes a second; meanwhile a second caller is rejected.
    let probe = tokio::spawn(pay(true, SECOND));
    tokio::task::yield_now().await;
    assert_eq!(payments().state(), State::HalfOpen);
    assert!(
        is_open(&pay(true, Duration::ZERO).await),
        "one probe at a time"
    );
    probe.await.unwrap().expect("the probe succeeds");
    assert_eq!(payments().state(), State::Closed);
    assert!(pay(true, Duration::ZERO).await.is_ok());
}

static AGED: CircuitBreaker = CircuitBreaker::builder()
    .name("snapshot-aged")
    .window_calls(2)
    .open_for(Duration::from_secs(30))
    .build();

/// `restore` reckons the age by the wall clock from `taken_at_unix_ms`: a
/// fresh snapshot rejects for the time left less that age (a few
/// milliseconds), one older than `open_for` restores closed.
#[tokio::test(start_paused = true)]
async fn restore_ages_a_snapshot_by_the_wall_clock() {
    AGED.register();
    for _ in 0..2 {
        let _ = AGED.call(|| Err::<(), _>(()));
    }
    advance(10 * SECOND).await;
    let json = mine("snapshot-aged");
    AGED.reset();

    let fresh: Snapshot = serde_json::from_str(&json).unwrap();
    let report = snapshot::restore(&fresh).unwrap();
    assert!(report.age < 10 * SECOND, "{report:?}");
    let left = report.restored[0].open_left;
    assert_eq!(left, 20 * SECOND - report.age);
    advance(left - NANO).await;
    assert_eq!(
        AGED.call(|| Ok::<_, ()>(())),
        Err(Failure::Rejected(Rejected::circuit_open("snapshot-aged")))
    );
    advance(NANO).await;
    assert_eq!(AGED.call(|| Ok::<_, ()>(())), Ok(()), "the probe");

    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    let taken = old["taken_at_unix_ms"].as_u64().unwrap();
    old["taken_at_unix_ms"] = (taken - 30_000).into();
    let old: Snapshot = serde_json::from_value(old).unwrap();
    for _ in 0..2 {
        let _ = AGED.call(|| Err::<(), _>(()));
    }
    assert_eq!(AGED.state(), State::Open);
    let report = snapshot::restore(&old).unwrap();
    assert!(report.age >= 30 * SECOND);
    assert_eq!(report.restored[0].state, State::Closed);
    assert_eq!(AGED.state(), State::Closed);
    assert_eq!(AGED.window_counts().calls, 0, "a fresh window");
}

/// Malformed JSON and another version fail with a clear error; unknown
/// names are reported, unknown fields ignored.
#[test]
fn bad_snapshots_fail_clearly_and_unknown_names_are_reported() {
    let entry = r#"{"name": "snapshot-nobody", "state": "open", "forced": null,
        "open_left_ms": 1000, "window_calls": 2, "window_failures": 2,
        "window_slow": 0, "consecutive_failures": 0, "shared": false"#;
    let json = |version: u32, extra: &str| {
        format!(
            r#"{{"version": {version}, "taken_at_unix_ms": 0, "breakers": [{entry}{extra}}}]}}"#
        )
    };
    let error = serde_json::from_str::<Snapshot>(&json(2, "")).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("snapshot version 2 is not supported (this steadfast reads version 1)"),
        "{error}"
    );
    let error =
        serde_json::from_str::<Snapshot>(&json(1, "").replace("\"open\"", "\"ajar\"")).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("unknown variant `ajar`, expected one of `closed`, `open`, `half_open`"),
        "{error}"
    );
    let error = serde_json::from_str::<Snapshot>(&json(1, "").replace(r#", "shared": false"#, ""))
        .unwrap_err();
    assert!(
        error.to_string().starts_with("missing field `shared`"),
        "{error}"
    );
    assert!(serde_json::from_str::<Snapshot>("{\"version\": 1").is_err());

    let later = json(1, r#", "added_in_1_1": [1, 2]"#);
    let mut saved: Snapshot = serde_json::from_str(&later).expect("unknown fields are ignored");
    let report = snapshot::restore(&saved).unwrap();
    assert_eq!(report.unknown, ["snapshot-nobody"]);
    assert!(report.restored.iter().all(|r| r.name != "snapshot-nobody"));
    assert!(!report.skipped.iter().any(|s| s.reason == Skip::Shared));
    let report = serde_json::to_value(&report).unwrap();
    assert_eq!(report["unknown"], serde_json::json!(["snapshot-nobody"]));
    assert!(
        report["age_ms"].as_u64().unwrap() > 1_700_000_000_000,
        "since 1970"
    );

    // A time left open is written in whole milliseconds, rounded up: never
    // shorter than it was.
    saved.breakers[0].open_left = Duration::from_nanos(1_000_001);
    let written = serde_json::to_value(&saved).unwrap();
    assert_eq!(written["breakers"][0]["open_left_ms"], 2);
}
