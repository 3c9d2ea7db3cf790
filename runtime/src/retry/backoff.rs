//! [`Backoff`]: how long to wait before each retry.

use core::time::Duration;

/// The delay schedule between attempts, before [jitter](super::Jitter).
///
/// Delays are indexed by retry: the first retry (the second attempt) waits
/// `delay(0)`. Every schedule saturates: however large the index, the delay is
/// at most `max`, and computing it never overflows or panics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backoff {
    /// Retry at once.
    None,
    /// The same delay before every retry.
    Fixed(Duration),
    /// `initial · factor^n` before retry `n` (from 0), at most `max`.
    Exponential {
        /// The first delay.
        initial: Duration,
        /// Growth per retry (≥ 1).
        factor: f64,
        /// The cap.
        max: Duration,
    },
    /// `initial · fib(n + 1)` before retry `n`: `initial, initial, 2·initial,
    /// 3·initial, 5·initial, …`, at most `max`.
    Fibonacci {
        /// The first delay.
        initial: Duration,
        /// The cap.
        max: Duration,
    },
}

impl Backoff {
    /// The growth factor of `exponential(…)` written without `factor`.
    pub const DEFAULT_FACTOR: f64 = 2.0;

    /// The cap of `exponential(…)` and `fibonacci(…)` written without `max`.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(10);

    /// The default schedule: `exponential(100ms, factor = 2.0, max = 10s)`.
    pub const DEFAULT: Backoff = Backoff::exponential(
        Duration::from_millis(100),
        Backoff::DEFAULT_FACTOR,
        Backoff::DEFAULT_MAX,
    );

    /// No delay between attempts.
    #[must_use]
    pub const fn none() -> Self {
        Backoff::None
    }

    /// The same `delay` before every retry.
    #[must_use]
    pub const fn fixed(delay: Duration) -> Self {
        Backoff::Fixed(delay)
    }

    /// `initial · factor^n`, capped at `max`.
    ///
    /// # Panics
    ///
    /// If `factor` is not a finite number ≥ 1, or `initial > max` (at compile
    /// time when used in a `const`).
    #[must_use]
    pub const fn exponential(initial: Duration, factor: f64, max: Duration) -> Self {
        assert!(
            factor.is_finite() && factor >= 1.0,
            "exponential backoff: `factor` must be a finite number >= 1.0"
        );
        assert!(
            initial.as_nanos() <= max.as_nanos(),
            "exponential backoff: the initial delay must not exceed `max`"
        );
        Backoff::Exponential {
            initial,
            factor,
            max,
        }
    }

    /// The Fibonacci sequence of `initial`, capped at `max`.
    ///
    /// # Panics
    ///
    /// If `initial > max` (at compile time when used in a `const`).
    #[must_use]
    pub const fn fibonacci(initial: Duration, max: Duration) -> Self {
        assert!(
            initial.as_nanos() <= max.as_nanos(),
            "fibonacci backoff: the initial delay must not exceed `max`"
        );
        Backoff::Fibonacci { initial, max }
    }

    /// The first delay (zero for [`Backoff::None`]).
    #[must_use]
    pub const fn initial(&self) -> Duration {
        match *self {
            Backoff::None => Duration::ZERO,
            Backoff::Fixed(d) => d,
            Backoff::Exponential { initial, .. } | Backoff::Fibonacci { initial, .. } => initial,
        }
    }

    /// The cap, for the schedules that have one. It bounds the computed
    /// (and jittered) delays only: a `delay_from` hint is waited as given,
    /// bounded by the policy's `max_hint` instead.
    #[must_use]
    pub const fn max(&self) -> Option<Duration> {
        match *self {
            Backoff::None | Backoff::Fixed(_) => None,
            Backoff::Exponential { max, .. } | Backoff::Fibonacci { max, .. } => Some(max),
        }
    }

