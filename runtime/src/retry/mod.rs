//! Retrying failed calls: the [`Retry`] policy and its [`Attempts`] driver.
//!
//! A [`Retry`] is plain configuration, built in `const` context. Each call gets an
//! [`Attempts`] (a few words on the caller's stack) that decides, after every
//! failed attempt, whether to make another and how long to sleep first. The loop
//! that re-runs the operation belongs to the caller, so the operation can borrow
//! anything the caller can — `&mut self` included — and a value it moves out is
//! reported by the compiler at the move.

mod attempts;
mod backoff;
mod blocking;
pub mod budget;
mod jitter;

use core::convert::Infallible;
use core::future::Future;
use core::ops::ControlFlow;
use core::time::Duration;

pub use attempts::{Attempts, Judged, Keep, KeepError, KeepNothing, pause};
pub use backoff::Backoff;
pub use budget::{BudgetLevel, RetryBudget, RetryBudgetBuilder};
pub use jitter::Jitter;

use crate::Failure;
use crate::name::PolicyName;

/// A retry policy: how many attempts, how long to wait between them, and the
/// overall budget.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, Jitter, Retry};
///
/// static FETCH: Retry = Retry::builder()
///     .attempts(4)
///     .backoff(Backoff::exponential(Duration::from_millis(50), 2.0, Duration::from_secs(2)))
///     .jitter(Jitter::Full)
///     .max_elapsed(Duration::from_secs(10))
///     .build();
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let mut calls = 0;
/// let result: Result<u32, &str> = FETCH
///     .run(|| {
///         calls += 1;
///         let n = calls;
///         async move { if n < 3 { Err("flaky") } else { Ok(n) } }
///     })
///     .await;
/// assert_eq!(result, Ok(3));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    name: PolicyName,
    attempts: u32,
    backoff: Backoff,
    jitter: Jitter,
    max_elapsed: Option<Duration>,
    max_hint: Duration,
}

impl Retry {
    /// The longest `delay_from` hint honoured unless
    /// [`max_hint`](RetryBuilder::max_hint) says otherwise: 60 s.
    pub const DEFAULT_MAX_HINT: Duration = Duration::from_secs(60);

    /// `attempts = 3`, `backoff = exponential("100ms", factor = 2.0, max = "10s")`,
    /// `jitter = full`, no `max_elapsed`, `max_hint = "60s"`.
    pub const DEFAULT: Retry = Retry {
        name: PolicyName::fixed("retry"),
        attempts: 3,
        backoff: Backoff::DEFAULT,
        jitter: Jitter::Full,
        max_elapsed: None,
        max_hint: Retry::DEFAULT_MAX_HINT,
    };

    /// Starts from [`Retry::DEFAULT`].
    pub const fn builder() -> RetryBuilder {
        RetryBuilder {
            retry: Retry::DEFAULT,
        }
    }

