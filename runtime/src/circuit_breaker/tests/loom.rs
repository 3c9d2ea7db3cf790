//! Loom model checks of the breaker's state-word protocol: every interleaving
//! (within a preemption bound) of racing admissions, probe results, reopens
//! and operator commands, run through the functions of `state.rs` that the
//! breaker itself runs, with the same glue as `CircuitBreaker` around them.
//! They are ordinary tests: `cargo test -p steadfast-runtime loom`, with
//! `--nocapture` to see how many interleavings each explored.

use ::loom::sync::Arc;
use ::loom::sync::atomic::AtomicU64;
use ::loom::thread;
use core::sync::atomic::Ordering;

use super::Outcome;
use super::state::{self, Admission, State, Word};
use crate::sync::model::check;

/// The model's clock, which stands still: whether `open_for` has passed is
/// decided by `open_until` alone.
const NOW: u64 = 1_000;

/// The breaker's atomics in loom types (the state word and `open_until`),
/// with `CircuitBreaker`'s glue around the functions of `state.rs`.
struct Breaker {
    word: AtomicU64,
    open_until: AtomicU64,
    half_open_probes: u32,
    open_for: u64,
}

impl Breaker {
    /// A breaker at `word`; `open_until` in the past, so that an open breaker
    /// admits its first probe.
    fn new(half_open_probes: u32, open_for: u64, word: Word) -> Arc<Breaker> {
        Arc::new(Breaker {
            word: AtomicU64::new(word.0),
            open_until: AtomicU64::new(0),
            half_open_probes,
            open_for,
        })
    }

    fn word(&self) -> Word {
        Word(self.word.load(Ordering::Acquire))
    }

    /// `try_acquire` and `acquire_slow`.
    fn acquire(&self) -> Admission {
        let waited_out = || NOW >= self.open_until.load(Ordering::Acquire);
        state::admit(&self.word, self.word(), self.half_open_probes, waited_out)
    }

    /// `complete_probe`: the state the result moved the breaker to, if any.
    fn complete(&self, generation: u32, outcome: Outcome) -> Option<State> {
        state::complete_probe(
            &self.word,
            generation,
            outcome,
            false,
            self.half_open_probes,
            || {},
            || self.arm_open(),
        )
    }

    /// `arm_open`.
    fn arm_open(&self) {
        self.open_until
            .store(NOW + self.open_for, Ordering::Release);
    }

    /// `complete_closed` for a failure admitted in `generation` that trips
    /// the breaker: whether it opened it.
    fn fail_closed(&self, generation: u32) -> bool {
        let word = self.word();
        if word.state() != State::Closed || word.generation() != generation {
            return false;
        }
        state::open(&self.word, word, || self.arm_open())
    }

    /// A caller that runs its call if admitted and fails it: `acquire`, then
    /// `fail_closed` or a failed probe. Whether it was admitted.
    fn failing_call(&self) -> bool {
        match self.acquire() {
            Admission::Call(generation) => {
                self.fail_closed(generation);
                true
            }
            Admission::Probe { generation, .. } => {
                self.complete(generation, Outcome::Failure);
                true
            }
            Admission::Rejected => false,
        }
    }

    /// `force_open`, `force_closed` (but for its window) and `reset`.
    fn command(&self, to: State, hold: bool) -> State {
        state::force(&self.word, to, hold)
    }

    /// What must hold once an operator has forced `to`, until a later
    /// command: the word is held in `to`, and a caller is admitted as a plain
    /// call (forced closed) or rejected (forced open).
    fn assert_forced(&self, to: State) {
        let word = self.word();
        assert_eq!((word.state(), word.held()), (to, true), "{word:?}");
        match (to, self.acquire()) {
            (State::Closed, Admission::Call(_)) | (State::Open, Admission::Rejected) => {}
            (_, admission) => panic!("forced {to:?} answered {admission:?}"),
        }
    }

    /// What must hold whenever no thread is inside the protocol: half-open
    /// always has room for a probe or one running (a breaker "stuck"
    /// half-open would reject every caller forever), and never counts more
    /// probes than it admits.
    fn assert_settled(&self) {
        let word = self.word();
        if word.state() == State::HalfOpen {
            assert!(
                word.in_flight() + word.successes() <= self.half_open_probes,
                "over-admitted: {word:?}"
            );
            assert!(
                word.in_flight() > 0 || word.successes() < self.half_open_probes,
                "stuck half-open with nothing in flight: {word:?}"
            );
        }
    }
}

