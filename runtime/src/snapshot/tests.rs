//! Taking and restoring snapshots, on tokio's paused clock. Every test
//! works on breakers of its own (leaked, registered, with names only it
//! uses) and keeps to them (`mine`), since the registry is the process's.

use core::time::Duration;

use super::*;
use crate::circuit_breaker::{CircuitBreakerBuilder, WindowCounts};
use crate::{Failure, Rejected};

const SECOND: Duration = Duration::from_secs(1);

/// A registered breaker named `name`.
fn breaker(name: &'static str, builder: CircuitBreakerBuilder) -> &'static CircuitBreaker {
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(builder.name(name).build()));
    breaker.register();
    breaker
}

/// A snapshot of the registered breakers whose names start with `prefix`.
fn mine(prefix: &str) -> Snapshot {
    let mut snapshot = take();
    snapshot.breakers.retain(|b| b.name.starts_with(prefix));
    snapshot
}

/// Runs calls with outcomes 'S' (success) and 'F' (failure); each must be
/// admitted.
fn calls(cb: &CircuitBreaker, outcomes: &str) {
    for c in outcomes.chars() {
        let result = cb.call(|| if c == 'F' { Err(()) } else { Ok(()) });
        assert!(
            !matches!(result, Err(Failure::Rejected(_))),
            "{} rejected a call",
            cb.name()
        );
    }
}

fn admits(cb: &CircuitBreaker) -> bool {
    cb.try_acquire().is_ok()
}

fn counts(calls: u64, failures: u64, slow: u64) -> WindowCounts {
    WindowCounts {
        calls,
        failures,
        slow,
    }
}

/// A closed count-window breaker comes back with its counts and its run of
/// failures, however old the snapshot (a count window does not age): the
/// calls that would have opened it before the restart open it after.
#[tokio::test(start_paused = true)]
async fn a_closed_breaker_keeps_its_window_and_failure_run() {
    let ratio = breaker(
        "snap-closed-ratio",
        CircuitBreaker::builder()
            .window_calls(10)
            .failure_ratio(0.5),
    );
    let run = breaker(
        "snap-closed-run",
        CircuitBreaker::builder()
            .window_calls(100)
            .consecutive_failures(3),
    );
    calls(ratio, "SSFSFSSSFS");
    calls(run, "SFF");
    let snapshot = mine("snap-closed-");
    ratio.reset();
    run.reset();
    assert_eq!(ratio.window_counts(), counts(0, 0, 0));

    let report = restore_aged(&snapshot, Duration::from_secs(86_400)).unwrap();
    assert_eq!(report.restored.len(), 2, "{report:?}");
    assert_eq!(ratio.state(), State::Closed);
    assert_eq!(ratio.window_counts(), counts(10, 3, 0));
    assert_eq!(run.failure_run(), 2);
    // The restored failures are spread through the ring, its oldest slots
    // successes: a failure replacing one makes 4 of 10, the next 5 of 10.
    calls(ratio, "F");
    assert_eq!(ratio.state(), State::Closed, "4 failures of 10");
    calls(ratio, "F");
    assert_eq!(ratio.state(), State::Open, "5 failures of 10");
    calls(run, "F");
    assert_eq!(run.state(), State::Open, "the third failure in a row");
}

/// A count window smaller than the snapshot's takes its counts in
/// proportion; a time window keeps the part its age has not expired.
#[tokio::test(start_paused = true)]
async fn window_counts_fit_the_window_and_expire_with_its_time() {
    let small = breaker("snap-fit-small", CircuitBreaker::builder().window_calls(10));
    let timed = breaker(
        "snap-fit-timed",
        CircuitBreaker::builder()
            .window_duration(Duration::from_secs(100))
            .min_calls(1000),
    );
    let mut snapshot = mine("snap-fit-");
    for entry in &mut snapshot.breakers {
        (entry.window_calls, entry.window_failures, entry.window_slow) = (100, 40, 20);
    }
    restore_aged(&snapshot, 30 * SECOND).unwrap();
    assert_eq!(small.window_counts(), counts(10, 4, 2));
    assert_eq!(
        timed.window_counts(),
        counts(70, 28, 14),
        "70 s of 100 kept"
    );

    for age in [100, 1000] {
        restore_aged(&snapshot, age * SECOND).unwrap();
        assert_eq!(timed.window_counts(), counts(0, 0, 0), "all expired");
    }

    // Restored counts live in the window's current bucket and leave it with
    // the window's time.
    restore_aged(&snapshot, Duration::ZERO).unwrap();
    assert_eq!(timed.window_counts(), counts(100, 40, 20));
    tokio::time::advance(100 * SECOND).await;
    assert_eq!(timed.window_counts(), counts(0, 0, 0));
}

