//! An in-memory [`BreakerStore`] for the shared breaker's tests: a plain
//! Rust model of the semantics the trait documents (one count window, the
//! trip decision made with the report, generations, probe leases that expire
//! on tokio's clock, fencing), with knobs to make it fail or hang, and a log
//! of what it was asked.

use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::time::Instant;

use crate::circuit_breaker::State;
use crate::store::{
    BreakerSpec, BreakerStore, BreakerView, BreakerWindow, Outcomes, ProbeGrant, ProbeOutcome,
    StoreError, StoreErrorKind, StoreFuture,
};

/// How the store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Answer,
    /// Every call errs at once.
    Fail,
    /// No call ever answers.
    Hang,
}

/// One call the store received, and whether it moved anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    Report {
        generation: u64,
        outcomes: Outcomes,
        applied: bool,
    },
    Acquire {
        granted: Option<(u64, u64)>,
    },
    Complete {
        generation: u64,
        lease: u64,
        outcome: ProbeOutcome,
        applied: bool,
    },
}

#[derive(Debug)]
struct Model {
    state: State,
    generation: u64,
    open_until: Instant,
    /// Outcomes in the window: (failure, slow).
    window: VecDeque<(bool, bool)>,
    run: u32,
    /// This half-open generation's leases: (number, expiry, ended).
    leases: Vec<(u64, Instant, bool)>,
    next_lease: u64,
    successes: u32,
}

/// The test store.
#[derive(Debug)]
pub(super) struct MemStore {
    model: Mutex<Model>,
    mode: Mutex<Mode>,
    log: Mutex<Vec<(Instant, Asked)>>,
    /// When the store's state changed, and to what.
    changes: Mutex<Vec<(Instant, State)>>,
}

impl MemStore {
    pub(super) fn leak() -> &'static MemStore {
        Box::leak(Box::new(MemStore {
            model: Mutex::new(Model {
                state: State::Closed,
                generation: 0,
                open_until: Instant::now(),
                window: VecDeque::new(),
                run: 0,
                leases: Vec::new(),
                next_lease: 0,
                successes: 0,
            }),
            mode: Mutex::new(Mode::Answer),
            log: Mutex::new(Vec::new()),
            changes: Mutex::new(Vec::new()),
        }))
    }

    pub(super) fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub(super) fn log(&self) -> Vec<(Instant, Asked)> {
        self.log.lock().unwrap().clone()
    }

    /// The reports it received (reads included).
    pub(super) fn reports(&self) -> Vec<(u64, Outcomes, bool)> {
        self.log()
            .into_iter()
            .filter_map(|(_, asked)| match asked {
                Asked::Report {
                    generation,
                    outcomes,
                    applied,
                } => Some((generation, outcomes, applied)),
                _ => None,
            })
            .collect()
    }

    /// The probe results it received.
    pub(super) fn completions(&self) -> Vec<(u64, u64, ProbeOutcome, bool)> {
        self.log()
            .into_iter()
            .filter_map(|(_, asked)| match asked {
                Asked::Complete {
                    generation,
                    lease,
                    outcome,
                    applied,
                } => Some((generation, lease, outcome, applied)),
                _ => None,
            })
            .collect()
    }

    /// The leases it granted: (generation, lease).
    pub(super) fn grants(&self) -> Vec<(u64, u64)> {
        self.log()
            .into_iter()
            .filter_map(|(_, asked)| match asked {
                Asked::Acquire { granted } => granted,
                _ => None,
            })
            .collect()
    }

    pub(super) fn changes(&self) -> Vec<(Instant, State)> {
        self.changes.lock().unwrap().clone()
    }

    pub(super) fn state(&self) -> (State, u64) {
        let model = self.model.lock().unwrap();
        (model.state, model.generation)
    }

    /// Moves the store to `state`, one generation on (as another process's
    /// outcomes or probe would).
    pub(super) fn set_state(&self, state: State, open_for: Duration) {
        let mut model = self.model.lock().unwrap();
        self.change(&mut model, state, open_for);
    }

    fn change(&self, model: &mut Model, state: State, open_for: Duration) {
        let now = Instant::now();
        model.state = state;
        model.generation += 1;
        model.window.clear();
        model.run = 0;
        model.leases.clear();
        model.successes = 0;
        model.open_until = now + open_for;
        self.changes.lock().unwrap().push((now, state));
    }

    fn view(model: &Model) -> BreakerView {
        let remaining = match model.state {
            State::Open => model.open_until.saturating_duration_since(Instant::now()),
            _ => Duration::ZERO,
        };
        BreakerView::new(model.state, model.generation, remaining)
    }

    /// Answers `answer` as the mode says, logging `asked`.
    fn answer<T: Send + 'static>(
        &self,
        answer: impl FnOnce(&mut Model) -> (T, Asked),
    ) -> StoreFuture<'_, Result<T, StoreError>> {
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Answer => {
                let (answer, asked) = answer(&mut self.model.lock().unwrap());
                self.log.lock().unwrap().push((Instant::now(), asked));
                Box::pin(async move { Ok(answer) })
            }
            Mode::Fail => Box::pin(async {
                Err(StoreError::new(
                    StoreErrorKind::Unavailable,
                    "connection refused",
                ))
            }),
            Mode::Hang => Box::pin(std::future::pending()),
        }
    }
}

