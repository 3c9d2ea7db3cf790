//! [`Attempts`]: the per-call retry bookkeeping.

use core::fmt;
use core::ops::ControlFlow;
use core::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::{Retry, RetryBudget};
use crate::events::{self, ErrorField};
use crate::failure::{Failure, Rejection};
use crate::meter;

/// The state of one retried call: attempts made, when it started, the last
/// delay. Lives on the caller's stack; holds no lock and allocates nothing.
///
/// Drive it with a loop: run an attempt, hand its outcome to
/// [`next`](Attempts::next), and stop when it says
/// [`Break`](ControlFlow::Break). Dropping the loop (cancelling the call) stops
/// it at once, sleep included.
#[derive(Debug)]
pub struct Attempts<'p> {
    policy: &'p Retry,
    /// The budget retries draw from, if any.
    budget: Option<&'p RetryBudget>,
    made: u32,
    started: Option<Instant>,
    /// Whether the call runs on a plain `fn`'s thread: `max_elapsed` is
    /// then measured on the `std` clock (its delays are slept with it).
    blocking: bool,
    previous: Duration,
    /// Why the last decision stopped (for the event).
    stop: &'static str,
}

impl<'p> Attempts<'p> {
    #[inline]
    pub(super) fn new(policy: &'p Retry, budget: Option<&'p RetryBudget>) -> Self {
        // The only clock read a retry needs, and only for a budget.
        let started = policy.max_elapsed.map(|_| now(false));
        Attempts::with_clock(policy, budget, started, false)
    }

    /// A plain `fn`'s bookkeeping, made after its first attempt: `started`
    /// was read before that attempt on the `std` clock (if `max_elapsed`
    /// needs it), which `max_elapsed` is then measured on.
    #[inline]
    pub(super) fn resumed(
        policy: &'p Retry,
        budget: Option<&'p RetryBudget>,
        started: Option<Instant>,
    ) -> Self {
        Attempts::with_clock(policy, budget, started, true)
    }

    #[inline]
    fn with_clock(
        policy: &'p Retry,
        budget: Option<&'p RetryBudget>,
        started: Option<Instant>,
        blocking: bool,
    ) -> Self {
        Attempts {
            policy,
            budget,
            made: 0,
            started,
            blocking,
            previous: policy.backoff.initial(),
            stop: "",
        }
    }

    /// Judges an attempt's outcome. Returns `Break(outcome)` when the call is
    /// over — success, an error that is not retried, attempts used up, a
    /// delay that would end past `max_elapsed`, or a hint longer than
    /// `max_hint` — and otherwise sleeps the retry delay and returns `Continue`.
    ///
    /// `when` judges the body's own errors; rejections follow fixed rules
    /// ([`Rejected::is_retryable`](crate::Rejected::is_retryable)). `delay_from`
    /// may replace the computed delay with a hint, which is waited as given: no
    /// jitter, never shortened to the backoff's `max`.
    pub async fn next<T, E, R, W, D>(
        &mut self,
        outcome: Result<T, Failure<E, R>>,
        when: W,
        delay_from: D,
    ) -> ControlFlow<Result<T, Failure<E, R>>>
    where
        R: Rejection,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
    {
        self.next_described(outcome, when, delay_from, |_: &E| None)
            .await
    }

    /// [`next`](Attempts::next), with `describe` giving the body's error a
    /// `Display` for the `tracing` events (the attributes pass one that finds
    /// `E: Display` where it holds).
    pub async fn next_described<T, E, R, W, D, S>(
        &mut self,
        outcome: Result<T, Failure<E, R>>,
        when: W,
        delay_from: D,
        describe: S,
    ) -> ControlFlow<Result<T, Failure<E, R>>>
    where
        R: Rejection,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
        S: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Display>,
    {
        match self.judge_kept(outcome, when, delay_from, describe, KeepError) {
            ControlFlow::Break(result) => ControlFlow::Break(result),
            ControlFlow::Continue((delay, failure)) => {
                match self.pause_kept::<T, _, _>(KeepError, delay, failure).await {
                    Some(last) => ControlFlow::Break(last),
                    None => ControlFlow::Continue(()),
                }
            }
        }
    }

