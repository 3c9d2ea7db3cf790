//! The breaker's state word: state, an operator's hold, probe counts and
//! generation packed in one `AtomicU64`, so that every transition is a single
//! compare-and-swap.
//!
//! ```text
//! bits  0..2   state: 0 closed, 1 open, 2 half-open, 3 detached
//! bit   2      held: an operator's command holds the state (closed or open)
//! bits  3..19  probes in flight (half-open)
//! bits 19..35  probes that succeeded (half-open)
//! bits 35..64  generation: +1 on every state change
//! ```
//!
//! *Detached* is a shared breaker's word while no syncer keeps it in step
//! with its store (`shared/`): public readers see it as closed, but it is not
//! state 0, so the closed fast path (`state bits == 0`) does not take it and
//! the first call goes the slow way, which starts the syncer and attaches the
//! word (detached → closed, one generation on). A non-shared breaker's word
//! is never detached.
//!
//! The generation is what keeps late results from moving a newer state: a
//! call remembers the generation it was admitted in, and its result is
//! applied only while the word still carries it. It wraps after 2^29
//! transitions, far beyond any call's lifetime.
//!
//! The compare-and-swap protocol on the word (admission, probe results,
//! opening, an operator's command) is here too, generic over the atomic
//! ([`AtomicWord`]) so that the loom checks (`tests/loom.rs`) explore the
//! interleavings of these same functions; the breaker instantiates them with
//! `AtomicU64` and passes its clock, window and events in as closures.
//!
//! # Invariant: an operator's command outranks every racing transition
//!
//! A command ([`force`]: `force_open`, `force_closed`, `reset`) is one
//! compare-and-swap to a new generation, whatever the word held; the hold is
//! a bit of that same word, not a separate flag. Every other transition is a
//! compare-and-swap from the exact word its caller read and judged ([`admit`]
//! from open, [`complete_probe`], [`open`]), and each of them refuses a held
//! word: [`admit`] rejects while held open (without asking the clock) and
//! admits a plain call while held closed, [`open`] does nothing from a held
//! word, and a held word is never half-open, so no probe result applies to
//! it. Hence:
//!
//! - a transition that lands before the command's compare-and-swap is
//!   overwritten by it; one that had read the word before it and lands after
//!   fails its compare-and-swap (the word changed), rereads a held word and
//!   gives up. A held word changes only by another command.
//! - once `force_open()` has returned, every caller is rejected until a
//!   command releases the breaker; once `force_closed()` has returned, every
//!   caller is admitted as a plain call, and nothing opens the breaker, until
//!   then.
//!
//! Side effects that run before a transition's compare-and-swap (`arm`'s
//! store of `open_until`, `reset`'s fresh window) may still run for a
//! transition that then loses to a command: they are harmless there, because
//! a held word ignores `open_until`, and a window only counts calls.

use core::sync::atomic::Ordering;

use crate::sync::AtomicWord;

/// How a call ended, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
    /// Neither: an error `failure_if` does not count, or a dropped call.
    Ignored,
}

/// The three states of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls run; outcomes are recorded in the window.
    Closed,
    /// Calls are rejected with `Rejected::CircuitOpen` until `open_for` has passed.
    Open,
    /// A limited number of probe calls run; their outcomes decide between
    /// closed and open.
    HalfOpen,
}

impl State {
    /// `"closed"`, `"open"` or `"half_open"`, as in events and metrics.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

const STATE_MASK: u64 = 0b11;
const DETACHED: u64 = 0b11;
const HELD: u64 = 0b100;
const COUNT_BITS: u32 = 16;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const IN_FLIGHT_SHIFT: u32 = 3;
const SUCCESSES_SHIFT: u32 = IN_FLIGHT_SHIFT + COUNT_BITS;
const GENERATION_SHIFT: u32 = SUCCESSES_SHIFT + COUNT_BITS;
const GENERATION_MASK: u64 = (1 << (64 - GENERATION_SHIFT)) - 1;

/// The largest `half_open_probes` the word can count.
pub(crate) const MAX_PROBES: u32 = (1 << COUNT_BITS) - 1;

/// A decoded state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    /// The word of a new breaker: closed, generation 0.
    pub(crate) const INITIAL: Word = Word(0);

    /// The word of a new shared breaker: detached, generation 0.
    pub(crate) const DETACHED: Word = Word(DETACHED);

    /// The public state: a detached word reads as closed.
    pub(crate) fn state(self) -> State {
        match self.0 & STATE_MASK {
            0 | DETACHED => State::Closed,
            1 => State::Open,
            _ => State::HalfOpen,
        }
    }

    /// Closed and attached (state bits 0, held or not): the fast path's test.
    #[inline]
    pub(crate) fn admits_at_once(self) -> bool {
        self.0 & STATE_MASK == 0
    }

    /// A shared breaker's word with no syncer attached (see above).
    pub(crate) fn is_detached(self) -> bool {
        self.0 & STATE_MASK == DETACHED
    }

