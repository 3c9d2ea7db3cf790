//! Stacked attributes compose in written order, top = outermost.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{DropWitness, Probe, TestError, is_transient, ms, secs};
use steadfast::{Rejected, fallback, retry, timeout};
use tokio::time::Instant;

fn timed_out(after: Duration) -> TestError {
    TestError::Rejected(Rejected::timeout(after))
}

/// Attempt `n` sleeps `plan[n - 1]` (the last entry for later attempts) and
/// then fails with `Transient(n)`, or succeeds with `n` if `ok_from <= n`.
async fn planned(p: &Probe, plan: &[Duration], ok_from: u32) -> Result<u32, TestError> {
    let n = p.hit();
    let i = (n as usize - 1).min(plan.len() - 1);
    tokio::time::sleep(plan[i]).await;
    if n >= ok_from {
        Ok(n)
    } else {
        Err(TestError::Transient(n))
    }
}

// ------------------------------------------------------- retry over timeout

#[retry(attempts = 3, backoff = fixed("50ms"), jitter = none)]
#[timeout("100ms")]
async fn retry_then_timeout(p: &Probe, plan: &[Duration], ok_from: u32) -> Result<u32, TestError> {
    planned(p, plan, ok_from).await
}

#[tokio::test(start_paused = true)]
async fn retry_over_timeout_times_out_each_attempt() {
    let p = Probe::new();
    let start = Instant::now();
    let result = retry_then_timeout(&p, &[secs(1)], u32::MAX).await;
    assert_eq!(result, Err(timed_out(ms(100))));
    assert_eq!(p.calls(), 3);
    // 100 (timeout) + 50 + 100 + 50 + 100.
    assert_eq!(p.offsets(start), [ms(0), ms(150), ms(300)]);
    assert_eq!(start.elapsed(), ms(400));
}

#[tokio::test(start_paused = true)]
async fn retry_over_timeout_recovers_with_a_fast_attempt() {
    let p = Probe::new();
    let start = Instant::now();
    let result = retry_then_timeout(&p, &[secs(1), secs(1), ms(10)], 3).await;
    assert_eq!(result, Ok(3));
    assert_eq!(start.elapsed(), ms(100 + 50 + 100 + 50 + 10));
}

#[tokio::test(start_paused = true)]
async fn retry_over_timeout_returns_the_last_attempts_error() {
    // Two timeouts, then an own error: that one is returned.
    let p = Probe::new();
    let result = retry_then_timeout(&p, &[secs(1), secs(1), ms(10)], u32::MAX).await;
    assert_eq!(result, Err(TestError::Transient(3)));
    // And an own error followed by a timeout returns the timeout.
    let p = Probe::new();
    let result = retry_then_timeout(&p, &[ms(10), ms(10), secs(1)], u32::MAX).await;
    assert_eq!(result, Err(timed_out(ms(100))));
}

