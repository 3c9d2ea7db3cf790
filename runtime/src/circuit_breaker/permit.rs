//! [`Permit`]: one admitted call, and the guarantee that it is accounted for.

use core::mem::ManuallyDrop;

use super::{CircuitBreaker, Outcome};

/// Leave to run one call through a [`CircuitBreaker`].
///
/// Report the outcome with [`success`](Permit::success),
/// [`failure`](Permit::failure) or [`ignore`](Permit::ignore). A permit
/// dropped without a report records nothing and gives a half-open probe slot
/// back (the call was cancelled); one dropped while its thread panics records
/// a failure (the panic still propagates). [`CircuitBreaker::call`] and the
/// breaker's futures also record a panic that is caught before their permit
/// is dropped (under `catch_unwind`): they watch for it where it unwinds
/// through them. After [`track_calls`](crate::shutdown::track_calls), the
/// call is counted in flight (for the shutdown drain) from admission until
/// the permit is reported or dropped, whichever way.
#[derive(Debug)]
#[must_use = "a permit records nothing until it is told how the call ended"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    /// The clock reading at admission plus one, when the breaker tracks
    /// durations; 0 otherwise (a plain word keeps the permit three words long).
    started: u64,
    /// `generation << 2 | tracked << 1 | probe`: one word, written and
    /// copied at once (`tracked`: the call is counted in the breaker's
    /// calls in flight, see [`track_calls`](crate::shutdown::track_calls)).
    ticket: u64,
}

/// The ticket's bit for a half-open probe.
const PROBE: u64 = 1;
/// The ticket's bit for a call counted in flight.
const TRACKED: u64 = 2;
/// Where the generation starts in the ticket.
const GENERATION_SHIFT: u32 = 2;

/// The generation that admitted the call of `ticket`.
#[inline]
pub(super) fn generation(ticket: u64) -> u32 {
    // The generation is 29 bits wide (see `state.rs`): the shift loses nothing.
    (ticket >> GENERATION_SHIFT) as u32
}

/// Whether the call of `ticket` is a half-open probe.
#[inline]
pub(super) fn is_probe(ticket: u64) -> bool {
    ticket & PROBE != 0
}

/// Whether the call of `ticket` is counted in flight.
#[inline]
pub(super) fn is_tracked(ticket: u64) -> bool {
    ticket & TRACKED != 0
}

/// Neither a probe nor counted: one test for the breaker's fast path.
#[inline]
pub(super) fn is_plain(ticket: u64) -> bool {
    ticket & (PROBE | TRACKED) == 0
}

impl<'a> Permit<'a> {
    #[inline]
    pub(super) fn new(breaker: &'a CircuitBreaker, generation: u32, probe: bool) -> Self {
        Permit {
            breaker,
            started: breaker.start_time().map_or(0, |t| t.saturating_add(1)),
            ticket: u64::from(generation) << GENERATION_SHIFT | u64::from(probe),
        }
    }

    /// The same permit, for a call the breaker counted in flight: reporting
    /// or dropping it leaves the count.
    #[inline]
    pub(super) fn tracked(self) -> Self {
        let mut this = ManuallyDrop::new(self);
        this.ticket |= TRACKED;
        Permit {
            breaker: this.breaker,
            started: this.started,
            ticket: this.ticket,
        }
    }

    /// Whether this call is a half-open probe.
    #[must_use]
    #[inline]
    pub fn is_probe(&self) -> bool {
        is_probe(self.ticket)
    }

    #[inline]
    fn started(&self) -> Option<u64> {
        self.started.checked_sub(1)
    }

    /// The call succeeded.
    #[inline]
    pub fn success(self) {
        self.finish(Outcome::Success);
    }

    /// The call failed.
    #[inline]
    pub fn failure(self) {
        self.finish(Outcome::Failure);
    }

    /// The call ended in a way that says nothing about the dependency's health.
    #[inline]
    pub fn ignore(self) {
        self.finish(Outcome::Ignored);
    }

    #[inline]
    fn finish(self, outcome: Outcome) {
        // Reported: the drop-time accounting below must not run.
        let this = ManuallyDrop::new(self);
        this.breaker.complete(this.ticket, outcome, this.started());
    }
}