/// Runs `f` on a new loom thread with its own handle on the breaker.
fn on_thread<R: 'static>(
    breaker: &Arc<Breaker>,
    f: impl FnOnce(&Breaker) -> R + 'static,
) -> thread::JoinHandle<R> {
    let breaker = Arc::clone(breaker);
    thread::spawn(move || f(&breaker))
}

/// Generation 1 in `state`, with `in_flight` probes admitted.
fn first_generation(state: State, in_flight: u32) -> Word {
    Word::INITIAL.advance(state, in_flight)
}

fn probe_generation(admission: Admission) -> Option<u32> {
    match admission {
        Admission::Probe { generation, .. } => Some(generation),
        _ => None,
    }
}

#[test]
fn loom_half_open_admits_exactly_n_probes() {
    // Two racing callers are checked exhaustively; more, within a preemption
    // bound that keeps the run short.
    for (probes, callers, bound) in [
        (1, 2, None),
        (1, 3, Some(3)),
        (2, 3, Some(3)),
        (2, 4, Some(1)),
    ] {
        let name = format!("{probes} probes, {callers} callers");
        check(&name, bound, move || {
            // Open, `open_for` over: the callers race to move it to half-open
            // and to take the probe slots.
            let breaker = Breaker::new(probes, 500, first_generation(State::Open, 0));
            let threads: Vec<_> = (0..callers)
                .map(|_| {
                    let breaker = Arc::clone(&breaker);
                    thread::spawn(move || breaker.acquire())
                })
                .collect();
            let admissions: Vec<Admission> =
                threads.into_iter().map(|t| t.join().unwrap()).collect();
            let admitted: Vec<_> = admissions
                .iter()
                .filter_map(|a| probe_generation(*a))
                .collect();
            assert_eq!(admitted, vec![2; probes as usize], "{admissions:?}");
            let firsts = admissions
                .iter()
                .filter(|a| matches!(a, Admission::Probe { first: true, .. }))
                .count();
            assert_eq!(
                firsts, 1,
                "one caller moves it to half-open: {admissions:?}"
            );
            let word = breaker.word();
            assert_eq!(
                (
                    word.state(),
                    word.generation(),
                    word.in_flight(),
                    word.successes()
                ),
                (State::HalfOpen, 2, probes, 0)
            );
            breaker.assert_settled();
        });
    }
}

#[test]
fn loom_dropped_probes_give_their_slots_back() {
    check("dropped probes", Some(2), || {
        // One slot, three callers that each drop (ignore) the probe they get:
        // never two at once, and the slot is free again at the end.
        let breaker = Breaker::new(1, 500, first_generation(State::Open, 0));
        let running = Arc::new(::loom::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (breaker, running) = (Arc::clone(&breaker), Arc::clone(&running));
                thread::spawn(move || {
                    let generation = probe_generation(breaker.acquire())?;
                    assert_eq!(
                        running.fetch_add(1, Ordering::Relaxed),
                        0,
                        "two probes at once"
                    );
                    running.fetch_sub(1, Ordering::Relaxed);
                    assert_eq!(breaker.complete(generation, Outcome::Ignored), None);
                    Some(generation)
                })
            })
            .collect();
        let admitted = threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .count();
        assert!(admitted >= 1, "the first caller always gets the slot");
        breaker.assert_settled();
        let word = breaker.word();
        assert_eq!(
            (word.state(), word.in_flight(), word.successes()),
            (State::HalfOpen, 0, 0)
        );
        assert_eq!(
            breaker.acquire(),
            Admission::Probe {
                generation: 2,
                first: false
            },
            "a later caller gets the slot back"
        );
    });
}

#[test]
fn loom_probe_failure_racing_a_success_always_reopens() {
    check("failure against success", None, || {
        // Two probe slots; one caller's probe succeeds, the other's fails.
        // However they interleave, the failure reopens the breaker (it is
        // always admitted: only its own failure could stop it), and the
        // success, counted or stale, cannot close it.
        let breaker = Breaker::new(2, 500, first_generation(State::Open, 0));
        let succeeding = on_thread(&breaker, move |breaker| {
            let generation = probe_generation(breaker.acquire())?;
            Some(breaker.complete(generation, Outcome::Success))
        });
        let failing = on_thread(&breaker, move |breaker| {
            let generation = probe_generation(breaker.acquire()).expect("admitted");
            breaker.complete(generation, Outcome::Failure)
        });
        let success = succeeding.join().unwrap();
        assert_eq!(
            failing.join().unwrap(),
            Some(State::Open),
            "the failure reopens"
        );
        assert!(
            matches!(success, None | Some(None)),
            "success moved: {success:?}"
        );
        let word = breaker.word();
        assert_eq!((word.state(), word.generation()), (State::Open, 3));
        assert_eq!(breaker.open_until.load(Ordering::Relaxed), NOW + 500);
        breaker.assert_settled();
    });
}

