//! The run-time side of chaos (feature `chaos`): each name's settings and
//! random stream, and the controls that change them.
//!
//! The registry is one mutex over a map from name to [`Knobs`] (leaked, one
//! per name: a bounded set, the names of the program's `#[chaos]`
//! functions), the control calls made for names not seen yet, and the seed.
//! A policy finds its name's knobs once (its `OnceLock`), under the mutex;
//! afterwards a call reads them without it.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use rand::RngExt;

use super::knobs::{Knobs, Settings, stream};
use super::policy::{Chaos, is_rate};

/// [`set`] was given a rate outside `[0, 1]` (or `NaN`); nothing changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvalidSettings {
    /// The offending settings.
    pub settings: Settings,
}

impl core::fmt::Display for InvalidSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "chaos rates must be in [0, 1]: error_rate = {}, latency_rate = {}",
            self.settings.error_rate, self.settings.latency_rate
        )
    }
}

impl std::error::Error for InvalidSettings {}

/// A control call made before any policy of its name ran.
#[derive(Debug, Clone, Copy)]
enum Change {
    Set(Settings),
    Enabled(bool),
}

#[derive(Debug)]
struct Registry {
    knobs: BTreeMap<&'static str, &'static Knobs>,
    pending: BTreeMap<String, Vec<Change>>,
    seed: Option<u64>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    knobs: BTreeMap::new(),
    pending: BTreeMap::new(),
    seed: None,
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    fn seed(&mut self) -> u64 {
        *self.seed.get_or_insert_with(rand::random)
    }

    /// Applies `change` to `name`'s knobs, or keeps it for when they exist.
    fn apply(&mut self, name: &str, change: Change) {
        match self.knobs.get(name) {
            Some(knobs) => apply(knobs, change),
            None => self
                .pending
                .entry(name.to_owned())
                .or_default()
                .push(change),
        }
    }
}

fn apply(knobs: &Knobs, change: Change) {
    match change {
        Change::Set(settings) => knobs.store(settings),
        Change::Enabled(enabled) => knobs.enabled.store(enabled, Ordering::Relaxed),
    }
}

/// What one call suffers.
pub(super) struct Faults {
    pub(super) error: bool,
    pub(super) latency: Option<Duration>,
}

impl Chaos {
    /// This policy's name's knobs: found (or made, from the attribute's
    /// values and any control call made before) on the first call.
    fn knobs(&'static self) -> &'static Knobs {
        self.knobs.get_or_init(|| {
            let name = self.config.name.get();
            let config = &self.config;
            let origin = Settings {
                enabled: config.enabled,
                error_rate: config.error_rate,
                latency: config.latency,
                latency_rate: config.latency_rate,
            };
            let mut registry = registry();
            if let Some(knobs) = registry.knobs.get(name) {
                if knobs.origin != origin {
                    tracing::warn!(
                        target: "steadfast::chaos",
                        policy = name,
                        "two chaos policies share a name with different settings: the first to run set them"
                    );
                }
                return knobs;
            }
            let seed = registry.seed();
            let knobs: &'static Knobs = Box::leak(Box::new(Knobs {
                name,
                origin,
                enabled: AtomicBool::new(config.enabled),
                error_rate: AtomicU64::new(config.error_rate.to_bits()),
                latency_nanos: AtomicU64::new(0),
                latency_rate: AtomicU64::new(config.latency_rate.to_bits()),
                rng: Mutex::new(stream(seed, name)),
                errors: AtomicU64::new(0),
                latencies: AtomicU64::new(0),
            }));
            knobs.store(origin);
            for change in registry.pending.remove(name).unwrap_or_default() {
                apply(knobs, change);
            }
            registry.knobs.insert(name, knobs);
            knobs
        })
    }

    /// Draws this call's faults (two draws when enabled, none otherwise).
    pub(super) fn draw(&'static self, can_fail: bool) -> Faults {
        let knobs = self.knobs();
        if !knobs.enabled.load(Ordering::Relaxed) {
            return Faults {
                error: false,
                latency: None,
            };
        }
        let (error_roll, latency_roll): (f64, f64) = {
            let mut rng = knobs.rng.lock().unwrap_or_else(PoisonError::into_inner);
            (rng.random(), rng.random())
        };
        let settings = knobs.load();
        let error = can_fail && error_roll < settings.error_rate;
        let latency = (latency_roll < settings.latency_rate && !settings.latency.is_zero())
            .then_some(settings.latency);
        if let Some(latency) = latency {
            knobs.latencies.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "steadfast::chaos", policy = knobs.name, fault = "latency", ?latency, "fault injected");
        }
        if error {
            knobs.errors.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "steadfast::chaos", policy = knobs.name, fault = "error", "fault injected");
        }
        Faults { error, latency }
    }
}

