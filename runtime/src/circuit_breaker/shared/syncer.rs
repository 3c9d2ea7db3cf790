//! The syncer: one background task per shared breaker (per tokio runtime)
//! that makes every store call, each bounded by `store_timeout`, and keeps
//! the local word in step with the answers (see the module docs of
//! `shared`).

use core::future::Future;
use core::sync::atomic::Ordering;

use tokio::time::Instant;

use super::lease::Lease;
use super::{Shared, Status};
use crate::circuit_breaker::CircuitBreaker;
use crate::circuit_breaker::state::{self, State, Word};
use crate::store::{BreakerView, Outcomes, ProbeGrant, ProbeOutcome, StoreError, StoreErrorKind};

/// Spawns `breaker`'s syncer on `runtime`. The guard is made before the
/// task, so a runtime that shuts down before polling it still detaches.
pub(super) fn spawn(
    runtime: &tokio::runtime::Handle,
    breaker: &'static CircuitBreaker,
    shared: Shared,
) {
    let guard = Detach(breaker);
    runtime.spawn(async move {
        let guard = guard;
        run(guard.0, shared).await;
    });
}

/// Detaches the breaker when the syncer's task is dropped (its runtime
/// shut down).
struct Detach(&'static CircuitBreaker);

impl Drop for Detach {
    fn drop(&mut self) {
        self.0.detach();
    }
}

/// The syncer's loop: a sync at once (a read: the first answer ends the
/// default closed view), then one every `sync_interval` or when poked.
async fn run(breaker: &'static CircuitBreaker, shared: Shared) {
    let mut answered = false;
    loop {
        breaker.sync(&shared, &mut answered).await;
        let poked = breaker.link.poke.notified();
        let _ = tokio::time::timeout(shared.sync_interval, poked).await;
    }
}

/// The error of a store call that took longer than `store_timeout`.
fn timed_out(shared: &Shared) -> StoreError {
    StoreError::new(
        StoreErrorKind::Timeout,
        format!("no answer within {:?}", shared.timeout),
    )
}

impl CircuitBreaker {
    /// One round: the lease's business if this process holds one, else a
    /// lease request if a caller asked for a probe, else a report (a read
    /// until the store first answered).
    async fn sync(&self, shared: &Shared, answered: &mut bool) {
        let lease = *self.link.lease();
        if let Some(lease) = lease {
            return self.sync_lease(shared, lease).await;
        }
        if self.link.demand.swap(false, Ordering::Relaxed) && self.ask_probe(shared).await {
            return;
        }
        let outcomes = if *answered {
            self.link.pending.take()
        } else {
            Outcomes::default()
        };
        let generation = self.link.store_generation.load(Ordering::Relaxed);
        let asked = shared
            .store
            .report(self.name(), self.store_spec(), generation, outcomes);
        if let Some(view) = self.ask(shared, asked).await {
            *answered = true;
            self.answered(view);
        }
    }

    /// Asks for a probe lease for a local view open and waited out (`false`
    /// when it is not: a report instead). A granted lease makes the local
    /// word half-open, one generation on, with room for one probe; if the
    /// word moved meanwhile, the lease is given back at once.
    async fn ask_probe(&self, shared: &Shared) -> bool {
        let word = Word(self.word.load(Ordering::Acquire));
        if word.state() != State::Open || word.held() {
            return false;
        }
        let asked = shared.store.acquire_probe(self.name(), self.store_spec());
        match self.ask(shared, asked).await {
            Some(ProbeGrant::Granted { generation, lease }) => {
                self.link.healthy.store(true, Ordering::Relaxed);
                let opened = state::shift(&self.word, |w| {
                    (w == word).then(|| w.advance(State::HalfOpen, 0))
                });
                let granted = Lease {
                    generation,
                    lease,
                    local: 0,
                    granted_at: Instant::now(),
                    outcome: None,
                };
                match opened {
                    Some((_, to)) => {
                        *self.link.lease() = Some(Lease {
                            local: to.generation(),
                            ..granted
                        });
                        self.link
                            .store_generation
                            .store(generation, Ordering::Relaxed);
                        self.transitioned(State::Open, State::HalfOpen);
                    }
                    None => {
                        self.end_lease(shared, granted, ProbeOutcome::Released)
                            .await
                    }
                }
            }
            Some(ProbeGrant::Refused(view)) => self.answered(view),
            None => {}
        }
        true
    }

    /// The lease's round: send a finished probe's outcome; give back a
    /// lease no call used within one sync interval (or whose local word an
    /// operator moved); otherwise read the state, and drop the lease if the
    /// store moved on or it expired (its probe's result would be fenced off).
    async fn sync_lease(&self, shared: &Shared, lease: Lease) {
        if let Some(outcome) = lease.outcome {
            return self.end_lease(shared, lease, outcome).await;
        }
        let word = Word(self.word.load(Ordering::Acquire));
        let ours = word.state() == State::HalfOpen && word.generation() == lease.local;
        if !ours {
            return self.end_lease(shared, lease, ProbeOutcome::Released).await;
        }
        if word.in_flight() == 0 && lease.granted_at.elapsed() >= shared.sync_interval {
            // Unused: take the probe's slot back first (a call admitted
            // meanwhile keeps it), then give the lease back.
            self.open_until.store(self.now(), Ordering::Release);
            let closed = state::shift(&self.word, |w| {
                (w == word).then(|| w.advance(State::Open, 0))
            });
            if closed.is_some() {
                self.end_lease(shared, lease, ProbeOutcome::Released).await;
            }
            return;
        }
        let generation = self.link.store_generation.load(Ordering::Relaxed);
        let asked = shared.store.report(
            self.name(),
            self.store_spec(),
            generation,
            Outcomes::default(),
        );
        if let Some(view) = self.ask(shared, asked).await {
            let current = view.state == State::HalfOpen
                && view.generation == lease.generation
                && lease.granted_at.elapsed() < shared.probe_lease;
            self.recovered();
            if !current {
                // Fenced off: the running probe's result will move nothing
                // (its local generation is left behind too).
                *self.link.lease() = None;
                self.mirror(view, true);
            }
        }
    }

    /// Ends `lease` with `outcome` at the store, and mirrors the answer
    /// (forced: the local half-open word of the lease must move on).
    async fn end_lease(&self, shared: &Shared, lease: Lease, outcome: ProbeOutcome) {
        let asked = shared.store.complete_probe(
            self.name(),
            self.store_spec(),
            lease.generation,
            lease.lease,
            outcome,
        );
        if let Some(view) = self.ask(shared, asked).await {
            {
                let mut held = self.link.lease();
                if held.is_some_and(|held| held.local == lease.local) {
                    *held = None;
                }
            }
            self.recovered();
            self.mirror(view, true);
        }
    }

    /// Makes one store call within `store_timeout`: its answer, or `None`
    /// once the failure is handled (see [`store_failed`](Self::store_failed)).
    async fn ask<T>(
        &self,
        shared: &Shared,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Option<T> {
        let error = match tokio::time::timeout(shared.timeout, call).await {
            Ok(Ok(answer)) => return Some(answer),
            Ok(Err(error)) => error,
            Err(_) => timed_out(shared),
        };
        self.store_failed(shared, &error);
        None
    }

    /// The store answered `view` to a report or a refused lease.
    fn answered(&self, view: BreakerView) {
        let was_failing = self.recovered();
        self.mirror(view, was_failing);
    }

    /// The store answered: healthy again (an event if it had failed).
    /// Whether it had.
    fn recovered(&self) -> bool {
        self.link.healthy.store(true, Ordering::Relaxed);
        let was = self.link.set_status(Status::Syncing);
        if was == Status::Failed {
            crate::events::store_recovered(crate::events::StoreUser::CircuitBreaker, self.name());
            return true;
        }
        false
    }

    /// A store call failed, timed out or answered garbage: counted,
    /// reported when the store had been answering, and `on_store_error`
    /// applied (again: it is idempotent) until the store answers.
    #[cold]
    fn store_failed(&self, shared: &Shared, error: &StoreError) {
        self.link.failures.fetch_add(1, Ordering::Relaxed);
        self.link.healthy.store(false, Ordering::Relaxed);
        if self.link.set_status(Status::Failed) != Status::Failed {
            crate::events::store_failed(
                crate::events::StoreUser::CircuitBreaker,
                self.name(),
                error,
                shared.on_error,
            );
        }
        self.apply_store_error(shared.on_error);
    }
}
