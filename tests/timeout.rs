//! `#[timeout]`: the limit, the rejection it reports, cancellation at the deadline.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{DropWitness, Probe, TestError, ms, secs, timeout_after};
use steadfast::{Rejected, timeout};
use tokio::time::Instant;

#[timeout("100ms")]
async fn sleeps(p: &Probe, how_long: Duration) -> Result<u32, TestError> {
    let n = p.hit();
    tokio::time::sleep(how_long).await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn a_slow_call_fails_with_timeout_after_the_configured_limit() {
    let p = Probe::new();
    let start = Instant::now();
    let error = sleeps(&p, secs(5)).await.unwrap_err();
    assert_eq!(error, TestError::Rejected(Rejected::timeout(ms(100))));
    let TestError::Rejected(rejected) = error else {
        unreachable!()
    };
    assert_eq!(timeout_after(&rejected), Some(ms(100)));
    assert_eq!(start.elapsed(), ms(100), "cut off exactly at the deadline");
    assert_eq!(p.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_finishes_in_time_returns_its_result() {
    let p = Probe::new();
    let start = Instant::now();
    assert_eq!(sleeps(&p, ms(99)).await, Ok(1));
    assert_eq!(start.elapsed(), ms(99));
}

#[tokio::test(start_paused = true)]
async fn a_ready_call_takes_no_time() {
    let p = Probe::new();
    let start = Instant::now();
    assert_eq!(sleeps(&p, Duration::ZERO).await, Ok(1));
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[timeout("100ms")]
async fn own_error_after(delay: Duration) -> Result<u32, TestError> {
    tokio::time::sleep(delay).await;
    Err(TestError::Permanent(7))
}

#[tokio::test(start_paused = true)]
async fn the_bodys_own_error_in_time_passes_through_unchanged() {
    let start = Instant::now();
    assert_eq!(own_error_after(ms(60)).await, Err(TestError::Permanent(7)));
    assert_eq!(start.elapsed(), ms(60));
    assert_eq!(
        own_error_after(ms(160)).await,
        Err(TestError::Rejected(Rejected::timeout(ms(100))))
    );
}

#[timeout("250ms")]
async fn hangs_holding(
    slot: &Mutex<Option<Arc<Mutex<Option<Instant>>>>>,
    after_sleep: &Mutex<bool>,
) -> Result<(), TestError> {
    let (witness, dropped_at) = DropWitness::new();
    *slot.lock().unwrap() = Some(dropped_at);
    let _held = witness;
    tokio::time::sleep(secs(3600)).await;
    *after_sleep.lock().unwrap() = true;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_inner_future_is_dropped_at_the_deadline() {
    let slot = Mutex::new(None);
    let resumed = Mutex::new(false);
    let start = Instant::now();
    let error = hangs_holding(&slot, &resumed).await.unwrap_err();
    assert_eq!(error, TestError::Rejected(Rejected::timeout(ms(250))));
    let dropped_at = slot.lock().unwrap().clone().expect("the body ran");
    assert_eq!(*dropped_at.lock().unwrap(), Some(start + ms(250)));
    // Cancelled, not left running: it never resumes after its sleep.
    tokio::time::sleep(secs(7200)).await;
    assert!(!*resumed.lock().unwrap());
}

const LIMIT: Duration = Duration::from_millis(375);

#[timeout(LIMIT)]
async fn const_limit() -> Result<(), Rejected> {
    std::future::pending::<()>().await;
    Ok(())
}

#[timeout(Duration::from_secs(2))]
async fn const_expression_limit() -> Result<(), Rejected> {
    std::future::pending::<()>().await;
    Ok(())
}

mod limits {
    pub(crate) const BASE: std::time::Duration = std::time::Duration::from_millis(20);
    pub(crate) const DOUBLE: std::time::Duration = BASE.saturating_mul(2);
}

#[timeout(limits::DOUBLE)]
async fn const_path_limit() -> Result<(), Rejected> {
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_const_duration_expression_sets_the_limit() {
    let start = Instant::now();
    assert_eq!(const_limit().await, Err(Rejected::timeout(LIMIT)));
    assert_eq!(start.elapsed(), LIMIT);

    let start = Instant::now();
    assert_eq!(
        const_expression_limit().await,
        Err(Rejected::timeout(secs(2)))
    );
    assert_eq!(start.elapsed(), secs(2));

    let start = Instant::now();
    assert_eq!(const_path_limit().await, Err(Rejected::timeout(ms(40))));
    assert_eq!(start.elapsed(), ms(40));
}

// `$limit:tt`, not `:literal`: see the report (a `:literal` fragment reaches the
// attribute wrapped in an invisible group and is not recognised as a string).
macro_rules! pending_with_limit {
    ($name:ident, $limit:tt) => {
        #[timeout($limit)]
        async fn $name() -> Result<(), Rejected> {
            std::future::pending::<()>().await;
            Ok(())
        }
    };
}

pending_with_limit!(limit_us, "1500us");
pending_with_limit!(limit_ms, "250ms");
pending_with_limit!(limit_s, "2s");
pending_with_limit!(limit_m, "3m");
pending_with_limit!(limit_h, "1h");
pending_with_limit!(limit_m_s, "1m30s");
pending_with_limit!(limit_h_m_s_ms, "1h2m3s4ms");

#[tokio::test(start_paused = true)]
async fn duration_literals_parse_every_unit_and_combination() {
    let cases: [(Duration, Result<(), Rejected>); 7] = [
        (Duration::from_micros(1500), limit_us().await),
        (ms(250), limit_ms().await),
        (secs(2), limit_s().await),
        (secs(180), limit_m().await),
        (secs(3600), limit_h().await),
        (secs(90), limit_m_s().await),
        (secs(3723) + ms(4), limit_h_m_s_ms().await),
    ];
    for (expected, got) in cases {
        let rejected = got.unwrap_err();
        assert_eq!(timeout_after(&rejected), Some(expected));
    }
}

#[tokio::test(start_paused = true)]
async fn each_call_gets_its_own_deadline() {
    // The deadline is counted from each call's start, not shared across calls.
    let p = Probe::new();
    tokio::time::sleep(secs(10)).await;
    assert_eq!(sleeps(&p, ms(90)).await, Ok(1));
    assert_eq!(sleeps(&p, ms(90)).await, Ok(2));
    let start = Instant::now();
    let a = sleeps(&p, secs(1));
    let b = sleeps(&p, ms(50));
    let (a, b) = tokio::join!(a, b);
    assert_eq!(a, Err(TestError::Rejected(Rejected::timeout(ms(100)))));
    assert!(b.is_ok());
    assert_eq!(start.elapsed(), ms(100));
}

#[timeout("1s")]
async fn infallible_path(x: u32) -> Result<u32, Rejected> {
    Ok(x + 1)
}

#[tokio::test(start_paused = true)]
async fn timeout_alone_keeps_the_ok_value() {
    assert_eq!(infallible_path(41).await, Ok(42));
}

// ------------------------------------- literals passed through `macro_rules!`

macro_rules! limited {
    ($name:ident, $limit:literal, $n:literal) => {
        #[steadfast::retry(attempts = $n, backoff = fixed($limit), jitter = none)]
        #[timeout($limit)]
        async fn $name() -> Result<u32, steadfast::Rejected> {
            std::future::pending::<()>().await;
            Ok(1)
        }
    };
}

limited!(limited_call, "1s", 3);

#[tokio::test(start_paused = true)]
async fn literals_from_macro_rules_fragments_are_literals() {
    let start = tokio::time::Instant::now();
    assert_eq!(
        limited_call().await,
        Err(steadfast::Rejected::timeout(
            std::time::Duration::from_secs(1)
        ))
    );
    // Three attempts of 1s and two delays of 1s.
    assert_eq!(start.elapsed(), std::time::Duration::from_secs(5));
}

// ------------------------------- bodies that yield only for tokio's coop budget

/// Yields the test task until `task` ends, at most `turns` times: `None` if it
/// is still running then.
async fn outcome_within<T: Send + 'static>(
    task: &mut tokio::task::JoinHandle<T>,
    turns: usize,
) -> Option<T> {
    for _ in 0..turns {
        if task.is_finished() {
            return Some(task.await.expect("the call's task does not panic"));
        }
        tokio::task::yield_now().await;
    }
    None
}

/// Yields the test task until `flag` is set (by a task spawned before).
async fn until_set(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
}

#[timeout("50ms")]
async fn spends_the_budget_forever(
    started: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Result<(), TestError> {
    started.store(true, Ordering::SeqCst);
    // Never waits: each `consume_budget` is ready until the task's budget runs
    // out, and then the task yields. `stop` is never set.
    while !stop.load(Ordering::SeqCst) {
        tokio::task::coop::consume_budget().await;
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_body_looping_on_the_coop_budget_times_out_at_the_deadline() {
    let (started, stop) = (Arc::new(AtomicBool::new(false)), Arc::default());
    let mut task = tokio::spawn(spends_the_budget_forever(started.clone(), stop));
    until_set(&started).await;
    // A busy task keeps paused time from advancing by itself: the test moves
    // it. The deadline was armed at the body's first yield, now.
    let start = Instant::now();
    tokio::time::advance(ms(49)).await;
    assert_eq!(outcome_within(&mut task, 100).await, None, "ended early");
    tokio::time::advance(ms(1)).await;
    assert_eq!(
        outcome_within(&mut task, 100).await,
        Some(Err(TestError::Rejected(Rejected::timeout(ms(50))))),
        "cut off at the deadline"
    );
    assert_eq!(start.elapsed(), ms(50));
}

/// Messages queued for `drains`: enough that draining them takes hundreds of
/// budget-sized turns, so that a timeout that misses its deadline lets the
/// body finish with `Ok`, few enough for a quick debug build.
const BACKLOG: usize = 50_000;

#[timeout("50ms")]
async fn drains(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<usize>,
    drained: Arc<AtomicUsize>,
) -> Result<usize, TestError> {
    // Every `recv` is ready while the backlog lasts; the task yields only
    // when it has spent its budget.
    while rx.recv().await.is_some() {
        drained.fetch_add(1, Ordering::SeqCst);
    }
    Ok(drained.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn draining_a_channel_backlog_times_out_at_the_deadline() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..BACKLOG {
        tx.send(n).unwrap();
    }
    // The sender is gone: once the backlog is drained, the body returns `Ok`.
    drop(tx);
    let drained = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(drains(rx, drained.clone()));
    while drained.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let start = Instant::now();
    tokio::time::advance(ms(50)).await;
    // The body ends either way (the backlog is finite), so no bound is needed.
    let out = task.await.unwrap();
    assert_eq!(
        out,
        Err(TestError::Rejected(Rejected::timeout(ms(50)))),
        "cut off at the deadline, not after the backlog"
    );
    assert_eq!(start.elapsed(), ms(50));
    let left = BACKLOG - drained.load(Ordering::SeqCst);
    assert!(left > 0, "the body was cancelled with messages left");
}
