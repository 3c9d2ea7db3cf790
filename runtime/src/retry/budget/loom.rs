//! Loom model checks of the budget's accounting (`window.rs`): every
//! interleaving (within a preemption bound) of concurrent draws, moves of
//! the head to later buckets and first attempts, run through the very
//! functions the budget runs, over loom's atomics. Each checks that no two
//! draws share the last unit of an allowance, and that moving the head
//! loses no count and dates none later than it happened. Ordinary tests:
//! `cargo test -p steadfast-runtime loom`, with `--nocapture` to see how
//! many interleavings each explored.

use ::loom::sync::atomic::AtomicU64;
use ::loom::thread;
// Not loom's `Arc`: see `bulkhead/loom.rs`.
use std::sync::Arc;

use super::window::{Draw, Limits, Window};
use crate::sync::model::check;

/// One retry per first attempt, no floor.
const ONE_PER_CALL: Limits = Limits {
    ratio_ppm: 1_000_000,
    floor_ppm: 0,
};

fn window() -> Arc<Window<AtomicU64>> {
    Arc::new(Window::with(|| AtomicU64::new(0)))
}

/// The epochs of the draws that succeeded among `n` tries at `now`.
fn draws(window: &Window<AtomicU64>, now: u64, n: usize) -> Vec<u64> {
    (0..n)
        .filter_map(|_| match window.withdraw(now, ONE_PER_CALL) {
            Draw::Drawn(epoch) => Some(epoch),
            Draw::Spent(_) => None,
        })
        .collect()
}

#[test]
fn loom_concurrent_draws_take_exactly_the_allowance() {
    check("concurrent draws", Some(3), || {
        let w = window();
        for _ in 0..3 {
            w.deposit();
        }
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let w = Arc::clone(&w);
                thread::spawn(move || draws(&w, 0, 2).len())
            })
            .collect();
        let drawn: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        // Three first attempts pay for three retries: never a fourth (two
        // callers sharing the last unit), never fewer (a lost CAS is
        // retried, not taken for a refusal).
        assert_eq!(drawn, 3);
        assert_eq!(w.view(0).withdrawals, 3);
    });
}

#[test]
fn loom_moves_racing_draws_lose_no_count() {
    check("moves racing draws", Some(3), || {
        let w = window();
        for _ in 0..4 {
            w.deposit();
        }
        assert_eq!(draws(&w, 0, 2).len(), 2);
        // Two callers whose clocks read buckets 1 and 2 move the head and
        // draw at once.
        let threads: Vec<_> = [1, 2]
            .into_iter()
            .map(|now| {
                let w = Arc::clone(&w);
                thread::spawn(move || draws(&w, now, 2))
            })
            .collect();
        let drawn: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        // The four first attempts (bucket 0, still in the window) pay for
        // exactly two more.
        assert_eq!(drawn.len(), 2, "{drawn:?}");
        // Every draw is still counted, in its own bucket: bucket 0's two
        // survive the moves (a late mover cannot lower a closed bucket), and
        // once buckets 0 and 1 have left the window only bucket 2's remain.
        assert_eq!(w.view(2).withdrawals, 4);
        let in_two = drawn.iter().filter(|&&epoch| epoch == 2).count() as u64;
        assert_eq!(w.view(12).withdrawals, in_two);
        assert!(drawn.iter().all(|&epoch| epoch >= 1));
    });
}

#[test]
fn loom_first_attempts_racing_a_move_are_never_dated_later() {
    check("first attempts racing a move", Some(3), || {
        let w = window();
        let depositor = {
            let w = Arc::clone(&w);
            thread::spawn(move || {
                w.deposit();
                w.deposit();
            })
        };
        let mover = {
            let w = Arc::clone(&w);
            thread::spawn(move || w.advance(5))
        };
        depositor.join().unwrap();
        mover.join().unwrap();
        // Bucket 5's entry snapshot was read after some of the deposits:
        // those before it count as bucket 0's, the others as bucket 5's,
        // never later, and none is lost or counted twice.
        assert_eq!(
            w.view(5).deposits,
            2,
            "bucket 0 is in the window: all count"
        );
        let from_five = w.view(14).deposits;
        assert!(from_five <= 2, "{from_five}");
        assert_eq!(w.view(15).deposits, 0, "buckets 0 and 5 left the window");
    });
}
