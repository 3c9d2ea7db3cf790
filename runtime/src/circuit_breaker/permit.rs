//! [`Permit`]: one admitted call, and the guarantee that it is accounted for.

use super::{CircuitBreaker, Outcome};

/// Leave to run one call through a [`CircuitBreaker`].
///
/// Report the outcome with [`success`](Permit::success),
/// [`failure`](Permit::failure) or [`ignore`](Permit::ignore). A permit
/// dropped without a report records nothing and gives a half-open probe slot
/// back (the call was cancelled); one dropped while its thread panics records
/// a failure (the panic still propagates).
#[derive(Debug)]
#[must_use = "a permit records nothing until it is told how the call ended"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u32,
    probe: bool,
    started: Option<u64>,
    done: bool,
}

impl<'a> Permit<'a> {
    pub(super) fn new(breaker: &'a CircuitBreaker, generation: u32, probe: bool) -> Self {
        Permit {
            breaker,
            generation,
            probe,
            started: breaker.start_time(),
            done: false,
        }
    }

    /// Whether this call is a half-open probe.
    #[must_use]
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded.
    pub fn success(self) {
        self.finish(Outcome::Success);
    }

    /// The call failed.
    pub fn failure(self) {
        self.finish(Outcome::Failure);
    }

    /// The call ended in a way that says nothing about the dependency's health.
    pub fn ignore(self) {
        self.finish(Outcome::Ignored);
    }

    fn finish(mut self, outcome: Outcome) {
        self.done = true;
        self.breaker
            .complete(self.generation, self.probe, outcome, self.started);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            let outcome = if std::thread::panicking() {
                Outcome::Failure
            } else {
                Outcome::Ignored
            };
            self.breaker
                .complete(self.generation, self.probe, outcome, self.started);
        }
    }
}
