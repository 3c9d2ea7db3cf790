//! The `tracing` events the policies emit. Targets and field names are part of
//! the public contract (the catalogue is in the crate docs); `tracing`'s
//! callsite check makes each one a single relaxed load when nobody listens.
//!
//! The catalogue of targets, messages and fields is in the `steadfast` crate's
//! `operating` guide; tests/observability.rs pins it.

use core::fmt;
use core::time::Duration;

use crate::Rejected;

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

/// `from` and `to` are the states' names (`State::as_str`): this module
/// knows no policy's types, so that every policy can report through it.
pub(crate) fn breaker_transition(policy: &str, from: &'static str, to: &'static str) {
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
        Rejected::RateLimited { name, retry_after } => tracing::debug!(
            target: "steadfast::rate_limit",
            policy = *name,
            rejection = "rate_limited",
            retry_after = ?retry_after,
            "call rejected"
        ),
        Rejected::StoreUnavailable { name } => tracing::debug!(
            target: "steadfast::rate_limit",
            policy = *name,
            rejection = "store_unavailable",
            "call rejected"
        ),
        Rejected::Timeout { .. } => {}
    }
}

/// A shared policy's store failed, timed out or answered garbage; `then` is
/// what the call does instead.
#[cold]
pub(crate) fn store_failed(
    policy: &str,
    error: &crate::store::StoreError,
    then: crate::store::OnStoreError,
) {
    let then = match then {
        crate::store::OnStoreError::Local => "local",
        crate::store::OnStoreError::Open => "open",
        crate::store::OnStoreError::Closed => "closed",
    };
    tracing::warn!(target: "steadfast::rate_limit", policy, error = %error, then, "store failed");
}

pub(crate) fn store_recovered(policy: &str) {
    tracing::info!(target: "steadfast::rate_limit", policy, "store recovered");
}

pub(crate) fn fallback_applied(policy: &str, error: &ErrorField<'_>) {
    tracing::debug!(target: "steadfast::fallback", policy, error = %error, "fallback applied");
}
