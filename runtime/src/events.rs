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

/// A retry refused by a spent retry budget: the call ends with its last
/// error.
#[cold]
pub(crate) fn budget_spent(policy: &str, budget: &str, attempts: u32, error: &ErrorField<'_>) {
    tracing::debug!(
        target: "steadfast::retry",
        policy,
        attempts,
        reason = "budget_spent",
        budget,
        error = %error,
        "not retrying"
    );
}

/// A retry delay cut short by shutdown: the call ends with its last error.
#[cold]
pub(crate) fn retry_stopped(policy: &str, attempts: u32) {
    tracing::debug!(
        target: "steadfast::retry",
        policy,
        attempts,
        reason = "shutting_down",
        "retry delay ended by shutdown"
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
        Rejected::ShuttingDown { name } => tracing::debug!(
            target: "steadfast::shutdown",
            policy = *name,
            rejection = "shutting_down",
            "call rejected"
        ),
        Rejected::NotLeader { name, leader } => tracing::debug!(
            target: "steadfast::leader",
            policy = *name,
            rejection = "not_leader",
            leader = leader.as_deref(),
            "call rejected"
        ),
        Rejected::LeadershipLost { name } => tracing::debug!(
            target: "steadfast::leader",
            policy = *name,
            rejection = "leadership_lost",
            "call rejected"
        ),
        Rejected::Timeout { .. } => {}
    }
}

/// Which kind of shared policy a store event is about (its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreUser {
    RateLimiter,
    CircuitBreaker,
}

/// A shared policy's store failed, timed out or answered garbage; `then` is
/// what the policy does instead. A rate limiter reports every failed call;
/// a circuit breaker's syncer reports the first failure of an outage (it
/// retries every `sync_interval`: `store_failures` counts them all), and
/// [`store_recovered`] its end.
#[cold]
pub(crate) fn store_failed(
    user: StoreUser,
    policy: &str,
    error: &crate::store::StoreError,
    then: crate::store::OnStoreError,
) {
    let then = match then {
        crate::store::OnStoreError::Local => "local",
        crate::store::OnStoreError::Open => "open",
        crate::store::OnStoreError::Closed => "closed",
    };
    match user {
        StoreUser::RateLimiter => {
            tracing::warn!(target: "steadfast::rate_limit", policy, error = %error, then, "store failed");
        }
        StoreUser::CircuitBreaker => {
            tracing::warn!(target: "steadfast::circuit_breaker", policy, error = %error, then, "store failed");
        }
    }
}

/// A shared policy's store answers again after failing: the policy follows
/// the shared state again.
#[cold]
pub(crate) fn store_recovered(user: StoreUser, policy: &str) {
    match user {
        StoreUser::RateLimiter => {
            tracing::info!(target: "steadfast::rate_limit", policy, "store recovered");
        }
        StoreUser::CircuitBreaker => {
            tracing::info!(target: "steadfast::circuit_breaker", policy, "store recovered");
        }
    }
}

/// A shared circuit breaker that is not a registered `'static` cannot run
/// its syncer: it decides locally.
#[cold]
pub(crate) fn breaker_store_unused(policy: &str) {
    tracing::warn!(
        target: "steadfast::circuit_breaker",
        policy,
        "shared circuit breaker not registered: deciding locally (register it before its first call)"
    );
}

/// A shared circuit breaker rejected a call because its store fails and
/// `on_store_error` is `Closed`.
pub(crate) fn breaker_rejected_store_unavailable(policy: &str) {
    tracing::debug!(
        target: "steadfast::circuit_breaker",
        policy,
        rejection = "store_unavailable",
        "call rejected"
    );
}

pub(crate) fn fallback_applied(policy: &str, error: &ErrorField<'_>) {
    tracing::debug!(target: "steadfast::fallback", policy, error = %error, "fallback applied");
}

/// A health check's probe (or reported result) failed.
pub(crate) fn check_failed(policy: &str, error: &str) {
    tracing::debug!(target: "steadfast::health", policy, error, "health check failed");
}

/// A health check went down (`failures` consecutive failures).
#[cold]
pub(crate) fn check_down(policy: &str, failures: u32, error: Option<&String>) {
    tracing::warn!(
        target: "steadfast::health",
        policy,
        failures,
        error = error.map_or("", String::as_str),
        "health check down"
    );
}

/// A down health check is up again.
#[cold]
pub(crate) fn check_up(policy: &str) {
    tracing::info!(target: "steadfast::health", policy, "health check up");
}

/// A health check went down, but no registered breaker has the name it acts
/// on.
#[cold]
pub(crate) fn check_breaker_missing(policy: &str, breaker: &str) {
    tracing::warn!(
        target: "steadfast::health",
        policy,
        breaker,
        "health check cannot hold its breaker open: no registered breaker has that name"
    );
}

/// A health check started under a name another started check carries.
#[cold]
pub(crate) fn check_duplicate(policy: &str) {
    tracing::warn!(target: "steadfast::health", policy, "two health checks share a name");
}