    /// Whether an operator's command holds the state (see the invariant above).
    pub(crate) fn held(self) -> bool {
        self.0 & HELD != 0
    }

    pub(crate) fn in_flight(self) -> u32 {
        ((self.0 >> IN_FLIGHT_SHIFT) & COUNT_MASK) as u32
    }

    pub(crate) fn successes(self) -> u32 {
        ((self.0 >> SUCCESSES_SHIFT) & COUNT_MASK) as u32
    }

    pub(crate) fn generation(self) -> u32 {
        (self.0 >> GENERATION_SHIFT) as u32
    }

    /// The next state, one generation on, not held.
    pub(crate) fn advance(self, state: State, in_flight: u32) -> Word {
        let generation = u64::from(self.generation().wrapping_add(1)) & GENERATION_MASK;
        Word::pack(state, in_flight, 0, generation)
    }

    /// Detached, one generation on, not held.
    pub(crate) fn advance_detached(self) -> Word {
        Word(self.advance(State::Closed, 0).0 | DETACHED)
    }

    /// The next state, one generation on, held by an operator's command.
    pub(crate) fn advance_held(self, state: State) -> Word {
        debug_assert!(state != State::HalfOpen, "only closed or open is held");
        Word(self.advance(state, 0).0 | HELD)
    }

    /// The same state and generation with other probe counts (half-open,
    /// which is never held).
    pub(crate) fn with_probes(self, in_flight: u32, successes: u32) -> Word {
        debug_assert!(!self.held());
        Word::pack(
            self.state(),
            in_flight,
            successes,
            u64::from(self.generation()),
        )
    }

    fn pack(state: State, in_flight: u32, successes: u32, generation: u64) -> Word {
        let state = match state {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        };
        debug_assert!(in_flight <= MAX_PROBES && successes <= MAX_PROBES);
        Word(
            state
                | (u64::from(in_flight) & COUNT_MASK) << IN_FLIGHT_SHIFT
                | (u64::from(successes) & COUNT_MASK) << SUCCESSES_SHIFT
                | generation << GENERATION_SHIFT,
        )
    }
}

/// How [`admit`] answered a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Closed: an ordinary call, admitted in this generation.
    Call(u32),
    /// A half-open probe, admitted in `generation`; `first` when this caller
    /// moved the breaker from open to half-open.
    Probe { generation: u32, first: bool },
    /// Open, or half-open with every probe slot taken.
    Rejected,
}

/// Admits a caller that read `word` from `cell`. Closed (held or not) admits
/// a plain call; held open rejects. Half-open admits a probe while `in flight
/// + succeeded < half_open_probes`; open becomes half-open, its caller the
/// first probe, once `waited_out` (asked only while the word says open and
/// not held) says `open_for` has passed. Each is one compare-and-swap, taken
/// again from the word it failed on: however many callers race, exactly
/// `half_open_probes` are admitted per half-open generation.
#[inline]
pub(crate) fn admit<W: AtomicWord>(
    cell: &W,
    mut word: Word,
    half_open_probes: u32,
    waited_out: impl Fn() -> bool,
) -> Admission {
    loop {
        let next = match word.state() {
            State::Closed => return Admission::Call(word.generation()),
            State::Open => {
                // Held open: rejected whatever `open_until` says (a racing
                // opener may have re-armed it after the command).
                if word.held() || !waited_out() {
                    return Admission::Rejected;
                }
                // The caller that moves the breaker to half-open is its first probe.
                word.advance(State::HalfOpen, 1)
            }
            State::HalfOpen => {
                if word.in_flight() + word.successes() >= half_open_probes {
                    return Admission::Rejected;
                }
                word.with_probes(word.in_flight() + 1, word.successes())
            }
        };
        match cell.compare_exchange_weak(word.0, next.0, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                return Admission::Probe {
                    generation: next.generation(),
                    first: word.state() == State::Open,
                };
            }
            Err(actual) => word = Word(actual),
        }
    }
}

/// Applies the outcome of a probe admitted in `generation`, if the word is
/// still half-open in it (so not held): a failure or a slow success reopens
/// (through [`open`], with `arm`); the success that completes `half_open_probes`
/// closes, `reset` running first (a fresh window); other outcomes update the
/// counts, an ignored one giving its slot back. Returns the state it moved
/// the breaker to, if it did.
#[inline]
pub(crate) fn complete_probe<W: AtomicWord>(
    cell: &W,
    generation: u32,
    outcome: Outcome,
    slow: bool,
    half_open_probes: u32,
    reset: impl Fn(),
    arm: impl FnOnce(),
) -> Option<State> {
    let mut word = Word(cell.load(Ordering::Acquire));
    loop {
        if word.state() != State::HalfOpen || word.generation() != generation {
            return None;
        }
        let in_flight = word.in_flight().saturating_sub(1);
        let next = match outcome {
            // A slow probe does not show a recovered dependency.
            Outcome::Failure => return open(cell, word, arm).then_some(State::Open),
            Outcome::Success if slow => return open(cell, word, arm).then_some(State::Open),
            Outcome::Success if word.successes() + 1 >= half_open_probes => {
                reset();
                word.advance(State::Closed, 0)
            }
            Outcome::Success => word.with_probes(in_flight, word.successes() + 1),
            Outcome::Ignored => word.with_probes(in_flight, word.successes()),
        };
        match cell.compare_exchange_weak(word.0, next.0, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return (next.state() == State::Closed).then_some(State::Closed),
            Err(actual) => word = Word(actual),
        }
    }
}