    /// [`judge`](Attempts::judge), which also hands the failure back (as
    /// `keep` keeps it) when another attempt follows, for [`pause_kept`](Attempts::pause_kept)
    /// to return if [shutdown](crate::shutdown()) ends the delay early.
    #[inline]
    pub fn judge_kept<T, E, R, W, D, S, K>(
        &mut self,
        outcome: Result<T, Failure<E, R>>,
        when: W,
        delay_from: D,
        describe: S,
        keep: K,
    ) -> Judged<T, Failure<E, R>, K>
    where
        R: Rejection,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
        S: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Display>,
        K: Keep,
    {
        if outcome.is_ok() {
            if meter::ENABLED {
                meter::retry_call(self.policy.name(), self.made > 0, "success");
            }
            return ControlFlow::Break(outcome);
        }
        match self.judge_failure(outcome, &when, &delay_from, &describe) {
            (ControlFlow::Break(()), outcome) => ControlFlow::Break(outcome),
            (ControlFlow::Continue(delay), outcome) => match outcome {
                Err(failure) => ControlFlow::Continue((delay, keep.keep(failure))),
                Ok(_) => unreachable!("steadfast: only a failure is retried"),
            },
        }
    }

    /// The decision of [`next_described`](Attempts::next_described) without
    /// the sleep: `Break(outcome)` when the call is over, `Continue(delay)`
    /// when another attempt follows after `delay` (sleep it with [`pause`]).
    /// Synchronous, so a loop that succeeds at once builds no sleep at all.
    #[inline]
    pub fn judge<T, E, R, W, D, S>(
        &mut self,
        outcome: Result<T, Failure<E, R>>,
        when: W,
        delay_from: D,
        describe: S,
    ) -> ControlFlow<Result<T, Failure<E, R>>, Duration>
    where
        R: Rejection,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
        S: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Display>,
    {
        if outcome.is_ok() {
            if meter::ENABLED {
                meter::retry_call(self.policy.name(), self.made > 0, "success");
            }
            return ControlFlow::Break(outcome);
        }
        match self.judge_failure(outcome, &when, &delay_from, &describe) {
            (ControlFlow::Break(()), outcome) => ControlFlow::Break(outcome),
            (ControlFlow::Continue(delay), _) => ControlFlow::Continue(delay),
        }
    }

    #[cold]
    fn judge_failure<T, E, R, W, D, S>(
        &mut self,
        outcome: Result<T, Failure<E, R>>,
        when: &W,
        delay_from: &D,
        describe: &S,
    ) -> (ControlFlow<(), Duration>, Result<T, Failure<E, R>>)
    where
        R: Rejection,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
        S: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Display>,
    {
        let Err(failure) = &outcome else {
            return (ControlFlow::Break(()), outcome);
        };
        let delay = self.decide(failure, when, delay_from, &mut rand::rng());
        let error = match failure {
            Failure::Error(error) => ErrorField(describe(error), core::any::type_name::<E>()),
            Failure::Rejected(rejected) => ErrorField(Some(rejected.as_rejected()), ""),
        };
        match delay {
            Some(delay) => {
                events::retrying(self.policy.name(), self.made, delay, &error);
                meter::retry_retry(self.policy.name());
                (ControlFlow::Continue(delay), outcome)
            }
            None if self.stop == "budget_spent" => {
                let budget = self.budget.map_or("", RetryBudget::name);
                events::budget_spent(self.policy.name(), budget, self.made, &error);
                meter::retry_call(self.policy.name(), self.made > 1, self.stop);
                (ControlFlow::Break(()), outcome)
            }
            None => {
                events::not_retrying(self.policy.name(), self.made, self.stop, &error);
                meter::retry_call(self.policy.name(), self.made > 1, self.stop);
                (ControlFlow::Break(()), outcome)
            }
        }
    }

    /// Sleeps a retry delay as [`pause`] does; if [shutdown](crate::shutdown())
    /// ends it early (or had begun), returns the failure kept by
    /// [`judge_kept`](Attempts::judge_kept) as the call's result, when `keep`
    /// kept it ([`KeepError`]), and reports the end (`tracing` event `retry
    /// delay ended by shutdown`, metric result `shutting_down`).
    pub async fn pause_kept<T, V, K: Keep>(
        &self,
        keep: K,
        delay: Duration,
        kept: K::Kept<V>,
    ) -> Option<Result<T, V>> {
        let _ = keep;
        if !stopped_during(delay).await {
            return None;
        }
        self.stopped::<T, V, K>(kept)
    }

