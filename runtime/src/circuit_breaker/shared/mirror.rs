//! The syncer's moves of the local word: mirroring the store's view, what
//! `on_store_error` does while the store fails, and detaching when the
//! syncer ends. Each is one `state::shift` (a compare-and-swap to a new
//! generation, which never moves a held word), made only when something
//! changed.

use core::sync::atomic::Ordering;
use core::time::Duration;

use super::{Status, lease::Lease};
use crate::circuit_breaker::state::{self, State, Word};
use crate::circuit_breaker::{CircuitBreaker, Outcome};
use crate::store::{BreakerView, OnStoreError, ProbeOutcome};

impl CircuitBreaker {
    /// Brings the local word in step with the store's `view` (see the
    /// module docs of `shared`): closed → closed with a fresh window, open →
    /// open for the store's time left, half-open (a lease held elsewhere) →
    /// open and waited out. Unless `force`, nothing moves while the local
    /// state already agrees and the store's generation is the one last
    /// mirrored. A held word is never moved.
    pub(super) fn mirror(&self, view: BreakerView, force: bool) {
        let previous = self
            .link
            .store_generation
            .swap(view.generation, Ordering::Relaxed);
        let same = previous == view.generation && !force;
        if !same {
            // Outcomes of the old generation's calls say nothing of the new one.
            let _ = self.link.pending.take();
        }
        let now = self.now();
        let moved = match view.state {
            State::Closed => {
                let word = Word(self.word.load(Ordering::Acquire));
                if same && word.state() == State::Closed && !word.is_detached() {
                    return;
                }
                self.window.reset();
                self.consecutive.store(0, Ordering::Relaxed);
                state::shift(&self.word, |w| {
                    (!same || w.state() != State::Closed || w.is_detached())
                        .then(|| w.advance(State::Closed, 0))
                })
            }
            State::Open | State::HalfOpen => {
                let remaining = if view.state == State::Open {
                    view.open_remaining
                } else {
                    Duration::ZERO
                };
                let until = now.saturating_add(nanos(remaining));
                let word = Word(self.word.load(Ordering::Acquire));
                let agrees = word.state() == State::Open
                    && (view.state == State::Open
                        || self.open_until.load(Ordering::Acquire) <= now);
                if same && agrees {
                    return;
                }
                self.open_until.store(until, Ordering::Release);
                state::shift(&self.word, |w| Some(w.advance(State::Open, 0)))
            }
        };
        self.report_move(moved);
    }

    /// The store failed: what `on_store_error` does to the local word. A
    /// finished lease probe's outcome is applied locally first (its lease is
    /// gone with the store), so a half-open word is not left full.
    pub(super) fn apply_store_error(&self, on_error: OnStoreError) {
        self.link.demand.store(false, Ordering::Relaxed);
        let _ = self.link.pending.take();
        let lease = self.link.lease().take();
        if let Some(Lease {
            local,
            outcome: Some(outcome),
            ..
        }) = lease
        {
            let outcome = match outcome {
                ProbeOutcome::Success => Outcome::Success,
                ProbeOutcome::Failure => Outcome::Failure,
                ProbeOutcome::Released => Outcome::Ignored,
            };
            self.complete_probe_local(local, outcome, false);
        }
        let moved = match on_error {
            OnStoreError::Local => None,
            OnStoreError::Open => {
                let word = Word(self.word.load(Ordering::Acquire));
                if word.state() == State::Closed && !word.is_detached() {
                    return;
                }
                self.window.reset();
                self.consecutive.store(0, Ordering::Relaxed);
                state::shift(&self.word, |w| {
                    (w.state() != State::Closed || w.is_detached())
                        .then(|| w.advance(State::Closed, 0))
                })
            }
            OnStoreError::Closed => {
                let word = Word(self.word.load(Ordering::Acquire));
                if word.state() == State::Open
                    && self.open_until.load(Ordering::Acquire) == u64::MAX
                {
                    return;
                }
                // Open with no end: the calls are rejected with
                // `StoreUnavailable` until the store answers.
                self.open_until.store(u64::MAX, Ordering::Release);
                state::shift(&self.word, |w| Some(w.advance(State::Open, 0)))
            }
        };
        self.report_move(moved);
    }

    /// Reports a move of the word that changed its public state.
    fn report_move(&self, moved: Option<(Word, Word)>) {
        if let Some((from, to)) = moved
            && from.state() != to.state()
        {
            self.transitioned(from.state(), to.state());
        }
    }

    /// The syncer ended (its runtime shut down): no lease, nothing pending,
    /// and the word detached (unless held), so that the next call, in
    /// another runtime, starts a new syncer.
    pub(super) fn detach(&self) {
        let _ = self.link.lease().take();
        let _ = self.link.pending.take();
        self.link.demand.store(false, Ordering::Relaxed);
        self.link.set_status(Status::Detached);
        let _ = state::shift(&self.word, |w| {
            (!w.is_detached()).then(|| w.advance_detached())
        });
    }
}

/// A duration in nanoseconds, saturating.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
