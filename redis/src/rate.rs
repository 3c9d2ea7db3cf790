//! The shared rate limiter: [`RateStore`] for [`RedisStore`], one script per
//! decision.
//!
//! The client turns a [`RateSpec`] into the script's exact integer
//! arguments ([`Args`]); the script (`rate.lua`, whose comments give the
//! arithmetic and its range) decides with the server's clock; the client
//! reads the reply back into a [`RateDecision`] ([`decision`]).
//!
//! # Units
//!
//! Times are microseconds of the server's clock (Redis `TIME`), and a turn,
//! `per / rate`, is a whole number of µs plus a fraction in units of
//! `1 / rate` µs, so 3 per second is 333,333 µs + 1/3 µs, counted exactly:
//! over any interval `t`, at most `burst + floor(rate × t / per)` turns.
//! `per` is rounded *up* to the microsecond and `max_wait` *down*, so a
//! setting that is not a whole number of µs makes the shared limit stricter,
//! never looser. Durations returned are rounded up to the nanosecond, as the
//! in-process limiter does: a call made exactly `retry_after` later finds its
//! turn.

use core::time::Duration;

use steadfast_runtime::store::{
    RateBatch, RateDecision, RateSpec, RateStore, StoreError, StoreErrorKind, StoreFuture,
};

use crate::error;
use crate::store::RedisStore;

/// The longest horizon the script counts exactly, in µs: `burst × per /
/// rate + per / rate + max_wait` at most 2^51 µs (71 years). See `rate.lua`.
const MAX_HORIZON_US: u128 = 1 << 51;

/// The script's arguments: a spec in µs, each duration as whole µs plus a
/// fraction in `1 / rate` µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) rate: u64,
    pub(crate) step_us: u64,
    pub(crate) step_f: u64,
    pub(crate) cap_us: u64,
    pub(crate) cap_f: u64,
    pub(crate) max_wait_us: u64,
}

impl Args {
    /// The arguments for `spec`, or an error if its horizon is beyond the
    /// script's exact range (or its rate or burst is 0, which no limiter
    /// built by the runtime has).
    pub(crate) fn new(spec: &RateSpec) -> Result<Args, StoreError> {
        if spec.rate == 0 || spec.burst == 0 || spec.per.is_zero() {
            return Err(StoreError::new(
                StoreErrorKind::InvalidReply,
                format!("rate limit settings out of range: {spec:?}"),
            ));
        }
        let rate = u128::from(spec.rate);
        // Rounded up: a turn is never shorter than the spec says.
        let per_us = spec.per.as_nanos().div_ceil(1000);
        // Rounded down: a call never waits longer than allowed.
        let max_wait_us = spec.max_wait.as_micros();
        let span = u128::from(spec.burst) * per_us;
        let (step_us, step_f) = (per_us / rate, per_us % rate);
        let (cap_us, cap_f) = (span / rate, span % rate);
        if cap_us + step_us + 1 + max_wait_us > MAX_HORIZON_US {
            return Err(StoreError::new(
                StoreErrorKind::InvalidReply,
                format!(
                    "rate limit settings beyond the Redis store's exact range \
                     (burst × per / rate + max_wait at most 2^51 µs, 71 years): {spec:?}"
                ),
            ));
        }
        // Each is below 2^51 (the fractions below 2^32): the casts are exact.
        Ok(Args {
            rate: rate as u64,
            step_us: step_us as u64,
            step_f: step_f as u64,
            cap_us: cap_us as u64,
            cap_f: cap_f as u64,
            max_wait_us: max_wait_us as u64,
        })
    }

    /// `us + f / rate` µs, in nanoseconds rounded up.
    fn duration(&self, us: u64, f: u64) -> Duration {
        // f < rate < 2^32: f × 1000 fits easily.
        Duration::from_micros(us) + Duration::from_nanos((f * 1000).div_ceil(self.rate))
    }
}

/// The decision in the script's reply `[kind, us, f]` (see `rate.lua`).
pub(crate) fn decision(args: &Args, reply: &[i64]) -> Result<RateDecision, StoreError> {
    let garbage = || error::invalid(format!("not a rate limiter decision: {reply:?}"));
    let &[kind, us, f] = reply else {
        return Err(garbage());
    };
    let us = u64::try_from(us).map_err(|_| garbage())?;
    let f = u64::try_from(f).map_err(|_| garbage())?;
    if f >= args.rate {
        return Err(garbage());
    }
    match kind {
        0 if us == 0 && f == 0 => Ok(RateDecision::Admitted),
        1 if (us, f) != (0, 0) && (us, f) <= (args.max_wait_us, 0) => {
            Ok(RateDecision::Wait(args.duration(us, f)))
        }
        2 if (us, f) > (args.max_wait_us, 0) => Ok(RateDecision::Rejected {
            retry_after: args.duration(us, f),
        }),
        _ => Err(garbage()),
    }
}

/// The most turns one batched decision may take (the script's bisection
/// and its exactness argument assume it).
const MAX_BATCH: u32 = 1024;