    /// [`pause_kept`](Attempts::pause_kept) for a plain `fn`: blocks the
    /// thread for `delay` (parked with `std::thread::park_timeout` on the
    /// `std` clock, not a busy loop), ended early by
    /// [shutdown](crate::shutdown()), which returns the kept failure as the
    /// call's result.
    pub(super) fn pause_kept_blocking<T, V, K: Keep>(
        &self,
        keep: K,
        delay: Duration,
        kept: K::Kept<V>,
    ) -> Option<Result<T, V>> {
        let _ = keep;
        if !stopped_during_blocking(delay) {
            return None;
        }
        self.stopped::<T, V, K>(kept)
    }

    /// A delay ended by shutdown, reported: the kept failure, if any, is
    /// the call's result.
    #[cold]
    fn stopped<T, V, K: Keep>(&self, kept: K::Kept<V>) -> Option<Result<T, V>> {
        events::retry_stopped(self.policy.name(), self.made);
        meter::retry_call(self.policy.name(), true, "shutting_down");
        K::take(kept).map(Err)
    }

    /// The delay before the next attempt, or `None` when there is none to make.
    fn decide<E, R, W, D, G>(
        &mut self,
        failure: &Failure<E, R>,
        when: &W,
        delay_from: &D,
        rng: &mut G,
    ) -> Option<Duration>
    where
        R: Rejection,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
        G: Rng + ?Sized,
    {
        self.made = self.made.saturating_add(1);
        self.stop = "not_retryable";
        let hint = match failure {
            Failure::Error(error) if when(error) => delay_from(error),
            Failure::Error(_) => return None,
            Failure::Rejected(rejected) if rejected.as_rejected().is_retryable() => None,
            Failure::Rejected(_) => return None,
        };
        if self.made >= self.policy.attempts {
            self.stop = "attempts_exhausted";
            return None;
        }
        if crate::shutdown::is_shutting_down() {
            self.stop = "shutting_down";
            return None;
        }
        let backoff = self.policy.backoff;
        let delay = match hint {
            // A server hint is waited as given: retrying before the server
            // asked is pointless, so it is never shortened (not to the
            // backoff's `max` either); one too long to wait ends the retries.
            Some(hint) if hint > self.policy.max_hint => {
                self.stop = "hint_too_long";
                return None;
            }
            Some(hint) => hint,
            None => self.policy.jitter.apply(
                backoff.delay(self.made - 1),
                self.previous,
                backoff.initial(),
                backoff.max(),
                rng,
            ),
        };
        if let (Some(budget), Some(started)) = (self.policy.max_elapsed, self.started) {
            let elapsed = now(self.blocking).saturating_duration_since(started);
            let ends_at = elapsed.saturating_add(delay);
            if ends_at > budget {
                self.stop = "budget_exhausted";
                return None;
            }
        }
        // Last: only a retry that would otherwise be made draws.
        if let Some(budget) = self.budget
            && !budget.try_withdraw()
        {
            self.stop = "budget_spent";
            return None;
        }
        self.previous = delay;
        Some(delay)
    }
}

/// Sleeps a retry delay (nothing for a zero delay). Dropping it stops the
/// sleep at once, and so does [shutdown](crate::shutdown()).
pub async fn pause(delay: Duration) {
    let _ = stopped_during(delay).await;
}

/// Sleeps `delay` unless shutdown ends it; whether shutdown has begun.
async fn stopped_during(delay: Duration) -> bool {
    if delay.is_zero() {
        return crate::shutdown::is_shutting_down();
    }
    match Instant::now().checked_add(delay) {
        Some(deadline) => crate::shutdown::stopped_before(deadline).await,
        None => {
            // Past the clock's range: only shutdown ends it.
            crate::shutdown::begun().await;
            true
        }
    }
}

/// Blocks `delay` unless shutdown ends it; whether shutdown has begun.
fn stopped_during_blocking(delay: Duration) -> bool {
    if delay.is_zero() {
        return crate::shutdown::is_shutting_down();
    }
    crate::shutdown::stopped_before_blocking(crate::blocking::deadline_after(delay))
}

