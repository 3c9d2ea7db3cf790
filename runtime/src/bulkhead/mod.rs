//! Limiting concurrent calls: the [`Bulkhead`].
//!
//! At most `max_concurrent` calls run at once; up to `max_queue` more wait,
//! served in FIFO order, each for at most `max_wait`. A call that finds the
//! queue full, or whose wait runs out, fails at once with
//! [`Rejected::BulkheadFull`] without running.
//!
//! # Guarantees
//!
//! - A slot is held by a [`BulkheadPermit`] and released when it drops: on
//!   success, error, panic (unwinding) and cancellation alike.
//! - A released slot goes straight to the first waiter (it is never put back
//!   for a newcomer to take), so waiters are served in order and a newcomer
//!   cannot overtake them.
//! - A waiter that gives up (timed out or dropped) never takes a slot; if a
//!   slot was handed to it in the meantime, it passes it on.
//!
//! # Implementation and memory ordering
//!
//! Running and waiting counts share one `AtomicU64`. While nobody waits,
//! acquiring and releasing are one compare-and-swap each (`Acquire` on
//! acquisition, `Release` on release, so a call's effects happen-before the
//! next holder of its slot): no lock, no allocation. The waiter queue sits
//! behind a mutex that only callers who must wait, and releasers who must
//! hand over, touch; it is allocated once, at `max_queue` entries, on first
//! use, and every change to the waiting count happens under it, which keeps
//! the count equal to the queue's length. Joining the queue, being served
//! from it and leaving it from any place (a waiter cancelled, or whose
//! `max_wait` passed) each touch at most three of its entries: no walk of
//! the line under the lock, however long it is (`queue.rs`).
//!
//! That protocol is in `slots.rs`, generic over the atomic and the lock, so
//! that the loom checks (`loom.rs`) explore its interleavings.

mod call;
mod queue;
mod slots;

use core::future::poll_fn;
use core::pin::{Pin, pin};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::task::Poll;
use core::time::Duration;
use std::future::Future;
use std::sync::Mutex;

use crate::sync::Lock;

pub use call::Slotted;

use crate::name::PolicyName;
use crate::registry::{Kind, Registration};
use crate::shutdown::Stop;
use crate::{Failure, Lift, Rejected};
use queue::{Queue, Ticket};
use slots::{Join, Slots, running, waiting};

/// A concurrency limit with a bounded FIFO queue. Build it in `const`
/// context; share it through a `static`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::Bulkhead;
///
/// static DATABASE: Bulkhead = Bulkhead::builder()
///     .name("database")
///     .max_concurrent(2)
///     .max_queue(0)
///     .build();
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let first = DATABASE.acquire().await.unwrap();
/// let second = DATABASE.acquire().await.unwrap();
/// assert!(DATABASE.acquire().await.is_err(), "full, and no queue");
/// drop(first);
/// assert!(DATABASE.acquire().await.is_ok());
/// # drop(second);
/// # }
/// ```
#[derive(Debug)]
pub struct Bulkhead {
    /// Its name, resolved on first read.
    name: PolicyName,
    /// The limits, which [`config::apply`](crate::config::apply) may change
    /// (`max_concurrent` and `max_queue` only until a call has waited: see
    /// [`Bulkhead::set_limits`]). `Relaxed`: each value stands alone, and the
    /// two limits are stored and read for joining the line under the queue's
    /// lock.
    max_concurrent: AtomicU32,
    max_queue: AtomicU32,
    /// `max_wait` in nanoseconds; `NO_MAX_WAIT` for none.
    max_wait_nanos: AtomicU64,
    /// The counts and the waiter queue.
    slots: Slots<AtomicU64, Mutex<Queue>>,
    /// Whether the bulkhead is in the registry that `health()` reads.
    registered: Registration,
}

impl Bulkhead {
    /// The longest queue (`max_queue = N`): the waiters' entries are allocated
    /// up front on first contention, so this bounds that memory. The one
    /// place this limit is written; the attribute checks against it.
    pub const MAX_QUEUE: u32 = 1_000_000;

