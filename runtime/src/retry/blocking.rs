//! Retrying a plain `fn`: the loop that re-runs a synchronous operation,
//! with its first attempt peeled off so that a call that succeeds at once
//! builds no [`Attempts`] at all (no bookkeeping written, no clock read
//! unless `max_elapsed` needs one).

use core::fmt;
use core::ops::ControlFlow;
use core::time::Duration;

use super::attempts::{Attempts, KeepError};
use super::{Retry, RetryBudget};
use crate::failure::{Failure, Rejection};
use crate::meter;

impl Retry {
    /// Runs the synchronous `op` until it succeeds or the policy gives up,
    /// each retry drawing from `budget` if there is one: the attributes'
    /// path on a plain `fn` (a first attempt that succeeds costs the call
    /// and a branch). The delays block the thread (parked on the `std`
    /// clock; [shutdown](crate::shutdown()) ends one early, and the last
    /// error returns); `max_elapsed` is measured on the `std` clock.
    ///
    /// `when`, `delay_from` and `describe` are as for
    /// [`Attempts::judge_kept`].
    #[inline]
    pub fn drive_blocking<T, E, R, Op, W, D, S>(
        &self,
        budget: Option<&RetryBudget>,
        mut op: Op,
        when: W,
        delay_from: D,
        describe: S,
    ) -> Result<T, Failure<E, R>>
    where
        R: Rejection,
        Op: FnMut() -> Result<T, Failure<E, R>>,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
        S: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Display>,
    {
        // Before the first attempt, as `Attempts::new` would.
        let started = self.max_elapsed.map(|_| super::attempts::now(true));
        if let Some(budget) = budget {
            budget.deposit();
        }
        let first = op();
        if first.is_ok() {
            if meter::ENABLED {
                meter::retry_call(self.name(), false, "success");
            }
            return first;
        }
        self.retry_blocking(budget, started, first, op, when, delay_from, describe)
    }

    /// The rest of [`drive_blocking`](Retry::drive_blocking), after a first
    /// attempt that failed.
    #[cold]
    #[allow(clippy::too_many_arguments)]
    fn retry_blocking<T, E, R, Op, W, D, S>(
        &self,
        budget: Option<&RetryBudget>,
        started: Option<tokio::time::Instant>,
        first: Result<T, Failure<E, R>>,
        mut op: Op,
        when: W,
        delay_from: D,
        describe: S,
    ) -> Result<T, Failure<E, R>>
    where
        R: Rejection,
        Op: FnMut() -> Result<T, Failure<E, R>>,
        W: Fn(&E) -> bool,
        D: Fn(&E) -> Option<Duration>,
        S: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Display>,
    {
        let mut attempts = Attempts::resumed(self, budget, started);
        let mut outcome = first;
        loop {
            match attempts.judge_kept(outcome, &when, &delay_from, &describe, KeepError) {
                ControlFlow::Break(result) => return result,
                ControlFlow::Continue((delay, kept)) => {
                    if let Some(last) = attempts.pause_kept_blocking(KeepError, delay, kept) {
                        return last;
                    }
                }
            }
            outcome = op();
        }
    }
}
