//! The shared circuit breaker: [`BreakerStore`] for [`RedisStore`], one
//! script run per call.
//!
//! The client turns a [`BreakerSpec`] into the script's integer arguments
//! ([`Args`]) and a call into its operation's arguments ([`Op`]); the script
//! (`breaker.lua`, whose comments give the state's layout and the
//! arithmetic's range) decides with the server's clock; the client reads the
//! reply back ([`Reply`]) into a [`BreakerView`] or a [`ProbeGrant`].
//!
//! # Units
//!
//! Times are microseconds of the server's clock (Redis `TIME`). `open_for`
//! is rounded *up* to the microsecond (the breaker never reopens for probes
//! early), `probe_lease` *down* (a lease never outlives its setting), and a
//! time window of `d` is ten buckets of `ceil(d / 10)` µs each (the window
//! covers at least `d`). Remaining open times come back as whole µs.

use core::time::Duration;

use steadfast_runtime::circuit_breaker::State;
use steadfast_runtime::store::{
    BreakerSpec, BreakerStore, BreakerView, BreakerWindow, Outcomes, ProbeGrant, ProbeOutcome,
    StoreError, StoreErrorKind, StoreFuture,
};

use crate::error;
use crate::store::RedisStore;

/// The largest count window the script keeps (2^20 outcomes, 4096 ring
/// chunks; the in-process window holds at most 1024).
const MAX_CALLS: u32 = 1 << 20;

/// The longest `open_for`, `probe_lease` or window the script adds to the
/// clock exactly: 2^51 µs (71 years). See `breaker.lua`.
const MAX_SPAN_US: u128 = 1 << 51;

/// One part per million: the unit of the ratios.
const PPM: u32 = 1_000_000;

/// The shortest life of a breaker's key after its last write: a day.
const MIN_EXPIRY_MS: u128 = 24 * 3600 * 1000;

/// Added to the key's life past everything it holds, in ms.
const EXPIRY_MARGIN_MS: u128 = 1000;

/// The script's spec arguments (`ARGV[2..=11]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Args {
    /// 0: count window; 1: time window.
    pub(crate) window_kind: u64,
    /// The count window's n, or the time window's bucket width in µs.
    pub(crate) window_size: u64,
    pub(crate) min_calls: u64,
    pub(crate) failure_ppm: u64,
    /// 0: no slow-call rule.
    pub(crate) slow_ppm: u64,
    pub(crate) consecutive: u64,
    pub(crate) open_for_us: u64,
    pub(crate) probes: u64,
    pub(crate) lease_us: u64,
    /// The key's life after a write: `max(24 h, open_for + probe_lease,
    /// window) + 1 s`.
    pub(crate) expire_ms: u64,
}

impl Args {
    /// The arguments for `spec`, or an
    /// [`InvalidReply`](StoreErrorKind::InvalidReply) for settings the script
    /// cannot apply (a ratio outside 1 to 10⁶ ppm, no probe, a zero window
    /// or lease, a count window over 2^20, a duration over 2^51 µs): no
    /// breaker built by the runtime has them.
    pub(crate) fn new(spec: &BreakerSpec) -> Result<Args, StoreError> {
        let out_of_range = |why: &str| {
            StoreError::new(
                StoreErrorKind::InvalidReply,
                format!(
                    "circuit breaker settings out of the Redis store's range ({why}): {spec:?}"
                ),
            )
        };
        let ratio = 1..=PPM;
        if !ratio.contains(&spec.failure_ratio_ppm) {
            return Err(out_of_range("failure ratio 1 to 10^6 ppm"));
        }
        if spec.slow_ratio_ppm.is_some_and(|ppm| !ratio.contains(&ppm)) {
            return Err(out_of_range("slow ratio 1 to 10^6 ppm"));
        }
        if spec.half_open_probes == 0 {
            return Err(out_of_range("at least one probe"));
        }
        // Rounded up: never half-open early.
        let open_for_us = spec.open_for.as_nanos().div_ceil(1000);
        // Rounded down: a lease never outlives its setting.
        let lease_us = spec.probe_lease.as_micros();
        if lease_us == 0 {
            return Err(out_of_range("a probe lease of at least 1 µs"));
        }
        let (window_kind, window_size, window_us) = match spec.window {
            BreakerWindow::Calls(n) => {
                if n == 0 || n > MAX_CALLS {
                    return Err(out_of_range("a count window of 1 to 2^20 calls"));
                }
                (0, u128::from(n), 0)
            }
            BreakerWindow::Time(d) => {
                let d_us = d.as_nanos().div_ceil(1000);
                if d_us == 0 {
                    return Err(out_of_range("a time window longer than 0"));
                }
                let bucket = d_us.div_ceil(10);
                (1, bucket, bucket * 10)
            }
        };
        if open_for_us > MAX_SPAN_US || lease_us > MAX_SPAN_US || window_us > MAX_SPAN_US {
            return Err(out_of_range("durations at most 2^51 µs, 71 years"));
        }
        let longest_us = (open_for_us + lease_us).max(window_us);
        let expire_ms = longest_us.div_ceil(1000).max(MIN_EXPIRY_MS) + EXPIRY_MARGIN_MS;
        // Each is below 2^52: the casts are exact.
        Ok(Args {
            window_kind,
            window_size: window_size as u64,
            min_calls: u64::from(spec.min_calls),
            failure_ppm: u64::from(spec.failure_ratio_ppm),
            slow_ppm: spec.slow_ratio_ppm.map_or(0, u64::from),
            consecutive: u64::from(spec.consecutive_failures),
            open_for_us: open_for_us as u64,
            probes: u64::from(spec.half_open_probes),
            lease_us: lease_us as u64,
            expire_ms: expire_ms as u64,
        })
    }