/// Replaces the settings of every `#[chaos]` policy named `name`, now or, if
/// none has run yet, when the first one does.
///
/// # Errors
///
/// [`InvalidSettings`] if a rate is outside `[0, 1]`; nothing changes then.
pub fn set(name: &str, settings: Settings) -> Result<(), InvalidSettings> {
    if !is_rate(settings.error_rate) || !is_rate(settings.latency_rate) {
        return Err(InvalidSettings { settings });
    }
    registry().apply(name, Change::Set(settings));
    Ok(())
}

/// Switches the policies named `name` on (their rates unchanged).
pub fn enable(name: &str) {
    registry().apply(name, Change::Enabled(true));
}

/// Switches the policies named `name` off: their calls run untouched.
pub fn disable(name: &str) {
    registry().apply(name, Change::Enabled(false));
}

/// The current settings of the policies named `name`, once one of them has
/// run (`None` before).
#[must_use]
pub fn settings(name: &str) -> Option<Settings> {
    registry().knobs.get(name).map(|knobs| knobs.load())
}

/// How many faults the policies of one name injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Injected {
    /// Calls that failed with the injected error.
    pub errors: u64,
    /// Calls that waited the injected latency.
    pub latencies: u64,
}

/// The faults injected so far by the policies named `name` (`None` before
/// one of them ran): for a game day's report, or a test's expectations.
#[must_use]
pub fn injected(name: &str) -> Option<Injected> {
    registry().knobs.get(name).map(|knobs| Injected {
        errors: knobs.errors.load(Ordering::Relaxed),
        latencies: knobs.latencies.load(Ordering::Relaxed),
    })
}

/// Seeds every name's random stream: each restarts from a stream made of
/// `seed` and its name, and names seen later start from theirs. Without a
/// call to `seed`, a random seed is chosen once per process
/// ([`seed_in_use`] tells which, to replay a run).
pub fn seed(seed: u64) {
    let mut registry = registry();
    registry.seed = Some(seed);
    for knobs in registry.knobs.values() {
        knobs.reseed(seed);
    }
}

/// The seed of the random streams: the last [`seed`], or the one chosen at
/// random for this process.
#[must_use]
pub fn seed_in_use() -> u64 {
    registry().seed()
}

/// One `#[chaos]` name in a [`Health`](crate::health::Health) snapshot
/// (feature `chaos`): its live settings and the faults it injected, so that
/// an operator sees whether a game day is under way.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ChaosHealth {
    /// The name.
    pub name: &'static str,
    /// Whether it injects faults now.
    pub enabled: bool,
    /// The share of calls failed with the injected error.
    pub error_rate: f64,
    /// The latency injected. In JSON: `latency_ms`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "latency_ms", serialize_with = "crate::millis::whole")
    )]
    pub latency: Duration,
    /// The share of calls delayed by `latency`.
    pub latency_rate: f64,
    /// Faults injected so far.
    pub injected: Injected,
}

/// Every name a `#[chaos]` policy has run under, by name.
pub(crate) fn report_snapshot() -> Vec<ChaosHealth> {
    registry()
        .knobs
        .values()
        .map(|knobs| {
            let settings = knobs.load();
            ChaosHealth {
                name: knobs.name,
                enabled: settings.enabled,
                error_rate: settings.error_rate,
                latency: settings.latency,
                latency_rate: settings.latency_rate,
                injected: Injected {
                    errors: knobs.errors.load(Ordering::Relaxed),
                    latencies: knobs.latencies.load(Ordering::Relaxed),
                },
            }
        })
        .collect()
}
