//! `#[retry]`: every key of DESIGN.md, on paused tokio time.

mod common;

use std::time::Duration;

use common::{DropWitness, Probe, TestError, is_transient, ms, secs};
use steadfast::{retry, timeout};
use tokio::time::Instant;

/// Body that fails every attempt with `Transient(n)`.
fn fail(p: &Probe) -> Result<u32, TestError> {
    Err(TestError::Transient(p.hit()))
}

// ---------------------------------------------------------------- attempts

#[retry(attempts = 5, backoff = none)]
async fn five_attempts(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 1, backoff = fixed("1s"), jitter = none)]
async fn one_attempt(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(backoff = none)]
async fn default_attempts(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 5, backoff = none)]
async fn succeeds_on_third(p: &Probe) -> Result<u32, TestError> {
    let n = p.hit();
    if n < 3 {
        Err(TestError::Transient(n))
    } else {
        Ok(n * 10)
    }
}

#[tokio::test(start_paused = true)]
async fn attempts_is_the_exact_total_number_of_calls() {
    let p = Probe::new();
    assert_eq!(five_attempts(&p).await, Err(TestError::Transient(5)));
    assert_eq!(p.calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn attempts_one_calls_once_and_never_sleeps() {
    let p = Probe::new();
    let start = Instant::now();
    assert_eq!(one_attempt(&p).await, Err(TestError::Transient(1)));
    assert_eq!(p.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn attempts_defaults_to_three() {
    let p = Probe::new();
    assert_eq!(default_attempts(&p).await, Err(TestError::Transient(3)));
    assert_eq!(p.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn success_stops_retrying_and_is_returned() {
    let p = Probe::new();
    assert_eq!(succeeds_on_third(&p).await, Ok(30));
    assert_eq!(p.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_error_returned_is_the_last_attempts() {
    // `fail` numbers its errors by attempt: the first or a middle one would differ.
    let p = Probe::new();
    let error = five_attempts(&p).await.unwrap_err();
    assert_eq!(error, TestError::Transient(p.calls()));
    assert_eq!(error, TestError::Transient(5));
}

// ----------------------------------------------------------------- backoff

#[retry(attempts = 4, backoff = fixed("250ms"), jitter = none)]
async fn fixed_250(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 6, backoff = exponential("10ms", factor = 3.0, max = "500ms"), jitter = none)]
async fn exponential_x3(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 7, backoff = exponential("1s"), jitter = none)]
async fn exponential_defaults(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 8, backoff = fibonacci("10ms", max = "70ms"), jitter = none)]
async fn fibonacci_capped(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 8, backoff = fibonacci("2s"), jitter = none)]
async fn fibonacci_default_max(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 6, backoff = none)]
async fn no_backoff(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 10, jitter = none)]
async fn default_backoff_no_jitter(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 200, backoff = exponential("1s", factor = 10.0, max = "1m"), jitter = none)]
async fn exponential_saturates(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[tokio::test(start_paused = true)]
async fn fixed_backoff_waits_the_same_delay_each_time() {
    let p = Probe::new();
    let start = Instant::now();
    fixed_250(&p).await.unwrap_err();
    assert_eq!(p.gaps(), [ms(250); 3]);
    assert_eq!(start.elapsed(), ms(750));
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_grows_by_factor_and_caps_at_max() {
    let p = Probe::new();
    exponential_x3(&p).await.unwrap_err();
    // 10·3^n: 10, 30, 90, 270, 810 → capped at 500.
    assert_eq!(p.gaps(), [ms(10), ms(30), ms(90), ms(270), ms(500)]);
}

#[tokio::test(start_paused = true)]
async fn exponential_without_factor_and_max_uses_2_and_10s() {
    let p = Probe::new();
    exponential_defaults(&p).await.unwrap_err();
    assert_eq!(
        p.gaps(),
        [secs(1), secs(2), secs(4), secs(8), secs(10), secs(10)]
    );
}

#[tokio::test(start_paused = true)]
async fn fibonacci_backoff_follows_the_sequence_and_caps() {
    let p = Probe::new();
    fibonacci_capped(&p).await.unwrap_err();
    // 10, 10, 20, 30, 50, 80 → 70, 130 → 70.
    assert_eq!(
        p.gaps(),
        [ms(10), ms(10), ms(20), ms(30), ms(50), ms(70), ms(70)]
    );
}

#[tokio::test(start_paused = true)]
async fn fibonacci_without_max_caps_at_10s() {
    let p = Probe::new();
    fibonacci_default_max(&p).await.unwrap_err();
    // 2, 2, 4, 6, 10, 16 → 10, 26 → 10.
    assert_eq!(
        p.gaps(),
        [
            secs(2),
            secs(2),
            secs(4),
            secs(6),
            secs(10),
            secs(10),
            secs(10)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_none_lets_no_time_pass() {
    let p = Probe::new();
    let start = Instant::now();
    no_backoff(&p).await.unwrap_err();
    assert_eq!(p.calls(), 6);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn default_backoff_is_exponential_100ms_factor_2_max_10s() {
    let p = Probe::new();
    default_backoff_no_jitter(&p).await.unwrap_err();
    assert_eq!(
        p.gaps(),
        [
            ms(100),
            ms(200),
            ms(400),
            ms(800),
            ms(1600),
            ms(3200),
            ms(6400),
            secs(10),
            secs(10)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_saturates_at_max_for_many_retries_without_panicking() {
    let p = Probe::new();
    let start = Instant::now();
    exponential_saturates(&p).await.unwrap_err();
    assert_eq!(p.calls(), 200);
    let gaps = p.gaps();
    assert_eq!(&gaps[..3], [secs(1), secs(10), secs(60)]);
    assert!(gaps[2..].iter().all(|g| *g == secs(60)), "{gaps:?}");
    assert_eq!(start.elapsed(), secs(1 + 10 + 60 * 197));
}

// ------------------------------------------------------------------ jitter

const SAMPLES: usize = 300;

#[retry(attempts = 3, backoff = exponential("100ms", factor = 2.0, max = "10s"), jitter = full)]
async fn jitter_full(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 3, backoff = exponential("100ms", factor = 2.0, max = "10s"), jitter = equal)]
async fn jitter_equal(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 4, backoff = exponential("100ms", factor = 2.0, max = "1s"), jitter = decorrelated)]
async fn jitter_decorrelated(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 6, backoff = exponential("100ms", factor = 2.0, max = "250ms"), jitter = decorrelated)]
async fn jitter_decorrelated_low_max(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 5, backoff = exponential("100ms", factor = 4.0, max = "300ms"), jitter = equal)]
async fn jitter_equal_low_max(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 4, backoff = fixed("200ms"))]
async fn fixed_default_jitter(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry]
async fn all_defaults(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

/// The gaps of `SAMPLES` calls of `f`, one `Vec` per retry index.
async fn sample<F, Fut>(f: F) -> Vec<Vec<Duration>>
where
    F: Fn(&'static Probe) -> Fut,
    Fut: Future<Output = Result<u32, TestError>>,
{
    let mut by_retry: Vec<Vec<Duration>> = Vec::new();
    for _ in 0..SAMPLES {
        let p: &'static Probe = Box::leak(Box::new(Probe::new()));
        f(p).await.unwrap_err();
        for (i, gap) in p.gaps().into_iter().enumerate() {
            if by_retry.len() <= i {
                by_retry.push(Vec::new());
            }
            by_retry[i].push(gap);
        }
    }
    by_retry
}

fn all_within(gaps: &[Duration], low: Duration, high: Duration) -> bool {
    gaps.iter().all(|g| *g >= low && *g <= high)
}

#[tokio::test(start_paused = true)]
async fn jitter_full_draws_within_zero_and_the_delay() {
    let gaps = sample(jitter_full).await;
    assert_eq!(gaps.len(), 2);
    assert!(
        all_within(&gaps[0], Duration::ZERO, ms(100)),
        "{:?}",
        gaps[0]
    );
    assert!(
        all_within(&gaps[1], Duration::ZERO, ms(200)),
        "{:?}",
        gaps[1]
    );
    // Really spread over [0, d]: near both ends, for both retries.
    assert!(
        gaps[0].iter().any(|g| *g < ms(20)),
        "never near 0: {:?}",
        gaps[0]
    );
    assert!(
        gaps[0].iter().any(|g| *g > ms(80)),
        "never near d: {:?}",
        gaps[0]
    );
    assert!(
        gaps[1].iter().any(|g| *g > ms(160)),
        "delay did not grow: {:?}",
        gaps[1]
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_equal_keeps_at_least_half_the_delay() {
    let gaps = sample(jitter_equal).await;
    assert_eq!(gaps.len(), 2);
    assert!(all_within(&gaps[0], ms(50), ms(100)), "{:?}", gaps[0]);
    assert!(all_within(&gaps[1], ms(100), ms(200)), "{:?}", gaps[1]);
    assert!(gaps[0].iter().any(|g| *g < ms(60)), "{:?}", gaps[0]);
    assert!(gaps[0].iter().any(|g| *g > ms(90)), "{:?}", gaps[0]);
    assert!(gaps[1].iter().any(|g| *g < ms(120)), "{:?}", gaps[1]);
}

#[tokio::test(start_paused = true)]
async fn jitter_equal_never_exceeds_max() {
    // Computed delays: 100, 300 (400 capped), 300, 300.
    let gaps = sample(jitter_equal_low_max).await;
    assert_eq!(gaps.len(), 4);
    assert!(all_within(&gaps[0], ms(50), ms(100)), "{:?}", gaps[0]);
    for later in &gaps[1..] {
        assert!(all_within(later, ms(150), ms(300)), "{later:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn jitter_decorrelated_draws_between_initial_and_three_times_previous() {
    let gaps = sample(jitter_decorrelated).await;
    assert_eq!(gaps.len(), 3);
    // The first retry's "previous" is the initial delay.
    assert!(all_within(&gaps[0], ms(100), ms(300)), "{:?}", gaps[0]);
    for retry in 1..3 {
        for (i, gap) in gaps[retry].iter().enumerate() {
            let previous = gaps[retry - 1][i];
            let high = (previous * 3).min(secs(1));
            assert!(
                *gap >= ms(100) && *gap <= high,
                "retry {retry}: {gap:?} after {previous:?}"
            );
        }
    }
    // Spread over the whole range, and able to grow past the plain schedule.
    assert!(gaps[0].iter().any(|g| *g > ms(250)), "{:?}", gaps[0]);
    assert!(gaps[0].iter().any(|g| *g < ms(150)), "{:?}", gaps[0]);
    assert!(gaps[2].iter().any(|g| *g > ms(600)), "{:?}", gaps[2]);
}

#[tokio::test(start_paused = true)]
async fn jitter_decorrelated_never_exceeds_max() {
    let gaps = sample(jitter_decorrelated_low_max).await;
    assert_eq!(gaps.len(), 5);
    for retry in &gaps {
        assert!(all_within(retry, ms(100), ms(250)), "{retry:?}");
    }
    assert!(
        gaps[4].iter().any(|g| *g > ms(240)),
        "never reaches the cap"
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_defaults_to_full() {
    let gaps = sample(fixed_default_jitter).await;
    assert_eq!(gaps.len(), 3);
    for retry in &gaps {
        assert!(all_within(retry, Duration::ZERO, ms(200)), "{retry:?}");
        assert!(retry.iter().any(|g| *g < ms(40)), "not jittered: {retry:?}");
        assert!(retry.iter().any(|g| *g > ms(160)), "{retry:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn bare_retry_is_3_attempts_exponential_100ms_with_full_jitter() {
    let gaps = sample(all_defaults).await;
    assert_eq!(gaps.len(), 2, "three attempts");
    assert!(
        all_within(&gaps[0], Duration::ZERO, ms(100)),
        "{:?}",
        gaps[0]
    );
    assert!(
        all_within(&gaps[1], Duration::ZERO, ms(200)),
        "{:?}",
        gaps[1]
    );
    assert!(
        gaps[0].iter().any(|g| *g < ms(20)),
        "not jittered: {:?}",
        gaps[0]
    );
    assert!(
        gaps[1].iter().any(|g| *g > ms(150)),
        "no factor 2: {:?}",
        gaps[1]
    );
}

// ------------------------------------------------------------- max_elapsed

#[retry(attempts = 10, backoff = fixed("400ms"), jitter = none, max_elapsed = "1s")]
async fn budget_1s_fixed_400(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 10, backoff = fixed("500ms"), jitter = none, max_elapsed = "1s")]
async fn budget_1s_fixed_500(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 3, backoff = fixed("100ms"), jitter = none, max_elapsed = "1s")]
async fn budget_slow_attempt(p: &Probe) -> Result<u32, TestError> {
    let n = p.hit();
    tokio::time::sleep(secs(2)).await;
    Err(TestError::Transient(n))
}

#[retry(attempts = 10, backoff = fixed("100ms"), jitter = none, max_elapsed = "1s")]
async fn budget_counts_attempt_time(p: &Probe) -> Result<u32, TestError> {
    let n = p.hit();
    tokio::time::sleep(ms(300)).await;
    Err(TestError::Transient(n))
}

#[retry(attempts = 50, backoff = exponential("10ms", factor = 2.0, max = "1s"), max_elapsed = "2s")]
async fn budget_with_jitter(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_skips_a_retry_that_would_end_past_the_budget() {
    let p = Probe::new();
    let start = Instant::now();
    // Attempts at 0, 400, 800; the next would start at 1200 > 1s.
    assert_eq!(budget_1s_fixed_400(&p).await, Err(TestError::Transient(3)));
    assert_eq!(p.offsets(start), [ms(0), ms(400), ms(800)]);
    // The last error returns at once, without sleeping the skipped delay.
    assert_eq!(start.elapsed(), ms(800));
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_allows_a_retry_ending_exactly_at_the_budget() {
    let p = Probe::new();
    let start = Instant::now();
    assert_eq!(budget_1s_fixed_500(&p).await, Err(TestError::Transient(3)));
    assert_eq!(p.offsets(start), [ms(0), ms(500), ms(1000)]);
    assert_eq!(start.elapsed(), ms(1000));
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_does_not_cut_a_running_attempt_short() {
    let p = Probe::new();
    let start = Instant::now();
    assert_eq!(budget_slow_attempt(&p).await, Err(TestError::Transient(1)));
    assert_eq!(p.calls(), 1);
    assert_eq!(start.elapsed(), secs(2));
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_is_measured_from_the_calls_start_including_attempts() {
    let p = Probe::new();
    let start = Instant::now();
    // 0–300 attempt, 400–700 attempt, 800–1100 attempt (started in budget,
    // not cut), then 1200 > 1000: stop.
    assert_eq!(
        budget_counts_attempt_time(&p).await,
        Err(TestError::Transient(3))
    );
    assert_eq!(p.offsets(start), [ms(0), ms(400), ms(800)]);
    assert_eq!(start.elapsed(), ms(1100));
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_holds_with_jittered_delays() {
    for _ in 0..50 {
        let p = Probe::new();
        let start = Instant::now();
        budget_with_jitter(&p).await.unwrap_err();
        assert!(start.elapsed() <= secs(2), "{:?}", start.elapsed());
        assert!(p.calls() < 50, "the budget never stopped it");
    }
}

// -------------------------------------------------------------------- when

#[retry(attempts = 5, backoff = none, when = is_transient)]
async fn when_fn_path(p: &Probe, permanent_from: u32) -> Result<u32, TestError> {
    let n = p.hit();
    if n >= permanent_from {
        Err(TestError::Permanent(n))
    } else {
        Err(TestError::Transient(n))
    }
}

#[retry(attempts = 5, backoff = none, when = TestError::is_transient)]
async fn when_method_path(p: &Probe, permanent_from: u32) -> Result<u32, TestError> {
    let n = p.hit();
    if n >= permanent_from {
        Err(TestError::Permanent(n))
    } else {
        Err(TestError::Transient(n))
    }
}

#[retry(attempts = 5, backoff = none, when = |e: &TestError| matches!(e, TestError::Transient(_)))]
async fn when_typed_closure(p: &Probe, permanent_from: u32) -> Result<u32, TestError> {
    let n = p.hit();
    if n >= permanent_from {
        Err(TestError::Permanent(n))
    } else {
        Err(TestError::Transient(n))
    }
}

#[retry(attempts = 5, backoff = none, when = |e| e.is_transient())]
async fn when_untyped_closure(p: &Probe, permanent_from: u32) -> Result<u32, TestError> {
    let n = p.hit();
    if n >= permanent_from {
        Err(TestError::Permanent(n))
    } else {
        Err(TestError::Transient(n))
    }
}

#[tokio::test(start_paused = true)]
async fn when_path_retries_only_accepted_errors() {
    let p = Probe::new();
    assert_eq!(when_fn_path(&p, 1).await, Err(TestError::Permanent(1)));
    assert_eq!(p.calls(), 1);
    let p = Probe::new();
    assert_eq!(when_fn_path(&p, 3).await, Err(TestError::Permanent(3)));
    assert_eq!(p.calls(), 3);
    let p = Probe::new();
    assert_eq!(when_fn_path(&p, 99).await, Err(TestError::Transient(5)));
    assert_eq!(p.calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn when_method_path_retries_only_accepted_errors() {
    let p = Probe::new();
    assert_eq!(when_method_path(&p, 1).await, Err(TestError::Permanent(1)));
    assert_eq!(p.calls(), 1);
    let p = Probe::new();
    assert_eq!(when_method_path(&p, 2).await, Err(TestError::Permanent(2)));
    assert_eq!(p.calls(), 2);
    let p = Probe::new();
    assert_eq!(when_method_path(&p, 99).await, Err(TestError::Transient(5)));
    assert_eq!(p.calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn when_closure_retries_only_accepted_errors() {
    let p = Probe::new();
    assert_eq!(
        when_typed_closure(&p, 1).await,
        Err(TestError::Permanent(1))
    );
    assert_eq!(p.calls(), 1);
    let p = Probe::new();
    assert_eq!(
        when_typed_closure(&p, 4).await,
        Err(TestError::Permanent(4))
    );
    assert_eq!(p.calls(), 4);
    let p = Probe::new();
    assert_eq!(
        when_untyped_closure(&p, 1).await,
        Err(TestError::Permanent(1))
    );
    assert_eq!(p.calls(), 1);
    let p = Probe::new();
    assert_eq!(
        when_untyped_closure(&p, 99).await,
        Err(TestError::Transient(5))
    );
    assert_eq!(p.calls(), 5);
}

#[retry(attempts = 4, backoff = fixed("10ms"), jitter = none, when = |_: &TestError| false)]
#[timeout("100ms")]
async fn timeouts_with_when_rejecting_all(p: &Probe, hang: bool) -> Result<u32, TestError> {
    let n = p.hit();
    if hang {
        tokio::time::sleep(secs(60)).await;
    }
    Err(TestError::Transient(n))
}

#[tokio::test(start_paused = true)]
async fn inner_timeout_is_retried_even_when_when_rejects_everything() {
    let p = Probe::new();
    let start = Instant::now();
    let error = timeouts_with_when_rejecting_all(&p, true)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        TestError::Rejected(steadfast::Rejected::timeout(ms(100)))
    );
    assert_eq!(p.calls(), 4);
    assert_eq!(start.elapsed(), ms(4 * 100 + 3 * 10));
    // The body's own errors are still judged by `when`.
    let p = Probe::new();
    assert_eq!(
        timeouts_with_when_rejecting_all(&p, false).await,
        Err(TestError::Transient(1))
    );
    assert_eq!(p.calls(), 1);
}

// -------------------------------------------------------------- delay_from

#[derive(Debug, Clone, PartialEq, Eq)]
struct Busy {
    attempt: u32,
    retry_after: Option<Duration>,
}

fn retry_after(e: &Busy) -> Option<Duration> {
    e.retry_after
}

// Full jitter (the default) on the schedule: a jittered hint would not be exact.
#[retry(attempts = 3, backoff = exponential("100ms", max = "10s"), delay_from = retry_after)]
async fn hinted(p: &Probe, hint: Option<Duration>) -> Result<u32, Busy> {
    Err(Busy {
        attempt: p.hit(),
        retry_after: hint,
    })
}

#[retry(attempts = 3, backoff = exponential("100ms", max = "2s"), jitter = none, delay_from = |e: &Busy| e.retry_after)]
async fn hinted_closure_capped(p: &Probe, hint: Option<Duration>) -> Result<u32, Busy> {
    Err(Busy {
        attempt: p.hit(),
        retry_after: hint,
    })
}

#[retry(
    attempts = 3,
    backoff = exponential("100ms", max = "1m"),
    jitter = none,
    max_elapsed = "3s",
    delay_from = retry_after
)]
async fn hinted_with_budget(p: &Probe, hint: Option<Duration>) -> Result<u32, Busy> {
    Err(Busy {
        attempt: p.hit(),
        retry_after: hint,
    })
}

#[retry(attempts = 4, backoff = none, delay_from = retry_after, when = |e: &Busy| e.attempt < 2)]
async fn hinted_when(p: &Probe, hint: Option<Duration>) -> Result<u32, Busy> {
    Err(Busy {
        attempt: p.hit(),
        retry_after: hint,
    })
}

#[tokio::test(start_paused = true)]
async fn delay_from_hint_replaces_the_delay_without_jitter() {
    for _ in 0..20 {
        let p = Probe::new();
        let error = hinted(&p, Some(ms(1_500))).await.unwrap_err();
        assert_eq!(
            error.attempt, 3,
            "a hinted retry still counts as an attempt"
        );
        assert_eq!(p.gaps(), [ms(1_500), ms(1_500)]);
    }
}

#[tokio::test(start_paused = true)]
async fn delay_from_none_falls_back_to_the_schedule() {
    let p = Probe::new();
    hinted_closure_capped(&p, None).await.unwrap_err();
    assert_eq!(p.gaps(), [ms(100), ms(200)]);
}

#[tokio::test(start_paused = true)]
async fn delay_from_hint_is_not_shortened_to_the_backoff_max() {
    // The backoff's `max` is 2 s; a 60 s hint (the default `max_hint`) is
    // waited in full: retrying before the server asked is pointless.
    let p = Probe::new();
    hinted_closure_capped(&p, Some(secs(60))).await.unwrap_err();
    assert_eq!(p.gaps(), [secs(60), secs(60)]);
    let p = Probe::new();
    hinted_closure_capped(&p, Some(ms(700))).await.unwrap_err();
    assert_eq!(p.gaps(), [ms(700), ms(700)]);
}

#[tokio::test(start_paused = true)]
async fn delay_from_hint_past_max_hint_ends_at_once() {
    // 61 s is past the default `max_hint` (60 s): not waited, not shortened;
    // the hinted error returns at once.
    let p = Probe::new();
    let start = Instant::now();
    let error = hinted_closure_capped(&p, Some(secs(61))).await.unwrap_err();
    assert_eq!(error.attempt, 1);
    assert_eq!(p.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn delay_from_hint_past_max_elapsed_ends_at_once() {
    // A hint that would end past the budget: the retry is not made and the
    // error returns at once (the `max_elapsed` rule), never waiting past 3s.
    let p = Probe::new();
    let start = Instant::now();
    let error = hinted_with_budget(&p, Some(secs(5))).await.unwrap_err();
    assert_eq!(error.attempt, 1);
    assert_eq!(p.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
    // Within the budget it is honoured: 0, 1.4, 2.8; the next would end at 4.2.
    let p = Probe::new();
    let start = Instant::now();
    hinted_with_budget(&p, Some(ms(1_400))).await.unwrap_err();
    assert_eq!(p.offsets(start), [ms(0), ms(1_400), ms(2_800)]);
    assert_eq!(start.elapsed(), ms(2_800));
}

#[tokio::test(start_paused = true)]
async fn delay_from_does_not_override_when() {
    let p = Probe::new();
    let start = Instant::now();
    let error = hinted_when(&p, Some(ms(50))).await.unwrap_err();
    assert_eq!(error.attempt, 2);
    assert_eq!(p.gaps(), [ms(50)]);
    assert_eq!(start.elapsed(), ms(50));
}

// ------------------------------------------------------ panics, cancellation

static PANIC_PROBE: Probe = Probe::new();
static PANIC_LATER_PROBE: Probe = Probe::new();

#[retry(attempts = 5, backoff = none)]
async fn panics_at_once(p: &'static Probe, really: bool) -> Result<u32, TestError> {
    let n = p.hit();
    if really {
        panic!("boom");
    }
    Err(TestError::Transient(n))
}

#[retry(attempts = 5, backoff = fixed("10ms"), jitter = none)]
async fn panics_on_second(p: &'static Probe) -> Result<u32, TestError> {
    let n = p.hit();
    if n == 2 {
        panic!("boom on {n}");
    }
    Err(TestError::Transient(n))
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_not_retried_and_propagates() {
    let joined = tokio::spawn(panics_at_once(&PANIC_PROBE, true)).await;
    let error = joined.unwrap_err();
    assert!(error.is_panic());
    assert_eq!(PANIC_PROBE.calls(), 1);
    // Without the panic, the same function does retry.
    PANIC_PROBE.reset();
    assert_eq!(
        panics_at_once(&PANIC_PROBE, false).await,
        Err(TestError::Transient(5))
    );
    assert_eq!(PANIC_PROBE.calls(), 5);

    let joined = tokio::spawn(panics_on_second(&PANIC_LATER_PROBE)).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(PANIC_LATER_PROBE.calls(), 2);
}

#[retry(attempts = 5, backoff = fixed("100ms"), jitter = none)]
async fn slow_failing(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_mid_sleep_stops_it_at_once() {
    let p = Probe::new();
    let start = Instant::now();
    // Attempts at 0 and 100; dropped at 150, halfway through the second sleep.
    let outcome = tokio::time::timeout(ms(150), slow_failing(&p)).await;
    assert!(outcome.is_err());
    assert_eq!(start.elapsed(), ms(150));
    assert_eq!(p.calls(), 2);
    // Nothing keeps running in the background.
    tokio::time::sleep(secs(60)).await;
    assert_eq!(p.calls(), 2);
}

#[retry(attempts = 5, backoff = fixed("100ms"), jitter = none)]
async fn slow_attempt(p: &Probe) -> Result<u32, TestError> {
    let n = p.hit();
    tokio::time::sleep(ms(50)).await;
    Err(TestError::Transient(n))
}

#[retry(attempts = 5, backoff = fixed("100ms"), jitter = none)]
async fn slow_attempt_witnessed(
    p: &Probe,
    slots: &std::sync::Mutex<Vec<std::sync::Arc<std::sync::Mutex<Option<Instant>>>>>,
) -> Result<u32, TestError> {
    let n = p.hit();
    let (witness, slot) = DropWitness::new();
    slots.lock().unwrap().push(slot);
    let _held = witness;
    tokio::time::sleep(ms(50)).await;
    Err(TestError::Transient(n))
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_mid_attempt_drops_the_attempt_and_stops() {
    let p = Probe::new();
    let slots = std::sync::Mutex::new(Vec::new());
    let start = Instant::now();
    // Attempt 1: 0–50, sleep to 150, attempt 2: 150–200; dropped at 170.
    let outcome = tokio::time::timeout(ms(170), slow_attempt_witnessed(&p, &slots)).await;
    assert!(outcome.is_err());
    assert_eq!(p.calls(), 2);
    let slots = slots.into_inner().unwrap();
    assert_eq!(slots.len(), 2);
    assert_eq!(*slots[0].lock().unwrap(), Some(start + ms(50)));
    assert_eq!(*slots[1].lock().unwrap(), Some(start + ms(170)));
    tokio::time::sleep(secs(60)).await;
    assert_eq!(p.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn attempts_are_sequential_never_overlapping() {
    let p = Probe::new();
    let start = Instant::now();
    slow_attempt(&p).await.unwrap_err();
    // 5 attempts of 50ms and 4 sleeps of 100ms, one after the other.
    assert_eq!(
        p.offsets(start),
        [ms(0), ms(150), ms(300), ms(450), ms(600)]
    );
    assert_eq!(start.elapsed(), ms(650));
}

// ------------------------------------------------ const-expression durations

const DELAY: Duration = Duration::from_millis(30);
const CAP: Duration = Duration::from_millis(100);
const BUDGET: Duration = Duration::from_millis(250);

#[retry(attempts = 10, backoff = exponential(DELAY, factor = 2.0, max = CAP), jitter = none, max_elapsed = BUDGET)]
async fn const_durations(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 3, backoff = fixed(Duration::from_millis(70)), jitter = none)]
async fn const_expression_fixed(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[retry(attempts = 4, backoff = fibonacci("1m30s", max = "1h"), jitter = none)]
async fn combined_units(p: &Probe) -> Result<u32, TestError> {
    fail(p)
}

#[tokio::test(start_paused = true)]
async fn const_duration_expressions_work_in_every_retry_key() {
    let p = Probe::new();
    let start = Instant::now();
    const_durations(&p).await.unwrap_err();
    // 30, 60, 100 (120 capped) → at 190; the next 100 would end at 290 > 250.
    assert_eq!(p.gaps(), [ms(30), ms(60), ms(100)]);
    assert_eq!(start.elapsed(), ms(190));

    let p = Probe::new();
    const_expression_fixed(&p).await.unwrap_err();
    assert_eq!(p.gaps(), [ms(70), ms(70)]);

    let p = Probe::new();
    combined_units(&p).await.unwrap_err();
    assert_eq!(p.gaps(), [secs(90), secs(90), secs(180)]);
}

#[retry(attempts = 3, backoff = fixed("1s"), jitter = none, delay_from = |e| e.retry_after)]
async fn hinted_untyped(p: &Probe, hint: Option<Duration>) -> Result<u32, Busy> {
    Err(Busy {
        attempt: p.hit(),
        retry_after: hint,
    })
}

#[tokio::test(start_paused = true)]
async fn delay_from_untyped_closure_and_a_backoff_without_max() {
    // `fixed` has no `max`: the hint stands as given (within `max_hint`).
    let p = Probe::new();
    hinted_untyped(&p, Some(secs(42))).await.unwrap_err();
    assert_eq!(p.gaps(), [secs(42), secs(42)]);
    // It has no `max` to bound the hint either: `max_hint` does. An hour is
    // not waited; the hinted error returns at once.
    let p = Probe::new();
    let start = Instant::now();
    let error = hinted_untyped(&p, Some(secs(3_600))).await.unwrap_err();
    assert_eq!(error.attempt, 1);
    assert_eq!(p.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
    let p = Probe::new();
    hinted_untyped(&p, None).await.unwrap_err();
    assert_eq!(p.gaps(), [secs(1), secs(1)]);
}

// `max_hint = …` on the attribute (a literal and a const) bounds the hints.
const LONGEST_HINT: Duration = Duration::from_secs(90);

#[retry(attempts = 3, jitter = none, delay_from = retry_after, max_hint = "5s")]
async fn hinted_max_5s(p: &Probe, hint: Option<Duration>) -> Result<u32, Busy> {
    Err(Busy {
        attempt: p.hit(),
        retry_after: hint,
    })
}

#[retry(attempts = 3, delay_from = |e: &Busy| e.retry_after, max_hint = LONGEST_HINT)]
async fn hinted_max_const(p: &Probe, hint: Option<Duration>) -> Result<u32, Busy> {
    Err(Busy {
        attempt: p.hit(),
        retry_after: hint,
    })
}

#[tokio::test(start_paused = true)]
async fn max_hint_key_bounds_the_hints() {
    let p = Probe::new();
    hinted_max_5s(&p, Some(secs(5))).await.unwrap_err();
    assert_eq!(p.gaps(), [secs(5), secs(5)]);
    let p = Probe::new();
    let start = Instant::now();
    let error = hinted_max_5s(&p, Some(secs(6))).await.unwrap_err();
    assert_eq!((error.attempt, p.calls()), (1, 1));
    assert_eq!(start.elapsed(), Duration::ZERO);
    let p = Probe::new();
    hinted_max_const(&p, Some(secs(90))).await.unwrap_err();
    assert_eq!(p.gaps(), [secs(90), secs(90)]);
    let p = Probe::new();
    hinted_max_const(&p, Some(secs(91))).await.unwrap_err();
    assert_eq!(p.calls(), 1);
}