fn size(spec: &BreakerSpec) -> usize {
    match spec.window {
        BreakerWindow::Calls(calls) => calls as usize,
        BreakerWindow::Time(_) => unimplemented!("the test store keeps count windows"),
    }
}

impl BreakerStore for MemStore {
    fn report<'a>(
        &'a self,
        _key: &'a str,
        spec: BreakerSpec,
        generation: u64,
        outcomes: Outcomes,
    ) -> StoreFuture<'a, Result<BreakerView, StoreError>> {
        self.answer(move |model| {
            let applied = model.state == State::Closed
                && generation == model.generation
                && !outcomes.is_empty();
            if applied {
                let adds = [
                    (outcomes.successes, (false, false)),
                    (outcomes.slow_successes, (false, true)),
                    (outcomes.failures, (true, false)),
                    (outcomes.slow_failures, (true, true)),
                ];
                for (n, outcome) in adds {
                    for _ in 0..n {
                        model.window.push_back(outcome);
                        if model.window.len() > size(&spec) {
                            model.window.pop_front();
                        }
                    }
                }
                model.run = if outcomes.ended_run {
                    outcomes.failure_run
                } else {
                    model.run + outcomes.failure_run
                };
                let calls = model.window.len() as u64;
                let failures = model.window.iter().filter(|(f, _)| *f).count() as u64;
                let slow = model.window.iter().filter(|(_, s)| *s).count() as u64;
                let at_least = |ppm: u32| (u64::from(ppm) * calls).div_ceil(1_000_000);
                let trips = calls >= u64::from(spec.min_calls)
                    && (failures >= at_least(spec.failure_ratio_ppm)
                        || spec.slow_ratio_ppm.is_some_and(|ppm| slow >= at_least(ppm)));
                let run_trips =
                    spec.consecutive_failures != 0 && model.run >= spec.consecutive_failures;
                if trips || run_trips {
                    self.change(model, State::Open, spec.open_for);
                }
            }
            (
                Self::view(model),
                Asked::Report {
                    generation,
                    outcomes,
                    applied,
                },
            )
        })
    }

    fn acquire_probe<'a>(
        &'a self,
        _key: &'a str,
        spec: BreakerSpec,
    ) -> StoreFuture<'a, Result<ProbeGrant, StoreError>> {
        self.answer(move |model| {
            let now = Instant::now();
            if model.state == State::Open && now >= model.open_until {
                self.change(model, State::HalfOpen, Duration::ZERO);
            }
            let valid = model
                .leases
                .iter()
                .filter(|(_, expiry, ended)| !ended && now < *expiry)
                .count() as u32;
            if model.state == State::HalfOpen && valid + model.successes < spec.half_open_probes {
                model.next_lease += 1;
                let lease = model.next_lease;
                model.leases.push((lease, now + spec.probe_lease, false));
                let granted = (model.generation, lease);
                return (
                    ProbeGrant::Granted {
                        generation: granted.0,
                        lease: granted.1,
                    },
                    Asked::Acquire {
                        granted: Some(granted),
                    },
                );
            }
            (
                ProbeGrant::Refused(Self::view(model)),
                Asked::Acquire { granted: None },
            )
        })
    }

    fn complete_probe<'a>(
        &'a self,
        _key: &'a str,
        spec: BreakerSpec,
        generation: u64,
        lease: u64,
        outcome: ProbeOutcome,
    ) -> StoreFuture<'a, Result<BreakerView, StoreError>> {
        self.answer(move |model| {
            let now = Instant::now();
            let current = model.state == State::HalfOpen && model.generation == generation;
            let held = model
                .leases
                .iter_mut()
                .find(|(number, expiry, ended)| *number == lease && !ended && now < *expiry);
            let applied = current && held.is_some();
            if let (true, Some(held)) = (current, held) {
                held.2 = true;
                match outcome {
                    ProbeOutcome::Success => {
                        model.successes += 1;
                        if model.successes >= spec.half_open_probes {
                            self.change(model, State::Closed, Duration::ZERO);
                        }
                    }
                    ProbeOutcome::Failure => self.change(model, State::Open, spec.open_for),
                    ProbeOutcome::Released => {}
                }
            }
            (
                Self::view(model),
                Asked::Complete {
                    generation,
                    lease,
                    outcome,
                    applied,
                },
            )
        })
    }
}