    /// The defaults: `max_concurrent = 10`, `max_queue = 10`, unbounded `max_wait`.
    pub const fn builder() -> BulkheadBuilder {
        BulkheadBuilder {
            name: PolicyName::fixed("bulkhead"),
            max_concurrent: 10,
            max_queue: 10,
            max_wait: None,
        }
    }

    /// The name used in rejections, events, metrics and
    /// [`health`](crate::health()). A located name
    /// ([`BulkheadBuilder::name_located`]) is worked out on the first read,
    /// which no call makes unless it is rejected (or metrics are on).
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name.get()
    }

    /// Calls running now.
    #[must_use]
    #[inline]
    pub fn running(&self) -> u32 {
        running(self.slots.counts.load(Ordering::Relaxed))
    }

    /// Calls waiting for a slot now.
    #[must_use]
    #[inline]
    pub fn waiting(&self) -> u32 {
        waiting(self.slots.counts.load(Ordering::Relaxed))
    }

    /// Takes a slot, waiting in line if there is room in the queue.
    ///
    /// # Errors
    ///
    /// [`Rejected::BulkheadFull`] when every slot is taken and the queue is
    /// full, or when `max_wait` passes first.
    /// [`Rejected::ShuttingDown`] once [shutdown](crate::shutdown()) has
    /// begun, also for a call waiting in line then.
    #[inline]
    pub async fn acquire(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        if !crate::shutdown::is_shutting_down() && self.try_take_slot() {
            return Ok(self.permit());
        }
        self.acquire_slow().await
    }

    /// Takes a slot without waiting: only if one is free and nobody is in line.
    ///
    /// # Errors
    ///
    /// [`Rejected::BulkheadFull`] when no slot is free now,
    /// [`Rejected::ShuttingDown`] once [shutdown](crate::shutdown()) has begun.
    #[inline]
    pub fn try_acquire(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        if crate::shutdown::is_shutting_down() {
            Err(self.shutting_down())
        } else if self.try_take_slot() {
            Ok(self.permit())
        } else {
            Err(self.rejection())
        }
    }

    /// Takes a slot if one is free and nobody is waiting.
    #[inline]
    fn try_take_slot(&self) -> bool {
        self.slots
            .try_take(self.max_concurrent.load(Ordering::Relaxed))
    }

    #[cold]
    async fn acquire_slow(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        let (waiter, mut stop) = match self.line_up() {
            Ok(permit) => return permit,
            Err(in_line) => in_line,
        };
        let granted = {
            let mut sleep = pin!(self.max_wait().map(tokio::time::sleep));
            let mut wait = pin!(waiter.wait());
            poll_fn(|cx| {
                if let Poll::Ready(granted) = wait.as_mut().poll(cx) {
                    return Poll::Ready(Ok(granted));
                }
                if Pin::new(&mut stop).poll(cx).is_ready() {
                    return Poll::Ready(Err(()));
                }
                match sleep.as_mut().as_pin_mut() {
                    Some(sleep) => sleep.poll(cx).map(|()| Ok(false)),
                    None => Poll::Pending,
                }
            })
            .await
        };
        self.served(waiter, granted)
    }

    /// Takes a slot for a call on a plain `fn`: at once if one is free,
    /// else blocking the thread in line (parked, not spinning; served in
    /// FIFO order with the `async` callers) for at most `max_wait`, on the
    /// `std` clock. [Shutdown](crate::shutdown()) wakes a waiting thread.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Bulkhead::acquire).
    #[inline]
    pub fn acquire_blocking(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        if !crate::shutdown::is_shutting_down() && self.try_take_slot() {
            return Ok(self.permit());
        }
        self.acquire_slow_blocking()
    }

    #[cold]
    fn acquire_slow_blocking(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        let (waiter, mut stop) = match self.line_up() {
            Ok(permit) => return permit,
            Err(in_line) => in_line,
        };
        let deadline = self.max_wait().and_then(crate::blocking::deadline_after);
        let granted = {
            let mut wait = pin!(waiter.wait());
            crate::blocking::park_until(deadline, |cx| {
                if let Poll::Ready(granted) = wait.as_mut().poll(cx) {
                    return Poll::Ready(Ok(granted));
                }
                Pin::new(&mut stop).poll(cx).map(|()| Err(()))
            })
            .unwrap_or(Ok(false))
        };
        self.served(waiter, granted)
    }

    /// The slow path's start: a slot or a refusal now (`Ok`), or a place in
    /// line and the shutdown subscription to wait with (`Err`).
    fn line_up(&self) -> Result<Result<BulkheadPermit<'_>, Rejected>, (Waiter<'_>, Stop)> {
        if crate::shutdown::is_shutting_down() {
            return Ok(Err(self.shutting_down()));
        }
        let queued = || {
            if crate::meter::ENABLED {
                self.report_counts();
            }
        };
        let limits = || {
            (
                self.max_concurrent.load(Ordering::Relaxed),
                self.max_queue.load(Ordering::Relaxed),
            )
        };
        let ticket = match self.slots.join(limits, queued) {
            Join::Slot => return Ok(Ok(self.permit())),
            Join::Full => return Ok(Err(self.rejection())),
            Join::Queued(ticket) => ticket,
        };
        let waiter = Waiter {
            bulkhead: self,
            ticket,
            done: false,
        };
        // Subscribed once in line: a shutdown that begins from here on wakes
        // the waiter, one that began before is seen now.
        match Stop::new() {
            Some(stop) => Err((waiter, stop)),
            None => {
                drop(waiter);
                Ok(Err(self.shutting_down()))
            }
        }
    }

    /// The slow path's end: `granted` is `Ok(true)` once served, `Ok(false)`
    /// when `max_wait` passed, `Err(())` when shutdown began.
    fn served<'a>(
        &'a self,
        mut waiter: Waiter<'a>,
        granted: Result<bool, ()>,
    ) -> Result<BulkheadPermit<'a>, Rejected> {
        if granted == Ok(true) {
            waiter.done = true;
            Ok(self.permit())
        } else {
            // Gives up in `Waiter::drop`, which also passes on a slot granted
            // at the last moment.
            drop(waiter);
            Err(match granted {
                Err(()) => self.shutting_down(),
                Ok(_) => self.rejection(),
            })
        }
    }

    /// Runs a synchronous `call` in a slot, taken as
    /// [`acquire_blocking`](Bulkhead::acquire_blocking) takes it; the slot is
    /// released when `call` returns or panics.
    ///
    /// # Errors
    ///
    /// `call`'s own error as [`Failure::Error`], or a refusal (without
    /// running `call`) as [`Failure::Rejected`].
    #[inline]
    pub fn call<T, E>(
        &self,
        call: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, Failure<E, Rejected>> {
        self.wrap_call(|| call().map_err(Failure::Error))
    }

    /// [`call`](Bulkhead::call) for a call whose error already travels as a
    /// [`Failure`].
    #[inline]
    pub fn wrap_call<T, E>(
        &self,
        call: impl FnOnce() -> Result<T, Failure<E, Rejected>>,
    ) -> Result<T, Failure<E, Rejected>> {
        let _permit = self.acquire_blocking().map_err(Failure::Rejected)?;
        call()
    }

    /// Runs `future` in a slot; [`Rejected::BulkheadFull`] if none can be had.
    pub fn run<T, E, F>(
        &self,
        future: F,
    ) -> Slotted<
        '_,
        Lift<F, Rejected>,
        impl Future<Output = Result<BulkheadPermit<'_>, Rejected>> + '_,
    >
    where
        F: Future<Output = Result<T, E>>,
    {
        self.wrap(Lift::new(future))
    }

    /// [`run`](Bulkhead::run) for a call whose error already travels as a
    /// [`Failure`].
    pub fn wrap<T, E, F>(
        &self,
        future: F,
    ) -> Slotted<'_, F, impl Future<Output = Result<BulkheadPermit<'_>, Rejected>> + '_>
    where
        F: Future<Output = Result<T, Failure<E, Rejected>>>,
    {
        // The slow path's future is only built here (a few words written) and
        // polled when no slot is free at once.
        Slotted::new(self, future, self.acquire_slow())
    }

    /// A slot taken, reported.
    #[inline]
    fn permit(&self) -> BulkheadPermit<'_> {
        if crate::meter::ENABLED {
            crate::meter::bulkhead_call(self.name(), true);
            self.report_counts();
        }
        BulkheadPermit { bulkhead: self }
    }

    /// The running and waiting gauges.
    fn report_counts(&self) {
        let counts = self.slots.counts.load(Ordering::Relaxed);
        crate::meter::bulkhead_counts(self.name(), running(counts), waiting(counts));
    }

    /// A rejection, reported.
    #[cold]
    fn rejection(&self) -> Rejected {
        let rejected = Rejected::bulkhead_full(self.name());
        crate::events::rejected(&rejected);
        crate::meter::bulkhead_call(self.name(), false);
        rejected
    }

    /// A refusal during shutdown, reported.
    #[cold]
    fn shutting_down(&self) -> Rejected {
        let rejected = Rejected::shutting_down(self.name());
        crate::events::rejected(&rejected);
        crate::meter::bulkhead_call(self.name(), false);
        rejected
    }

    /// Its `max_concurrent`.
    #[must_use]
    pub fn max_concurrent(&self) -> u32 {
        self.max_concurrent.load(Ordering::Relaxed)
    }

    /// Its `max_queue`.
    #[must_use]
    pub fn max_queue(&self) -> u32 {
        self.max_queue.load(Ordering::Relaxed)
    }

    /// Its `max_wait` (`None`: a waiter waits as long as it takes).
    #[must_use]
    pub fn max_wait(&self) -> Option<Duration> {
        match self.max_wait_nanos.load(Ordering::Relaxed) {
            NO_MAX_WAIT => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Sets `max_wait` (a configuration override): calls that start waiting
    /// from now on wait at most this long.
    pub(crate) fn set_max_wait(&self, max_wait: Option<Duration>) {
        let nanos = max_wait.map_or(NO_MAX_WAIT, |d| {
            crate::circuit_breaker::saturating_nanos(d).min(NO_MAX_WAIT - 1)
        });
        self.max_wait_nanos.store(nanos, Ordering::Relaxed);
    }

    /// Whether `max_concurrent` and `max_queue` may still change: no call
    /// has ever waited, so the line's entries are not allocated yet.
    pub(crate) fn limits_open(&self) -> bool {
        self.slots.queue.with(|queue| !queue.is_allocated())
    }

    /// Sets `max_concurrent` and `max_queue` (a configuration override), if
    /// no call has ever waited; `false`, changing nothing, otherwise. They
    /// are startup settings: the line's entries are allocated once, at
    /// `max_queue`, when the first call waits, and a slot released while
    /// calls wait goes straight to the first of them, so a lowered
    /// `max_concurrent` would not be reached while the line stays busy.
    /// Stored under the queue's lock, where a joiner reads them, so the
    /// line is allocated at the `max_queue` the joiners check against.
    pub(crate) fn set_limits(&self, max_concurrent: u32, max_queue: u32) -> bool {
        self.slots.queue.with(|queue| {
            if queue.is_allocated() {
                return false;
            }
            self.max_concurrent.store(max_concurrent, Ordering::Relaxed);
            self.max_queue.store(max_queue, Ordering::Relaxed);
            true
        })
    }

    /// Adds the bulkhead to [`health`](crate::health()) (once; later calls
    /// are a single relaxed load). The attributes list their per-function
    /// bulkheads from startup, and register a `shared = …` one on its first
    /// call; [`register_bulkhead!`](crate::register_bulkhead) lists a
    /// `static` from startup. A bulkhead whose name another registered
    /// bulkhead already carries is reported (a `tracing` warning, and
    /// `duplicate_name` in `health()`).
    #[inline]
    pub fn register(&'static self) {
        crate::registry::register(self);
    }

    /// Gives a slot back: to the first waiter if there is one, else to the pool.
    #[inline]
    fn release(&self) {
        self.slots.release();
        crate::shutdown::released();
    }
}

crate::registry::policy_member!(Bulkhead, Kind::Bulkhead);

/// `max_wait_nanos` when there is no `max_wait`.
const NO_MAX_WAIT: u64 = u64::MAX;

/// A slot in a [`Bulkhead`], released when dropped.
#[derive(Debug)]
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct BulkheadPermit<'a> {
    bulkhead: &'a Bulkhead,
}

