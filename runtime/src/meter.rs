//! Metrics through the `metrics` facade (cargo feature `metrics`); without the
//! feature every function here is empty and compiles away.
//!
//! The table of names and labels is in the `steadfast` crate's `operating`
//! guide; tests/metrics.rs pins it.

#[cfg(feature = "metrics")]
mod enabled {
    use core::time::Duration;

    fn yes_no(value: bool) -> &'static str {
        if value { "true" } else { "false" }
    }

    pub(crate) fn retry_call(policy: &'static str, retried: bool, result: &'static str) {
        metrics::counter!("steadfast_retry_calls_total", "policy" => policy, "retried" => yes_no(retried), "result" => result)
            .increment(1);
    }

    pub(crate) fn retry_retry(policy: &'static str) {
        metrics::counter!("steadfast_retry_retries_total", "policy" => policy).increment(1);
    }

    /// A retry refused by the retry budget `budget`.
    pub(crate) fn budget_spent(budget: &'static str) {
        metrics::counter!("steadfast_retry_budget_spent_total", "budget" => budget).increment(1);
    }

    pub(crate) fn timeout_call(policy: &'static str, timed_out: bool, waited: Option<Duration>) {
        metrics::counter!("steadfast_timeout_calls_total", "policy" => policy, "timed_out" => yes_no(timed_out))
            .increment(1);
        if let Some(waited) = waited {
            metrics::histogram!("steadfast_timeout_duration_seconds", "policy" => policy)
                .record(waited.as_secs_f64());
        }
    }

    pub(crate) fn breaker_call(policy: &'static str, result: &'static str) {
        metrics::counter!("steadfast_circuit_breaker_calls_total", "policy" => policy, "result" => result).increment(1);
    }

    /// `to` is the new state's name and `all` every state's (`State::as_str`):
    /// this module knows no policy's types.
    pub(crate) fn breaker_state(policy: &'static str, to: &'static str, all: [&'static str; 3]) {
        for state in all {
            let value = if state == to { 1.0 } else { 0.0 };
            metrics::gauge!("steadfast_circuit_breaker_state", "policy" => policy, "state" => state).set(value);
        }
        if to == "open" {
            metrics::counter!("steadfast_circuit_breaker_opened_total", "policy" => policy)
                .increment(1);
        }
    }

    pub(crate) fn bulkhead_call(policy: &'static str, accepted: bool) {
        let result = if accepted { "accepted" } else { "rejected" };
        metrics::counter!("steadfast_bulkhead_calls_total", "policy" => policy, "result" => result)
            .increment(1);
    }

    pub(crate) fn bulkhead_counts(policy: &'static str, running: u32, waiting: u32) {
        metrics::gauge!("steadfast_bulkhead_running", "policy" => policy).set(f64::from(running));
        metrics::gauge!("steadfast_bulkhead_waiting", "policy" => policy).set(f64::from(waiting));
    }

    /// `result`: `admitted` (at once), `waited` (a turn reserved) or `rejected`.
    pub(crate) fn rate_limit_call(policy: &'static str, result: &'static str) {
        metrics::counter!("steadfast_rate_limit_calls_total", "policy" => policy, "result" => result)
            .increment(1);
    }

    pub(crate) fn fallback_call(policy: &'static str, applied: bool) {
        metrics::counter!("steadfast_fallback_calls_total", "policy" => policy, "applied" => yes_no(applied)).increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
#[allow(clippy::missing_const_for_fn)]
mod enabled {
    use core::time::Duration;

    #[inline(always)]
    pub(crate) fn retry_call(_: &'static str, _: bool, _: &'static str) {}
    #[inline(always)]
    pub(crate) fn retry_retry(_: &'static str) {}
    #[inline(always)]
    pub(crate) fn budget_spent(_: &'static str) {}
    #[inline(always)]
    pub(crate) fn timeout_call(_: &'static str, _: bool, _: Option<Duration>) {}
    #[inline(always)]
    pub(crate) fn breaker_call(_: &'static str, _: &'static str) {}
    #[inline(always)]
    pub(crate) fn breaker_state(_: &'static str, _: &'static str, _: [&'static str; 3]) {}
    #[inline(always)]
    pub(crate) fn bulkhead_call(_: &'static str, _: bool) {}
    #[inline(always)]
    pub(crate) fn bulkhead_counts(_: &'static str, _: u32, _: u32) {}
    #[inline(always)]
    pub(crate) fn rate_limit_call(_: &'static str, _: &'static str) {}
    #[inline(always)]
    pub(crate) fn fallback_call(_: &'static str, _: bool) {}
}

pub(crate) use enabled::*;

/// Whether metrics are compiled in (durations are then measured).
pub(crate) const ENABLED: bool = cfg!(feature = "metrics");