    /// The name in `tracing` events and metrics. A located name
    /// ([`RetryBuilder::name_located`]) is worked out on its first read (a
    /// retry, or a call with metrics on) and looked up afterwards.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name.get()
    }

    /// Total attempts, the first included.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The delay schedule.
    #[must_use]
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The jitter applied to each computed delay.
    #[must_use]
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The budget measured from the call's start, if any.
    #[must_use]
    pub const fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The longest `delay_from` hint honoured; a longer one ends the retries.
    #[must_use]
    pub const fn max_hint(&self) -> Duration {
        self.max_hint
    }

    /// Starts the bookkeeping for one call. Reads the clock only when the policy
    /// has a `max_elapsed` budget.
    #[must_use]
    #[inline]
    pub fn start(&self) -> Attempts<'_> {
        Attempts::new(self, None)
    }

    /// Starts the bookkeeping for one call whose retries draw from `budget`:
    /// counts the call's first attempt there now (before any retry draws),
    /// and each retry decided later draws one from it first; one that finds
    /// it spent is not made (the call ends with its last error, reason
    /// `budget_spent`). Errors not retried draw nothing.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use steadfast::{Backoff, Failure, Retry, RetryBudget};
    ///
    /// static BUDGET: RetryBudget = RetryBudget::builder().ratio(1.0).min_per_sec(0).build();
    /// static RETRY: Retry = Retry::builder().attempts(5).backoff(Backoff::none()).build();
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// // Ratio 1, no floor: the call's own first attempt pays for one retry.
    /// let mut attempts = RETRY.start_budgeted(&BUDGET);
    /// let mut made = 0;
    /// let result = loop {
    ///     made += 1;
    ///     let outcome: Result<(), Failure<&str>> = Err(Failure::Error("down"));
    ///     if let ControlFlow::Break(result) = attempts.next(outcome, |_: &&str| true, |_: &&str| None).await {
    ///         break result;
    ///     }
    /// };
    /// assert_eq!(made, 2);
    /// assert!(result.is_err());
    /// # }
    /// ```
    #[must_use]
    #[inline]
    pub fn start_budgeted<'a>(&'a self, budget: &'a RetryBudget) -> Attempts<'a> {
        budget.deposit();
        Attempts::new(self, Some(budget))
    }

    /// [`run`](Retry::run) for a synchronous `op`: the delays block the
    /// thread (parked on the `std` clock; [shutdown](crate::shutdown()) ends
    /// one early, and the last error returns). Every error is retried.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Backoff, Retry};
    ///
    /// static RETRY: Retry = Retry::builder().attempts(3).backoff(Backoff::fixed(Duration::from_millis(1))).build();
    ///
    /// let mut calls = 0;
    /// let result: Result<u32, &str> = RETRY.call(|| {
    ///     calls += 1;
    ///     if calls < 3 { Err("busy") } else { Ok(calls) }
    /// });
    /// assert_eq!(result, Ok(3));
    /// ```
    pub fn call<T, E, Op>(&self, op: Op) -> Result<T, E>
    where
        Op: FnMut() -> Result<T, E>,
    {
        self.call_with(op, |_: &E| true, |_: &E| None)
    }

    /// [`call`](Retry::call), retrying only the errors that `when` accepts
    /// and waiting the hint from `delay_from` where it gives one (as
    /// [`run_with`](Retry::run_with) does).
    pub fn call_with<T, E, Op, W, D>(&self, mut op: Op, when: W, delay_from: D) -> Result<T, E>
    where
        Op: FnMut() -> Result<T, E>,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
    {
        self.drive_blocking(
            None,
            || op().map_err(Failure::<E, Infallible>::Error),
            when,
            delay_from,
            no_description,
        )
        .map_err(Failure::into_inner)
    }

    /// Runs `op` until it succeeds or the policy gives up; every error is retried.
    ///
    /// Returns the last attempt's result.
    pub async fn run<T, E, Op, Fut>(&self, op: Op) -> Result<T, E>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_with(op, |_: &E| true, |_: &E| None).await
    }

    /// Runs `op`, retrying only the errors that `when` accepts.
    pub async fn run_if<T, E, Op, Fut, W>(&self, op: Op, when: W) -> Result<T, E>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        W: Fn(&E) -> bool,
    {
        self.run_with(op, when, |_: &E| None).await
    }

    /// Runs `op`, retrying the errors that `when` accepts and waiting the hint
    /// from `delay_from` where it gives one.
    ///
    /// A hint replaces the computed delay for that retry: it is waited in
    /// full, without jitter and never shortened (not even to the backoff's
    /// `max`), and the retry still counts as an attempt. A hint longer than
    /// [`max_hint`](RetryBuilder::max_hint), or one that would end past
    /// `max_elapsed`, is not waited: the error returns at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Retry;
    /// use tokio::time::Instant;
    ///
    /// // A server answering "busy, come back in 30 s" (longer than the
    /// // backoff's 10 s `max`), then "come back in 2 minutes".
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let start = Instant::now();
    /// let mut asked = [30, 120].into_iter();
    /// let result: Result<(), u64> = Retry::DEFAULT
    ///     .run_with(
    ///         || {
    ///             let secs = asked.next().unwrap();
    ///             async move { Err(secs) }
    ///         },
    ///         |_| true,
    ///         |secs| Some(Duration::from_secs(*secs)),
    ///     )
    ///     .await;
    /// // 30 s waited in full; 2 minutes is past `max_hint` (60 s): no wait.
    /// assert_eq!(result, Err(120));
    /// assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// # }
    /// ```
    pub async fn run_with<T, E, Op, Fut, W, D>(
        &self,
        mut op: Op,
        when: W,
        delay_from: D,
    ) -> Result<T, E>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
    {
        let mut attempts = self.start();
        loop {
            let outcome = op().await.map_err(Failure::<E, Infallible>::Error);
            if let ControlFlow::Break(result) = attempts.next(outcome, &when, &delay_from).await {
                return result.map_err(Failure::into_inner);
            }
        }
    }
}

/// No `Display` for a programmatic call's error (the attributes find one).
fn no_description<E>(_: &E) -> Option<&dyn core::fmt::Display> {
    None
}

