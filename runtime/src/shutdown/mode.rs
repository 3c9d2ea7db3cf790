//! The process's mode word: whether shutdown has begun, whether circuit
//! breakers count their calls in flight, read by every policy's entry
//! (memory ordering: see the [module docs](super)).

use core::sync::atomic::{AtomicU64, Ordering};

/// The process's mode: [`BEGUN`] and [`TRACKING`] bits, 0 in normal
/// operation, so that a policy's entry tells "nothing to do" from one
/// `Relaxed` load compared to 0.
pub(super) static MODE: AtomicU64 = AtomicU64::new(0);

/// [`MODE`]'s bit: shutdown has begun.
pub(super) const BEGUN: u64 = 1;

/// [`MODE`]'s bit: circuit breakers count their calls in flight
/// ([`track_calls`](super::track_calls)).
pub(super) const TRACKING: u64 = 2;

/// Whether shutdown has begun: one `Relaxed` load, for the policies' entry.
#[must_use]
#[inline]
pub fn is_shutting_down() -> bool {
    MODE.load(Ordering::Relaxed) & BEGUN != 0
}

/// Whether the process is in normal operation: shutdown has not begun and
/// calls are not tracked. One `Relaxed` load compared to 0, for the circuit
/// breaker's fast path; anything else takes its cold path.
#[must_use]
#[inline]
pub(crate) fn quiet() -> bool {
    MODE.load(Ordering::Relaxed) == 0
}

/// The mode word, as the cold paths read it (`Relaxed`).
#[inline]
pub(crate) fn mode() -> Mode {
    Mode(MODE.load(Ordering::Relaxed))
}

/// A reading of the mode word.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mode(u64);

impl Mode {
    /// Shutdown has begun.
    pub(crate) fn begun(self) -> bool {
        self.0 & BEGUN != 0
    }

    /// Circuit breakers count their calls in flight.
    pub(crate) fn tracking(self) -> bool {
        self.0 & TRACKING != 0
    }
}
