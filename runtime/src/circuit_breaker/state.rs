//! The breaker's state word: state, probe counts and generation packed in one
//! `AtomicU64`, so that every transition is a single compare-and-swap.
//!
//! ```text
//! bits  0..2   state: 0 closed, 1 open, 2 half-open
//! bits  2..18  probes in flight (half-open)
//! bits 18..34  probes that succeeded (half-open)
//! bits 34..64  generation: +1 on every state change
//! ```
//!
//! The generation is what keeps late results from moving a newer state: a
//! call remembers the generation it was admitted in, and its result is
//! applied only while the word still carries it. It wraps after 2^30
//! transitions, far beyond any call's lifetime.
//!
//! The compare-and-swap protocol on the word (admission, probe results,
//! opening, an operator's command) is here too, generic over the atomic
//! ([`AtomicWord`]) so that the loom checks (`tests/loom.rs`) explore the
//! interleavings of these same functions; the breaker instantiates them with
//! `AtomicU64` and passes its clock, window and events in as closures.

use core::sync::atomic::Ordering;

use super::Outcome;
use crate::sync::AtomicWord;

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
const COUNT_BITS: u32 = 16;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const IN_FLIGHT_SHIFT: u32 = 2;
const SUCCESSES_SHIFT: u32 = IN_FLIGHT_SHIFT + COUNT_BITS;
const GENERATION_SHIFT: u32 = SUCCESSES_SHIFT + COUNT_BITS;

/// The largest `half_open_probes` the word can count.
pub(crate) const MAX_PROBES: u32 = (1 << COUNT_BITS) - 1;

/// A decoded state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    /// The word of a new breaker: closed, generation 0.
    pub(crate) const INITIAL: Word = Word(0);

    pub(crate) fn state(self) -> State {
        match self.0 & STATE_MASK {
            0 => State::Closed,
            1 => State::Open,
            _ => State::HalfOpen,
        }
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

    /// The next state, one generation on.
    pub(crate) fn advance(self, state: State, in_flight: u32) -> Word {
        let generation = u64::from(self.generation().wrapping_add(1)) & ((1 << 30) - 1);
        Word::pack(state, in_flight, 0, generation)
    }

    /// The same state and generation with other probe counts.
    pub(crate) fn with_probes(self, in_flight: u32, successes: u32) -> Word {
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

/// Admits a caller that read `word` from `cell`. Half-open admits a probe
/// while `in flight + succeeded < half_open_probes`; open becomes half-open,
/// its caller the first probe, once `waited_out` (asked only while the word
/// says open) says `open_for` has passed. Each is one compare-and-swap, taken
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
                if !waited_out() {
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
/// still half-open in it: a failure or a slow success reopens (through
/// [`open`], with `arm`); the success that completes `half_open_probes`
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
    arm: impl FnOnce() -> bool,
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

/// Moves the word from `from`'s state and generation to open, unless `arm`
/// (which runs first, and stores when probes may start) refuses. Other
/// probes may change the word's counts meanwhile, which is retried; a change
/// of state or generation means another thread moved the breaker first, and
/// this call's verdict no longer applies. Returns whether it moved the word.
#[inline]
pub(crate) fn open<W: AtomicWord>(cell: &W, mut from: Word, arm: impl FnOnce() -> bool) -> bool {
    if !arm() {
        return false;
    }
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

/// Moves the word to `to` from whatever state it is in (an operator's
/// command): a new generation, so calls admitted before it do not count.
/// Returns the state it left.
#[inline]
pub(crate) fn force<W: AtomicWord>(cell: &W, to: State) -> State {
    let mut word = Word(cell.load(Ordering::Acquire));
    loop {
        let next = word.advance(to, 0);
        match cell.compare_exchange_weak(word.0, next.0, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return word.state(),
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
        let mut w = Word::pack(State::Closed, 0, 0, (1 << 30) - 1);
        w = w.advance(State::Open, 0);
        assert_eq!((w.state(), w.generation()), (State::Open, 0));
    }
}
