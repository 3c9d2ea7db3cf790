//! [`Permit`]: one admitted call, and the guarantee that it is accounted for.

use core::mem::ManuallyDrop;

use super::{CircuitBreaker, Outcome};

/// Leave to run one call through a [`CircuitBreaker`].
///
/// Report the outcome with [`success`](Permit::success),
/// [`failure`](Permit::failure) or [`ignore`](Permit::ignore). A permit
/// dropped without a report records nothing and gives a half-open probe slot
/// back (the call was cancelled); one dropped while its thread panics records
/// a failure (the panic still propagates). [`CircuitBreaker::call`] and the
/// breaker's futures also record a panic that is caught before their permit
/// is dropped (under `catch_unwind`): they watch for it where it unwinds
/// through them.
#[derive(Debug)]
#[must_use = "a permit records nothing until it is told how the call ended"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    /// The clock reading at admission plus one, when the breaker tracks
    /// durations; 0 otherwise (a plain word keeps the permit three words long).
    started: u64,
    /// `generation << 1 | probe`: one word, written and copied at once.
    ticket: u64,
}

impl<'a> Permit<'a> {
    #[inline]
    pub(super) fn new(breaker: &'a CircuitBreaker, generation: u32, probe: bool) -> Self {
        Permit {
            breaker,
            started: breaker.start_time().map_or(0, |t| t.saturating_add(1)),
            ticket: u64::from(generation) << 1 | u64::from(probe),
        }
    }

    /// Whether this call is a half-open probe.
    #[must_use]
    #[inline]
    pub fn is_probe(&self) -> bool {
        self.ticket & 1 == 1
    }

    #[inline]
    fn started(&self) -> Option<u64> {
        self.started.checked_sub(1)
    }

    #[inline]
    fn generation(&self) -> u32 {
        // The generation is 29 bits wide (see `state.rs`): the shift loses nothing.
        (self.ticket >> 1) as u32
    }

    /// The call succeeded.
    #[inline]
    pub fn success(self) {
        self.finish(Outcome::Success);
    }

    /// The call failed.
    #[inline]
    pub fn failure(self) {
        self.finish(Outcome::Failure);
    }

    /// The call ended in a way that says nothing about the dependency's health.
    #[inline]
    pub fn ignore(self) {
        self.finish(Outcome::Ignored);
    }

    #[inline]
    fn finish(self, outcome: Outcome) {
        // Reported: the drop-time accounting below must not run.
        let this = ManuallyDrop::new(self);
        this.breaker
            .complete(this.generation(), this.is_probe(), outcome, this.started());
    }
}

/// Records a failure for the permit in its slot if dropped armed, which only
/// a panic unwinding through the call it guards does: the guard is made
/// right before the call runs (or is polled) and [disarmed](Self::disarm)
/// right after it returns. A permit dropped later, after a `catch_unwind`
/// upstream has stopped the unwinding, no longer sees the panic
/// (`std::thread::panicking()` is false by then): this guard has seen it.
#[derive(Debug)]
pub(super) struct FailOnUnwind<'p, 'a>(&'p mut Option<Permit<'a>>);

impl<'p, 'a> FailOnUnwind<'p, 'a> {
    /// Armed over `permit` (which may be empty: then it records nothing).
    #[inline]
    pub(super) fn arm(permit: &'p mut Option<Permit<'a>>) -> Self {
        FailOnUnwind(permit)
    }

    /// The guarded call returned (ready or not): nothing to record here.
    #[inline]
    pub(super) fn disarm(self) {
        // It holds only a borrow: forgetting it leaks nothing, and skips the
        // drop below.
        core::mem::forget(self);
    }
}

impl Drop for FailOnUnwind<'_, '_> {
    #[cold]
    fn drop(&mut self) {
        if let Some(permit) = self.0.take() {
            permit.failure();
        }
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        // Not reported: cancelled, or unwinding from a panic.
        let outcome = if std::thread::panicking() {
            Outcome::Failure
        } else {
            Outcome::Ignored
        };
        self.breaker
            .complete(self.generation(), self.is_probe(), outcome, self.started());
    }
}
