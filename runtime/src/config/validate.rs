//! The rules an override's value must meet: the attributes' compile-time
//! checks (`macros/src/args/*.rs`) and the const builders' asserts, with
//! the attributes' messages.

use core::time::Duration;

use super::duration;
use super::settings::BreakerSettings;
use crate::circuit_breaker::CircuitBreaker;

/// A ratio in (0, 1] (`failure_ratio`, `slow_ratio`).
pub(crate) fn ratio(text: &str, key: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 1.0 => Ok(r),
        Ok(_) => Err(format!(
            "`{key}` must be in (0, 1]: above 0 (0 would open on no failure) and at most 1"
        )),
        Err(_) => Err(format!(
            "`{key}` expects a number between 0 and 1, such as `{key} = 0.5`"
        )),
    }
}

/// A count that fits in 32 bits (0 allowed).
pub(crate) fn count(text: &str, key: &str) -> Result<u32, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{key}` expects a positive integer literal, such as `{key} = 3`"
        ));
    }
    text.parse::<u32>()
        .map_err(|_| format!("`{key} = {text}` is too large; it must fit in 32 bits"))
}

/// A count of at least 1.
pub(crate) fn positive(text: &str, key: &str) -> Result<u32, String> {
    match count(text, key)? {
        0 => Err(format!("`{key}` must be at least 1")),
        n => Ok(n),
    }
}

/// A duration; `positive` refuses zero with `what`'s message.
pub(crate) fn duration(text: &str, positive: Option<&str>) -> Result<Duration, String> {
    let value = duration::parse(text.trim())?;
    match positive {
        Some(what) if value.is_zero() => Err(format!("{what} must be greater than zero")),
        _ => Ok(value),
    }
}

/// Sets one breaker key in `settings`.
pub(crate) fn breaker_key(
    settings: &mut BreakerSettings,
    key: &str,
    text: &str,
) -> Result<(), String> {
    match key {
        "failure_ratio" => settings.failure_ratio = ratio(text, key)?,
        "min_calls" => settings.min_calls = positive(text, key)?,
        "consecutive_failures" => settings.consecutive_failures = positive(text, key)?,
        "slow_call" => settings.slow_call = Some(duration(text, Some("`slow_call`"))?),
        "slow_ratio" => settings.slow_ratio = ratio(text, key)?,
        "open_for" => settings.open_for = duration(text, None)?,
        "half_open_probes" => {
            let probes = positive(text, key)?;
            if probes > CircuitBreaker::MAX_HALF_OPEN_PROBES {
                return Err("`half_open_probes` must be between 1 and 65535".into());
            }
            settings.half_open_probes = probes;
        }
        _ => unreachable!("`{key}` is checked against the breaker's keys first"),
    }
    Ok(())
}

/// The checks of keys together, on the settings with every override in:
/// `(key, message)` of the first that fails.
pub(crate) fn breaker_together(
    settings: &BreakerSettings,
    slow_ratio_given: bool,
) -> Result<(), (&'static str, String)> {
    if slow_ratio_given && settings.slow_call.is_none() {
        return Err((
            "slow_ratio",
            "`slow_ratio` needs `slow_call`, the duration above which a call counts as slow".into(),
        ));
    }
    if let Some(size) = settings.window_calls
        && settings.min_calls > size
    {
        let min_calls = settings.min_calls;
        return Err((
            "min_calls",
            format!(
                "`min_calls = {min_calls}` can never be reached in a window of the last {size} calls; \
                 lower it or enlarge the window"
            ),
        ));
    }
    Ok(())
}

/// `max_concurrent`.
pub(crate) fn max_concurrent(text: &str) -> Result<u32, String> {
    match count(text, "max_concurrent")? {
        0 => Err(
            "`max_concurrent` must be at least 1: a bulkhead of 0 would reject every call".into(),
        ),
        n => Ok(n),
    }
}

/// `max_queue`.
pub(crate) fn max_queue(text: &str) -> Result<u32, String> {
    let n = count(text, "max_queue")?;
    if n > crate::Bulkhead::MAX_QUEUE {
        return Err("`max_queue` must be at most 1000000".into());
    }
    Ok(n)
}

/// The message for a `max_wait` with `max_queue = 0`.
pub(crate) const MAX_WAIT_WITHOUT_QUEUE: &str =
    "`max_wait` has no effect with `max_queue = 0` (no call ever waits); remove one of them";

/// A rate limiter's `rate` or `burst`: at least 1.
pub(crate) fn at_least_one(text: &str, key: &str) -> Result<u32, String> {
    match count(text, key)? {
        0 if key == "rate" => {
            Err("`rate` must be at least 1: a rate of 0 would admit no call".into())
        }
        0 => Err(format!(
            "`{key}` must be at least 1: a burst of 0 would admit no call"
        )),
        n => Ok(n),
    }
}

/// The message for rate-limiter settings whose horizon is too long to count
/// exactly (the builder's).
pub(crate) const RATE_HORIZON: &str = "`burst × per / rate + max_wait` is too long to count \
     exactly (at most 2^62 / (rate / gcd(rate, per in ns)) nanoseconds: 146 years when `rate` \
     divides `per` in nanoseconds)";
