//! The call path of a shared breaker: admission on the local view, and where
//! a finished call's outcome goes. All of it is the breaker's slow path (a
//! closed, attached word is admitted by `try_acquire`'s one load as
//! without a store).

use core::sync::atomic::Ordering;

use super::lease::Lease;
use super::{Shared, Status, syncer};
use crate::Rejected;
use crate::circuit_breaker::state::{self, Admission, State, Word};
use crate::circuit_breaker::{CircuitBreaker, Outcome, Permit};
use crate::store::{OnStoreError, ProbeOutcome};

impl CircuitBreaker {
    /// `acquire_slow` for a shared breaker: starts the syncer if none runs,
    /// attaches a detached word, and admits on the local view as the link's
    /// status says (see the module docs).
    #[cold]
    pub(in crate::circuit_breaker) fn acquire_shared(
        &self,
        shared: &Shared,
        mut word: Word,
    ) -> Result<Permit<'_>, Rejected> {
        if self.link.status() == Status::Detached {
            self.start_syncer(shared);
        }
        let status = self.link.status();
        if word.is_detached() && status != Status::Detached {
            // The first call since the syncer started: attach the word
            // (closed, one generation on), with a fresh window.
            self.window.reset();
            self.consecutive.store(0, Ordering::Relaxed);
            let _ = state::shift(&self.word, |w| {
                w.is_detached().then(|| w.advance(State::Closed, 0))
            });
            word = Word(self.word.load(Ordering::Acquire));
        }
        let waited_out = || self.now() >= self.open_until.load(Ordering::Acquire);
        let admission = match status {
            Status::Syncing => match word.state() {
                State::Open if !word.held() && waited_out() => {
                    // The store grants the probe: ask for a lease, and
                    // reject this caller meanwhile.
                    self.link.demand.store(true, Ordering::Relaxed);
                    self.link.poke();
                    Admission::Rejected
                }
                // One probe per lease, whatever `half_open_probes` says (the
                // store counts those cluster-wide); never from open.
                _ => state::admit(&self.word, word, 1, || false),
            },
            Status::Failed if shared.on_error == OnStoreError::Closed && !word.held() => {
                return Err(self.reject_store_unavailable());
            }
            // Local (or failing `Open`, whose word is kept closed): as a
            // breaker without a store.
            Status::Failed | Status::Detached => {
                state::admit(&self.word, word, self.config.half_open_probes(), waited_out)
            }
        };
        self.permit(admission)
    }

    /// Starts the syncer on the current tokio runtime, if there is one and
    /// the breaker is a registered `'static` (see the module docs).
    fn start_syncer(&self, shared: &Shared) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(this) = self.as_static() else {
            if !self.link.warned.swap(true, Ordering::Relaxed) {
                crate::events::breaker_store_unused(self.name());
            }
            return;
        };
        if self
            .link
            .status
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        syncer::spawn(&runtime, this, *shared);
    }

    /// This breaker as the `'static` the registry holds, if it is there.
    fn as_static(&self) -> Option<&'static CircuitBreaker> {
        if !self.registered.is_set() {
            return None;
        }
        crate::registry::members::<CircuitBreaker>()
            .into_iter()
            .find(|member| core::ptr::eq(*member, self))
    }

    /// A call admitted while closed ended (in the generation it was
    /// admitted in): kept for the store's next report while the store
    /// answers.
    #[inline]
    pub(in crate::circuit_breaker) fn record_shared(&self, failure: bool, slow: bool) {
        if self.link.status() == Status::Syncing {
            self.link.pending.record(failure, slow);
        }
    }

    /// The local window trips a shared breaker: while the store answers, the
    /// store decides (the syncer reports at once); while it fails, as
    /// `on_store_error` says (`Local` opens, `Open` never does).
    pub(in crate::circuit_breaker) fn trip_shared(&self, shared: &Shared, from: Word) {
        match self.link.status() {
            Status::Syncing => self.link.poke(),
            Status::Failed if shared.on_error == OnStoreError::Open => {}
            Status::Failed | Status::Detached => self.open(from),
        }
    }

    /// A probe admitted in `generation` ended: if it is the probe of this
    /// process's lease, its outcome goes into the lease for the syncer to
    /// send (the local word stays half-open, full, until the store answers);
    /// `false` otherwise (a local probe: decided in process).
    pub(in crate::circuit_breaker) fn lease_probe_done(
        &self,
        generation: u32,
        outcome: Outcome,
        slow: bool,
    ) -> bool {
        let mut lease = self.link.lease();
        match &mut *lease {
            Some(Lease {
                local,
                outcome: done @ None,
                ..
            }) if *local == generation => {
                *done = Some(match outcome {
                    Outcome::Success if !slow => ProbeOutcome::Success,
                    Outcome::Success | Outcome::Failure => ProbeOutcome::Failure,
                    Outcome::Ignored => ProbeOutcome::Released,
                });
                drop(lease);
                self.link.poke();
                true
            }
            _ => false,
        }
    }

    /// The breaker's own rejection while its store fails and
    /// `on_store_error` is `Closed`, reported.
    #[cold]
    fn reject_store_unavailable(&self) -> Rejected {
        let rejected = Rejected::store_unavailable(self.name());
        crate::events::breaker_rejected_store_unavailable(self.name());
        crate::meter::breaker_call(self.name(), "rejected");
        rejected
    }
}