    /// The spec arguments in the script's order.
    pub(crate) fn to_argv(self) -> [u64; 10] {
        [
            self.window_kind,
            self.window_size,
            self.min_calls,
            self.failure_ppm,
            self.slow_ppm,
            self.consecutive,
            self.open_for_us,
            self.probes,
            self.lease_us,
            self.expire_ms,
        ]
    }
}

/// One of the three calls, with its own arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// [`BreakerStore::report`].
    Report { generation: u64, outcomes: Outcomes },
    /// [`BreakerStore::acquire_probe`].
    Acquire,
    /// [`BreakerStore::complete_probe`].
    Complete {
        generation: u64,
        lease: u64,
        outcome: ProbeOutcome,
    },
}

impl Op {
    /// `ARGV[1]`, then the op's arguments from `ARGV[12]` (see
    /// `breaker.lua`).
    pub(crate) fn code(&self) -> u64 {
        match self {
            Op::Report { .. } => 1,
            Op::Acquire => 2,
            Op::Complete { .. } => 3,
        }
    }

    /// The op's own arguments.
    pub(crate) fn argv(&self) -> Vec<u64> {
        match *self {
            Op::Report {
                generation,
                outcomes,
            } => vec![
                generation,
                u64::from(outcomes.successes),
                u64::from(outcomes.failures),
                u64::from(outcomes.slow_successes),
                u64::from(outcomes.slow_failures),
                u64::from(outcomes.failure_run),
                u64::from(outcomes.ended_run),
            ],
            Op::Acquire => Vec::new(),
            Op::Complete {
                generation,
                lease,
                outcome,
            } => vec![
                generation,
                lease,
                match outcome {
                    ProbeOutcome::Success => 0,
                    ProbeOutcome::Failure => 1,
                    ProbeOutcome::Released => 2,
                },
            ],
        }
    }
}

/// The script's reply `{state, generation, open_remaining_us, lease}`, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) view: BreakerView,
    /// A granted lease (only ever for [`Op::Acquire`]), or none.
    pub(crate) lease: Option<u64>,
}

impl Reply {
    /// Reads `raw`, the reply to `op`, checking its shape.
    pub(crate) fn read(op: &Op, raw: &[i64]) -> Result<Reply, StoreError> {
        let garbage = || error::invalid(format!("not a circuit breaker answer: {raw:?}"));
        let &[state, generation, remaining, lease] = raw else {
            return Err(garbage());
        };
        let state = match state {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            _ => return Err(garbage()),
        };
        let generation = u64::try_from(generation).map_err(|_| garbage())?;
        let remaining = u64::try_from(remaining).map_err(|_| garbage())?;
        let lease = u64::try_from(lease).map_err(|_| garbage())?;
        if remaining > 0 && state != State::Open {
            return Err(garbage());
        }
        let lease = match lease {
            0 => None,
            _ if matches!(op, Op::Acquire) && state == State::HalfOpen => Some(lease),
            _ => return Err(garbage()),
        };
        Ok(Reply {
            view: BreakerView::new(state, generation, Duration::from_micros(remaining)),
            lease,
        })
    }