impl Drop for BulkheadPermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.bulkhead.release();
        if crate::meter::ENABLED {
            self.bulkhead.report_counts();
        }
    }
}

/// A place in the queue; leaving it without a slot gives the place up.
struct Waiter<'a> {
    bulkhead: &'a Bulkhead,
    ticket: Ticket,
    done: bool,
}

impl Waiter<'_> {
    /// Resolves to `true` once a slot has been handed to this waiter.
    fn wait(&self) -> impl Future<Output = bool> + '_ {
        poll_fn(move |cx| {
            if self.bulkhead.slots.poll_granted(self.ticket, cx.waker()) {
                Poll::Ready(true)
            } else {
                Poll::Pending
            }
        })
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let left = || {
            if crate::meter::ENABLED {
                self.bulkhead.report_counts();
            }
        };
        self.bulkhead.slots.give_up(self.ticket, left);
    }
}

/// Builds a [`Bulkhead`] in `const` context. Invalid settings panic, which in
/// a `const` or `static` is a compile error.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct BulkheadBuilder {
    name: PolicyName,
    max_concurrent: u32,
    max_queue: u32,
    max_wait: Option<Duration>,
}

impl BulkheadBuilder {
    /// The name it gives (for a keyed state, which carries its policy's name).
    pub(crate) const fn policy_name(&self) -> PolicyName {
        self.name
    }

