//! The admission word (`gcra.rs`) against a naive reference model, on random
//! limits and random sequences of clock advances, calls that may not wait,
//! calls that may, and waiters dropped: a token bucket counted in
//! `ns × rate` units with plain wide integers (no scaling, no wrap-around),
//! whose level may go below zero by the turns waiters hold. Every decision,
//! `retry_after` and wait must match to the nanosecond, and the turns taken
//! must keep the bound `burst + floor(rate × t / per)` in every window. The
//! clock starts anywhere in the word's range, so the runs cross the
//! wrap-around of the scaled units.

use core::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

use super::gcra::{Decision, Gcra};

/// A token bucket: one token is `per` units, `rate` units accrue per ns.
#[derive(Debug)]
struct Bucket {
    rate: i128,
    per: i128,
    capacity: i128,
    max_wait: i128,
    /// Units in the bucket (below zero: owed to waiters) at `at` ns.
    level: i128,
    at: i128,
    /// The takes still standing, newest last: a give-back pops the top.
    takes: Vec<usize>,
}

/// What a call got, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    Now,
    Wait(u64),
    Rejected(u64),
}

impl Bucket {
    fn refill(&mut self, now: i128) {
        self.level = (self.level + self.rate * (now - self.at)).min(self.capacity);
        self.at = now;
    }

    /// A call at `now`; the turn it took, in units, if any.
    fn call(&mut self, now: i128, may_wait: bool, id: usize) -> (Got, Option<i128>) {
        self.refill(now);
        let deficit = self.per - self.level;
        if deficit <= 0 {
            self.level -= self.per;
            self.takes.push(id);
            return (Got::Now, Some(now * self.rate));
        }
        // Waiting `deficit / rate` ns, rounded up to report it.
        let wait_ns = u64::try_from((deficit + self.rate - 1) / self.rate).unwrap();
        if may_wait && deficit <= self.max_wait * self.rate {
            self.level -= self.per;
            self.takes.push(id);
            (Got::Wait(wait_ns), Some(now * self.rate + deficit))
        } else {
            (Got::Rejected(wait_ns), None)
        }
    }

    /// Gives take `id` back if it is the newest standing one.
    fn give_back(&mut self, now: i128, id: usize) -> bool {
        if self.takes.last() != Some(&id) {
            return false;
        }
        self.takes.pop();
        self.refill(now);
        self.level = (self.level + self.per).min(self.capacity);
        true
    }

    fn available(&mut self, now: i128) -> u64 {
        self.refill(now);
        u64::try_from(self.level.max(0) / self.per).unwrap()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Take,
    Wait,
    /// Drops the waiter that many places from the newest.
    Drop(usize),
}

fn op(step: u64) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..=step).prop_map(Op::Advance),
        3 => Just(Op::Take),
        3 => Just(Op::Wait),
        1 => (0..4_usize).prop_map(Op::Drop),
    ]
}

fn case() -> impl Strategy<Value = (u32, u64, u32, u64, u64, Vec<Op>)> {
    (1..=20_u32, 1..=1000_u64, 1..=5_u32, 0..=2000_u64).prop_flat_map(
        |(rate, per, burst, max_wait)| {
            let step = 3 * per / u64::from(rate) + 2;
            (
                Just(rate),
                Just(per),
                Just(burst),
                Just(max_wait),
                // Anywhere, and often just before the scaled units wrap.
                prop_oneof![
                    any::<u64>(),
                    (0..100_000_u64)
                        .prop_map(move |d| (u64::MAX / u64::from(rate)).saturating_sub(d)),
                ],
                prop::collection::vec(op(step), 1..200),
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_word_is_a_token_bucket_and_keeps_the_bound(
        (rate, per, burst, max_wait, origin, ops) in case()
    ) {
        let gcra = Gcra::new(rate, per, burst, max_wait);
        let word = AtomicU64::new(gcra.scaled(origin));
        let mut bucket = Bucket {
            rate: i128::from(rate),
            per: i128::from(per),
            capacity: i128::from(burst) * i128::from(per),
            max_wait: i128::from(max_wait),
            level: i128::from(burst) * i128::from(per),
            at: 0,
            takes: Vec::new(),
        };
        let mut elapsed: u64 = 0;
        // Waiters standing: (take id, the word's value they wrote).
        let mut waiters: Vec<(usize, u64)> = Vec::new();
        // Turns taken, in units, by take id (`None` once given back).
        let mut turns: Vec<Option<i128>> = Vec::new();
        for op in ops {
            let now = origin.wrapping_add(elapsed);
            let units = gcra.scaled(now);
            match op {
                Op::Advance(ns) => elapsed += ns,
                Op::Take | Op::Wait => {
                    let may_wait = matches!(op, Op::Wait);
                    let limit = if may_wait { gcra.max_wait() } else { 0 };
                    let id = turns.len();
                    let (expected, turn) = bucket.call(i128::from(elapsed), may_wait, id);
                    let got = match gcra.admit(&word, || units, limit) {
                        Decision::Now { .. } => Got::Now,
                        Decision::Wait { wait, reserved } => {
                            waiters.push((id, reserved));
                            Got::Wait(gcra.nanos_ceil(wait))
                        }
                        Decision::Rejected { wait } => Got::Rejected(gcra.nanos_ceil(wait)),
                    };
                    prop_assert_eq!(got, expected, "at {} ns", elapsed);
                    turns.push(turn);
                }
                Op::Drop(back) => {
                    if waiters.is_empty() {
                        continue;
                    }
                    let index = waiters.len() - 1 - back.min(waiters.len() - 1);
                    let (id, reserved) = waiters.remove(index);
                    let expected = bucket.give_back(i128::from(elapsed), id);
                    prop_assert_eq!(gcra.give_back(&word, reserved), expected);
                    if expected {
                        turns[id] = None;
                    }
                }
            }
            let tat = word.load(Ordering::Relaxed);
            let now = gcra.scaled(origin.wrapping_add(elapsed));
            prop_assert_eq!(gcra.available(tat, now), bucket.available(i128::from(elapsed)));
            prop_assert_eq!(
                gcra.is_full(tat, now),
                bucket.level == bucket.capacity
            );
        }
        let mut turns: Vec<i128> = turns.into_iter().flatten().collect();
        turns.sort_unstable();
        for i in 0..turns.len() {
            for j in i..turns.len() {
                let allowed = i128::from(burst) + (turns[j] - turns[i]) / i128::from(per);
                prop_assert!(
                    (j - i + 1) as i128 <= allowed,
                    "{} turns within {} units",
                    j - i + 1,
                    turns[j] - turns[i]
                );
            }
        }
    }
}