#[retry(attempts = 3, backoff = none)]
#[timeout("100ms")]
async fn each_attempt_witnessed(
    p: &Probe,
    slots: &Mutex<Vec<Arc<Mutex<Option<Instant>>>>>,
) -> Result<(), TestError> {
    p.hit();
    let (witness, slot) = DropWitness::new();
    slots.lock().unwrap().push(slot);
    let _held = witness;
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn each_timed_out_attempt_is_dropped_before_the_next_starts() {
    let p = Probe::new();
    let slots = Mutex::new(Vec::new());
    let start = Instant::now();
    assert_eq!(
        each_attempt_witnessed(&p, &slots).await,
        Err(timed_out(ms(100)))
    );
    let dropped: Vec<_> = slots
        .into_inner()
        .unwrap()
        .iter()
        .map(|s| {
            s.lock()
                .unwrap()
                .expect("attempt was dropped")
                .duration_since(start)
        })
        .collect();
    assert_eq!(dropped, [ms(100), ms(200), ms(300)]);
    assert_eq!(p.offsets(start), [ms(0), ms(100), ms(200)]);
}

// ------------------------------------------------------- timeout over retry

#[timeout("250ms")]
#[retry(attempts = 10, backoff = fixed("100ms"), jitter = none)]
async fn timeout_then_retry(p: &Probe, plan: &[Duration], ok_from: u32) -> Result<u32, TestError> {
    planned(p, plan, ok_from).await
}

#[tokio::test(start_paused = true)]
async fn timeout_over_retry_bounds_all_attempts_together() {
    let p = Probe::new();
    let start = Instant::now();
    let result = timeout_then_retry(&p, &[Duration::ZERO], u32::MAX).await;
    assert_eq!(result, Err(timed_out(ms(250))));
    assert_eq!(start.elapsed(), ms(250));
    assert_eq!(p.offsets(start), [ms(0), ms(100), ms(200)]);
    // The retry loop was cancelled with the call.
    tokio::time::sleep(secs(10)).await;
    assert_eq!(p.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn timeout_over_retry_lets_retries_finish_in_time() {
    let p = Probe::new();
    let start = Instant::now();
    let result = timeout_then_retry(&p, &[ms(10)], 3).await;
    assert_eq!(result, Ok(3));
    assert_eq!(start.elapsed(), ms(10 + 100 + 10 + 100 + 10));
}

#[tokio::test(start_paused = true)]
async fn timeout_over_retry_cuts_a_slow_attempt() {
    // One attempt of 1s would be fine per attempt, but not in total.
    let p = Probe::new();
    let start = Instant::now();
    let result = timeout_then_retry(&p, &[secs(1)], 1).await;
    assert_eq!(result, Err(timed_out(ms(250))));
    assert_eq!(p.calls(), 1);
    assert_eq!(start.elapsed(), ms(250));
}

// ------------------------------------------------ fallback, retry, timeout

fn seen_by(slot: &Mutex<Vec<TestError>>, e: TestError) {
    slot.lock().unwrap().push(e);
}

#[fallback(|e| { seen_by(seen, e); Ok(0) })]
#[retry(attempts = 3, backoff = none)]
#[timeout("100ms")]
async fn fallback_retry_timeout(
    p: &Probe,
    seen: &Mutex<Vec<TestError>>,
    plan: &[Duration],
    ok_from: u32,
) -> Result<u32, TestError> {
    planned(p, plan, ok_from).await
}

#[tokio::test(start_paused = true)]
async fn fallback_over_retry_over_timeout_handles_the_final_error_once() {
    let p = Probe::new();
    let seen = Mutex::new(Vec::new());
    let start = Instant::now();
    assert_eq!(
        fallback_retry_timeout(&p, &seen, &[secs(5)], u32::MAX).await,
        Ok(0)
    );
    assert_eq!(p.calls(), 3, "retried the timeouts before falling back");
    assert_eq!(start.elapsed(), ms(300));
    assert_eq!(*seen.lock().unwrap(), [timed_out(ms(100))]);

    // The handler sees the last attempt's error.
    let p = Probe::new();
    let seen = Mutex::new(Vec::new());
    let plan = [secs(5), secs(5), ms(1)];
    assert_eq!(
        fallback_retry_timeout(&p, &seen, &plan, u32::MAX).await,
        Ok(0)
    );
    assert_eq!(*seen.lock().unwrap(), [TestError::Transient(3)]);

    // Not run when a retry succeeds.
    let p = Probe::new();
    let seen = Mutex::new(Vec::new());
    assert_eq!(
        fallback_retry_timeout(&p, &seen, &[secs(5), ms(1)], 2).await,
        Ok(2)
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[retry(attempts = 3, backoff = fixed("20ms"), jitter = none)]
#[fallback(|e: TestError| {
    assert_eq!(e, timed_out(ms(100)), "the handler sees each attempt's timeout as `E`");
    let n = handled.fetch_add(1, Ordering::SeqCst) + 1;
    if recover { Ok(100) } else { Err(TestError::Transient(1000 + n)) }
})]
#[timeout("100ms")]
async fn retry_fallback_timeout(
    p: &Probe,
    handled: &AtomicU32,
    recover: bool,
) -> Result<u32, TestError> {
    p.hit();
    tokio::time::sleep(secs(5)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn fallback_in_the_middle_handles_each_attempt() {
    // The handler recovers the first attempt's timeout: no retry.
    let p = Probe::new();
    let handled = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(retry_fallback_timeout(&p, &handled, true).await, Ok(100));
    assert_eq!(p.calls(), 1);
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), ms(100));

    // The handler fails: its error is what the retry sees and retries.
    let p = Probe::new();
    let handled = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(
        retry_fallback_timeout(&p, &handled, false).await,
        Err(TestError::Transient(1003))
    );
    assert_eq!(p.calls(), 3);
    assert_eq!(handled.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), ms(100 + 20 + 100 + 20 + 100));
}

async fn slow_handler(e: TestError) -> Result<u32, TestError> {
    match e {
        TestError::Transient(n) => {
            tokio::time::sleep(ms(n.into())).await;
            Ok(n)
        }
        other => Err(other),
    }
}

#[timeout("100ms")]
#[fallback(slow_handler)]
async fn timeout_over_fallback(handler_ms: u32) -> Result<u32, TestError> {
    tokio::time::sleep(ms(30)).await;
    Err(TestError::Transient(handler_ms))
}

#[tokio::test(start_paused = true)]
async fn timeout_over_fallback_bounds_the_handler_too() {
    let start = Instant::now();
    assert_eq!(timeout_over_fallback(50).await, Ok(50));
    assert_eq!(start.elapsed(), ms(80));
    let start = Instant::now();
    assert_eq!(timeout_over_fallback(500).await, Err(timed_out(ms(100))));
    assert_eq!(start.elapsed(), ms(100));
}

#[fallback(|_e| Ok(9), when = is_transient)]
#[retry(attempts = 2, backoff = none, when = |_: &TestError| false)]
#[timeout("10ms")]
async fn fallback_when_over_timeout(p: &Probe) -> Result<u32, TestError> {
    p.hit();
    std::future::pending::<()>().await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn fallback_when_judges_the_converted_rejection() {
    // Timeouts are retried (fixed rule), then reach the fallback as `E`, which
    // its `when` refuses: the timeout propagates.
    let p = Probe::new();
    assert_eq!(fallback_when_over_timeout(&p).await, Err(timed_out(ms(10))));
    assert_eq!(p.calls(), 2);
}

// ---------------------------------------------------------- attribute paths

#[steadfast::retry(attempts = 3, backoff = fixed("50ms"), jitter = none)]
#[steadfast::timeout("100ms")]
async fn qualified_paths(p: &Probe) -> Result<u32, TestError> {
    planned(p, &[secs(1)], u32::MAX).await
}

#[::steadfast::retry(attempts = 3, backoff = fixed("50ms"), jitter = none)]
#[::steadfast::timeout("100ms")]
async fn absolute_paths(p: &Probe) -> Result<u32, TestError> {
    planned(p, &[secs(1)], u32::MAX).await
}

#[steadfast::timeout("250ms")]
#[retry(attempts = 10, backoff = fixed("100ms"), jitter = none)]
async fn mixed_paths(p: &Probe) -> Result<u32, TestError> {
    planned(p, &[Duration::ZERO], u32::MAX).await
}

#[steadfast::fallback(|e| Ok(match e { TestError::Rejected(_) => 1, _ => 2 }))]
#[steadfast::retry(attempts = 2, backoff = none)]
#[timeout("100ms")]
async fn qualified_three(p: &Probe) -> Result<u32, TestError> {
    planned(p, &[secs(1)], u32::MAX).await
}

#[tokio::test(start_paused = true)]
async fn qualified_attribute_paths_compose_in_written_order() {
    for absolute in [false, true] {
        let p = Probe::new();
        let start = Instant::now();
        let result = if absolute {
            absolute_paths(&p).await
        } else {
            qualified_paths(&p).await
        };
        // Per attempt (retry outermost), not around the whole retry.
        assert_eq!(result, Err(timed_out(ms(100))));
        assert_eq!(p.calls(), 3);
        assert_eq!(start.elapsed(), ms(400));
    }

    let p = Probe::new();
    let start = Instant::now();
    assert_eq!(mixed_paths(&p).await, Err(timed_out(ms(250))));
    assert_eq!(p.calls(), 3);
    assert_eq!(start.elapsed(), ms(250));

    let p = Probe::new();
    let start = Instant::now();
    assert_eq!(qualified_three(&p).await, Ok(1));
    assert_eq!(p.calls(), 2);
    assert_eq!(start.elapsed(), ms(200));
}

async fn slow_recovery(e: TestError) -> Result<u32, TestError> {
    tokio::time::sleep(ms(500)).await;
    match e {
        TestError::Rejected(_) => Ok(5),
        other => Err(other),
    }
}

#[fallback(slow_recovery)]
#[timeout("100ms")]
async fn fallback_over_timeout() -> Result<u32, TestError> {
    std::future::pending::<()>().await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn fallback_over_timeout_is_not_bounded_by_it() {
    let start = Instant::now();
    assert_eq!(fallback_over_timeout().await, Ok(5));
    assert_eq!(start.elapsed(), ms(600));
}

// ------------------------------------------- timeout under a bulkhead

static ONE_SLOT: steadfast::Bulkhead = steadfast::Bulkhead::builder()
    .name("stacking::one_slot")
    .max_concurrent(1)
    .max_queue(0)
    .build();

/// What the body's drop guard saw of the bulkhead above it.
static SEEN_WHEN_DROPPED: Mutex<Option<(u32, bool)>> = Mutex::new(None);

struct SeesTheSlot;

impl Drop for SeesTheSlot {
    fn drop(&mut self) {
        let free = ONE_SLOT.try_acquire().is_ok();
        *SEEN_WHEN_DROPPED.lock().unwrap() = Some((ONE_SLOT.running(), free));
    }
}

#[steadfast::bulkhead(shared = ONE_SLOT)]
#[timeout("10ms")]
async fn hangs_in_one_slot() -> Result<(), TestError> {
    let _guard = SeesTheSlot;
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_body_is_gone_before_its_bulkhead_slot_is_free() {
    // Held, not awaited again: the body must be dropped at the deadline, while
    // the slot is still taken, so that no second body can run beside it.
    let mut call = std::pin::pin!(hangs_in_one_slot());
    let out = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
    assert!(out.is_pending());
    tokio::time::sleep(ms(10)).await;
    let out = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
    assert_eq!(out, std::task::Poll::Ready(Err(timed_out(ms(10)))));
    assert_eq!(*SEEN_WHEN_DROPPED.lock().unwrap(), Some((1, false)));
    assert_eq!(ONE_SLOT.running(), 0);
}
