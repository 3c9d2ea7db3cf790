//! [`Jitter`]: randomising delays so that clients do not retry in lock-step.

use core::time::Duration;

use rand::{Rng, RngExt};

use super::backoff::from_nanos;

/// How a computed delay is randomised. A jittered delay never exceeds the
/// backoff's `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Use the computed delay as is.
    None,
    /// Uniform in `[0, d]` (the default): spreads retries the most.
    #[default]
    Full,
    /// `d/2 + U[0, d/2]`: keeps at least half of the delay.
    Equal,
    /// AWS's "decorrelated jitter": uniform in `[initial, 3 × previous delay]`,
    /// capped at `max`. It replaces the schedule's growth with its own (the
    /// factor is not used), so it needs a backoff with a `max`.
    Decorrelated,
}

impl Jitter {
    /// The delay to sleep, from the computed delay `computed`, the previous
    /// delay slept `previous` (the backoff's initial delay before the first
    /// retry), the backoff's `initial` and `cap`.
    pub(crate) fn apply<G: Rng + ?Sized>(
        self,
        computed: Duration,
        previous: Duration,
        initial: Duration,
        cap: Option<Duration>,
        rng: &mut G,
    ) -> Duration {
        match self {
            Jitter::None => computed,
            Jitter::Full => uniform(rng, 0, computed.as_nanos()),
            Jitter::Equal => {
                let half = computed.as_nanos() / 2;
                from_nanos(half + uniform(rng, 0, computed.as_nanos() - half).as_nanos())
            }
            Jitter::Decorrelated => {
                let Some(cap) = cap else { return computed };
                let low = initial.as_nanos().min(cap.as_nanos());
                let high = previous.as_nanos().saturating_mul(3).min(cap.as_nanos());
                uniform(rng, low, high.max(low))
            }
        }
    }
}

/// Uniform in `[low, high]` nanoseconds (inclusive).
fn uniform<G: Rng + ?Sized>(rng: &mut G, low: u128, high: u128) -> Duration {
    // Delays beyond u64 nanoseconds (584 years) are not worth randomising.
    let (low, high) = (clamp_u64(low), clamp_u64(high));
    if low >= high {
        return from_nanos(u128::from(low));
    }
    from_nanos(u128::from(rng.random_range(low..=high)))
}

fn clamp_u64(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const MS: Duration = Duration::from_millis(1);

    fn rng(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed)
    }

    #[test]
    fn none_is_identity() {
        assert_eq!(
            Jitter::None.apply(MS * 7, MS, MS, None, &mut rng(1)),
            MS * 7
        );
    }

    #[test]
    fn full_spreads_over_zero_to_d() {
        let mut r = rng(2);
        let samples: Vec<_> = (0..2000)
            .map(|_| Jitter::Full.apply(MS * 100, MS, MS, None, &mut r))
            .collect();
        assert!(samples.iter().all(|d| *d <= MS * 100));
        assert!(samples.iter().any(|d| *d < MS * 10), "never near 0");
        assert!(samples.iter().any(|d| *d > MS * 90), "never near d");
    }

    #[test]
    fn equal_keeps_half() {
        let mut r = rng(3);
        let samples: Vec<_> = (0..2000)
            .map(|_| Jitter::Equal.apply(MS * 100, MS, MS, None, &mut r))
            .collect();
        assert!(samples.iter().all(|d| *d >= MS * 50 && *d <= MS * 100));
        assert!(samples.iter().any(|d| *d < MS * 55));
        assert!(samples.iter().any(|d| *d > MS * 95));
    }

    #[test]
    fn decorrelated_draws_between_initial_and_three_times_previous() {
        let mut r = rng(4);
        let samples: Vec<_> = (0..2000)
            .map(|_| {
                Jitter::Decorrelated.apply(MS * 999, MS * 40, MS * 10, Some(MS * 1000), &mut r)
            })
            .collect();
        assert!(samples.iter().all(|d| *d >= MS * 10 && *d <= MS * 120));
        assert!(samples.iter().any(|d| *d > MS * 110));
        assert!(samples.iter().any(|d| *d < MS * 20));
    }

    proptest! {
        #[test]
        fn jitter_never_exceeds_the_cap(
            seed: u64,
            initial_ms in 0u64..10_000,
            extra_ms in 0u64..100_000,
            previous_ms in 0u64..1_000_000,
            retry in 0u32..200,
            factor in 1.0f64..10.0,
        ) {
            let initial = MS * u32::try_from(initial_ms).unwrap();
            let max = initial + MS * u32::try_from(extra_ms).unwrap();
            let previous = Duration::from_millis(previous_ms);
            let mut r = rng(seed);
            for backoff in [
                super::super::Backoff::exponential(initial, factor, max),
                super::super::Backoff::fibonacci(initial, max),
            ] {
                let computed = backoff.delay(retry);
                prop_assert!(computed <= max);
                for jitter in [Jitter::None, Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
                    let d = jitter.apply(computed, previous, initial, Some(max), &mut r);
                    prop_assert!(d <= max, "{jitter:?} gave {d:?} > {max:?}");
                }
            }
        }
    }
}