#[test]
fn loom_stale_probe_result_never_moves_the_new_state() {
    check("stale probe result", Some(3), || {
        // Half-open (generation 1) with two probes out. One fails; with
        // `open_for = 0` a newcomer may at once start generation 3 as a probe;
        // then the other old probe's success arrives, and must not count.
        let breaker = Breaker::new(2, 0, first_generation(State::HalfOpen, 2));
        let failing = on_thread(&breaker, move |breaker| {
            breaker.complete(1, Outcome::Failure)
        });
        let newcomer = on_thread(&breaker, move |breaker| breaker.acquire());
        let late = on_thread(&breaker, move |breaker| {
            breaker.complete(1, Outcome::Success)
        });
        assert_eq!(failing.join().unwrap(), Some(State::Open));
        let newcomer = newcomer.join().unwrap();
        assert_eq!(late.join().unwrap(), None, "a success cannot move it");
        let word = breaker.word();
        match newcomer {
            Admission::Probe { generation, first } => {
                assert_eq!((generation, first), (3, true));
                assert_eq!(
                    (
                        word.state(),
                        word.generation(),
                        word.in_flight(),
                        word.successes()
                    ),
                    (State::HalfOpen, 3, 1, 0),
                    "generation 1's success counted in generation 3"
                );
            }
            _ => assert_eq!((word.state(), word.generation()), (State::Open, 2)),
        }
        breaker.assert_settled();
    });
}

#[test]
fn loom_operator_reset_outranks_a_racing_probe_failure() {
    check("reset against failure", None, || {
        // A probe fails while an operator resets the breaker: whichever lands
        // first, the reset is the last word.
        let breaker = Breaker::new(1, 500, first_generation(State::HalfOpen, 1));
        let failing = on_thread(&breaker, move |breaker| {
            breaker.complete(1, Outcome::Failure)
        });
        let operator = on_thread(&breaker, move |breaker| {
            breaker.command(State::Closed, false)
        });
        let failure = failing.join().unwrap();
        let left = operator.join().unwrap();
        let word = breaker.word();
        assert_eq!(word.state(), State::Closed, "the failure undid the reset");
        match failure {
            Some(State::Open) => assert_eq!((left, word.generation()), (State::Open, 3)),
            _ => assert_eq!((left, word.generation()), (State::HalfOpen, 2)),
        }
    });
}

#[test]
fn loom_reopened_breaker_rejects_until_open_for_passes() {
    check("reopen against newcomer", None, || {
        // The only probe fails while a newcomer arrives. The newcomer sees
        // either half-open with its slot taken, or open in the new generation
        // together with the new `open_until` (stored before the move and
        // published by it): rejected either way, never a probe that skips
        // `open_for`.
        let breaker = Breaker::new(1, 500, first_generation(State::HalfOpen, 1));
        let failing = on_thread(&breaker, move |breaker| {
            breaker.complete(1, Outcome::Failure)
        });
        let newcomer = on_thread(&breaker, move |breaker| breaker.acquire());
        assert_eq!(failing.join().unwrap(), Some(State::Open));
        assert_eq!(newcomer.join().unwrap(), Admission::Rejected);
        assert_eq!(breaker.word().state(), State::Open);
    });
}

/// The breaker of the force models: `open_for = 0`, as in the reported race,
/// so that a re-armed open period is over at once and only the hold keeps
/// callers out.
fn unarmed(word: Word) -> Arc<Breaker> {
    Breaker::new(1, 0, word)
}

#[test]
fn loom_force_outranks_a_racing_closed_failure_and_admission() {
    for to in [State::Open, State::Closed] {
        let name = format!("force {to:?} against failure and admission");
        check(&name, Some(2), move || {
            // Closed; a call admitted in generation 0 fails and trips the
            // breaker while another caller comes in (and fails its call too,
            // as a plain call or a probe), and an operator forces the
            // breaker. However they interleave, once the command has
            // returned the hold is the last word: forced open, the failure's
            // re-armed `open_until` (over at once, with `open_for = 0`) lets
            // no caller in; forced closed, nothing opens it again.
            let breaker = unarmed(Word::INITIAL);
            assert_eq!(breaker.acquire(), Admission::Call(0));
            let failing = on_thread(&breaker, |breaker| breaker.fail_closed(0));
            let newcomer = on_thread(&breaker, |breaker| breaker.failing_call());
            let operator = on_thread(&breaker, move |breaker| {
                breaker.command(to, true);
                breaker.assert_forced(to);
            });
            operator.join().unwrap();
            failing.join().unwrap();
            newcomer.join().unwrap();
            breaker.assert_forced(to);
        });
    }
}

