//! A time window never counts old calls again, however long it stays idle.
//!
//! The window used to tag each bucket's counts with the low 24 bits of their
//! epoch: after `5 · 2²⁴` idle buckets (the period of `epoch mod 10` and
//! `epoch mod 2²⁴` together: 84 s for a 10 µs window, 97 days for a 1 s one)
//! a bucket's old tag matched again, and its old failures came back. These
//! tests idle breakers for exactly that long and around it (paused time), run
//! the window and a breaker on it against reference models on random gaps of
//! every scale, and model-check the bucket protocol with loom.

use proptest::prelude::*;

use super::*;
use crate::circuit_breaker::window::TimeWindow;
use crate::sync::model::check;

/// After this many idle buckets the old epoch tags repeated.
const OLD_WRAP_BUCKETS: u32 = 5 << 24;

/// A breaker on a time window of `window` that opens at 5 calls with half of
/// them failed.
fn timed_breaker(window: Duration) -> CircuitBreaker {
    breaker(
        CircuitBreaker::builder()
            .window_duration(window)
            .min_calls(5)
            .failure_ratio(0.5),
    )
}

/// Four failures (one short of `min_calls`), an idle `gap`, then one failure:
/// the old failures must have left the window.
async fn failures_then_idle(window: Duration, gap: Duration) {
    let cb = timed_breaker(window);
    calls(&cb, "FFFF");
    assert_eq!(cb.window_counts().failures, 4);
    tokio::time::advance(gap).await;
    assert_eq!(
        cb.window_counts(),
        WindowCounts::default(),
        "window of {window:?}, idle {gap:?}: the window is empty"
    );
    calls(&cb, "F");
    assert_eq!(
        (cb.state(), cb.window_counts().calls),
        (State::Closed, 1),
        "window of {window:?}, idle {gap:?}: one failure alone does not open"
    );
}

#[tokio::test(start_paused = true)]
async fn a_10us_window_idle_for_the_old_wrap_distance_stays_empty() {
    let window = Duration::from_micros(10);
    let bucket = window / 10;
    let wrap = bucket * OLD_WRAP_BUCKETS; // 83.9 s
    let nanosecond = Duration::from_nanos(1);
    for gap in [
        wrap - bucket,
        wrap - nanosecond,
        wrap,
        wrap + nanosecond,
        wrap + bucket * 5,
        wrap + bucket * 10 - nanosecond,
        wrap + bucket * 10,
        wrap * 2,
        wrap * 3 + bucket * 7,
    ] {
        failures_then_idle(window, gap).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_1s_window_idle_for_97_days_stays_empty() {
    let window = Duration::from_secs(1);
    let bucket = window / 10;
    let wrap = bucket * OLD_WRAP_BUCKETS; // 97.1 days
    for gap in [wrap, wrap + bucket * 3, wrap * 2] {
        failures_then_idle(window, gap).await;
    }
}

#[tokio::test(start_paused = true)]
async fn failures_still_in_the_window_do_open_it() {
    // The control for the tests above: the same failures, a gap inside the
    // window, and the fifth failure opens the breaker.
    let cb = timed_breaker(Duration::from_micros(10));
    calls(&cb, "FFFF");
    tokio::time::advance(Duration::from_nanos(9_999)).await;
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open);
}

// ------------------------------------------------------- the reference model

#[derive(Debug, Clone)]
enum Op {
    /// A call ending now: failed, slow.
    Record(bool, bool),
    /// The clock moves on by this many nanoseconds.
    Advance(u64),
    Reset,
}

/// Gaps (nanoseconds) of every scale: within a bucket, across a few, exactly
/// around the old tags' period and its multiples, multiples of 2²³ buckets
/// (where the identities' round bits wrap), and anywhere below `max`.
fn gap(bucket_nanos: u64, max: u64) -> impl Strategy<Value = u64> {
    let wrap = bucket_nanos * u64::from(OLD_WRAP_BUCKETS);
    prop_oneof![
        4 => 0..bucket_nanos * 3,
        2 => (1u64..4, 0..bucket_nanos * 12)
            .prop_map(move |(k, off)| (k * wrap + off).saturating_sub(bucket_nanos)),
        1 => (1u64..64).prop_map(move |k| k * bucket_nanos * (1 << 23)),
        1 => 0..max,
    ]
}

fn op(bucket_nanos: u64) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), any::<bool>()).prop_map(|(f, s)| Op::Record(f, s)),
        3 => gap(bucket_nanos, 1 << 62).prop_map(Op::Advance),
        1 => Just(Op::Reset),
    ]
}

