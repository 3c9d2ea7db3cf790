//! Loom model checks of the admission protocol: every interleaving (within a
//! preemption bound) of callers taking turns, waiting, giving turns back and
//! moving the clock, run through the functions of `gcra.rs` that the limiter
//! itself runs, with the clock a shared atomic that threads advance (read
//! `Relaxed`: only the word's `Acquire`/`Release` order a caller's reading
//! after the reading that produced the TAT it sees, which is what `gcra.rs`
//! relies on). Each model checks that no two admissions share a turn (every
//! one moved the word to a value of its own) and that the turns taken keep
//! `burst + floor(rate × t / per)` in every window. They are ordinary tests:
//! `cargo test -p steadfast-runtime loom`, with `--nocapture` to see how many
//! interleavings each explored.

use ::loom::sync::atomic::AtomicU64;
use ::loom::thread;
use core::sync::atomic::Ordering;
// Not loom's `Arc`: see `bulkhead/loom.rs`.
use std::sync::Arc;

use super::gcra::{Decision, Gcra};
use crate::sync::model::check;

/// 3 calls per 10 ns (a turn is 10/3 ns: 10 units of a third of a
/// nanosecond), 2 at once, waiting up to 10 ns (three turns).
const RATE: u32 = 3;
const PER_NS: u64 = 10;
const BURST: u32 = 2;
const MAX_WAIT_NS: u64 = 10;
/// One turn, in units.
const INTERVAL: u64 = 10;

struct Limiter {
    gcra: Gcra,
    word: AtomicU64,
    /// Nanoseconds since the origin.
    clock: AtomicU64,
}

/// One call's result: the word's value it wrote, and its turn (in units),
/// if it took one.
#[derive(Debug, Clone, Copy)]
struct Taken {
    reserved: u64,
    turn: u64,
    waited: bool,
}

impl Limiter {
    fn new(max_wait_ns: u64) -> Arc<Limiter> {
        Arc::new(Limiter {
            gcra: Gcra::new(RATE, PER_NS, BURST, max_wait_ns),
            word: AtomicU64::new(0),
            clock: AtomicU64::new(0),
        })
    }

    /// `RateLimiter::admit`: `may_wait` as `acquire`, else as `try_acquire`.
    fn call(&self, may_wait: bool) -> Option<Taken> {
        let mut read = 0;
        let clock = || {
            read = self.gcra.scaled(self.clock.load(Ordering::Relaxed));
            read
        };
        let limit = if may_wait { self.gcra.max_wait() } else { 0 };
        match self.gcra.admit(&self.word, clock, limit) {
            Decision::Now { reserved } => Some(Taken {
                reserved,
                turn: read,
                waited: false,
            }),
            Decision::Wait { wait, reserved } => Some(Taken {
                reserved,
                turn: read + wait,
                waited: true,
            }),
            Decision::Rejected { .. } => None,
        }
    }

    fn advance(&self, ns: u64) {
        self.clock.fetch_add(ns, Ordering::Relaxed);
    }
}

/// No two turns share the word's value, and the turns keep the bound.
fn assert_turns(taken: &[Taken]) {
    let mut reserved: Vec<u64> = taken.iter().map(|t| t.reserved).collect();
    reserved.sort_unstable();
    reserved.dedup();
    assert_eq!(
        reserved.len(),
        taken.len(),
        "two admissions share a turn: {taken:?}"
    );
    let mut turns: Vec<u64> = taken.iter().map(|t| t.turn).collect();
    turns.sort_unstable();
    for i in 0..turns.len() {
        for j in i..turns.len() {
            let allowed = u64::from(BURST) + (turns[j] - turns[i]) / INTERVAL;
            assert!(
                (j - i + 1) as u64 <= allowed,
                "{} turns within {} units: {taken:?}",
                j - i + 1,
                turns[j] - turns[i]
            );
        }
    }
}

fn spawn<T: Send + 'static>(
    limiter: &Arc<Limiter>,
    f: impl FnOnce(&Limiter) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let limiter = Arc::clone(limiter);
    thread::spawn(move || f(&limiter))
}

#[test]
fn loom_rate_limit_callers_and_the_clock_race_without_breaking_the_bound() {
    check("gcra admissions", Some(3), || {
        // No waiting: the horizon is the burst, so a caller that read the
        // clock before the reading behind the TAT it sees (were the word's
        // orderings weaker) would take a drained bucket for a full one.
        let limiter = Limiter::new(0);
        let callers = [
            spawn(&limiter, |l| {
                l.advance(2);
                [l.call(false), l.call(false)]
            }),
            spawn(&limiter, |l| [l.call(false), l.call(false)]),
            spawn(&limiter, |l| [l.call(false), None]),
        ];
        let taken: Vec<Taken> = callers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .flatten()
            .collect();
        assert!(
            taken.len() >= BURST as usize,
            "a full bucket admits its burst"
        );
        assert_turns(&taken);
    });
}

#[test]
fn loom_rate_limit_waiters_and_give_backs() {
    check("gcra waiters", Some(3), || {
        let limiter = Limiter::new(MAX_WAIT_NS);
        // The bucket is empty: the calls below wait, or are refused.
        for _ in 0..BURST {
            limiter.call(false).unwrap();
        }
        let giving_up = spawn(&limiter, |l| {
            let taken = l.call(true);
            let given_back = match taken {
                Some(t) if t.waited => l.gcra.give_back(&l.word, t.reserved),
                _ => false,
            };
            (taken, given_back)
        });
        let staying = spawn(&limiter, |l| {
            let first = l.call(true);
            l.advance(1);
            [first, l.call(true)]
        });
        let (dropped, given_back) = giving_up.join().unwrap();
        // A turn given back with a reservation behind it would be taken
        // again by the later call (two admissions sharing a turn), and the
        // word would end below the standing turns.
        let mut taken: Vec<Taken> = staying.join().unwrap().into_iter().flatten().collect();
        taken.extend(dropped.filter(|_| !given_back));
        // The two taken at first, at time 0.
        taken.push(Taken {
            reserved: INTERVAL,
            turn: 0,
            waited: false,
        });
        taken.push(Taken {
            reserved: 2 * INTERVAL,
            turn: 0,
            waited: false,
        });
        assert_turns(&taken);
        // The word is where the standing turns put it.
        let last = taken.iter().map(|t| t.reserved).max().unwrap();
        assert_eq!(limiter.word.load(Ordering::Relaxed), last);
    });
}