/// Moves the word from `from`'s state and generation to open, `arm` running
/// first (it stores when probes may start), unless `from` is held by an
/// operator's command. Other probes may change the word's counts meanwhile,
/// which is retried; a change of state or generation (a command always makes
/// one) means another thread moved the breaker first, and this call's verdict
/// no longer applies. Returns whether it moved the word.
#[inline]
pub(crate) fn open<W: AtomicWord>(cell: &W, mut from: Word, arm: impl FnOnce()) -> bool {
    if from.held() {
        return false;
    }
    arm();
    let (state, generation) = (from.state(), from.generation());
    while let Err(actual) = cell.compare_exchange_weak(
        from.0,
        from.advance(State::Open, 0).0,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        from = Word(actual);
        if from.state() != state || from.generation() != generation {
            return false;
        }
    }
    true
}

/// Moves the word to `to` (closed or open) from whatever it holds, held there
/// when `hold`, else released (an operator's command): a new generation, so
/// calls admitted before it do not count, and a transition racing it cannot
/// land after it (see the invariant above). Returns the state it left.
#[inline]
pub(crate) fn force<W: AtomicWord>(cell: &W, to: State, hold: bool) -> State {
    force_with(cell, |word| {
        if hold {
            word.advance_held(to)
        } else {
            word.advance(to, 0)
        }
    })
}

/// [`force`] to the word `next` makes of the current one (which is one
/// generation on): a shared breaker's `reset` without a syncer goes back to
/// detached this way. Returns the state it left.
#[inline]
pub(crate) fn force_with<W: AtomicWord>(cell: &W, next: impl Fn(Word) -> Word) -> State {
    let mut word = Word(cell.load(Ordering::Acquire));
    loop {
        match cell.compare_exchange_weak(word.0, next(word).0, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return word.state(),
            Err(actual) => word = Word(actual),
        }
    }
}

/// Moves an unheld word to what `next` makes of it (`None`: leave it), one
/// compare-and-swap taken again from the word it failed on: the shared
/// breaker's syncer mirrors the store's view, attaches and detaches the word
/// with it. A held word is never moved (the invariant above: only a command
/// changes it). `next` must return a word one generation on (the generation
/// is what fences calls admitted before). Returns the word it left and the
/// word it set.
#[inline]
pub(crate) fn shift<W: AtomicWord>(
    cell: &W,
    next: impl Fn(Word) -> Option<Word>,
) -> Option<(Word, Word)> {
    let mut word = Word(cell.load(Ordering::Acquire));
    loop {
        if word.held() {
            return None;
        }
        let to = next(word)?;
        match cell.compare_exchange_weak(word.0, to.0, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some((word, to)),
            Err(actual) => word = Word(actual),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let w = Word::INITIAL;
        assert_eq!(
            (w.state(), w.in_flight(), w.successes(), w.generation()),
            (State::Closed, 0, 0, 0)
        );
        let h = w.advance(State::HalfOpen, 1);
        assert_eq!(
            (h.state(), h.in_flight(), h.successes(), h.generation()),
            (State::HalfOpen, 1, 0, 1)
        );
        let p = h.with_probes(MAX_PROBES, 7);
        assert_eq!(
            (p.state(), p.in_flight(), p.successes(), p.generation()),
            (State::HalfOpen, MAX_PROBES, 7, 1)
        );
        let o = p.advance(State::Open, 0);
        assert_eq!(
            (o.state(), o.in_flight(), o.successes(), o.generation()),
            (State::Open, 0, 0, 2)
        );
    }

    #[test]
    fn generation_wraps_without_touching_other_fields() {
        let mut w = Word::pack(State::Closed, 0, 0, GENERATION_MASK);
        w = w.advance(State::Open, 0);
        assert_eq!((w.state(), w.generation()), (State::Open, 0));
    }

    #[test]
    fn a_hold_is_kept_apart_from_state_counts_and_generation() {
        let h = Word::pack(State::HalfOpen, MAX_PROBES, MAX_PROBES, GENERATION_MASK);
        assert!(!h.held());
        let held = h.advance_held(State::Open);
        assert_eq!(
            (
                held.state(),
                held.held(),
                held.in_flight(),
                held.successes()
            ),
            (State::Open, true, 0, 0)
        );
        assert_eq!(held.generation(), 0, "wrapped");
        let released = held.advance(State::Closed, 0);
        assert_eq!(
            (released.state(), released.held(), released.generation()),
            (State::Closed, false, 1)
        );
    }
}