/// The clock a call reads: tokio's (paused in tests), or for a plain `fn`
/// the `std` clock its delays are slept on.
#[inline]
pub(super) fn now(blocking: bool) -> Instant {
    if blocking {
        Instant::from_std(std::time::Instant::now())
    } else {
        Instant::now()
    }
}

/// What [`Attempts::judge_kept`] decides: `Break(outcome)` when the call is
/// over, `Continue((delay, failure as kept))` when another attempt follows.
pub type Judged<T, F, K> = ControlFlow<Result<T, F>, (Duration, <K as Keep>::Kept<F>)>;

/// Whether a retry keeps an attempt's failure across the delay that
/// follows, so that [shutdown](crate::shutdown()) can end the call with it:
/// [`KeepError`] does, [`KeepNothing`] does not (the attributes pick
/// `KeepNothing` for an error type that is not `Send`, whose future would
/// otherwise stop being `Send`).
pub trait Keep: Copy {
    /// What is held across the delay.
    type Kept<V>;
    /// Keeps `value` (or drops it at once).
    fn keep<V>(self, value: V) -> Self::Kept<V>;
    /// The value kept, if any.
    fn take<V>(kept: Self::Kept<V>) -> Option<V>;
}

/// Keeps the failure across the retry delay (see [`Keep`]).
#[derive(Debug, Clone, Copy)]
pub struct KeepError;

impl Keep for KeepError {
    type Kept<V> = V;

    #[inline]
    fn keep<V>(self, value: V) -> V {
        value
    }

    #[inline]
    fn take<V>(kept: V) -> Option<V> {
        Some(kept)
    }
}

/// Drops the failure before the retry delay (see [`Keep`]).
#[derive(Debug, Clone, Copy)]
pub struct KeepNothing;

impl Keep for KeepNothing {
    type Kept<V> = core::marker::PhantomData<fn() -> V>;

    #[inline]
    fn keep<V>(self, _: V) -> Self::Kept<V> {
        core::marker::PhantomData
    }