    /// The name in rejections, events, metrics and `health()` (default
    /// `bulkhead`). One name is one bulkhead: another registered bulkhead of
    /// the same name is reported.
    pub const fn name(mut self, name: &'static str) -> Self {
        self.name = PolicyName::fixed(name);
        self
    }

    /// The name of a bulkhead declared in `function` of `module`
    /// (`module_path!()`), worked out on first read from `here`: as
    /// [`CircuitBreakerBuilder::name_located`](crate::circuit_breaker::CircuitBreakerBuilder::name_located).
    pub const fn name_located(mut self, location: &'static crate::name::Location) -> Self {
        self.name = PolicyName::located(location);
        self
    }

    /// Calls running at once (at least 1).
    pub const fn max_concurrent(mut self, calls: u32) -> Self {
        self.max_concurrent = calls;
        self
    }

    /// Calls waiting for a slot; 0 means never wait.
    ///
    /// # Panics
    ///
    /// Above [`Bulkhead::MAX_QUEUE`] (a compile error in `const` context, and
    /// so for the attribute's `max_queue = N`).
    pub const fn max_queue(mut self, calls: u32) -> Self {
        assert!(
            calls <= Bulkhead::MAX_QUEUE,
            "bulkhead: `max_queue` must be at most 1000000"
        );
        self.max_queue = calls;
        self
    }

    /// How long a call waits for a slot before giving up.
    pub const fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// The finished bulkhead.
    ///
    /// # Panics
    ///
    /// If `max_concurrent` is 0, or `max_queue` is above 1,000,000.
    pub const fn build(self) -> Bulkhead {
        assert!(
            self.max_concurrent >= 1,
            "bulkhead: `max_concurrent` must be at least 1"
        );
        assert!(
            self.max_queue <= Bulkhead::MAX_QUEUE,
            "bulkhead: `max_queue` must be at most 1000000"
        );
        Bulkhead {
            name: self.name,
            max_concurrent: AtomicU32::new(self.max_concurrent),
            max_queue: AtomicU32::new(self.max_queue),
            max_wait_nanos: AtomicU64::new(match self.max_wait {
                Some(max_wait) => {
                    let nanos = crate::circuit_breaker::saturating_nanos(max_wait);
                    if nanos == NO_MAX_WAIT {
                        NO_MAX_WAIT - 1
                    } else {
                        nanos
                    }
                }
                None => NO_MAX_WAIT,
            }),
            slots: Slots {
                counts: AtomicU64::new(0),
                queue: Mutex::new(Queue::new()),
            },
            registered: Registration::new(),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod loom;
