//! Operator commands racing real threads (issue 10, defect 4): a forced
//! state outranks every transition that races it. The loom models
//! (`tests/loom.rs`) check the same protocol exhaustively on a small scale;
//! these run it on the machine's own threads and memory model.

use core::time::Duration;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use super::{CircuitBreaker, Failure, Rejected, State, breaker};

/// Threads failing calls against the breaker while the operator forces it.
const WORKERS: usize = 3;
/// Calls each worker makes once it has seen the command returned.
const CALLS_AFTER: usize = 16;
/// Rounds of reset, race, command. On the old code (the hold kept as
/// `open_until = u64::MAX`, which a racing failure re-armed) the first
/// violation came within a few dozen rounds.
const ROUNDS: usize = 300;

/// Runs `ROUNDS` rounds in which `WORKERS` threads fail calls in a loop
/// against a breaker that any failure opens and that half-opens at once
/// (`open_for` = 0), so that it cycles through every transition, while the
/// operator issues `command` after a varying head start. Returns how many
/// calls that began after `command` had returned were answered against the
/// hold: `wrong` says which answers those are.
fn race(
    command: impl Fn(&CircuitBreaker) + Sync,
    wrong: impl Fn(&Result<(), Failure<(), Rejected>>) -> bool + Sync,
) -> usize {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(1)
            .open_for(Duration::ZERO),
    );
    let commanded = AtomicBool::new(false);
    let finished = AtomicBool::new(false);
    let violations = AtomicUsize::new(0);
    let (start, end) = (Barrier::new(WORKERS + 1), Barrier::new(WORKERS + 1));
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    start.wait();
                    if finished.load(SeqCst) {
                        return;
                    }
                    let mut after = 0;
                    while after < CALLS_AFTER {
                        // Read before asking: if the command had returned by
                        // now, this call is admitted (or not) after it.
                        let after_command = commanded.load(SeqCst);
                        let answer = cb.call(|| Err::<(), _>(()));
                        if after_command {
                            after += 1;
                            if wrong(&answer) {
                                violations.fetch_add(1, SeqCst);
                            }
                        }
                    }
                    end.wait();
                }
            });
        }
        for round in 0..ROUNDS {
            cb.reset();
            commanded.store(false, SeqCst);
            start.wait();
            // A varying head start, so that the command lands in every
            // phase of the workers' open / half-open / reopen cycle.
            for _ in 0..(round % 16) * 50 {
                std::hint::spin_loop();
            }
            command(&cb);
            commanded.store(true, SeqCst);
            end.wait();
            if violations.load(SeqCst) > 0 {
                break;
            }
        }
        finished.store(true, SeqCst);
        start.wait();
    });
    violations.into_inner()
}

#[test]
fn force_open_outranks_failing_calls_racing_it() {
    let admitted = race(CircuitBreaker::force_open, |answer| {
        !matches!(answer, Err(Failure::Rejected(_)))
    });
    assert_eq!(admitted, 0, "calls ran while forced open");
}

#[test]
fn force_closed_outranks_failing_calls_racing_it() {
    let rejected = race(CircuitBreaker::force_closed, |answer| {
        matches!(answer, Err(Failure::Rejected(_)))
    });
    assert_eq!(rejected, 0, "calls rejected while forced closed");
}

#[test]
fn forced_states_are_read_from_the_state_word() {
    let cb = breaker(CircuitBreaker::builder().window_calls(1));
    assert_eq!(cb.forced(), None);
    cb.force_open();
    assert_eq!((cb.state(), cb.forced()), (State::Open, Some(State::Open)));
    cb.force_closed();
    assert_eq!(
        (cb.state(), cb.forced()),
        (State::Closed, Some(State::Closed))
    );
    // Forced closed: calls are recorded, a failure does not open it.
    assert_eq!(cb.call(|| Err::<(), _>(())), Err(Failure::Error(())));
    assert_eq!(cb.window_counts().failures, 1);
    assert_eq!(cb.state(), State::Closed);
    cb.reset();
    assert_eq!((cb.state(), cb.forced()), (State::Closed, None));
    assert_eq!(cb.call(|| Err::<(), _>(())), Err(Failure::Error(())));
    assert_eq!(
        cb.state(),
        State::Open,
        "released, a failure opens it again"
    );
    assert_eq!(cb.transitions(), 4);
}