    #[inline]
    fn take<V>(_: Self::Kept<V>) -> Option<V> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Backoff, Jitter, Rejected};
    use core::convert::Infallible;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const MS: Duration = Duration::from_millis(1);

    fn policy(attempts: u32, backoff: Backoff) -> Retry {
        Retry::builder()
            .attempts(attempts)
            .backoff(backoff)
            .jitter(Jitter::None)
            .build()
    }

    fn err(code: u32) -> Failure<u32, Rejected> {
        Failure::Error(code)
    }

    fn decide(a: &mut Attempts<'_>, f: &Failure<u32, Rejected>) -> Option<Duration> {
        a.decide(
            f,
            &|_: &u32| true,
            &|_: &u32| None,
            &mut StdRng::seed_from_u64(0),
        )
    }

    #[test]
    fn attempts_count_the_first_call() {
        let p = policy(3, Backoff::fixed(MS));
        let mut a = p.start();
        assert_eq!(decide(&mut a, &err(1)), Some(MS));
        assert_eq!(decide(&mut a, &err(1)), Some(MS));
        assert_eq!(decide(&mut a, &err(1)), None);
        let p = policy(1, Backoff::fixed(MS));
        assert_eq!(decide(&mut p.start(), &err(1)), None);
    }

    #[test]
    fn delays_follow_the_backoff_by_retry_index() {
        let p = policy(5, Backoff::exponential(MS * 10, 2.0, MS * 1000));
        let mut a = p.start();
        let got: Vec<_> = (0..4).map(|_| decide(&mut a, &err(0)).unwrap()).collect();
        assert_eq!(got, [MS * 10, MS * 20, MS * 40, MS * 80]);
    }

    #[test]
    fn when_filters_only_the_bodys_errors() {
        let p = policy(5, Backoff::none());
        let mut a = p.start();
        let odd = |e: &u32| e % 2 == 1;
        let mut r = StdRng::seed_from_u64(0);
        assert_eq!(a.decide(&err(2), &odd, &|_: &u32| None, &mut r), None);
        assert_eq!(
            a.decide(&err(3), &odd, &|_: &u32| None, &mut r),
            Some(Duration::ZERO)
        );
        let timeout = Failure::Rejected(Rejected::timeout(MS));
        let never = |_: &u32| false;
        assert_eq!(
            a.decide(&timeout, &never, &|_: &u32| None, &mut r),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn circuit_open_bulkhead_full_and_rate_limited_are_never_retried() {
        let p = policy(5, Backoff::none());
        for rejected in [
            Rejected::circuit_open("c"),
            Rejected::bulkhead_full("b"),
            Rejected::rate_limited("r", MS),
            Rejected::shutting_down("s"),
        ] {
            assert_eq!(decide(&mut p.start(), &Failure::Rejected(rejected)), None);
        }
    }

    #[test]
    fn hints_replace_the_delay_and_are_not_shortened_to_max() {
        let p = policy(5, Backoff::exponential(MS * 10, 2.0, MS * 100));
        let mut a = p.start();
        let mut r = StdRng::seed_from_u64(0);
        let hint = |e: &u32| Some(MS * *e);
        let always = |_: &u32| true;
        assert_eq!(a.decide(&err(55), &always, &hint, &mut r), Some(MS * 55));
        // Above the backoff's `max`, within `max_hint`: waited as given.
        assert_eq!(a.decide(&err(500), &always, &hint, &mut r), Some(MS * 500));
        // No hint: back to the schedule, at the index of this retry.
        assert_eq!(
            a.decide(&err(0), &always, &|_: &u32| None, &mut r),
            Some(MS * 40)
        );
    }

    #[test]
    fn a_hint_longer_than_max_hint_ends_the_retries() {
        let p = Retry::builder()
            .attempts(5)
            .backoff(Backoff::fixed(MS))
            .max_hint(MS * 100)
            .build();
        let mut r = StdRng::seed_from_u64(0);
        let hint = |e: &u32| Some(MS * *e);
        let always = |_: &u32| true;
        let mut a = p.start();
        assert_eq!(a.decide(&err(100), &always, &hint, &mut r), Some(MS * 100));
        assert_eq!(a.decide(&err(101), &always, &hint, &mut r), None);
        assert_eq!(a.stop, "hint_too_long");
    }

    #[test]
    fn infallible_channel_is_accepted() {
        let p = policy(2, Backoff::none());
        let f: Failure<u32, Infallible> = Failure::Error(1);
        let mut a = p.start();
        assert!(
            a.decide(
                &f,
                &|_: &u32| true,
                &|_: &u32| None,
                &mut StdRng::seed_from_u64(0)
            )
            .is_some()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn budget_stops_a_retry_that_would_end_past_it() {
        let p = Retry::builder()
            .attempts(10)
            .backoff(Backoff::fixed(MS * 400))
            .jitter(Jitter::None)
            .max_elapsed(MS * 1000)
            .build();
        let mut a = p.start();
        assert_eq!(decide(&mut a, &err(0)), Some(MS * 400)); // ends at 400
        tokio::time::advance(MS * 400).await;
        assert_eq!(decide(&mut a, &err(0)), Some(MS * 400)); // ends at 800
        tokio::time::advance(MS * 400).await;
        assert_eq!(decide(&mut a, &err(0)), None); // would end at 1200
    }

    #[tokio::test(start_paused = true)]
    async fn budget_counts_time_spent_in_attempts() {
        let p = Retry::builder()
            .attempts(10)
            .backoff(Backoff::fixed(MS * 100))
            .jitter(Jitter::None)
            .max_elapsed(MS * 1000)
            .build();
        let mut a = p.start();
        tokio::time::advance(MS * 900).await; // a slow first attempt
        assert_eq!(decide(&mut a, &err(0)), Some(MS * 100)); // ends exactly at the budget
        tokio::time::advance(MS * 101).await;
        assert_eq!(decide(&mut a, &err(0)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn next_sleeps_the_delay_and_drops_nothing_on_success() {
        let p = policy(3, Backoff::fixed(MS * 250));
        let mut a = p.start();
        let start = Instant::now();
        let step = a
            .next(Err::<(), _>(err(1)), |_: &u32| true, |_: &u32| None)
            .await;
        assert_eq!(step, ControlFlow::Continue(()));
        assert_eq!(start.elapsed(), MS * 250);
        let step = a
            .next(Ok::<_, Failure<u32>>(7), |_: &u32| true, |_: &u32| None)
            .await;
        assert_eq!(step, ControlFlow::Break(Ok(7)));
    }

    // ------------------------------------------- server hints, end to end

    /// An error carrying a server's hint (Retry-After), numbered by attempt.
    #[derive(Debug, PartialEq)]
    struct Busy {
        attempt: u32,
        retry_after: Duration,
    }

    /// Runs `policy` over a body that always fails with `hints[n]` on attempt
    /// `n` (the last hint repeating); returns the error, the attempts made and
    /// the (paused) time taken.
    async fn hinted(policy: &Retry, hints: &[Duration]) -> (Busy, u32, Duration) {
        let start = Instant::now();
        let mut made = 0;
        let error = policy
            .run_with(
                || {
                    made += 1;
                    let retry_after = hints[(made as usize - 1).min(hints.len() - 1)];
                    let attempt = made;
                    async move {
                        Err::<(), _>(Busy {
                            attempt,
                            retry_after,
                        })
                    }
                },
                |_: &Busy| true,
                |e: &Busy| Some(e.retry_after),
            )
            .await
            .unwrap_err();
        (error, made, start.elapsed())
    }

    const SEC: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn a_hint_longer_than_the_backoff_max_is_waited_in_full() {
        // `Retry-After: 30` with the default backoff (max 10 s) and default
        // (full) jitter: both retries wait exactly 30 s, and each counts as an
        // attempt.
        let (error, made, took) = hinted(&Retry::DEFAULT, &[SEC * 30]).await;
        assert_eq!(made, 3, "a hinted retry still counts as an attempt");
        assert_eq!(error.attempt, 3);
        assert_eq!(took, SEC * 60);
    }

    #[tokio::test(start_paused = true)]
    async fn hints_get_no_jitter() {
        // Full jitter would draw each delay from [0, d]; a hint is exact.
        let policy = Retry::builder()
            .attempts(4)
            .backoff(Backoff::exponential(MS * 100, 2.0, SEC))
            .jitter(Jitter::Full)
            .build();
        for _ in 0..20 {
            let (_, made, took) = hinted(&policy, &[MS * 1_500, SEC * 7, MS * 250]).await;
            assert_eq!(made, 4);
            assert_eq!(took, MS * 8_750);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_hour_long_hint_with_fixed_backoff_ends_at_once() {
        // `fixed` has no `max`, but `max_hint` (60 s by default) still bounds
        // the hint: an hour is not waited, the hinted error returns at once.
        let policy = Retry::builder()
            .attempts(3)
            .backoff(Backoff::fixed(SEC))
            .build();
        let (error, made, took) = hinted(&policy, &[SEC * 3_600]).await;
        assert_eq!(
            error,
            Busy {
                attempt: 1,
                retry_after: SEC * 3_600
            }
        );
        assert_eq!((made, took), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hint_past_max_hint_ends_at_once_with_that_error() {
        let policy = Retry::builder().attempts(5).max_hint(SEC * 5).build();
        // 2 s is honoured, then 6 s (past `max_hint`, within the backoff's
        // `max`) ends the retries with the second attempt's error.
        let (error, made, took) = hinted(&policy, &[SEC * 2, SEC * 6]).await;
        assert_eq!(
            error,
            Busy {
                attempt: 2,
                retry_after: SEC * 6
            }
        );
        assert_eq!((made, took), (2, SEC * 2));
        // Exactly `max_hint` is still waited.
        let (_, made, took) = hinted(&policy, &[SEC * 5]).await;
        assert_eq!((made, took), (5, SEC * 20));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hint_crossing_max_elapsed_ends_at_once() {
        // The hint (30 s) is within `max_hint` but would end past the 20 s
        // budget: not shortened to fit, and not waited.
        let policy = Retry::builder().attempts(5).max_elapsed(SEC * 20).build();
        let (error, made, took) = hinted(&policy, &[SEC * 30]).await;
        assert_eq!(error.attempt, 1);
        assert_eq!((made, took), (1, Duration::ZERO));
        // 8 s fits twice (ends at 8, 16); the third would end at 24.
        let (error, made, took) = hinted(&policy, &[SEC * 8]).await;
        assert_eq!(error.attempt, 3);
        assert_eq!((made, took), (3, SEC * 16));
    }
}
