//! Hedged calls: extra copies of a slow call, the first success wins.
//!
//! [`Hedge::run`] starts the first copy of a call; if no copy has succeeded
//! after `after`, it starts another, up to `MAX` extra copies, one more every
//! `after`. The first `Ok` wins and every other copy is dropped at once. An
//! `Err` from one copy waits for the others while any runs; an `Err` while no
//! other copy runs ends the call (a hedge is not a retry: a copy that is due
//! later is not started to replace a failed one). When every copy has failed,
//! the error of the copy that failed last returns.
//!
//! - **No timer when the first copy is ready at once**: the first copy is
//!   polled before the timer is created; a call whose first copy finishes on
//!   its first poll reads no clock and arms no timer. The timer counts
//!   `after` from the end of that first poll.
//! - **No allocation per call**: the copies are held inline, in the call's
//!   own future (one slot per copy, `1 + MAX` in all; see [`Width`]), so a
//!   hedged future is about `(1 + MAX)` times the size of one copy.
//! - **Budget**: with a [`RetryBudget`], the call deposits once (like a
//!   retried call's first attempt) and each extra copy withdraws; a copy the
//!   budget refuses is not started, nor is any later one (a `tracing` event
//!   says so).
//! - **Shutdown**: once [graceful shutdown](crate::shutdown()) has begun no
//!   new copy starts; the running ones finish.
//! - **Cancellation**: dropping the call drops every copy.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::hedge::Hedge;
//!
//! static HEDGE: Hedge<1> = Hedge::new(Duration::from_millis(50));
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let answer: Result<u32, std::io::Error> = HEDGE.run(|| async { Ok(42) }).await;
//! assert_eq!(answer.unwrap(), 42);
//! # }
//! ```

mod run;
mod slots;
#[cfg(test)]
mod tests;

use core::time::Duration;

use crate::RetryBudget;

pub use slots::Width;
#[doc(hidden)]
pub use slots::{End, Extra, Link, Slots};

/// A hedging policy: start up to `MAX` extra copies of a call, one every
/// `after`, while none has succeeded. `MAX` is 1 to 8 (default 1).
///
/// Plain configuration: it can live in a `static` and serve every call.
#[derive(Debug, Clone, Copy)]
pub struct Hedge<const MAX: usize = 1> {
    after: Duration,
}

impl<const MAX: usize> Hedge<MAX> {
    /// A hedge that starts another copy every `after` (> 0).
    ///
    /// # Panics
    ///
    /// If `after` is zero (at compile time in a `const` or `static`), or
    /// `MAX` is 0 or above 8.
    #[must_use]
    pub const fn new(after: Duration) -> Self {
        assert!(!after.is_zero(), "a hedge's `after` must be above zero");
        assert!(
            MAX >= 1 && MAX <= 8,
            "a hedge starts 1 to 8 extra copies (`max`)"
        );
        Hedge { after }
    }

    /// How long a call waits for a success before starting another copy.
    #[must_use]
    pub const fn after(&self) -> Duration {
        self.after
    }

    /// The most extra copies a call starts.
    #[must_use]
    pub const fn max(&self) -> usize {
        MAX
    }

    /// Runs copies of `op()` as the [module](self) describes; returns the
    /// first success, or the error of the copy that failed last.
    pub fn run<T, E, Op, Fut>(&self, op: Op) -> impl Future<Output = Result<T, E>>
    where
        Extra<MAX>: Width,
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        run::Hedged::<<Extra<MAX> as Width>::Slots<Fut>, Op, E>::new(self.after, None, MAX + 1, op)
    }

    /// As [`run`](Self::run), with each extra copy drawn from `budget` (the
    /// call deposits once, as a retried call's first attempt does).
    pub fn run_budgeted<T, E, Op, Fut>(
        &self,
        budget: &RetryBudget,
        op: Op,
    ) -> impl Future<Output = Result<T, E>>
    where
        Extra<MAX>: Width,
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        run::Hedged::<<Extra<MAX> as Width>::Slots<Fut>, Op, E>::new(
            self.after,
            Some(budget),
            MAX + 1,
            op,
        )
    }
}