/// An open breaker rejects for the time it had left less the snapshot's age,
/// then probes; older than `open_for`, it comes back closed with a fresh
/// window. A half-open one probes at once.
#[tokio::test(start_paused = true)]
async fn an_open_breaker_rejects_for_the_time_left_less_the_age() {
    let open = breaker(
        "snap-open-a",
        CircuitBreaker::builder()
            .window_calls(2)
            .open_for(30 * SECOND),
    );
    calls(open, "FF");
    tokio::time::advance(10 * SECOND).await;
    let snapshot = mine("snap-open-a");
    assert_eq!(snapshot.breakers[0].open_left, 20 * SECOND);
    assert_eq!(snapshot.breakers[0].state, State::Open);

    for (age, left) in [(0, 20), (5, 15), (19, 1)] {
        open.reset();
        let report = restore_aged(&snapshot, age * SECOND).unwrap();
        assert_eq!(report.restored[0].open_left, left * SECOND);
        assert_eq!(open.state(), State::Open);
        tokio::time::advance(left * SECOND - Duration::from_nanos(1)).await;
        assert!(!admits(open), "rejects until {left} s have passed");
        tokio::time::advance(Duration::from_nanos(1)).await;
        let probe = open.try_acquire().expect("then probes");
        assert_eq!(open.state(), State::HalfOpen);
        assert!(!admits(open), "one probe at a time");
        probe.success();
        assert_eq!(open.state(), State::Closed);
    }

    // Past the time left but within open_for: the next call probes.
    open.reset();
    restore_aged(&snapshot, 25 * SECOND).unwrap();
    assert_eq!(open.state(), State::Open);
    let _probe = open.try_acquire().expect("probes at once");
    assert_eq!(open.state(), State::HalfOpen);

    // Older than open_for: closed, with a fresh window.
    restore_aged(&snapshot, 30 * SECOND).unwrap();
    assert_eq!(open.state(), State::Closed);
    assert_eq!(open.window_counts(), counts(0, 0, 0));
    calls(open, "F");
    assert_eq!(
        open.state(),
        State::Closed,
        "one failure in a fresh window of 2"
    );

    // Half-open: its probes died with the process; the next call probes.
    calls(open, "F");
    tokio::time::advance(30 * SECOND).await;
    let _probe = open.try_acquire().expect("probe");
    let snapshot = mine("snap-open-a");
    assert_eq!(snapshot.breakers[0].state, State::HalfOpen);
    open.reset();
    let report = restore_aged(&snapshot, Duration::ZERO).unwrap();
    assert_eq!(
        (report.restored[0].state, report.restored[0].open_left),
        (State::Open, Duration::ZERO)
    );
    assert!(admits(open), "probes at once");
    assert_eq!(open.state(), State::HalfOpen);
}

/// An operator's hold survives a restart whatever the snapshot's age; a
/// hold given in the new process is not overridden by the snapshot.
#[tokio::test(start_paused = true)]
async fn holds_survive_and_a_hold_given_here_is_kept() {
    let held_open = breaker("snap-hold-open", CircuitBreaker::builder());
    let held_closed = breaker(
        "snap-hold-closed",
        CircuitBreaker::builder().window_calls(4),
    );
    let here = breaker("snap-hold-here", CircuitBreaker::builder().window_calls(2));
    held_open.force_open();
    held_closed.force_closed();
    calls(held_closed, "FFF");
    calls(here, "FF");
    let snapshot = mine("snap-hold-");
    held_open.reset();
    held_closed.reset();
    here.force_closed();

    let report = restore_aged(&snapshot, Duration::from_secs(86_400 * 365)).unwrap();
    assert_eq!(held_open.forced(), Some(State::Open));
    assert!(!admits(held_open));
    assert_eq!(held_closed.forced(), Some(State::Closed));
    assert_eq!(held_closed.window_counts(), counts(3, 3, 0));
    calls(held_closed, "FFFF");
    assert_eq!(held_closed.state(), State::Closed, "held closed");
    assert_eq!(here.forced(), Some(State::Closed), "this process's hold");
    assert_eq!(
        report.skipped,
        [SkippedBreaker {
            name: "snap-hold-here".into(),
            reason: Skip::Held
        }]
    );
    let restored: Vec<_> = report
        .restored
        .iter()
        .map(|r| (r.name.as_str(), r.state, r.forced))
        .collect();
    assert_eq!(
        restored,
        [
            ("snap-hold-open", State::Open, Some(State::Open)),
            ("snap-hold-closed", State::Closed, Some(State::Closed)),
        ]
    );
    held_open.reset();
    held_closed.reset();
    here.reset();
}