/// A permit's place in a call running through the breaker (the breaker's
/// future, [`CircuitBreaker::call`]): pending until the call asks for
/// admission, then the permit's fields, then empty once the outcome is
/// reported (or the call was rejected).
///
/// It is a [`Permit`] laid out for writing in place, not an
/// `Option<Permit>` beside an "admitted" flag, for two measured reasons
/// (`benches/benches/peers.rs`, `breaker-attribute`, with `perf annotate`):
///
/// - admission writes the two words that change (`started`, `ticket`) one by
///   one, where moving a whole permit into an `Option` inside a future made
///   the compiler assemble it in a temporary and copy it with a 16-byte load
///   that the processor could not forward from the narrower stores just made
///   (a store-forwarding stall: more than half of the attribute's cost);
///   dropping the future reads the ticket alone for the same reason
///   ([`release`](Slot::release) is out of line);
/// - the three states live in the ticket word, so the future is a word
///   smaller than with a flag beside it: every move of the future copies it.
///
/// Dropped holding a permit, it drops that permit (the cancelled or
/// panicking call is accounted for as [`Permit`]'s `Drop` says).
#[derive(Debug)]
pub(super) struct Slot<'a> {
    breaker: &'a CircuitBreaker,
    started: u64,
    /// A permit's ticket, or [`PENDING`](Slot::PENDING) or
    /// [`EMPTY`](Slot::EMPTY): the generation has 29 bits (31 with the
    /// ticket's two flags), so a ticket never reaches either.
    ticket: u64,
}

impl<'a> Slot<'a> {
    const PENDING: u64 = u64::MAX - 1;
    const EMPTY: u64 = u64::MAX;

    /// A slot of `breaker` whose call has not asked for admission yet.
    #[inline]
    pub(super) fn pending(breaker: &'a CircuitBreaker) -> Self {
        Slot {
            breaker,
            started: 0,
            ticket: Self::PENDING,
        }
    }

    /// Whether the call has not asked for admission yet.
    #[inline]
    pub(super) fn is_pending(&self) -> bool {
        self.ticket == Self::PENDING
    }

    /// The breaker the slot belongs to.
    #[inline]
    pub(super) fn breaker(&self) -> &'a CircuitBreaker {
        self.breaker
    }

    /// Keeps `permit` (of this slot's breaker), field by field, in a slot
    /// that holds none.
    #[inline]
    pub(super) fn hold(&mut self, permit: Permit<'a>) {
        debug_assert!(
            !self.holds() && core::ptr::eq(self.breaker, permit.breaker),
            "steadfast: a breaker slot holds one permit of its own breaker"
        );
        let permit = ManuallyDrop::new(permit);
        self.started = permit.started;
        self.ticket = permit.ticket;
    }

    /// The call was rejected: nothing to hold.
    #[inline]
    pub(super) fn close(&mut self) {
        self.ticket = Self::EMPTY;
    }

    #[inline]
    fn holds(&self) -> bool {
        self.ticket < Self::PENDING
    }

    /// The permit held, leaving the slot empty.
    #[inline]
    pub(super) fn take(&mut self) -> Option<Permit<'a>> {
        if !self.holds() {
            return None;
        }
        let ticket = core::mem::replace(&mut self.ticket, Self::EMPTY);
        Some(Permit {
            breaker: self.breaker,
            started: self.started,
            ticket,
        })
    }

    /// Drops the permit held (a cancelled or panicking call): out of line,
    /// so that dropping a slot that holds none reads its ticket alone.
    #[cold]
    #[inline(never)]
    fn release(&mut self) {
        drop(self.take());
    }
}

impl Drop for Slot<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.holds() {
            self.release();
        }
    }
}

/// Records a failure for the permit in its slot if dropped armed, which only
/// a panic unwinding through the call it guards does: the guard is made
/// right before the call runs (or is polled) and [disarmed](Self::disarm)
/// right after it returns. A permit dropped later, after a `catch_unwind`
/// upstream has stopped the unwinding, no longer sees the panic
/// (`std::thread::panicking()` is false by then): this guard has seen it.
#[derive(Debug)]
pub(super) struct FailOnUnwind<'p, 'a>(&'p mut Slot<'a>);

impl<'p, 'a> FailOnUnwind<'p, 'a> {
    /// Armed over `slot` (which may be empty: then it records nothing).
    #[inline]
    pub(super) fn arm(slot: &'p mut Slot<'a>) -> Self {
        FailOnUnwind(slot)
    }

    /// The guarded call returned (ready or not): nothing to record here.
    #[inline]
    pub(super) fn disarm(self) {
        // It holds only a borrow: forgetting it leaks nothing, and skips the
        // drop below.
        core::mem::forget(self);
    }
}

impl Drop for FailOnUnwind<'_, '_> {
    #[cold]
    fn drop(&mut self) {
        if let Some(permit) = self.0.take() {
            permit.failure();
        }
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        // Not reported: cancelled, or unwinding from a panic.
        let outcome = if std::thread::panicking() {
            Outcome::Failure
        } else {
            Outcome::Ignored
        };
        self.breaker.complete(self.ticket, outcome, self.started());
    }
}