fn ops() -> impl Strategy<Value = (u64, Vec<Op>)> {
    (1u64..2_000).prop_flat_map(|bucket| (Just(bucket), prop::collection::vec(op(bucket), 1..80)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The window holds exactly the calls of the last ten buckets: those whose
    /// epoch (`now / bucket`) is within 9 of the current one.
    #[test]
    fn time_window_matches_the_reference_model((bucket, ops) in ops()) {
        let window = Window::time(bucket);
        let mut now = 0u64;
        let mut recorded: Vec<(u64, bool, bool)> = Vec::new();
        let expected = |recorded: &[(u64, bool, bool)], now: u64| {
            let epoch = now / bucket;
            let live = recorded.iter().filter(|(e, ..)| epoch - e < BUCKETS);
            live.fold(Tally::default(), |t, &(_, failed, slow)| Tally {
                calls: t.calls + 1,
                failures: t.failures + u64::from(failed),
                slow: t.slow + u64::from(slow),
            })
        };
        for op in ops {
            match op {
                Op::Record(failed, slow) => {
                    recorded.push((now / bucket, failed, slow));
                    let tally = window.record(failed, slow, || now);
                    prop_assert_eq!(tally, expected(&recorded, now), "record at {}", now);
                }
                Op::Advance(by) => now = now.saturating_add(by),
                Op::Reset => {
                    window.reset();
                    recorded.clear();
                }
            }
            prop_assert_eq!(window.tally(|| now), expected(&recorded, now), "at {}", now);
        }
    }
}

/// A call that ends as soon as it is admitted (`true`: failed), or the clock
/// moving on by some nanoseconds.
#[derive(Debug, Clone)]
enum Step {
    Call(bool),
    Idle(u64),
}

/// The breaker on a time window, with one probe and no `consecutive_failures`,
/// as a sequential model: calls are judged on the window of the last ten
/// buckets; the probe's success closes it with an empty window.
#[derive(Debug)]
struct TimedModel {
    bucket: u64,
    min_calls: u64,
    ratio_ppm: u64,
    open_for: u64,
    /// `Some(until)` while open.
    open_until: Option<u64>,
    /// Epoch and failure of every call recorded since the window was last
    /// emptied.
    recorded: Vec<(u64, bool)>,
    now: u64,
}

impl TimedModel {
    fn window(&self) -> WindowCounts {
        let epoch = self.now / self.bucket;
        let live = self.recorded.iter().filter(|(e, _)| epoch - e < BUCKETS);
        live.fold(WindowCounts::default(), |mut w, &(_, failed)| {
            w.calls += 1;
            w.failures += u64::from(failed);
            w
        })
    }

    /// Whether the call was admitted.
    fn call(&mut self, failed: bool) -> bool {
        match self.open_until {
            None => {
                self.recorded.push((self.now / self.bucket, failed));
                let w = self.window();
                let needed = (self.ratio_ppm * w.calls).div_ceil(1_000_000);
                if w.calls >= self.min_calls && w.failures >= needed {
                    self.open_until = Some(self.now + self.open_for);
                }
                true
            }
            Some(until) if self.now >= until => {
                if failed {
                    self.open_until = Some(self.now + self.open_for);
                } else {
                    self.open_until = None;
                    self.recorded.clear();
                }
                true
            }
            Some(_) => false,
        }
    }

    fn state(&self) -> State {
        match self.open_until {
            None => State::Closed,
            Some(_) => State::Open,
        }
    }
}

fn steps() -> impl Strategy<Value = (u64, Vec<Step>)> {
    (1u64..2_000).prop_flat_map(|bucket| {
        let step = prop_oneof![
            3 => any::<bool>().prop_map(Step::Call),
            // Under 2⁵⁰ ns (13 days) at random, so that the paused clock
            // stays far from its end.
            1 => gap(bucket, 1 << 50).prop_map(Step::Idle),
        ];
        (Just(bucket), prop::collection::vec(step, 1..120))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn breaker_on_a_time_window_matches_the_reference_model(
        (bucket, steps) in steps(),
        min_calls in 1u32..6,
        ratio_pct in 1u64..=100,
        open_for in 0u64..20_000,
    ) {
        let cb = CircuitBreaker::builder()
            .window_duration(Duration::from_nanos(bucket * BUCKETS))
            .min_calls(min_calls)
            .failure_ratio(ratio_pct as f64 / 100.0)
            .open_for(Duration::from_nanos(open_for))
            .build();
        let mut model = TimedModel {
            bucket,
            min_calls: u64::from(min_calls),
            ratio_ppm: ratio_pct * 10_000,
            open_for,
            open_until: None,
            recorded: Vec::new(),
            now: 0,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            // The breaker's clock starts at its first reading: now.
            prop_assert_eq!(cb.window_counts(), WindowCounts::default());
            for step in steps {
                match step {
                    Step::Call(failed) => {
                        let admitted = call(&cb, if failed { 'F' } else { 'S' }).is_ok();
                        prop_assert_eq!(admitted, model.call(failed), "at {}", model.now);
                    }
                    Step::Idle(nanos) => {
                        tokio::time::advance(Duration::from_nanos(nanos)).await;
                        model.now += nanos;
                    }
                }
                prop_assert_eq!(cb.state(), model.state(), "at {}", model.now);
                prop_assert_eq!(cb.window_counts(), model.window(), "at {}", model.now);
            }
            Ok(())
        })?;
    }
}

#[test]
fn the_window_works_to_the_end_of_the_clock() {
    for bucket in [1, 3, 1_000_000, u64::MAX / 10, u64::MAX] {
        let w = Window::time(bucket);
        w.record(true, false, || 0);
        let end = w.record(false, false, || u64::MAX);
        // Unless the whole clock is under ten buckets, the first call left.
        let expected = if u64::MAX / bucket < 10 {
            (2, 1)
        } else {
            (1, 0)
        };
        assert_eq!((end.calls, end.failures), expected, "bucket {bucket}");
    }
}

// ------------------------------------------------------------ loom models

type LoomWindow = TimeWindow<::loom::sync::atomic::AtomicU64>;

/// A window of 1 ns buckets in loom atomics.
fn loom_window() -> ::loom::sync::Arc<LoomWindow> {
    ::loom::sync::Arc::new(TimeWindow::with_cells(1, || {
        ::loom::sync::atomic::AtomicU64::new(0)
    }))
}

/// Runs `f` on a loom thread with its own handle on `window`.
fn spawn<R: 'static>(
    window: &::loom::sync::Arc<LoomWindow>,
    f: impl FnOnce(&LoomWindow) -> R + 'static,
) -> ::loom::thread::JoinHandle<R> {
    let window = ::loom::sync::Arc::clone(window);
    ::loom::thread::spawn(move || f(&window))
}

/// An epoch in bucket 0, `rounds` rounds after epoch 0.
const fn round(rounds: u64) -> u64 {
    rounds * BUCKETS
}

#[test]
fn loom_callers_racing_into_new_rounds_never_see_old_counts() {
    // Two failures in round 0 of bucket 0; one caller in round 2²³ (where the
    // 23 round bits of the tag wrap around to round 0's) and one in round
    // 2²⁴ (whose whole tag is round 0's), racing, while a third reads round
    // 2²⁴. The old failures must be gone whatever the interleaving, and round
    // 2²⁴ holds exactly its own call.
    check("racing into new rounds", Some(3), || {
        let window = loom_window();
        window.record(true, false, 0);
        window.record(true, false, 0);
        let (middle, last) = (round(1 << 23), round(1 << 24));
        let a = spawn(&window, move |w| w.record(false, false, middle));
        let b = spawn(&window, move |w| w.record(true, false, last));
        let seen = window.tally(last);
        assert!(seen.calls <= 1 && seen.failures <= 1, "{seen:?}");
        let tally = a.join().unwrap();
        assert!(tally.calls <= 1 && tally.failures == 0, "{tally:?}");
        let tally = b.join().unwrap();
        assert!(tally.calls <= 1 && tally.failures <= 1, "{tally:?}");
        assert_eq!(
            window.tally(last),
            Tally {
                calls: 1,
                failures: 1,
                slow: 0
            }
        );
    });
}

#[test]
fn loom_a_late_record_does_not_land_in_the_next_round() {
    // A call of round 0 and one of round 1 in the same bucket, racing: round
    // 1 holds exactly its own call, whichever order they land in.
    check("late record", Some(3), || {
        let window = loom_window();
        let late = spawn(&window, |w| w.record(true, true, round(0)));
        let next = window.record(false, false, round(1));
        assert_eq!((next.failures, next.slow), (0, 0), "{next:?}");
        late.join().unwrap();
        assert_eq!(
            window.tally(round(1)),
            Tally {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    });
}

#[test]
fn loom_a_reset_racing_a_record_leaves_no_old_counts() {
    // Failures before the reset never count after it; a call racing it counts
    // at most once.
    check("reset racing a record", None, || {
        let window = loom_window();
        window.record(true, false, 0);
        window.record(true, false, 0);
        let racing = spawn(&window, |w| w.record(true, false, 0));
        window.reset();
        racing.join().unwrap();
        let after = window.tally(0);
        assert!(after.calls <= 1 && after.failures <= 1, "{after:?}");
        // Nor later, once the bucket moves on and back to the same tags.
        window.reset();
        window.record(false, false, 0);
        assert_eq!(
            window.tally(0),
            Tally {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    });
}