/// A batched decision's reply, read: `{3, k, 0}` (k turns taken, 1 to `n`)
/// or `{2, us, f}` (none free, the next one that far away).
pub(crate) fn batch(args: &Args, n: u32, reply: &[i64]) -> Result<RateBatch, StoreError> {
    let garbage = || error::invalid(format!("not a batched rate limiter decision: {reply:?}"));
    let &[kind, a, b] = reply else {
        return Err(garbage());
    };
    match kind {
        3 if b == 0 && (1..=i64::from(n)).contains(&a) => Ok(RateBatch::new(
            u32::try_from(a).map_err(|_| garbage())?,
            Duration::ZERO,
        )),
        2 => {
            let us = u64::try_from(a).map_err(|_| garbage())?;
            let f = u64::try_from(b).map_err(|_| garbage())?;
            if f >= args.rate || (us, f) == (0, 0) {
                return Err(garbage());
            }
            Ok(RateBatch::new(0, args.duration(us, f)))
        }
        _ => Err(garbage()),
    }
}

impl RedisStore {
    /// One run of the rate script for the limiter `key` with `args`, and a
    /// count of turns in batched mode; its raw reply.
    async fn run_rate_script(
        &self,
        key: &str,
        args: &Args,
        batch: Option<u32>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut invocation = self.rate_script().key(RedisStore::rate_key(key));
        invocation
            .arg(args.rate)
            .arg(args.step_us)
            .arg(args.step_f)
            .arg(args.cap_us)
            .arg(args.cap_f)
            .arg(args.max_wait_us);
        if let Some(n) = batch {
            invocation.arg(n);
        }
        self.bounded(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await
    }
}

impl RateStore for RedisStore {
    /// One `EVALSHA` of the GCRA script on the limiter's key
    /// ([`RedisStore::rate_key`]), within the store's timeout. Cancel-safe:
    /// dropped before the reply, the call may or may not have taken its turn
    /// on the server; a turn taken is simply lost (the limit still holds).
    fn take<'a>(
        &'a self,
        key: &'a str,
        spec: RateSpec,
    ) -> StoreFuture<'a, Result<RateDecision, StoreError>> {
        Box::pin(async move {
            let args = Args::new(&spec)?;
            let reply = self.run_rate_script(key, &args, None).await?;
            decision(&args, &reply)
        })
    }

    /// Up to `n` free turns in one script run (batched mode; at most 1024).
    fn take_many<'a>(
        &'a self,
        key: &'a str,
        spec: RateSpec,
        n: u32,
    ) -> StoreFuture<'a, Result<RateBatch, StoreError>> {
        Box::pin(async move {
            let args = Args::new(&spec)?;
            let n = n.clamp(1, MAX_BATCH);
            if u128::from(n) * u128::from(args.step_us + 1) + u128::from(args.cap_us)
                > MAX_HORIZON_US
            {
                return Err(StoreError::new(
                    StoreErrorKind::InvalidReply,
                    format!(
                        "a batch of {n} turns is beyond the Redis store's exact range: {spec:?}"
                    ),
                ));
            }
            let reply = self.run_rate_script(key, &args, Some(n)).await?;
            batch(&args, n, &reply)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rate: u32, per: Duration, burst: u32, max_wait: Duration) -> RateSpec {
        RateSpec::new(rate, per, burst, max_wait)
    }

    #[test]
    fn a_fractional_turn_is_whole_us_plus_thirds() {
        let args = Args::new(&spec(3, Duration::from_secs(1), 2, Duration::ZERO)).unwrap();
        assert_eq!((args.step_us, args.step_f), (333_333, 1));
        assert_eq!((args.cap_us, args.cap_f), (666_666, 2));
        // 333,333⅓ µs is 333,333,334 ns rounded up.
        assert_eq!(args.duration(333_333, 1), Duration::from_nanos(333_333_334));
        assert_eq!(args.duration(1, 0), Duration::from_micros(1));
    }

    #[test]
    fn sub_microsecond_settings_round_towards_strict() {
        let args = Args::new(&spec(
            1,
            Duration::from_nanos(1_500),
            1,
            Duration::from_nanos(2_999),
        ))
        .unwrap();
        assert_eq!((args.step_us, args.max_wait_us), (2, 2));
    }

    #[test]
    fn a_horizon_beyond_2_pow_51_us_is_refused() {
        let years = Duration::from_secs(80 * 365 * 86_400);
        let error = Args::new(&spec(1, years, 1, Duration::ZERO)).unwrap_err();
        assert!(error.detail().contains("exact range"), "{error}");
        assert!(Args::new(&spec(u32::MAX, years, u32::MAX, Duration::ZERO)).is_err());
        assert!(Args::new(&spec(1, years / 4, 1, Duration::ZERO)).is_ok());
    }

    #[test]
    fn replies_are_checked() {
        let args = Args::new(&spec(3, Duration::from_secs(1), 1, Duration::from_secs(1))).unwrap();
        assert_eq!(decision(&args, &[0, 0, 0]), Ok(RateDecision::Admitted));
        assert_eq!(
            decision(&args, &[1, 333_333, 1]),
            Ok(RateDecision::Wait(Duration::from_nanos(333_333_334)))
        );
        assert_eq!(
            decision(&args, &[2, 1_000_000, 2]),
            Ok(RateDecision::Rejected {
                retry_after: Duration::from_nanos(1_000_000_667)
            })
        );
        for garbage in [
            &[][..],
            &[0, 1, 0],
            &[1, 0, 0],
            &[1, 1_000_000, 1],
            &[2, 1_000_000, 0],
            &[2, 5, 3],
            &[2, -1, 0],
            &[3, 0, 0],
            &[0, 0, 0, 0],
        ] {
            let error = decision(&args, garbage).unwrap_err();
            assert_eq!(error.kind(), StoreErrorKind::InvalidReply, "{garbage:?}");
        }
    }
}
