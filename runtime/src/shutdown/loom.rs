//! Loom model checks of the count/flag protocol between a tracking breaker's
//! calls and the drain (`track.rs`): every interleaving of a call being
//! admitted (and finishing) while shutdown begins and the drain reads the
//! count, run through the functions of `track.rs` that the breaker and the
//! drain themselves run. Each checks that a call is either refused or
//! counted by the drain (never admitted and missed), and that the count
//! returns to 0. They are ordinary tests: `cargo test -p steadfast-runtime
//! loom`, with `--nocapture` to see how many interleavings each explored.

use ::loom::sync::atomic::{AtomicBool, AtomicU64};
use ::loom::thread;
use core::sync::atomic::Ordering;
// Not loom's `Arc`: see `bulkhead/loom.rs`.
use std::sync::Arc;

use super::mode::{BEGUN, TRACKING};
use super::track::{begin, enter, in_flight, leave};
use crate::sync::model::check;

/// The process's mode word and one breaker's count, in loom types.
struct Process {
    mode: AtomicU64,
    count: AtomicU64,
    /// Set by the call while it runs (between admission and leaving the
    /// count), watched by the drain from outside the protocol.
    running: AtomicBool,
}

impl Process {
    /// Tracking on, shutdown not begun.
    fn new() -> Arc<Process> {
        Arc::new(Process {
            mode: AtomicU64::new(TRACKING),
            count: AtomicU64::new(0),
            running: AtomicBool::new(false),
        })
    }

    /// `CircuitBreaker::track` after an admission: whether the call runs
    /// (counted), or is refused (the count left at once).
    fn admit(&self) -> bool {
        if enter(&self.mode, &self.count) {
            true
        } else {
            leave(&self.count);
            false
        }
    }

    /// A whole call: admitted, runs, ends (its permit reported). Whether it
    /// ran.
    fn call(&self) -> bool {
        if !self.admit() {
            return false;
        }
        self.running.store(true, Ordering::Relaxed);
        self.running.store(false, Ordering::Relaxed);
        leave(&self.count);
        true
    }

    /// `shutdown`: begins, then reads the count (as the drain's start does).
    fn drain(&self) -> u64 {
        assert!(begin(&self.mode), "shutdown begins once");
        in_flight(&self.count)
    }

    fn settled(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// A call admitted as shutdown begins is seen by the drain: the drain reads
/// it in flight, or the call is refused. The call stays in flight until
/// both threads are done, so an admitted call that the drain read as 0
/// would be one it never waited for.
#[test]
fn loom_a_call_racing_shutdown_is_refused_or_counted() {
    check("a call racing shutdown", None, || {
        let process = Process::new();
        let caller = {
            let process = Arc::clone(&process);
            thread::spawn(move || process.admit())
        };
        let counted = process.drain();
        let admitted = caller.join().unwrap();
        if admitted {
            assert_eq!(counted, 1, "admitted after shutdown began, and not counted");
            leave(&process.count);
        } else {
            assert!(counted <= 1);
        }
        assert_eq!(process.settled(), 0, "the count returns to 0");
        assert_ne!(process.mode.load(Ordering::Relaxed) & BEGUN, 0);
    });
}

/// A whole call (admitted, running, finished) racing the drain: when the
/// drain reads 0, no call is running (it was refused, or has finished, and
/// the drain sees it finished); the count always returns to 0.
#[test]
fn loom_a_drain_that_reads_zero_has_no_call_running() {
    check("a drain reading zero", None, || {
        let process = Process::new();
        let caller = {
            let process = Arc::clone(&process);
            thread::spawn(move || process.call())
        };
        let counted = process.drain();
        if counted == 0 {
            assert!(
                !process.running.load(Ordering::Relaxed),
                "a call runs that the drain does not count"
            );
        }
        caller.join().unwrap();
        assert_eq!(process.settled(), 0, "the count returns to 0");
    });
}

/// Two callers and the drain: each caller is refused or counted, and the
/// count returns to 0.
#[test]
fn loom_two_calls_racing_shutdown_are_each_refused_or_counted() {
    check("two calls racing shutdown", None, || {
        let process = Process::new();
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let process = Arc::clone(&process);
                thread::spawn(move || process.admit())
            })
            .collect();
        let counted = process.drain();
        let admitted: u64 = callers
            .into_iter()
            .map(|caller| u64::from(caller.join().unwrap()))
            .sum();
        assert!(
            counted >= admitted,
            "{admitted} admitted, {counted} counted by the drain"
        );
        for _ in 0..admitted {
            leave(&process.count);
        }
        assert_eq!(process.settled(), 0, "the count returns to 0");
    });
}
