//! The breaker's side of a [`snapshot`](crate::snapshot): what it tells a
//! snapshot beyond its public readings, and how a restore puts it back in a
//! state it had in an earlier process.
//!
//! A restore is an operator's command in all but name: one compare-and-swap
//! of the state word to a new generation ([`state::force_with`]), so calls
//! admitted before it do not count after it, and no transition racing it
//! lands after it. What precedes that compare-and-swap — the window's new
//! counts, the run of failures, `open_until` — is stored first, and the
//! word's `AcqRel` exchange publishes it to every caller that sees the new
//! word (as a transition to open publishes `open_until`).

use core::sync::atomic::Ordering;
use core::time::Duration;

use super::state::{self, Word};
use super::window::Tally;
use super::{CircuitBreaker, State, WindowCounts};
use crate::store::BreakerWindow;

/// What a breaker is restored to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restore {
    /// Closed, with these counts in its window and this run of failures.
    Closed {
        counts: WindowCounts,
        consecutive: u32,
    },
    /// Open, admitting a probe once `left` has passed (at once for zero),
    /// with a fresh window.
    Open { left: Duration },
}

impl CircuitBreaker {
    /// Its state, the state an operator holds (if any), and how long an
    /// open breaker that no operator holds still rejects before its next
    /// call probes (zero once `open_for` has passed, and in any other
    /// state): one reading of the word, so the three agree.
    pub(crate) fn reading(&self) -> (State, Option<State>, Duration) {
        let word = Word(self.word.load(Ordering::Acquire));
        let (state, held) = (word.state(), word.held());
        let left = if state == State::Open && !held {
            let until = self.open_until.load(Ordering::Acquire);
            Duration::from_nanos(until.saturating_sub(self.now()))
        } else {
            Duration::ZERO
        };
        (state, held.then_some(state), left)
    }

    /// The current run of failures (what `consecutive_failures` counts).
    pub(crate) fn failure_run(&self) -> u32 {
        self.consecutive.load(Ordering::Relaxed)
    }

    /// Its `open_for`.
    pub(crate) fn open_for(&self) -> Duration {
        self.config.open_for()
    }

    /// Its window's duration, for a time window.
    pub(crate) fn window_duration(&self) -> Option<Duration> {
        match self.config.window {
            BreakerWindow::Time(duration) => Some(duration),
            BreakerWindow::Calls(_) => None,
        }
    }

    /// Puts the breaker in `to`, held there by an operator's hold when
    /// `hold` (closed or open), one generation on. Returns the state it
    /// left. Not for a shared breaker (its state lives in its store).
    pub(crate) fn restore(&self, to: Restore, hold: bool) -> State {
        debug_assert!(self.shared.is_none(), "a shared breaker is not restored");
        let state = match to {
            Restore::Closed {
                counts,
                consecutive,
            } => {
                let counts = Tally {
                    calls: counts.calls,
                    failures: counts.failures,
                    slow: counts.slow,
                };
                self.window.restore(counts, || self.now());
                self.consecutive.store(consecutive, Ordering::Relaxed);
                State::Closed
            }
            Restore::Open { left } => {
                self.window.reset();
                self.consecutive.store(0, Ordering::Relaxed);
                let left = u64::try_from(left.as_nanos()).unwrap_or(u64::MAX);
                self.open_until
                    .store(self.now().saturating_add(left), Ordering::Release);
                State::Open
            }
        };
        let from = state::force_with(&self.word, |word| {
            if hold {
                word.advance_held(state)
            } else {
                word.advance(state, 0)
            }
        });
        self.transitioned(from, state);
        from
    }
}