    /// The answer to [`BreakerStore::acquire_probe`].
    pub(crate) fn grant(self) -> ProbeGrant {
        match self.lease {
            Some(lease) => ProbeGrant::Granted {
                generation: self.view.generation,
                lease,
            },
            None => ProbeGrant::Refused(self.view),
        }
    }
}

impl RedisStore {
    /// One run of the breaker script for the breaker `key`: `op` under
    /// `spec`, its reply read.
    async fn run_breaker_script(
        &self,
        key: &str,
        spec: &BreakerSpec,
        op: Op,
    ) -> Result<Reply, StoreError> {
        let args = Args::new(spec)?;
        let mut invocation = self.breaker_script().key(RedisStore::breaker_key(key));
        invocation.arg(op.code());
        for arg in args.to_argv().into_iter().chain(op.argv()) {
            invocation.arg(arg);
        }
        let raw: Vec<i64> = self
            .bounded(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await?;
        Reply::read(&op, &raw)
    }
}

impl BreakerStore for RedisStore {
    /// One `EVALSHA` of the breaker script on the breaker's key
    /// ([`RedisStore::breaker_key`]), within the store's timeout. Empty
    /// outcomes write nothing. Cancel-safe: the script applies entirely or
    /// not at all; dropped before the reply, the outcomes may or may not
    /// have been recorded.
    fn report<'a>(
        &'a self,
        key: &'a str,
        spec: BreakerSpec,
        generation: u64,
        outcomes: Outcomes,
    ) -> StoreFuture<'a, Result<BreakerView, StoreError>> {
        Box::pin(async move {
            let op = Op::Report {
                generation,
                outcomes,
            };
            Ok(self.run_breaker_script(key, &spec, op).await?.view)
        })
    }

    /// One `EVALSHA`, as [`report`](BreakerStore::report). Dropped before
    /// the reply, a lease may have been granted: it blocks its slot until
    /// `probe_lease` has passed, then is reclaimed.
    fn acquire_probe<'a>(
        &'a self,
        key: &'a str,
        spec: BreakerSpec,
    ) -> StoreFuture<'a, Result<ProbeGrant, StoreError>> {
        Box::pin(async move {
            Ok(self
                .run_breaker_script(key, &spec, Op::Acquire)
                .await?
                .grant())
        })
    }

    /// One `EVALSHA`, as [`report`](BreakerStore::report).
    fn complete_probe<'a>(
        &'a self,
        key: &'a str,
        spec: BreakerSpec,
        generation: u64,
        lease: u64,
        outcome: ProbeOutcome,
    ) -> StoreFuture<'a, Result<BreakerView, StoreError>> {
        Box::pin(async move {
            let op = Op::Complete {
                generation,
                lease,
                outcome,
            };
            Ok(self.run_breaker_script(key, &spec, op).await?.view)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn spec(window: BreakerWindow) -> BreakerSpec {
        BreakerSpec::new(
            window,
            20,
            500_000,
            Some(800_000),
            5,
            Duration::from_nanos(5_000_000_001),
            2,
            Duration::from_nanos(1_999),
        )
    }

    #[test]
    fn a_spec_becomes_whole_microseconds_rounded_towards_safe() {
        let args = Args::new(&spec(BreakerWindow::Calls(100))).unwrap();
        assert_eq!(
            args.to_argv(),
            [0, 100, 20, 500_000, 800_000, 5, 5_000_001, 2, 1, 86_401_000]
        );
        // A time window of d: ten buckets of ceil(d / 10) µs.
        let args = Args::new(&spec(BreakerWindow::Time(Duration::from_nanos(1_000_001)))).unwrap();
        assert_eq!((args.window_kind, args.window_size), (1, 101));
        // No slow rule: 0.
        let mut no_slow = spec(BreakerWindow::Calls(10));
        no_slow.slow_ratio_ppm = None;
        assert_eq!(Args::new(&no_slow).unwrap().slow_ppm, 0);
    }

    #[test]
    fn the_key_outlives_what_it_holds() {
        let mut long = spec(BreakerWindow::Time(SECOND * 3 * 86_400));
        long.open_for = SECOND * 2 * 86_400;
        long.probe_lease = SECOND;
        // The window (3 days) is the longest.
        assert_eq!(Args::new(&long).unwrap().expire_ms, 3 * 86_400_000 + 1000);
        long.window = BreakerWindow::Calls(5);
        // open_for + lease.
        assert_eq!(Args::new(&long).unwrap().expire_ms, 2 * 86_400_000 + 2000);
    }

    #[test]
    fn settings_the_script_cannot_apply_are_refused() {
        let base = spec(BreakerWindow::Calls(10));
        let mut bad = Vec::new();
        for change in [
            (|s: &mut BreakerSpec| s.failure_ratio_ppm = 0) as fn(&mut BreakerSpec),
            |s| s.failure_ratio_ppm = PPM + 1,
            |s| s.slow_ratio_ppm = Some(0),
            |s| s.half_open_probes = 0,
            |s| s.probe_lease = Duration::from_nanos(999),
            |s| s.window = BreakerWindow::Calls(0),
            |s| s.window = BreakerWindow::Calls(MAX_CALLS + 1),
            |s| s.window = BreakerWindow::Time(Duration::ZERO),
            |s| s.open_for = Duration::from_micros(1 << 52),
            |s| s.window = BreakerWindow::Time(Duration::from_micros(1 << 52)),
        ] {
            let mut s = base;
            change(&mut s);
            bad.push(Args::new(&s).unwrap_err());
        }
        for error in bad {
            assert_eq!(error.kind(), StoreErrorKind::InvalidReply, "{error}");
            assert!(error.detail().contains("range"), "{error}");
        }
        let mut edge = base;
        edge.failure_ratio_ppm = PPM;
        edge.window = BreakerWindow::Calls(MAX_CALLS);
        edge.open_for = Duration::ZERO;
        assert!(Args::new(&edge).is_ok());
    }

    #[test]
    fn ops_encode_their_arguments() {
        let mut outcomes = Outcomes::default();
        outcomes.successes = 1;
        outcomes.failures = 2;
        outcomes.slow_successes = 3;
        outcomes.slow_failures = 4;
        outcomes.failure_run = 5;
        outcomes.ended_run = true;
        let report = Op::Report {
            generation: 7,
            outcomes,
        };
        assert_eq!(
            (report.code(), report.argv()),
            (1, vec![7, 1, 2, 3, 4, 5, 1])
        );
        assert_eq!((Op::Acquire.code(), Op::Acquire.argv()), (2, vec![]));
        for (outcome, code) in [
            (ProbeOutcome::Success, 0),
            (ProbeOutcome::Failure, 1),
            (ProbeOutcome::Released, 2),
        ] {
            let complete = Op::Complete {
                generation: 9,
                lease: 3,
                outcome,
            };
            assert_eq!((complete.code(), complete.argv()), (3, vec![9, 3, code]));
        }
    }

    #[test]
    fn replies_are_checked() {
        let report = Op::Report {
            generation: 0,
            outcomes: Outcomes::default(),
        };
        let view = |state, generation, remaining| {
            BreakerView::new(state, generation, Duration::from_micros(remaining))
        };
        assert_eq!(
            Reply::read(&report, &[1, 4, 1_500, 0]).unwrap().view,
            view(State::Open, 4, 1_500)
        );
        assert_eq!(
            Reply::read(&report, &[0, 0, 0, 0]).unwrap().view,
            view(State::Closed, 0, 0)
        );
        assert_eq!(
            Reply::read(&Op::Acquire, &[2, 5, 0, 3]).unwrap().grant(),
            ProbeGrant::Granted {
                generation: 5,
                lease: 3
            }
        );
        assert_eq!(
            Reply::read(&Op::Acquire, &[2, 5, 0, 0]).unwrap().grant(),
            ProbeGrant::Refused(view(State::HalfOpen, 5, 0))
        );
        for (op, garbage) in [
            (&report, &[][..]),
            (&report, &[0, 0, 0]),
            (&report, &[0, 0, 0, 0, 0]),
            (&report, &[3, 0, 0, 0]),
            (&report, &[-1, 0, 0, 0]),
            (&report, &[0, -1, 0, 0]),
            (&report, &[1, 0, -5, 0]),
            // Time left, but not open.
            (&report, &[0, 0, 10, 0]),
            (&report, &[2, 0, 10, 0]),
            // A lease outside an acquire, or not half-open.
            (&report, &[2, 1, 0, 1]),
            (&Op::Acquire, &[1, 1, 0, 1]),
            (&Op::Acquire, &[2, 1, 0, -1]),
        ] {
            let error = Reply::read(op, garbage).unwrap_err();
            assert_eq!(error.kind(), StoreErrorKind::InvalidReply, "{garbage:?}");
        }
    }
}
