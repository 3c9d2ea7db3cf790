//! The effective settings of a breaker and a bulkhead, as
//! [`health()`](crate::health()) shows them and overrides change them.

use core::time::Duration;

/// A circuit breaker's effective configuration (its build settings, with
/// any [`apply`](crate::config::apply)ed overrides).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BreakerSettings {
    /// `failure_ratio`, as applied (to the nearest part per million).
    pub failure_ratio: f64,
    /// A count window's size (`window = N`); `None` for a time window.
    pub window_calls: Option<u32>,
    /// A time window's duration; `None` for a count window. In JSON:
    /// `window_ms`, whole milliseconds, or `null`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "window_ms", serialize_with = "crate::millis::optional")
    )]
    pub window_duration: Option<Duration>,
    /// `min_calls`.
    pub min_calls: u32,
    /// `consecutive_failures` (0: off).
    pub consecutive_failures: u32,
    /// `slow_call`, if any. In JSON: `slow_call_ms`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "slow_call_ms", serialize_with = "crate::millis::optional")
    )]
    pub slow_call: Option<Duration>,
    /// `slow_ratio` (1 unless set; used only with `slow_call`).
    pub slow_ratio: f64,
    /// `open_for`. In JSON: `open_for_ms`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "open_for_ms", serialize_with = "crate::millis::whole")
    )]
    pub open_for: Duration,
    /// `half_open_probes`.
    pub half_open_probes: u32,
}
