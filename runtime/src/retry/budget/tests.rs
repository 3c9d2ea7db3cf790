//! The budget's rules, one test each, on paused tokio time, through the
//! `Retry` driver that `#[retry(budget = …)]` expands to.

use core::time::Duration;

use tokio::time::{Instant, advance};

use super::RetryBudget;
use crate::{Backoff, Jitter, Retry};

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

fn budget(ratio: f64, min_per_sec: u32) -> RetryBudget {
    RetryBudget::builder()
        .ratio(ratio)
        .min_per_sec(min_per_sec)
        .window("10s")
        .build()
}

/// A retry of `attempts` with a fixed `delay` and no jitter.
fn retry(attempts: u32, delay: Duration) -> Retry {
    Retry::builder()
        .attempts(attempts)
        .backoff(Backoff::fixed(delay))
        .jitter(Jitter::None)
        .build()
}

/// One call of `policy` drawing from `budget`, whose body fails every time
/// with the attempt's number (`when` judges it); returns (attempts made,
/// the error returned, the time taken).
async fn call(
    policy: &Retry,
    budget: &RetryBudget,
    when: impl Fn(&u32) -> bool,
) -> (u32, u32, Duration) {
    let start = Instant::now();
    let mut made = 0;
    let mut attempts = policy.start_budgeted(budget);
    let error = loop {
        made += 1;
        let outcome: Result<(), crate::Failure<u32, core::convert::Infallible>> =
            Err(crate::Failure::Error(made));
        if let core::ops::ControlFlow::Break(result) =
            attempts.next(outcome, &when, |_: &u32| None).await
        {
            break result.unwrap_err().into_inner();
        }
    };
    (made, error, start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_calls_own_first_attempt_is_counted_before_its_retries_draw() {
    // Ratio 1, no floor: the only deposit that can pay for the retry is the
    // call's own first attempt.
    let budget = budget(1.0, 0);
    let (made, error, _) = call(&retry(5, MS), &budget, |_| true).await;
    assert_eq!((made, error), (2, 2), "one retry, paid by the call itself");
    let level = budget.level();
    assert_eq!(
        (level.deposits, level.withdrawals, level.available),
        (1, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_returns_the_last_error_at_once() {
    let budget = budget(0.5, 0);
    // The first call may retry once (0.5 × 2 deposits, after the second
    // call's deposit)... but with one deposit it may not retry at all.
    let (made, error, took) = call(&retry(5, SEC), &budget, |_| true).await;
    assert_eq!((made, error), (1, 1), "0.5 × 1 first attempt: no retry");
    assert_eq!(took, Duration::ZERO, "no delay slept for a refused retry");
    let (made, error, took) = call(&retry(5, SEC), &budget, |_| true).await;
    assert_eq!((made, error, took), (2, 2, SEC), "0.5 × 2: one retry");
    assert_eq!(budget.spent(), 2);
}

#[tokio::test(start_paused = true)]
async fn errors_that_are_not_retried_draw_nothing() {
    let budget = budget(1.0, 0);
    // `when` refuses: nothing drawn.
    let (made, _, _) = call(&retry(5, MS), &budget, |_| false).await;
    assert_eq!(made, 1);
    // A single attempt: nothing to draw either.
    let (made, _, _) = call(&retry(1, MS), &budget, |_| true).await;
    assert_eq!(made, 1);
    let level = budget.level();
    assert_eq!((level.deposits, level.withdrawals), (2, 0));
    assert_eq!(budget.spent(), 0, "a retry not wanted is not a refusal");
    // The two deposits still pay for two retries.
    let (made, _, _) = call(&retry(5, MS), &budget, |_| true).await;
    assert_eq!(made, 4);
}

#[tokio::test(start_paused = true)]
async fn min_per_sec_is_a_floor_without_any_first_attempt() {
    // 3 per second over 10 s: 30 retries, whatever the traffic.
    let budget = budget(0.1, 3);
    let drawn = (0..100).filter(|_| budget.try_withdraw()).count();
    assert_eq!(drawn, 30);
    assert_eq!(budget.level().available, 0);
}

#[tokio::test(start_paused = true)]
async fn retries_are_at_most_ratio_times_first_attempts() {
    let budget = budget(0.2, 0);
    for _ in 0..100 {
        budget.deposit();
    }
    let drawn = (0..100).filter(|_| budget.try_withdraw()).count();
    assert_eq!(drawn, 20);
}

#[tokio::test(start_paused = true)]
async fn the_window_slides_spent_retries_leave_and_refill_it() {
    let budget = budget(0.1, 1); // floor: 10 per 10 s
    assert_eq!((0..20).filter(|_| budget.try_withdraw()).count(), 10);
    // Half a window later: the 10 retries are still in it.
    advance(SEC * 5).await;
    assert!(!budget.try_withdraw());
    // A window and a bucket after them (the count of retries errs long):
    // they have left, the floor is whole again.
    advance(SEC * 6).await;
    assert_eq!(budget.level().available, 10);
    assert_eq!((0..20).filter(|_| budget.try_withdraw()).count(), 10);
}

#[tokio::test(start_paused = true)]
async fn first_attempts_leave_the_window_too() {
    let budget = budget(1.0, 0);
    for _ in 0..10 {
        budget.deposit();
    }
    advance(SEC * 9).await;
    assert_eq!(budget.level().deposits, 10, "still in the window");
    advance(SEC).await;
    assert_eq!(budget.level().deposits, 0, "a window later: gone");
    assert!(!budget.try_withdraw());
}

#[tokio::test(start_paused = true)]
async fn first_attempts_are_dated_while_nothing_is_retried() {
    // 100 first attempts per second for 10 s, no retry at all: only the
    // periodic tick of the deposits dates them. At 12.5 s the window
    // (2.5 s, 12.5 s] holds the 750 made from 2.5 s on; the budget may
    // count fewer (a bucket early, up to 63 more), never more.
    let budget = budget(1.0, 0);
    for _ in 0..100 {
        for _ in 0..10 {
            budget.deposit();
        }
        advance(MS * 100).await;
    }
    advance(MS * 2_500).await;
    let counted = budget.level().deposits;
    assert!(
        (750 - 100 - 63..=750).contains(&counted),
        "counted {counted} of the 750 first attempts in the window"
    );
}

#[tokio::test(start_paused = true)]
async fn level_shows_available_deposits_and_withdrawals() {
    let budget = budget(0.5, 1);
    for _ in 0..4 {
        budget.deposit();
    }
    assert!(budget.try_withdraw());
    let level = budget.level();
    assert_eq!(level.deposits, 4);
    assert_eq!(level.withdrawals, 1);
    assert_eq!(level.available, 2 + 10 - 1);
}

#[test]
fn defaults_are_finagles() {
    static B: RetryBudget = RetryBudget::builder().build();
    assert_eq!(B.name(), "retry_budget");
    assert_eq!(B.ratio(), 0.2);
    assert_eq!(B.min_per_sec(), 10);
    assert_eq!(B.window(), SEC * 10);
}

#[test]
#[should_panic(expected = "`ratio` must be in (0, 1]")]
fn a_zero_ratio_panics() {
    let _ = RetryBudget::builder().ratio(0.0);
}

#[test]
#[should_panic(expected = "`ratio` must be in (0, 1]")]
fn a_ratio_above_one_panics() {
    let _ = RetryBudget::builder().ratio(1.01);
}

#[test]
#[should_panic(expected = "`ratio` must be in (0, 1]")]
fn a_nan_ratio_panics() {
    let _ = RetryBudget::builder().ratio(f64::NAN);
}

#[test]
#[should_panic(expected = "`window` must be at least 1s")]
fn a_window_under_a_second_panics() {
    let _ = RetryBudget::builder().window_duration(MS * 999);
}

#[test]
#[should_panic(expected = "`window` must be at most 1h")]
fn a_window_over_an_hour_panics() {
    let _ = RetryBudget::builder().window_duration(SEC * 3601);
}

#[test]
#[should_panic(expected = "`name` must not be empty")]
fn an_empty_name_panics() {
    let _ = RetryBudget::builder().name("");
}
