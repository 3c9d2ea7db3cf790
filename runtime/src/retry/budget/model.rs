//! The budget against a reference model: a plain `Vec` of timestamped first
//! attempts and retries, on random settings and random sequences of clock
//! advances, first attempts and retry draws, on paused tokio time.
//!
//! Every decision is checked two ways:
//!
//! - **the bound** (never looser): a retry drawn at `t` keeps the retries of
//!   `(t − window, t]`, itself included, within `ratio × first attempts of
//!   (t − window, t] + min_per_sec × window`;
//! - **the approximation** (no stricter than documented): with `c` the
//!   bucket of `t` and `w` a bucket's length, the retries counted are those
//!   since the start of bucket `c − 10`, and the first attempts counted are
//!   those since the start of bucket `c − 9`, less those dated out of the
//!   window: first attempts read no clock, so they are dated by the last
//!   bucket the budget saw begin (at a draw, or at every 64th first
//!   attempt); those in the window's buckets before the oldest one it saw
//!   (fewer than 64 each, or a tick would have seen it) and up to 64 of
//!   that one may be dated out. So a draw must succeed when it fits with
//!   the widest retry count and the narrowest deposit count less 64 per such
//!   bucket, and must
//!   fail when it does not fit even with all of bucket `c − 9`'s deposits.

use core::time::Duration;

use proptest::prelude::*;
use tokio::time::{Instant, advance};

use super::RetryBudget;

const WINDOW: Duration = Duration::from_secs(1);
const BUCKET_NS: u128 = WINDOW.as_nanos() / 10;

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Deposit(u32),
    Withdraw(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0_u64..300).prop_map(Op::Advance),
        (1_u32..120).prop_map(Op::Deposit),
        (1_u32..40).prop_map(Op::Withdraw),
    ]
}

/// The reference: every first attempt and every retry drawn, with its time
/// (nanoseconds since the budget's first clock reading).
#[derive(Debug, Default)]
struct Model {
    deposits: Vec<u128>,
    withdrawals: Vec<u128>,
    /// The buckets in which the budget read the clock: a draw (granted or
    /// not), or the 1st, 65th, 129th… first attempt (its tick).
    seen: Vec<u128>,
}

fn count(events: &[u128], from: u128, to: u128) -> u64 {
    events.iter().filter(|&&t| t >= from && t <= to).count() as u64
}

fn allowance(ratio_ppm: u64, floor_ppm: u128, deposits: u64) -> u64 {
    u64::try_from((u128::from(ratio_ppm) * u128::from(deposits) + floor_ppm) / 1_000_000).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_draw_keeps_the_bound_and_the_documented_approximation(
        ratio in prop_oneof![Just(0.1), Just(0.2), Just(0.5), Just(1.0), 0.01_f64..1.0],
        min_per_sec in 0_u32..5,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let budget = RetryBudget::builder()
                .ratio(ratio)
                .min_per_sec(min_per_sec)
                .window_duration(WINDOW)
                .build();
            let (ratio_ppm, floor_ppm) = (budget.limits.ratio_ppm, budget.limits.floor_ppm);
            // The budget's origin (bucket 0) is its first clock reading:
            // the first deposit, or the first draw.
            let mut origin = None;
            let mut model = Model::default();
            for op in ops {
                if !matches!(op, Op::Advance(_)) && origin.is_none() {
                    origin = Some(Instant::now());
                }
                let now = origin.map_or(0, |origin| Instant::now().duration_since(origin).as_nanos());
                match op {
                    Op::Advance(ms) => advance(Duration::from_millis(ms)).await,
                    Op::Deposit(n) => {
                        for _ in 0..n {
                            budget.deposit();
                            if model.deposits.len() % 64 == 0 {
                                model.seen.push(now / BUCKET_NS);
                            }
                            model.deposits.push(now);
                        }
                    }
                    Op::Withdraw(n) => {
                        for _ in 0..n {
                            let drawn = budget.try_withdraw();
                            let bucket = now / BUCKET_NS;
                            model.seen.push(bucket);
                            // First attempts are dated by the last bucket the
                            // budget saw begin: those of the window's buckets
                            // before the oldest one it saw (each holds fewer
                            // than 64, or a tick would have seen it), and up
                            // to 63 of that one, may be dated out of it.
                            let oldest_seen = model
                                .seen
                                .iter()
                                .copied()
                                .filter(|&b| b + 9 >= bucket)
                                .min()
                                .unwrap_or(bucket);
                            let first = bucket.saturating_sub(9);
                            let undated = 64 * u64::try_from(oldest_seen - first + 1).unwrap();
                            let exact_from = now.saturating_sub(WINDOW.as_nanos() - 1);
                            let wide_from = bucket.saturating_sub(10) * BUCKET_NS;
                            let narrow_from = bucket.saturating_sub(9) * BUCKET_NS;
                            let retries_wide = count(&model.withdrawals, wide_from, now);
                            let deposits_narrow = count(&model.deposits, narrow_from, now);
                            let must = retries_wide
                                < allowance(ratio_ppm, floor_ppm, deposits_narrow.saturating_sub(undated));
                            let may = retries_wide < allowance(ratio_ppm, floor_ppm, deposits_narrow);
                            prop_assert!(!must || drawn, "refused a retry the window allows at {now} ns");
                            prop_assert!(may || !drawn, "drew a retry past the approximation at {now} ns");
                            if drawn {
                                model.withdrawals.push(now);
                                let retries = count(&model.withdrawals, exact_from, now);
                                let deposits = count(&model.deposits, exact_from, now);
                                let bound = ratio * deposits as f64
                                    + f64::from(min_per_sec) * WINDOW.as_secs_f64();
                                prop_assert!(
                                    retries as f64 <= bound + 1e-9,
                                    "{retries} retries > {ratio} × {deposits} + {min_per_sec}/s at {now} ns"
                                );
                            }
                        }
                    }
                }
            }
            Ok(())
        })?;
    }
}
