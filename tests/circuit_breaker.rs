//! `#[circuit_breaker]`: every key, the MicroProfile Fault Tolerance TCK
//! scenarios, half-open admission under concurrency, panics, cancellation,
//! stacking, late results, names and error conversions.
//!
//! Each test has its own annotated function (one breaker per function item),
//! and runs its calls through `play`: one letter per call in (`S` succeed,
//! `F` fail, `I` an error `failure_if` does not count, `L` succeed slowly),
//! one letter per result out (`O` is `Rejected::CircuitOpen`).

mod common_breaker;

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use common_breaker::{
    Calls, End, Outcome, TestError, at_once, circuit_open_name, letter, ms, never, play, secs,
    settle, settle_mt,
};
use steadfast::{CircuitBreaker, Rejected, bulkhead, circuit_breaker, retry, timeout};
use tokio::sync::{Barrier, Semaphore};
use tokio::time::{Instant, advance};

// ---------------------------------------------------------------------------
// The MicroProfile FT TCK scenarios
// ---------------------------------------------------------------------------

#[circuit_breaker(window = 4, failure_ratio = 0.5)]
async fn tck_rolling(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// TCK `CircuitBreakerTest.testCircuitClosedThenOpen`-style: with a window of
/// 4 and ratio 0.5, S F S S leaves it closed (1 failure of 4); the fifth call
/// fails, the window F S S F holds 2 ≥ ceil(0.5 × 4), and it opens: the sixth
/// call is rejected without its body running.
#[tokio::test(start_paused = true)]
async fn tck_s_f_s_s_f_opens_at_call_5_and_call_6_does_not_run() {
    let c = Calls::new();
    assert_eq!(play(|o| tck_rolling(&c, o), "SFSSF").await, "SFSSF");
    assert_eq!(c.entered(), 5);
    assert_eq!(play(|o| tck_rolling(&c, o), "S").await, "O");
    assert_eq!(c.entered(), 5, "the body of a rejected call must not run");
}

#[circuit_breaker(window = 4, failure_ratio = 0.5, open_for = "1s", half_open_probes = 3)]
async fn tck_probes_reopen(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// TCK: with 3 half-open probes, two successes and then a failure reopen the
/// breaker (all probes must succeed to close it).
#[tokio::test(start_paused = true)]
async fn tck_three_probes_two_successes_then_a_failure_reopen() {
    let c = Calls::new();
    assert_eq!(play(|o| tck_probes_reopen(&c, o), "FFFF S").await, "FFFFO");
    advance(secs(1)).await;
    assert_eq!(play(|o| tck_probes_reopen(&c, o), "SSF S").await, "SSFO");
    assert_eq!(c.entered(), 7);
    // Reopened: a full `open_for` again before the next probe.
    advance(ms(999)).await;
    assert_eq!(play(|o| tck_probes_reopen(&c, o), "S").await, "O");
    advance(ms(1)).await;
    assert_eq!(
        play(|o| tck_probes_reopen(&c, o), "SSS SFS").await,
        "SSSSFS"
    );
}

#[circuit_breaker(window = 4, failure_ratio = 0.5, open_for = "5s")]
#[bulkhead(max_concurrent = 1, max_queue = 0)]
async fn tck_breaker_over_bulkhead(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// TCK `CircuitBreakerBulkheadTest`: a breaker above a bulkhead of 1 counts the
/// bulkhead's rejections as failures; once open, callers get `CircuitOpen`
/// before the bulkhead is tried (even when the bulkhead has a free slot).
#[tokio::test(start_paused = true)]
async fn tck_bulkhead_rejections_open_the_breaker_above_it() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let holder = tokio::spawn(tck_breaker_over_bulkhead(
        &CALLS,
        Outcome::gated(&GATE, End::Ok),
    ));
    settle("the holder runs", || CALLS.entered() == 1).await;
    // The holder fills the bulkhead: four BulkheadFull, recorded as failures.
    assert_eq!(
        at_once(play(|o| tck_breaker_over_bulkhead(&CALLS, o), "SSSS")).await,
        "BBBB"
    );
    // The breaker is open now: it answers before the (full) bulkhead.
    assert_eq!(
        play(|o| tck_breaker_over_bulkhead(&CALLS, o), "S").await,
        "O"
    );
    GATE.add_permits(1);
    assert_eq!(
        letter(&holder.await.unwrap()),
        'S',
        "the holder still finishes"
    );
    // The bulkhead is free, but the breaker stays open: still no body run.
    assert_eq!(
        play(|o| tck_breaker_over_bulkhead(&CALLS, o), "SS").await,
        "OO"
    );
    assert_eq!(CALLS.entered(), 1);
}

// ---------------------------------------------------------------------------
// failure_ratio, window, min_calls
// ---------------------------------------------------------------------------

#[circuit_breaker(window = 4, failure_ratio = 0.75)]
async fn ratio_three_quarters(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `failure_ratio = 0.75` over 4 calls needs 3 failures: 2 of 4 (which would
/// open the default 0.5) leave it closed; the window S F F F opens it.
#[tokio::test(start_paused = true)]
async fn failure_ratio_sets_the_share_of_failures_that_opens() {
    let c = Calls::new();
    assert_eq!(
        play(|o| ratio_three_quarters(&c, o), "FFSS FF F S").await,
        "FFSSFFFO"
    );
    assert_eq!(c.entered(), 7);
}

#[circuit_breaker(window = 10, failure_ratio = 0.25)]
async fn ratio_rounds_up(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// The threshold is `ceil(failure_ratio × calls)`: 0.25 × 10 = 2.5 needs 3
/// failures (2 of 10 is below the ratio), not 2.
#[tokio::test(start_paused = true)]
async fn failure_threshold_is_the_ratio_times_calls_rounded_up() {
    let c = Calls::new();
    assert_eq!(
        play(|o| ratio_rounds_up(&c, o), "FSSSFSSSSS S").await,
        "FSSSFSSSSSS",
        "2 failures in 10 stay below 0.25"
    );
    assert_eq!(play(|o| ratio_rounds_up(&c, o), "F F S").await, "FFO");
}

#[circuit_breaker(window = 4, failure_ratio = 0.5)]
async fn count_window_slides(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `window = 4` holds the last 4 calls: failures 5 calls apart never share
/// the window (the breaker never opens however many there are; the period is
/// not the window's, so each failure lands on a different ring slot), and a
/// long run of successes has left it once two failures come close together.
#[tokio::test(start_paused = true)]
async fn count_window_holds_only_the_last_n_calls() {
    let c = Calls::new();
    let spaced = "FSSSS".repeat(10);
    assert_eq!(play(|o| count_window_slides(&c, o), &spaced).await, spaced);
    let healthy = "S".repeat(200);
    assert_eq!(
        play(|o| count_window_slides(&c, o), &healthy).await,
        healthy
    );
    assert_eq!(play(|o| count_window_slides(&c, o), "FF S").await, "FFO");
}

#[circuit_breaker(window = "1s", min_calls = 2, failure_ratio = 0.5)]
async fn time_window_forgets(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

#[circuit_breaker(window = "1s", min_calls = 2, failure_ratio = 0.5)]
async fn time_window_remembers(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `window = "1s"`: a failure from a second ago has left the window (the
/// next success is alone, below `min_calls`); one from 900 ms ago has not
/// (with the success it makes 1 failure of 2, which opens).
#[tokio::test(start_paused = true)]
async fn time_window_old_failures_leave_after_the_duration() {
    let (gone, kept) = (Calls::new(), Calls::new());
    assert_eq!(play(|o| time_window_forgets(&gone, o), "F").await, "F");
    assert_eq!(play(|o| time_window_remembers(&kept, o), "F").await, "F");
    advance(ms(900)).await;
    assert_eq!(play(|o| time_window_remembers(&kept, o), "S S").await, "SO");
    advance(ms(100)).await;
    assert_eq!(play(|o| time_window_forgets(&gone, o), "S S").await, "SS");
    // The window still counts what is inside it.
    assert_eq!(
        play(|o| time_window_forgets(&gone, o), "F F S").await,
        "FFO"
    );
}

#[circuit_breaker(window = "1s", min_calls = 2, failure_ratio = 0.6)]
async fn time_window_successes_leave(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Old successes leave a time window too: two successes a second ago no
/// longer dilute two fresh failures (2 of 4 would stay below 0.6).
#[tokio::test(start_paused = true)]
async fn time_window_old_successes_leave_after_the_duration() {
    let c = Calls::new();
    assert_eq!(
        play(|o| time_window_successes_leave(&c, o), "SS").await,
        "SS"
    );
    advance(secs(1)).await;
    assert_eq!(
        play(|o| time_window_successes_leave(&c, o), "FF S").await,
        "FFO"
    );
}

#[circuit_breaker(window = 10, min_calls = 5, failure_ratio = 1.0)]
async fn min_calls_five(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `min_calls = 5`: four failures out of four decide nothing; the fifth opens.
#[tokio::test(start_paused = true)]
async fn min_calls_no_decision_before_that_many_calls() {
    let c = Calls::new();
    assert_eq!(play(|o| min_calls_five(&c, o), "FFFF F S").await, "FFFFFO");
    assert_eq!(c.entered(), 5);
}

#[circuit_breaker(failure_ratio = 1.0)]
async fn min_calls_default(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Default `min_calls` is 20 for the default window of 100: 19 failures in a
/// row decide nothing, the 20th opens.
#[tokio::test(start_paused = true)]
async fn min_calls_defaults_to_20() {
    let c = Calls::new();
    let nineteen = "F".repeat(19);
    assert_eq!(
        play(|o| min_calls_default(&c, o), &nineteen).await,
        nineteen
    );
    assert_eq!(play(|o| min_calls_default(&c, o), "F S").await, "FO");
    assert_eq!(c.entered(), 20);
}

#[circuit_breaker(window = "1m", failure_ratio = 1.0)]
async fn min_calls_default_time_window(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A time window's default `min_calls` is 20 too.
#[tokio::test(start_paused = true)]
async fn min_calls_defaults_to_20_for_a_time_window() {
    let c = Calls::new();
    let nineteen = "F".repeat(19);
    assert_eq!(
        play(|o| min_calls_default_time_window(&c, o), &nineteen).await,
        nineteen
    );
    assert_eq!(
        play(|o| min_calls_default_time_window(&c, o), "F S").await,
        "FO"
    );
}

#[circuit_breaker(window = 4, failure_ratio = 1.0)]
async fn min_calls_small_window(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// For a count window of N < 20, `min_calls` defaults to N: a window of 4
/// decides at its 4th call (not at the 1st, and not never).
#[tokio::test(start_paused = true)]
async fn min_calls_defaults_to_a_small_windows_size() {
    let c = Calls::new();
    assert_eq!(
        play(|o| min_calls_small_window(&c, o), "FFF F S").await,
        "FFFFO"
    );
}

#[circuit_breaker(window = 4)]
async fn ratio_default(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Default `failure_ratio` is 0.5: 1 failure of 4 stays closed, 2 of 4 open.
#[tokio::test(start_paused = true)]
async fn failure_ratio_defaults_to_one_half() {
    let c = Calls::new();
    assert_eq!(play(|o| ratio_default(&c, o), "SSSF S").await, "SSSFS");
    assert_eq!(play(|o| ratio_default(&c, o), "F S").await, "FO");
}

// ---------------------------------------------------------------------------
// consecutive_failures
// ---------------------------------------------------------------------------

#[circuit_breaker(consecutive_failures = 3)]
async fn three_in_a_row(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `consecutive_failures = 3` opens after 3 failures in a row, long before the
/// window's `min_calls` (20); a success in between restarts the count.
#[tokio::test(start_paused = true)]
async fn consecutive_failures_open_after_n_in_a_row() {
    let c = Calls::new();
    assert_eq!(play(|o| three_in_a_row(&c, o), "FFSFFS").await, "FFSFFS");
    assert_eq!(play(|o| three_in_a_row(&c, o), "FFF S").await, "FFFO");
    assert_eq!(c.entered(), 9);
}

// ---------------------------------------------------------------------------
// slow_call, slow_ratio
// ---------------------------------------------------------------------------

#[circuit_breaker(window = 4, slow_call = "1s", slow_ratio = 0.5)]
async fn slow_half(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Calls slower than `slow_call` count as slow even when they succeed; with
/// `slow_ratio = 0.5`, 2 slow of 4 open the breaker (1 of 4 does not, and
/// calls quicker than the limit are not slow).
#[tokio::test(start_paused = true)]
async fn slow_calls_open_at_slow_ratio() {
    let c = Calls::new();
    assert_eq!(play(|o| slow_half(&c, o), "QQQL Q").await, "SSSSS");
    let start = Instant::now();
    assert_eq!(play(|o| slow_half(&c, o), "L S").await, "SO");
    assert_eq!(
        start.elapsed(),
        common_breaker::SLOW,
        "the rejection is at once"
    );
}

#[circuit_breaker(window = 4, slow_call = "1s", slow_ratio = 0.75)]
async fn slow_three_quarters(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `slow_ratio` is honoured: at 0.75, 2 slow calls of 4 do not open; 3 do.
#[tokio::test(start_paused = true)]
async fn slow_ratio_sets_the_share_of_slow_calls_that_opens() {
    let c = Calls::new();
    assert_eq!(play(|o| slow_three_quarters(&c, o), "SLSL").await, "SSSS");
    assert_eq!(play(|o| slow_three_quarters(&c, o), "L S").await, "SO");
}

#[circuit_breaker(consecutive_failures = 1, open_for = "1s", slow_call = "1s")]
async fn slow_probe(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A half-open probe that succeeds, but slower than `slow_call`, reopens the
/// breaker; a quick one closes it.
#[tokio::test(start_paused = true)]
async fn a_slow_half_open_probe_reopens() {
    let c = Calls::new();
    assert_eq!(play(|o| slow_probe(&c, o), "F S").await, "FO");
    advance(secs(1)).await;
    assert_eq!(play(|o| slow_probe(&c, o), "L S").await, "SO");
    advance(secs(1)).await;
    assert_eq!(play(|o| slow_probe(&c, o), "Q S").await, "SS");
}

// ---------------------------------------------------------------------------
// open_for, half_open_probes
// ---------------------------------------------------------------------------

#[circuit_breaker(consecutive_failures = 1, open_for = "2s")]
async fn open_two_seconds(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `open_for = "2s"`: rejected (body not run) until 2 s have passed, then a
/// probe runs; a failed probe reopens for another 2 s; a good one closes.
#[tokio::test(start_paused = true)]
async fn open_for_rejects_until_it_passes_then_a_probe_runs() {
    let c = Calls::new();
    assert_eq!(play(|o| open_two_seconds(&c, o), "F S").await, "FO");
    advance(ms(1999)).await;
    assert_eq!(play(|o| open_two_seconds(&c, o), "SS").await, "OO");
    assert_eq!(c.entered(), 1);
    advance(ms(1)).await;
    assert_eq!(play(|o| open_two_seconds(&c, o), "F S").await, "FO");
    assert_eq!(c.entered(), 2);
    advance(ms(1999)).await;
    assert_eq!(play(|o| open_two_seconds(&c, o), "S").await, "O");
    advance(ms(1)).await;
    assert_eq!(play(|o| open_two_seconds(&c, o), "S SS").await, "SSS");
}

#[circuit_breaker(consecutive_failures = 1)]
async fn open_for_default(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Default `open_for` is 5 s; default `half_open_probes` is 1 (a second caller
/// while the probe runs is rejected).
#[tokio::test(start_paused = true)]
async fn open_for_defaults_to_5s_and_one_probe() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    assert_eq!(play(|o| open_for_default(&CALLS, o), "F").await, "F");
    advance(ms(4999)).await;
    assert_eq!(play(|o| open_for_default(&CALLS, o), "S").await, "O");
    advance(ms(1)).await;
    let probe = tokio::spawn(open_for_default(&CALLS, Outcome::gated(&GATE, End::Ok)));
    settle("the probe runs", || CALLS.entered() == 2).await;
    assert_eq!(play(|o| open_for_default(&CALLS, o), "S").await, "O");
    GATE.add_permits(1);
    assert_eq!(letter(&probe.await.unwrap()), 'S');
    assert_eq!(play(|o| open_for_default(&CALLS, o), "S").await, "S");
}

#[circuit_breaker(window = 4, open_for = "1s", half_open_probes = 3)]
async fn three_probes_close(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// With `half_open_probes = 3`, one successful probe does not close the
/// breaker (a failure after it still reopens; closed, a window of 4 would
/// not open on it), and three do (a failure after them no longer reopens).
#[tokio::test(start_paused = true)]
async fn half_open_probes_all_must_succeed_to_close() {
    let c = Calls::new();
    assert_eq!(play(|o| three_probes_close(&c, o), "FFFF").await, "FFFF");
    advance(secs(1)).await;
    assert_eq!(play(|o| three_probes_close(&c, o), "SF S").await, "SFO");
    advance(secs(1)).await;
    assert_eq!(
        play(|o| three_probes_close(&c, o), "SSS F S").await,
        "SSSFS"
    );
}

#[circuit_breaker(consecutive_failures = 1, open_for = "1s", half_open_probes = 3)]
async fn probes_under_a_crowd(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Half-open admits exactly `half_open_probes` calls when many arrive
/// together: 50 callers, 3 bodies run, 47 get `CircuitOpen`.
#[tokio::test(start_paused = true)]
async fn half_open_admits_exactly_n_of_50_callers() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    static FINISHED: AtomicU32 = AtomicU32::new(0);
    assert_eq!(play(|o| probes_under_a_crowd(&CALLS, o), "F").await, "F");
    advance(secs(1)).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(async {
                let r = probes_under_a_crowd(&CALLS, Outcome::gated(&GATE, End::Ok)).await;
                FINISHED.fetch_add(1, SeqCst);
                r
            })
        })
        .collect();
    // Every caller has either been rejected or is held inside the body.
    settle("all 50 callers were answered or admitted", || {
        FINISHED.load(SeqCst) + CALLS.entered() - 1 == 50
    })
    .await;
    assert_eq!(CALLS.entered() - 1, 3, "exactly 3 probes run");
    GATE.add_permits(50);
    let mut letters = String::new();
    for t in tasks {
        letters.push(letter(&t.await.unwrap()));
    }
    assert_eq!(letters.matches('S').count(), 3, "{letters}");
    assert_eq!(letters.matches('O').count(), 47, "{letters}");
    // Three successes closed it.
    assert_eq!(play(|o| probes_under_a_crowd(&CALLS, o), "SS").await, "SS");
}

#[circuit_breaker(consecutive_failures = 1, open_for = "1us", half_open_probes = 3)]
async fn probes_under_a_threaded_crowd(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// The same on a multi-thread runtime, with the 50 callers released at once
/// by a barrier: admission is one atomic step, so still exactly 3 probes.
/// (`open_for` is 1 µs so no sleep is needed to reach half-open.)
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn half_open_admits_exactly_n_of_50_callers_across_threads() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    static FINISHED: AtomicU32 = AtomicU32::new(0);
    let barrier = std::sync::Arc::new(Barrier::new(50));
    assert_eq!(
        play(|o| probes_under_a_threaded_crowd(&CALLS, o), "F").await,
        "F"
    );
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let r = probes_under_a_threaded_crowd(&CALLS, Outcome::gated(&GATE, End::Ok)).await;
                FINISHED.fetch_add(1, SeqCst);
                r
            })
        })
        .collect();
    settle_mt("all 50 callers were answered or admitted", || {
        FINISHED.load(SeqCst) + CALLS.entered() - 1 == 50
    })
    .await;
    assert_eq!(CALLS.entered() - 1, 3, "exactly 3 probes run");
    GATE.add_permits(50);
    let mut letters = String::new();
    for t in tasks {
        letters.push(letter(&t.await.unwrap()));
    }
    assert_eq!(letters.matches('S').count(), 3, "{letters}");
    assert_eq!(letters.matches('O').count(), 47, "{letters}");
}

// ---------------------------------------------------------------------------
// failure_if
// ---------------------------------------------------------------------------

#[circuit_breaker(window = 4, failure_ratio = 0.5, failure_if = TestError::counts)]
async fn judged(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Errors `failure_if` rejects are neither failures (five of them after S S F
/// do not open) nor successes (they do not push the failure out: the next
/// failure makes S S F F, which opens). They still reach the caller.
#[tokio::test(start_paused = true)]
async fn failure_if_rejected_errors_are_neither_success_nor_failure() {
    let c = Calls::new();
    assert_eq!(play(|o| judged(&c, o), "SSF IIIII").await, "SSFIIIII");
    assert_eq!(play(|o| judged(&c, o), "F S").await, "FO");
    assert_eq!(c.entered(), 9);
}

#[circuit_breaker(window = 4, open_for = "1s", failure_if = TestError::counts)]
async fn judged_probe(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A half-open probe ending with an error `failure_if` does not count neither
/// reopens nor closes the breaker: it gives its slot back (the next call is
/// admitted as a probe), and the breaker is still half-open (a failure then
/// reopens it, which it would not do in a closed window of 4).
#[tokio::test(start_paused = true)]
async fn failure_if_rejected_error_of_a_probe_does_not_close_it() {
    let c = Calls::new();
    assert_eq!(play(|o| judged_probe(&c, o), "FFFF S").await, "FFFFO");
    advance(secs(1)).await;
    assert_eq!(play(|o| judged_probe(&c, o), "I F S").await, "IFO");
    advance(secs(1)).await;
    // After an ignored probe, a successful one closes it.
    assert_eq!(play(|o| judged_probe(&c, o), "I S S").await, "ISS");
}

// ---------------------------------------------------------------------------
// shared, name, state scope
// ---------------------------------------------------------------------------

static PAYMENTS: CircuitBreaker = CircuitBreaker::builder()
    .name("payments")
    .window_calls(2)
    .failure_ratio(0.5)
    .open_for(Duration::from_secs(5))
    .build();

#[circuit_breaker(shared = PAYMENTS)]
async fn charge(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

#[circuit_breaker(shared = PAYMENTS)]
async fn refund(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `shared = STATIC`: two functions use one breaker, configured (and named)
/// where the static is built: failures of one open it for the other.
#[tokio::test(start_paused = true)]
async fn shared_static_breaker_is_one_state_for_two_functions() {
    let (charges, refunds) = (Calls::new(), Calls::new());
    assert_eq!(play(|o| charge(&charges, o), "F").await, "F");
    assert_eq!(play(|o| refund(&refunds, o), "F").await, "F");
    let rejected = refund(&refunds, Outcome::OK).await;
    assert_eq!(circuit_open_name(&rejected), "payments");
    assert_eq!(play(|o| charge(&charges, o), "S").await, "O");
    assert_eq!((charges.entered(), refunds.entered()), (1, 1));
    assert_eq!(PAYMENTS.state(), steadfast::circuit_breaker::State::Open);
}

static SHARED_JUDGED: CircuitBreaker = CircuitBreaker::builder()
    .name("judged")
    .window_calls(2)
    .build();

#[circuit_breaker(shared = SHARED_JUDGED, failure_if = never)]
async fn shared_lenient(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

#[circuit_breaker(shared = SHARED_JUDGED)]
async fn shared_strict(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `failure_if` stays per function on a shared breaker: one function's
/// ignored errors record nothing, the other's failures open it for both.
#[tokio::test(start_paused = true)]
async fn shared_breaker_with_per_function_failure_if() {
    let c = Calls::new();
    assert_eq!(play(|o| shared_lenient(&c, o), "FFFF").await, "FFFF");
    assert_eq!(play(|o| shared_strict(&c, o), "F F").await, "FF");
    assert_eq!(play(|o| shared_lenient(&c, o), "S").await, "O");
}

#[circuit_breaker(window = 1, name = "inventory")]
async fn named(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `name = "…"` appears in `Rejected::CircuitOpen { name }` and its message.
#[tokio::test(start_paused = true)]
async fn name_appears_in_circuit_open() {
    let c = Calls::new();
    assert_eq!(play(|o| named(&c, o), "F").await, "F");
    let rejected = named(&c, Outcome::OK).await;
    assert_eq!(circuit_open_name(&rejected), "inventory");
    assert_eq!(
        rejected,
        Err(TestError::Rejected(Rejected::circuit_open("inventory")))
    );
    let message = rejected.unwrap_err().to_string();
    assert_eq!(message, "circuit breaker \"inventory\" is open");
}

#[circuit_breaker(window = 1)]
async fn default_named(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

mod nested {
    use super::common_breaker::{Calls, Outcome, TestError};
    use steadfast::circuit_breaker;

    #[circuit_breaker(window = 1)]
    pub(super) async fn inner_fn(c: &Calls, o: Outcome) -> Result<u32, TestError> {
        c.run(o).await
    }
}

/// The default name is `module_path!()::fn_name`.
#[tokio::test(start_paused = true)]
async fn default_name_is_module_path_and_fn() {
    let c = Calls::new();
    assert_eq!(play(|o| default_named(&c, o), "F").await, "F");
    assert_eq!(
        circuit_open_name(&default_named(&c, Outcome::OK).await),
        concat!(module_path!(), "::default_named")
    );
    assert_eq!(play(|o| nested::inner_fn(&c, o), "F").await, "F");
    assert_eq!(
        circuit_open_name(&nested::inner_fn(&c, Outcome::OK).await),
        concat!(module_path!(), "::nested::inner_fn")
    );
}

#[circuit_breaker(window = 2)]
async fn twin_a(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

#[circuit_breaker(window = 2)]
async fn twin_b(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

#[circuit_breaker(window = 2)]
async fn generic<T: Into<u64>>(c: &Calls, o: Outcome, _t: T) -> Result<u32, TestError> {
    c.run(o).await
}

struct Service;

impl Service {
    #[circuit_breaker(window = 2)]
    async fn method(&self, c: &Calls, o: Outcome) -> Result<u32, TestError> {
        c.run(o).await
    }
}

/// One breaker per function item: identical attributes on two functions are
/// two breakers; one function's generic instantiations and a method's
/// instances share its one breaker.
#[tokio::test(start_paused = true)]
async fn state_is_per_function_item() {
    let c = Calls::new();
    assert_eq!(play(|o| twin_a(&c, o), "FF S").await, "FFO");
    assert_eq!(play(|o| twin_b(&c, o), "S").await, "S");

    assert_eq!(play(|o| generic(&c, o, 1u8), "FF").await, "FF");
    assert_eq!(letter(&generic(&c, Outcome::OK, 1u32).await), 'O');

    let (one, two) = (Service, Service);
    assert_eq!(play(|o| one.method(&c, o), "FF").await, "FF");
    assert_eq!(letter(&two.method(&c, Outcome::OK).await), 'O');
}

// ---------------------------------------------------------------------------
// Panics, cancellation, stacking
// ---------------------------------------------------------------------------

#[circuit_breaker(window = 4, failure_ratio = 0.5)]
async fn panicky(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A panicking call counts as a failure (S S F plus the panic open a window
/// of 4 at 0.5) and the panic still propagates to the caller.
#[tokio::test(start_paused = true)]
async fn a_panic_counts_as_a_failure_and_propagates() {
    static CALLS: Calls = Calls::new();
    assert_eq!(play(|o| panicky(&CALLS, o), "SSF").await, "SSF");
    let error = tokio::spawn(panicky(&CALLS, Outcome::PANIC))
        .await
        .unwrap_err();
    assert!(error.is_panic());
    let payload = error.into_panic();
    let message = payload.downcast_ref::<String>().expect("the body's panic");
    assert!(message.contains("scripted panic"), "{message}");
    assert_eq!(play(|o| panicky(&CALLS, o), "S").await, "O");
    assert_eq!(CALLS.entered(), 4);
}

#[circuit_breaker(consecutive_failures = 1, open_for = "1s")]
async fn panicky_probe(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A half-open probe that panics reopens the breaker (it does not give its
/// slot back as a dropped call would).
#[tokio::test(start_paused = true)]
async fn a_panicking_probe_reopens() {
    static CALLS: Calls = Calls::new();
    assert_eq!(play(|o| panicky_probe(&CALLS, o), "F").await, "F");
    advance(secs(1)).await;
    let error = tokio::spawn(panicky_probe(&CALLS, Outcome::PANIC))
        .await
        .unwrap_err();
    assert!(error.is_panic());
    assert_eq!(play(|o| panicky_probe(&CALLS, o), "S").await, "O");
    advance(secs(1)).await;
    assert_eq!(play(|o| panicky_probe(&CALLS, o), "S S").await, "SS");
}

#[circuit_breaker(window = 4, failure_ratio = 0.5)]
async fn droppable(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A dropped (cancelled) call records nothing: F S S, a dropped call, F makes
/// the window F S S F, which opens. (Recorded as a success it would push the
/// first failure out; as a failure it would open one call early.)
#[tokio::test(start_paused = true)]
async fn a_dropped_call_records_nothing() {
    let c = Calls::new();
    assert_eq!(play(|o| droppable(&c, o), "FSS").await, "FSS");
    let dropped = tokio::time::timeout(ms(10), droppable(&c, Outcome::HANG)).await;
    assert!(dropped.is_err(), "the call was cut off from outside");
    assert_eq!(c.entered(), 4, "the dropped call was admitted and ran");
    assert_eq!(play(|o| droppable(&c, o), "F S").await, "FO");
}

#[circuit_breaker(consecutive_failures = 1, open_for = "1s")]
async fn droppable_probe(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A dropped half-open probe gives its slot back: the next caller is admitted
/// as the probe (with one probe slot, it would otherwise be rejected).
#[tokio::test(start_paused = true)]
async fn a_dropped_probe_gives_its_slot_back() {
    let c = Calls::new();
    assert_eq!(play(|o| droppable_probe(&c, o), "F").await, "F");
    advance(secs(1)).await;
    let dropped = tokio::time::timeout(ms(10), droppable_probe(&c, Outcome::HANG)).await;
    assert!(dropped.is_err());
    assert_eq!(c.entered(), 2);
    assert_eq!(play(|o| droppable_probe(&c, o), "S S").await, "SS");
}

#[circuit_breaker(window = 2, failure_if = never)]
#[timeout("1s")]
async fn breaker_over_timeout(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// An inner `Rejected::Timeout` counts as a failure, even where `failure_if`
/// counts none of the body's own errors.
#[tokio::test(start_paused = true)]
async fn inner_timeout_counts_as_a_failure() {
    let c = Calls::new();
    assert_eq!(play(|o| breaker_over_timeout(&c, o), "FFFF").await, "FFFF");
    assert_eq!(play(|o| breaker_over_timeout(&c, o), "LL S").await, "TTO");
    assert_eq!(c.entered(), 6);
}

#[retry(attempts = 5, backoff = fixed("1s"), jitter = none)]
#[circuit_breaker(consecutive_failures = 2, open_for = "1500ms")]
async fn retry_over_breaker(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `#[retry]` above a breaker does not retry `CircuitOpen`: attempts 1 and 2
/// fail and open the breaker, attempt 3 is rejected and the call ends there.
/// (Retried, attempt 4 at 3 s would find the breaker half-open and run the
/// body a third time.)
#[tokio::test(start_paused = true)]
async fn retry_above_does_not_retry_circuit_open() {
    let c = Calls::new();
    let start = Instant::now();
    let result = retry_over_breaker(&c, Outcome::FAIL).await;
    assert_eq!(letter(&result), 'O');
    assert_eq!(c.entered(), 2);
    assert_eq!(start.elapsed(), secs(2), "two backoffs, then no more");
}

// ---------------------------------------------------------------------------
// Results of calls admitted before a state change
// ---------------------------------------------------------------------------

#[circuit_breaker(consecutive_failures = 2, open_for = "1s")]
async fn late_failure(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A call admitted while closed that fails while the breaker is half-open does
/// not reopen it: the probe's success still closes it.
#[tokio::test(start_paused = true)]
async fn late_failure_from_closed_does_not_move_half_open() {
    static CALLS: Calls = Calls::new();
    static SLOW_GATE: Semaphore = Semaphore::const_new(0);
    static PROBE_GATE: Semaphore = Semaphore::const_new(0);
    let slow = tokio::spawn(late_failure(&CALLS, Outcome::gated(&SLOW_GATE, End::Fail)));
    settle("the slow call runs", || CALLS.entered() == 1).await;
    assert_eq!(play(|o| late_failure(&CALLS, o), "FF S").await, "FFO");
    advance(secs(1)).await;
    let probe = tokio::spawn(late_failure(&CALLS, Outcome::gated(&PROBE_GATE, End::Ok)));
    settle("the probe runs", || CALLS.entered() == 4).await;
    SLOW_GATE.add_permits(1);
    assert_eq!(letter(&slow.await.unwrap()), 'F');
    assert_eq!(
        play(|o| late_failure(&CALLS, o), "S").await,
        "O",
        "slot taken"
    );
    PROBE_GATE.add_permits(1);
    assert_eq!(letter(&probe.await.unwrap()), 'S');
    assert_eq!(play(|o| late_failure(&CALLS, o), "S F S").await, "SFS");
}

#[circuit_breaker(consecutive_failures = 2, open_for = "1s")]
async fn late_success(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A call admitted while closed that succeeds while the breaker is half-open
/// is not a probe success: it does not close the breaker.
#[tokio::test(start_paused = true)]
async fn late_success_from_closed_does_not_close_half_open() {
    static CALLS: Calls = Calls::new();
    static SLOW_GATE: Semaphore = Semaphore::const_new(0);
    static PROBE_GATE: Semaphore = Semaphore::const_new(0);
    let slow = tokio::spawn(late_success(&CALLS, Outcome::gated(&SLOW_GATE, End::Ok)));
    settle("the slow call runs", || CALLS.entered() == 1).await;
    assert_eq!(play(|o| late_success(&CALLS, o), "FF").await, "FF");
    advance(secs(1)).await;
    let probe = tokio::spawn(late_success(&CALLS, Outcome::gated(&PROBE_GATE, End::Fail)));
    settle("the probe runs", || CALLS.entered() == 4).await;
    SLOW_GATE.add_permits(1);
    assert_eq!(letter(&slow.await.unwrap()), 'S');
    assert_eq!(play(|o| late_success(&CALLS, o), "S").await, "O");
    PROBE_GATE.add_permits(1);
    assert_eq!(letter(&probe.await.unwrap()), 'F');
    assert_eq!(
        play(|o| late_success(&CALLS, o), "S").await,
        "O",
        "reopened"
    );
    assert_eq!(CALLS.entered(), 4);
}

#[circuit_breaker(consecutive_failures = 1, open_for = "1s")]
async fn late_failure_after_reclose(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A call admitted in an earlier closed period that fails after the breaker
/// went open, half-open and closed again does not open the new closed period.
#[tokio::test(start_paused = true)]
async fn late_failure_does_not_count_in_a_later_closed_period() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let slow = tokio::spawn(late_failure_after_reclose(
        &CALLS,
        Outcome::gated(&GATE, End::Fail),
    ));
    settle("the slow call runs", || CALLS.entered() == 1).await;
    assert_eq!(
        play(|o| late_failure_after_reclose(&CALLS, o), "F S").await,
        "FO"
    );
    advance(secs(1)).await;
    assert_eq!(
        play(|o| late_failure_after_reclose(&CALLS, o), "S").await,
        "S"
    );
    GATE.add_permits(1);
    assert_eq!(letter(&slow.await.unwrap()), 'F');
    assert_eq!(
        play(|o| late_failure_after_reclose(&CALLS, o), "S").await,
        "S"
    );
}

#[circuit_breaker(window = 4, open_for = "1s", half_open_probes = 2)]
async fn late_probe(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A probe admitted in one half-open period that succeeds in a later one
/// (after the breaker reopened and half-opened again) is not one of the new
/// period's probes: with 2 probes needed, it and one new success do not close
/// the breaker (a failure then still reopens it).
#[tokio::test(start_paused = true)]
async fn late_probe_from_an_earlier_half_open_period_does_not_count() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    assert_eq!(play(|o| late_probe(&CALLS, o), "FFFF").await, "FFFF");
    advance(secs(1)).await;
    let old_probe = tokio::spawn(late_probe(&CALLS, Outcome::gated(&GATE, End::Ok)));
    settle("the first probe runs", || CALLS.entered() == 5).await;
    assert_eq!(
        play(|o| late_probe(&CALLS, o), "F S").await,
        "FO",
        "reopened"
    );
    advance(secs(1)).await;
    assert_eq!(play(|o| late_probe(&CALLS, o), "S").await, "S");
    GATE.add_permits(1);
    assert_eq!(letter(&old_probe.await.unwrap()), 'S');
    assert_eq!(play(|o| late_probe(&CALLS, o), "F S").await, "FO");
}

#[circuit_breaker(window = 4, failure_ratio = 0.5, open_for = "1s")]
async fn fresh_window(c: &Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// Closing starts a fresh window: the failures that opened the breaker do not
/// count against the calls after it closes.
#[tokio::test(start_paused = true)]
async fn closing_starts_a_fresh_window() {
    let c = Calls::new();
    assert_eq!(play(|o| fresh_window(&c, o), "FFFF").await, "FFFF");
    advance(secs(1)).await;
    assert_eq!(play(|o| fresh_window(&c, o), "S F S S").await, "SFSS");
}

// ---------------------------------------------------------------------------
// Error conversions
// ---------------------------------------------------------------------------

#[circuit_breaker(window = 1, name = "disk")]
async fn io_breaker(fail: bool) -> std::io::Result<u32> {
    if fail {
        Err(std::io::Error::other("disk on fire"))
    } else {
        Ok(1)
    }
}

/// With `std::io::Error`, `CircuitOpen` becomes `ErrorKind::ResourceBusy`
/// whose message names the breaker and whose source is the `Rejected`.
#[tokio::test(start_paused = true)]
async fn circuit_open_converts_to_io_resource_busy() {
    let own = io_breaker(true).await.unwrap_err();
    assert_eq!(
        own.kind(),
        std::io::ErrorKind::Other,
        "own errors unchanged"
    );
    let error = io_breaker(false).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ResourceBusy);
    assert_eq!(error.to_string(), "circuit breaker \"disk\" is open");
    let inner = error.get_ref().and_then(|e| e.downcast_ref::<Rejected>());
    assert_eq!(inner, Some(&Rejected::circuit_open("disk")));
}

#[circuit_breaker(window = 1, name = "search")]
async fn anyhow_breaker(fail: bool) -> anyhow::Result<u32> {
    if fail {
        anyhow::bail!("search is down")
    } else {
        Ok(1)
    }
}

/// With `anyhow::Error`, `CircuitOpen` is kept as the `Rejected` (downcast).
#[tokio::test(start_paused = true)]
async fn circuit_open_converts_to_anyhow() {
    assert!(anyhow_breaker(true).await.is_err());
    let error = anyhow_breaker(false).await.unwrap_err();
    assert_eq!(
        error.downcast_ref::<Rejected>(),
        Some(&Rejected::circuit_open("search"))
    );
    assert_eq!(error.to_string(), "circuit breaker \"search\" is open");
}

// ---------------------------------------------------------------------------
// Known bugs
// ---------------------------------------------------------------------------

static RACE: CircuitBreaker = CircuitBreaker::builder()
    .name("race")
    .window_calls(1)
    .open_for(Duration::from_nanos(1))
    .half_open_probes(2)
    .build();

#[circuit_breaker(shared = RACE)]
async fn race_fail() -> Result<(), TestError> {
    Err(TestError::Fail)
}

#[circuit_breaker(shared = RACE)]
async fn race_probe(
    gate: &'static Semaphore,
    arrived: &'static AtomicU32,
    entered: &'static AtomicU32,
    fail: bool,
) -> Result<(), TestError> {
    entered.fetch_add(1, SeqCst);
    gate.acquire().await.expect("gate").forget();
    // Both probes end at the same moment, on two threads (a spin barrier:
    // the pair of a round is arrivals 2k+1 and 2k+2).
    let n = arrived.fetch_add(1, SeqCst) + 1;
    let pair_done = n.div_ceil(2) * 2;
    while arrived.load(SeqCst) < pair_done {
        std::hint::spin_loop();
    }
    if fail { Err(TestError::Fail) } else { Ok(()) }
}

/// Two half-open probes ending together, one failing and one succeeding: the
/// failure must reopen the breaker (or, if the success came first... it still
/// reopens, as any probe failure does). A lost failure leaves the breaker
/// half-open with the failed probe's slot never given back: with 2 probes and
/// 1 success counted, no caller is ever admitted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_probe_failure_racing_another_probe_is_never_lost() {
    static GATE: Semaphore = Semaphore::const_new(0);
    static ARRIVED: AtomicU32 = AtomicU32::new(0);
    static ENTERED: AtomicU32 = AtomicU32::new(0);
    for round in 0..2_000u32 {
        // Open it: a failure that runs opens a closed breaker (window 1) and
        // reopens a half-open one. 1 ns later it admits probes again.
        let mut rejected = 0u32;
        while race_fail().await != Err(TestError::Fail) {
            rejected += 1;
            assert!(
                rejected < 100_000,
                "round {round}: every call rejected, stuck in {:?}",
                RACE.state()
            );
            tokio::task::yield_now().await;
        }
        // Two probes, admitted one after the other, released together.
        let mut probes = Vec::new();
        for fail in [true, false] {
            loop {
                let before = ENTERED.load(SeqCst);
                let probe = tokio::spawn(race_probe(&GATE, &ARRIVED, &ENTERED, fail));
                settle_mt("the probe is admitted or rejected", || {
                    ENTERED.load(SeqCst) > before || probe.is_finished()
                })
                .await;
                if ENTERED.load(SeqCst) > before {
                    probes.push(probe);
                    break;
                }
                assert_eq!(
                    probe.await.unwrap(),
                    Err(TestError::Rejected(Rejected::circuit_open("race")))
                );
            }
        }
        GATE.add_permits(2);
        for probe in probes {
            let _ = probe.await.unwrap();
        }
    }
}
