//! Watching the policies while the soak runs: a `tracing` subscriber that
//! counts every breaker transition, and a watcher thread that samples
//! `steadfast::health()` and checks its invariants on every sample.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use steadfast::circuit_breaker::State;
use steadfast::health::Health;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::client::{BREAKERS, BULKHEADS};

/// Transitions into each state, per breaker of [`BREAKERS`]: `[open,
/// half_open, closed]`.
static TRANSITIONS: [[AtomicU64; 3]; BREAKERS.len()] =
    [const { [const { AtomicU64::new(0) }; 3] }; BREAKERS.len()];

/// Counts of transitions into one state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Moves {
    pub(crate) opened: u64,
    pub(crate) half_opened: u64,
    pub(crate) closed: u64,
}

impl Moves {
    pub(crate) fn total(&self) -> u64 {
        self.opened + self.half_opened + self.closed
    }
}

/// The transitions seen so far by breaker (in [`BREAKERS`] order).
pub(crate) fn moves() -> [Moves; BREAKERS.len()] {
    std::array::from_fn(|i| {
        let [o, h, c] = &TRANSITIONS[i];
        Moves {
            opened: o.load(Ordering::SeqCst),
            half_opened: h.load(Ordering::SeqCst),
            closed: c.load(Ordering::SeqCst),
        }
    })
}

/// Counts `steadfast::circuit_breaker` transition events (INFO and WARN; the
/// DEBUG rejection events are not even built).
struct Recorder;

#[derive(Default)]
struct Fields {
    policy: Option<String>,
    to: Option<String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "policy" => self.policy = Some(value.to_owned()),
            "to" => self.to = Some(value.to_owned()),
            _ => {}
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "steadfast::circuit_breaker" && *metadata.level() <= Level::INFO
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let (Some(policy), Some(to)) = (fields.policy, fields.to) else {
            return;
        };
        let Some(breaker) = BREAKERS.iter().position(|b| b.name == policy) else {
            return;
        };
        let state = match to.as_str() {
            "open" => 0,
            "half_open" => 1,
            _ => 2,
        };
        TRANSITIONS[breaker][state].fetch_add(1, Ordering::SeqCst);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the transition counter as the process's subscriber (once).
pub(crate) fn install_recorder() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(Recorder)
            .expect("no other global subscriber in this test binary");
    });
}

/// What the watcher saw, and what it found wrong.
#[derive(Debug, Default)]
pub(crate) struct Watcher {
    pub(crate) stop: AtomicBool,
    pub(crate) samples: AtomicU64,
    pub(crate) checks: AtomicU64,
    /// Per bulkhead of [`BULKHEADS`]: the most running and waiting seen.
    pub(crate) peaks: Mutex<[(u32, u32); BULKHEADS.len()]>,
    /// Per breaker of [`BREAKERS`]: the most probes in flight seen, and
    /// whether it was seen open (or half-open) and closed.
    pub(crate) breakers: Mutex<[BreakerSeen; BREAKERS.len()]>,
    pub(crate) violations: Mutex<Vec<String>>,
}

/// One breaker, as the watcher saw it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BreakerSeen {
    pub(crate) max_probes: u32,
    pub(crate) samples_open: u64,
    pub(crate) samples_half_open: u64,
    pub(crate) samples_closed: u64,
    pub(crate) last_transitions: u32,
}

impl Watcher {
    /// Samples `health()` every 500 µs until told to stop.
    pub(crate) fn run(&self) {
        while !self.stop.load(Ordering::SeqCst) {
            self.check(&steadfast::health());
            thread::sleep(Duration::from_micros(500));
        }
    }

    fn violation(&self, message: String) {
        let mut violations = self.violations.lock().unwrap();
        if violations.len() < 50 {
            violations.push(message);
        }
    }

    /// Checks one snapshot: every bulkhead within its limits, every breaker
    /// within its probe limit, and transitions that only grow.
    pub(crate) fn check(&self, health: &Health) {
        self.samples.fetch_add(1, Ordering::Relaxed);
        let mut checks = 0;
        {
            let mut peaks = self.peaks.lock().unwrap();
            for b in &health.bulkheads {
                let Some(i) = BULKHEADS.iter().position(|s| s.name == b.name) else {
                    continue;
                };
                let spec = BULKHEADS[i];
                checks += 4;
                if b.max_concurrent != spec.max_concurrent || b.max_queue != spec.max_queue {
                    self.violation(format!("bulkhead {} reports other limits: {b:?}", b.name));
                }
                if b.running > b.max_concurrent {
                    self.violation(format!("bulkhead {} runs too many: {b:?}", b.name));
                }
                if b.waiting > b.max_queue {
                    self.violation(format!("bulkhead {} queues too many: {b:?}", b.name));
                }
                let (running, waiting) = &mut peaks[i];
                *running = (*running).max(b.running);
                *waiting = (*waiting).max(b.waiting);
                // Bodies inside the bulkhead can never outnumber its limit.
                let live = spec.live.now();
                if live > spec.max_concurrent {
                    self.violation(format!(
                        "{live} bodies inside bulkhead {} (limit {})",
                        b.name, spec.max_concurrent
                    ));
                }
            }
        }
        let mut seen = self.breakers.lock().unwrap();
        for b in &health.breakers {
            let Some(i) = BREAKERS.iter().position(|s| s.name == b.name) else {
                continue;
            };
            let spec = BREAKERS[i];
            let seen = &mut seen[i];
            checks += 3;
            if b.probes_in_flight > spec.half_open_probes {
                self.violation(format!(
                    "breaker {} has {} probes in flight (limit {})",
                    b.name, b.probes_in_flight, spec.half_open_probes
                ));
            }
            if b.probes_in_flight > 0 && b.state != State::HalfOpen {
                self.violation(format!("breaker {} has probes while {}", b.name, b.state));
            }
            if b.transitions < seen.last_transitions {
                self.violation(format!(
                    "breaker {} transitions went back from {} to {}",
                    b.name, seen.last_transitions, b.transitions
                ));
            }
            seen.last_transitions = b.transitions;
            seen.max_probes = seen.max_probes.max(b.probes_in_flight);
            match b.state {
                State::Open => seen.samples_open += 1,
                State::HalfOpen => seen.samples_half_open += 1,
                _ => seen.samples_closed += 1,
            }
        }
        self.checks.fetch_add(checks, Ordering::Relaxed);
    }
}
