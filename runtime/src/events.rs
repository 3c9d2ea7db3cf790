//! The `tracing` events the policies emit. Targets and field names are part of
//! the public contract (the catalogue is in the crate docs); `tracing`'s
//! callsite check makes each one a single relaxed load when nobody listens.
//!
//! | target | level | message | fields |
//! |---|---|---|---|
//! | `steadfast::retry` | DEBUG | `retrying after a failed attempt` | `policy`, `attempt` (the one that failed, from 1), `delay` (before the next), `error` |
//! | `steadfast::retry` | DEBUG | `not retrying` | `policy`, `attempts`, `reason` (`not_retryable`, `attempts_exhausted`, `budget_exhausted`), `error` |
//! | `steadfast::timeout` | DEBUG | `call timed out` | `policy`, `after` |
//! | `steadfast::circuit_breaker` | WARN | `circuit breaker opened` | `policy`, `from`, `to` |
//! | `steadfast::circuit_breaker` | INFO | `circuit breaker half-open` / `circuit breaker closed` | `policy`, `from`, `to` |
//! | `steadfast::circuit_breaker` | DEBUG | `call rejected` | `policy`, `rejection` = `circuit_open` |
//! | `steadfast::bulkhead` | DEBUG | `call rejected` | `policy`, `rejection` = `bulkhead_full` |
//! | `steadfast::fallback` | DEBUG | `fallback applied` | `policy`, `error` |
//!
//! `policy` is the policy's name (`module::fn` for the attributes). `error` is
//! the error's `Display` when its type implements it (in a generic function,
//! when the `Display` bound is visible there), else its type name.

use core::fmt;
use core::time::Duration;

use crate::Rejected;
use crate::circuit_breaker::State;

/// How an error appears in events.
pub(crate) struct ErrorField<'a>(
    pub(crate) Option<&'a dyn fmt::Display>,
    pub(crate) &'static str,
);

impl fmt::Display for ErrorField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(display) => display.fmt(f),
            None => write!(f, "an error of type `{}`", self.1),
        }
    }
}

pub(crate) fn retrying(policy: &str, attempt: u32, delay: Duration, error: &ErrorField<'_>) {
    tracing::debug!(
        target: "steadfast::retry",
        policy,
        attempt,
        delay = ?delay,
        error = %error,
        "retrying after a failed attempt"
    );
}

pub(crate) fn not_retrying(
    policy: &str,
    attempts: u32,
    reason: &'static str,
    error: &ErrorField<'_>,
) {
    tracing::debug!(
        target: "steadfast::retry",
        policy,
        attempts,
        reason,
        error = %error,
        "not retrying"
    );
}

pub(crate) fn timed_out(policy: &str, after: Duration) {
    tracing::debug!(target: "steadfast::timeout", policy, after = ?after, "call timed out");
}

pub(crate) fn breaker_transition(policy: &str, from: State, to: State) {
    let (from, to) = (from.as_str(), to.as_str());
    match to {
        "open" => {
            tracing::warn!(target: "steadfast::circuit_breaker", policy, from, to, "circuit breaker opened")
        }
        "half_open" => {
            tracing::info!(target: "steadfast::circuit_breaker", policy, from, to, "circuit breaker half-open");
        }
        _ => {
            tracing::info!(target: "steadfast::circuit_breaker", policy, from, to, "circuit breaker closed")
        }
    }
}

pub(crate) fn rejected(rejected: &Rejected) {
    match rejected {
        Rejected::CircuitOpen { name } => tracing::debug!(
            target: "steadfast::circuit_breaker",
            policy = *name,
            rejection = "circuit_open",
            "call rejected"
        ),
        Rejected::BulkheadFull { name } => tracing::debug!(
            target: "steadfast::bulkhead",
            policy = *name,
            rejection = "bulkhead_full",
            "call rejected"
        ),
        Rejected::Timeout { .. } => {}
    }
}

pub(crate) fn fallback_applied(policy: &str, error: &ErrorField<'_>) {
    tracing::debug!(target: "steadfast::fallback", policy, error = %error, "fallback applied");
}