/// Unknown names and duplicated names are reported, the rest restored;
/// registered breakers the snapshot does not name are listed and untouched.
#[tokio::test(start_paused = true)]
async fn unknown_and_duplicate_names_are_reported_not_fatal() {
    let known = breaker(
        "snap-names-known",
        CircuitBreaker::builder().window_calls(2),
    );
    let twin_a = breaker("snap-names-twin", CircuitBreaker::builder().window_calls(2));
    let twin_b = breaker("snap-names-twin", CircuitBreaker::builder().window_calls(2));
    let new = breaker("snap-names-new", CircuitBreaker::builder().window_calls(2));
    calls(known, "FF");
    calls(twin_a, "FF");
    let mut snapshot = mine("snap-names-");
    snapshot.breakers.retain(|b| b.name != "snap-names-new");
    let mut gone = snapshot.breakers[0].clone();
    gone.name = "snap-names-gone".into();
    snapshot.breakers.push(gone);
    known.reset();
    twin_a.reset();
    calls(new, "F");

    let report = restore_aged(&snapshot, Duration::ZERO).unwrap();
    assert_eq!(known.state(), State::Open, "restored");
    assert_eq!(report.unknown, ["snap-names-gone"]);
    assert!(
        report
            .skipped
            .iter()
            .all(|s| s.name == "snap-names-twin" && s.reason == Skip::DuplicateName)
            && report.skipped.len() == 2,
        "{report:?}"
    );
    assert_eq!(
        (twin_a.state(), twin_b.state()),
        (State::Closed, State::Closed)
    );
    assert!(report.not_in_snapshot.contains(&"snap-names-new"));
    assert_eq!(new.window_counts(), counts(1, 1, 0), "untouched");
}

/// A snapshot of another version, or with an entry that contradicts itself
/// (even after valid ones), changes nothing.
#[tokio::test(start_paused = true)]
async fn a_bad_snapshot_changes_nothing() {
    let first = breaker("snap-bad-first", CircuitBreaker::builder().window_calls(2));
    let second = breaker("snap-bad-second", CircuitBreaker::builder().window_calls(2));
    calls(first, "FF");
    let good = mine("snap-bad-");
    first.reset();

    let mut newer = good.clone();
    newer.version = 2;
    let error = restore_aged(&newer, Duration::ZERO).unwrap_err();
    assert_eq!(error, RestoreError::Version { found: 2 });
    assert_eq!(
        error.to_string(),
        "snapshot version 2 is not supported (this steadfast reads version 1)"
    );

    let broken: [fn(&mut BreakerSnapshot); 4] = [
        |b| b.window_failures = b.window_calls + 1,
        |b| (b.state, b.forced) = (State::HalfOpen, Some(State::HalfOpen)),
        |b| b.forced = Some(State::Open),
        |b| b.open_left = SECOND,
    ];
    for (i, breaks) in broken.into_iter().enumerate() {
        let mut bad = good.clone();
        let entry = bad
            .breakers
            .iter_mut()
            .find(|b| b.name == "snap-bad-second")
            .unwrap();
        breaks(entry);
        let error = restore_aged(&bad, Duration::ZERO).unwrap_err();
        assert!(
            matches!(&error, RestoreError::Invalid { breaker, .. } if breaker == "snap-bad-second"),
            "case {i}: {error:?}"
        );
        assert_eq!(first.state(), State::Closed, "case {i}: nothing restored");
    }
    assert_eq!(second.window_counts(), counts(0, 0, 0));
    restore_aged(&good, Duration::ZERO).unwrap();
    assert_eq!(first.state(), State::Open);
    assert!(matches!(
        first.try_acquire(),
        Err(Rejected::CircuitOpen { .. })
    ));
}
