//! Which breakers and bulkheads the process has used, and how they are doing.
//!
//! Every `#[circuit_breaker]` and `#[bulkhead]` registers its state on first
//! use (a `static` has to call [`CircuitBreaker::register`] or
//! [`Bulkhead::register`] itself, or go through an attribute). Registration
//! takes a lock once; afterwards a call pays one relaxed load. [`health`]
//! reads every registered state without stopping calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::circuit_breaker::State;
use crate::{Bulkhead, CircuitBreaker};

/// Whether a breaker or bulkhead is in the registry: set once, then read with
/// one relaxed load per call.
#[derive(Debug)]
pub(crate) struct Registration(AtomicBool);

impl Registration {
    pub(crate) const fn new() -> Self {
        Registration(AtomicBool::new(false))
    }

    /// Runs `register` the first time only.
    #[inline]
    pub(crate) fn ensure(&self, register: impl FnOnce()) {
        if !self.0.load(Ordering::Relaxed) {
            self.first(register);
        }
    }

    #[cold]
    fn first(&self, register: impl FnOnce()) {
        if !self.0.swap(true, Ordering::Relaxed) {
            register();
        }
    }
}

static BREAKERS: Mutex<Vec<&'static CircuitBreaker>> = Mutex::new(Vec::new());
static BULKHEADS: Mutex<Vec<&'static Bulkhead>> = Mutex::new(Vec::new());

pub(crate) fn register_breaker(breaker: &'static CircuitBreaker) {
    BREAKERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(breaker);
}

pub(crate) fn register_bulkhead(bulkhead: &'static Bulkhead) {
    BULKHEADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(bulkhead);
}

/// A snapshot of every registered breaker and bulkhead, in registration order.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Health {
    /// The circuit breakers.
    pub breakers: Vec<BreakerHealth>,
    /// The bulkheads.
    pub bulkheads: Vec<BulkheadHealth>,
}

/// One circuit breaker in a [`Health`] snapshot.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BreakerHealth {
    /// Its name (`module::fn` unless `name = "…"`).
    pub name: &'static str,
    /// Its state.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serialize_state"))]
    pub state: State,
    /// A state an operator forced, if any.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serialize_forced"))]
    pub forced: Option<State>,
    /// Calls recorded in the window.
    pub window_calls: u64,
    /// Failures among them.
    pub window_failures: u64,
    /// Slow calls among them.
    pub window_slow: u64,
    /// Half-open probes running.
    pub probes_in_flight: u32,
    /// How long it has been in its state (`None` if it never changed state).
    pub in_state_for: Option<Duration>,
    /// State changes so far (see [`CircuitBreaker::transitions`]).
    pub transitions: u32,
}

/// One bulkhead in a [`Health`] snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BulkheadHealth {
    /// Its name (`module::fn` unless `name = "…"`).
    pub name: &'static str,
    /// Calls running.
    pub running: u32,
    /// Calls waiting for a slot.
    pub waiting: u32,
    /// Its `max_concurrent`.
    pub max_concurrent: u32,
    /// Its `max_queue`.
    pub max_queue: u32,
}

#[cfg(feature = "serde")]
fn serialize_state<S: serde::Serializer>(state: &State, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state.as_str())
}

#[cfg(feature = "serde")]
fn serialize_forced<S: serde::Serializer>(
    forced: &Option<State>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match forced {
        Some(state) => serializer.serialize_some(state.as_str()),
        None => serializer.serialize_none(),
    }
}

/// The state of every circuit breaker and bulkhead the process has used.
///
/// ```
/// use steadfast::{health, circuit_breaker};
///
/// #[circuit_breaker(name = "inventory")]
/// async fn stock(sku: u32) -> std::io::Result<u32> {
///     Ok(sku)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// stock(7).await.unwrap();
/// let snapshot = health();
/// let inventory = snapshot.breakers.iter().find(|b| b.name == "inventory").unwrap();
/// assert_eq!(inventory.state.as_str(), "closed");
/// # }
/// ```
#[must_use]
pub fn health() -> Health {
    let breakers = BREAKERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|b| {
            let counts = b.window_counts();
            BreakerHealth {
                name: b.name(),
                state: b.state(),
                forced: b.forced(),
                window_calls: counts.calls,
                window_failures: counts.failures,
                window_slow: counts.slow,
                probes_in_flight: b.probes_in_flight(),
                in_state_for: b.in_state_for(),
                transitions: b.transitions(),
            }
        })
        .collect();
    let bulkheads = BULKHEADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|b| BulkheadHealth {
            name: b.name(),
            running: b.running(),
            waiting: b.waiting(),
            max_concurrent: b.max_concurrent(),
            max_queue: b.max_queue(),
        })
        .collect();
    Health {
        breakers,
        bulkheads,
    }
}

/// The registered circuit breaker called `name`, to force it open or closed,
/// or reset it.
#[must_use]
pub fn breaker(name: &str) -> Option<&'static CircuitBreaker> {
    BREAKERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .copied()
        .find(|b| b.name() == name)
}

/// The registered bulkhead called `name`.
#[must_use]
pub fn bulkhead(name: &str) -> Option<&'static Bulkhead> {
    BULKHEADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .copied()
        .find(|b| b.name() == name)
}