impl Default for Retry {
    fn default() -> Self {
        Retry::DEFAULT
    }
}

/// Builds a [`Retry`] in `const` context. Invalid settings panic, which in a
/// `const` or `static` is a compile error.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct RetryBuilder {
    retry: Retry,
}

impl RetryBuilder {
    /// The name in `tracing` events and metrics (the attribute uses
    /// `module::fn`, or `module::Type::fn` for a method).
    pub const fn name(mut self, name: &'static str) -> Self {
        self.retry.name = PolicyName::fixed(name);
        self
    }

    /// The name of a retry declared in `function` of `module`
    /// (`module_path!()`), worked out on first read from `here`: as
    /// [`CircuitBreakerBuilder::name_located`](crate::circuit_breaker::CircuitBreakerBuilder::name_located).
    pub const fn name_located(mut self, location: &'static crate::name::Location) -> Self {
        self.retry.name = PolicyName::located(location);
        self
    }

    /// Total attempts, the first included.
    ///
    /// # Panics
    ///
    /// If `attempts` is 0.
    pub const fn attempts(mut self, attempts: u32) -> Self {
        assert!(
            attempts >= 1,
            "retry: `attempts` counts the first call, so it must be at least 1"
        );
        self.retry.attempts = attempts;
        self
    }

    /// The delay schedule.
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.retry.backoff = backoff;
        self
    }

    /// The jitter applied to computed delays.
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.retry.jitter = jitter;
        self
    }

    /// A budget measured from the call's start: a retry whose delay would end
    /// past it is not made, and the last error is returned at once. A running
    /// attempt is not cut short (stack a `#[timeout]` above for that).
    ///
    /// # Panics
    ///
    /// If `max_elapsed` is zero: no retry could ever be made.
    pub const fn max_elapsed(mut self, max_elapsed: Duration) -> Self {
        assert!(
            !max_elapsed.is_zero(),
            "retry: `max_elapsed` must be greater than zero"
        );
        self.retry.max_elapsed = Some(max_elapsed);
        self
    }

    /// The longest `delay_from` hint honoured (default
    /// [`Retry::DEFAULT_MAX_HINT`], 60 s). A hint is never shortened —
    /// retrying before the server asked is pointless — so a longer one is not
    /// waited at all: the retries end at once and that error returns.
    ///
    /// # Panics
    ///
    /// If `max_hint` is zero: use `when` to stop retrying hinted errors.
    pub const fn max_hint(mut self, max_hint: Duration) -> Self {
        assert!(
            !max_hint.is_zero(),
            "retry: `max_hint` must be greater than zero"
        );
        self.retry.max_hint = max_hint;
        self
    }

    /// The finished policy.
    ///
    /// # Panics
    ///
    /// If [`Jitter::Decorrelated`] is combined with a backoff without a `max`
    /// (`none` or `fixed`).
    #[must_use]
    pub const fn build(self) -> Retry {
        if let Jitter::Decorrelated = self.retry.jitter {
            assert!(
                self.retry.backoff.max().is_some(),
                "retry: decorrelated jitter needs a backoff with a `max` (exponential or fibonacci)"
            );
        }
        self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let r = Retry::DEFAULT;
        assert_eq!(r.max_attempts(), 3);
        assert_eq!(
            r.backoff(),
            Backoff::exponential(Duration::from_millis(100), 2.0, Duration::from_secs(10))
        );
        assert_eq!(r.jitter(), Jitter::Full);
        assert_eq!(r.max_elapsed(), None);
        assert_eq!(r.max_hint(), Duration::from_secs(60));
        assert_eq!(Retry::default(), Retry::builder().build());
    }

    #[test]
    #[should_panic(expected = "at least 1")]
    fn zero_attempts_panics() {
        let _ = Retry::builder().attempts(0);
    }

    #[test]
    fn max_hint_is_set_by_the_builder() {
        const R: Retry = Retry::builder().max_hint(Duration::from_secs(5)).build();
        assert_eq!(R.max_hint(), Duration::from_secs(5));
    }

    #[test]
    #[should_panic(expected = "`max_hint` must be greater than zero")]
    fn zero_max_hint_panics() {
        let _ = Retry::builder().max_hint(Duration::ZERO);
    }

    #[test]
    #[should_panic(expected = "decorrelated jitter needs a backoff with a `max`")]
    fn decorrelated_needs_a_cap() {
        let _ = Retry::builder()
            .backoff(Backoff::fixed(Duration::from_millis(5)))
            .jitter(Jitter::Decorrelated)
            .build();
    }
}