    /// The delay before retry `retry` (0 = the first retry), before jitter.
    #[must_use]
    pub fn delay(&self, retry: u32) -> Duration {
        match *self {
            Backoff::None => Duration::ZERO,
            Backoff::Fixed(d) => d,
            Backoff::Exponential {
                initial,
                factor,
                max,
            } => {
                if initial.is_zero() {
                    return Duration::ZERO;
                }
                let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
                let secs = initial.as_secs_f64() * factor.powi(exponent);
                // `secs` may be +inf: compare before converting.
                if secs >= max.as_secs_f64() {
                    max
                } else {
                    Duration::from_secs_f64(secs).min(max)
                }
            }
            Backoff::Fibonacci { initial, max } => {
                let (unit, cap) = (initial.as_nanos(), max.as_nanos());
                let (mut current, mut next) = (1u128, 1u128);
                for _ in 0..retry {
                    // Stop as soon as the cap is reached: at most ~90 steps.
                    if unit.saturating_mul(current) >= cap {
                        return max;
                    }
                    (current, next) = (next, current.saturating_add(next));
                }
                from_nanos(unit.saturating_mul(current)).min(max)
            }
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::DEFAULT
    }
}

/// A `u128` nanosecond count as a [`Duration`], saturating at [`Duration::MAX`].
pub(crate) fn from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below one second, so it fits in a u32.
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn none_and_fixed() {
        assert_eq!(Backoff::none().delay(0), Duration::ZERO);
        assert_eq!(Backoff::none().delay(7), Duration::ZERO);
        assert_eq!(Backoff::fixed(MS * 250).delay(0), MS * 250);
        assert_eq!(Backoff::fixed(MS * 250).delay(u32::MAX), MS * 250);
    }

    #[test]
    fn exponential_grows_by_factor_then_saturates() {
        let b = Backoff::exponential(MS * 100, 2.0, Duration::from_secs(1));
        let got: Vec<_> = (0..6).map(|n| b.delay(n)).collect();
        assert_eq!(
            got,
            [MS * 100, MS * 200, MS * 400, MS * 800, MS * 1000, MS * 1000]
        );
        let b = Backoff::exponential(MS * 10, 3.0, Duration::from_secs(10));
        assert_eq!(b.delay(2), MS * 90);
    }

    #[test]
    fn exponential_never_overflows() {
        let b = Backoff::exponential(Duration::MAX, 10.0, Duration::MAX);
        assert_eq!(b.delay(u32::MAX), Duration::MAX);
        let b = Backoff::exponential(MS, 1e300, Duration::from_secs(5));
        for n in [0, 1, 2, 100, u32::MAX] {
            assert!(b.delay(n) <= Duration::from_secs(5));
        }
        let b = Backoff::exponential(Duration::ZERO, 2.0, Duration::from_secs(5));
        assert_eq!(b.delay(u32::MAX), Duration::ZERO);
    }

    #[test]
    fn fibonacci_sequence_then_saturates() {
        let b = Backoff::fibonacci(MS * 10, MS * 100);
        let got: Vec<_> = (0..8).map(|n| b.delay(n)).collect();
        assert_eq!(
            got,
            [
                MS * 10,
                MS * 10,
                MS * 20,
                MS * 30,
                MS * 50,
                MS * 80,
                MS * 100,
                MS * 100
            ]
        );
        let huge = Backoff::fibonacci(Duration::from_secs(1), Duration::MAX);
        assert_eq!(huge.delay(u32::MAX), Duration::MAX);
    }

    #[test]
    fn caps_are_reported() {
        assert_eq!(Backoff::DEFAULT.max(), Some(Duration::from_secs(10)));
        assert_eq!(Backoff::DEFAULT.initial(), MS * 100);
        assert_eq!(Backoff::fixed(MS).max(), None);
    }

    #[test]
    #[should_panic(expected = "factor")]
    fn exponential_rejects_shrinking_factor() {
        let _ = Backoff::exponential(MS, 0.5, MS * 10);
    }

    #[test]
    #[should_panic(expected = "must not exceed `max`")]
    fn initial_above_max_is_rejected() {
        let _ = Backoff::fibonacci(MS * 10, MS);
    }
}