#[test]
fn loom_force_open_outranks_a_racing_probe_result() {
    for outcome in [Outcome::Failure, Outcome::Success] {
        let name = format!("force open against a probe's {outcome:?}");
        check(&name, None, move || {
            // Half-open, its one probe out: the probe's result (a failure
            // reopens and re-arms, a success closes) races the command and a
            // newcomer (who may become the next probe, and fails).
            let breaker = unarmed(first_generation(State::HalfOpen, 1));
            let probe = on_thread(&breaker, move |breaker| breaker.complete(1, outcome));
            let newcomer = on_thread(&breaker, |breaker| breaker.failing_call());
            breaker.command(State::Open, true);
            breaker.assert_forced(State::Open);
            probe.join().unwrap();
            newcomer.join().unwrap();
            breaker.assert_forced(State::Open);
        });
    }
}

#[test]
fn loom_force_closed_outranks_a_racing_reopen_and_admission() {
    check("force closed against reopen and admission", None, || {
        // Half-open, its one probe out and failing (it reopens); a newcomer
        // may take the next probe or, once forced closed, a plain call, and
        // fails it either way. Once `force_closed` has returned, nothing
        // opens the breaker again, and every caller is admitted.
        let breaker = unarmed(first_generation(State::HalfOpen, 1));
        let probe = on_thread(&breaker, |breaker| breaker.complete(1, Outcome::Failure));
        let newcomer = on_thread(&breaker, |breaker| breaker.failing_call());
        breaker.command(State::Closed, true);
        breaker.assert_forced(State::Closed);
        probe.join().unwrap();
        newcomer.join().unwrap();
        breaker.assert_forced(State::Closed);
        // A failure admitted while forced closed trips nothing.
        assert!(breaker.failing_call());
        breaker.assert_forced(State::Closed);
    });
}

#[test]
fn loom_a_forced_state_ends_only_by_a_command() {
    check("release against failure", None, || {
        // Forced open, then released by `reset` while a failure admitted
        // before the hold (generation 0) arrives late and a newcomer fails a
        // call: the release lands as a plain closed word, and the late
        // failure, from an older generation, cannot open it.
        let breaker = unarmed(Word::INITIAL);
        assert_eq!(breaker.acquire(), Admission::Call(0));
        breaker.command(State::Open, true);
        let late = on_thread(&breaker, |breaker| breaker.fail_closed(0));
        let newcomer = on_thread(&breaker, |breaker| breaker.failing_call());
        assert_eq!(breaker.command(State::Closed, false), State::Open);
        assert!(!late.join().unwrap(), "a stale failure opened the breaker");
        let admitted = newcomer.join().unwrap();
        let word = breaker.word();
        assert!(!word.held(), "{word:?}");
        // The newcomer ran only once released, and its failure (a window of
        // one, in the model) may open the breaker again; nothing else did.
        let expected = if admitted {
            (State::Open, 3)
        } else {
            (State::Closed, 2)
        };
        assert_eq!((word.state(), word.generation()), expected);
        breaker.assert_settled();
    });
}

#[test]
fn loom_the_syncers_moves_never_overwrite_a_hold() {
    for to in [State::Open, State::Closed] {
        let name = format!("syncer moves against force {to:?}");
        check(&name, Some(3), move || {
            // A shared breaker's syncer attaches the word, mirrors an open
            // view and detaches it (`state::shift`, as `shared/` does), while
            // an operator forces the breaker: once the command has returned,
            // the hold is the last word, whatever the syncer did around it.
            let breaker = unarmed(Word::DETACHED);
            let syncer = on_thread(&breaker, |breaker| {
                let _ = state::shift(&breaker.word, |w| {
                    w.is_detached().then(|| w.advance(State::Closed, 0))
                });
                let _ = state::shift(&breaker.word, |w| Some(w.advance(State::Open, 0)));
                let _ = state::shift(&breaker.word, |w| {
                    (!w.is_detached()).then(|| w.advance_detached())
                });
            });
            let operator = on_thread(&breaker, move |breaker| {
                breaker.command(to, true);
                breaker.assert_forced(to);
            });
            operator.join().unwrap();
            syncer.join().unwrap();
            breaker.assert_forced(to);
        });
    }
}
