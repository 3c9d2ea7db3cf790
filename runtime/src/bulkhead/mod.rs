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
//! the count equal to the queue's length.

mod call;
mod queue;

use core::future::poll_fn;
use core::pin::pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::Poll;
use core::time::Duration;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use call::Slotted;

use crate::{Failure, Lift, Rejected};
use queue::Queue;

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
    name: &'static str,
    max_concurrent: u32,
    max_queue: u32,
    max_wait: Option<Duration>,
    /// `waiting << 32 | running`.
    counts: AtomicU64,
    queue: Mutex<Queue>,
    /// Whether the bulkhead is in the health registry.
    registered: crate::health::Registration,
}

const RUNNING_MASK: u64 = u32::MAX as u64;

fn running(counts: u64) -> u32 {
    (counts & RUNNING_MASK) as u32
}

fn waiting(counts: u64) -> u32 {
    (counts >> 32) as u32
}

const ONE_WAITING: u64 = 1 << 32;

impl Bulkhead {
    /// The defaults: `max_concurrent = 10`, `max_queue = 10`, unbounded `max_wait`.
    pub const fn builder() -> BulkheadBuilder {
        BulkheadBuilder {
            name: "bulkhead",
            max_concurrent: 10,
            max_queue: 10,
            max_wait: None,
        }
    }

    /// The name used in rejections, events and metrics.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Calls running now.
    #[must_use]
    #[inline]
    pub fn running(&self) -> u32 {
        running(self.counts.load(Ordering::Relaxed))
    }

    /// Calls waiting for a slot now.
    #[must_use]
    #[inline]
    pub fn waiting(&self) -> u32 {
        waiting(self.counts.load(Ordering::Relaxed))
    }

    /// Takes a slot, waiting in line if there is room in the queue.
    ///
    /// # Errors
    ///
    /// [`Rejected::BulkheadFull`] when every slot is taken and the queue is
    /// full, or when `max_wait` passes first.
    #[inline]
    pub async fn acquire(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        if self.try_take_slot() {
            return Ok(self.permit());
        }
        self.acquire_slow().await
    }

    /// Takes a slot without waiting: only if one is free and nobody is in line.
    ///
    /// # Errors
    ///
    /// [`Rejected::BulkheadFull`] when no slot is free now.
    #[inline]
    pub fn try_acquire(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        if self.try_take_slot() {
            Ok(self.permit())
        } else {
            Err(self.rejection())
        }
    }

    /// Takes a slot if one is free and nobody is waiting.
    #[inline]
    fn try_take_slot(&self) -> bool {
        let mut counts = self.counts.load(Ordering::Relaxed);
        while waiting(counts) == 0 && running(counts) < self.max_concurrent {
            match self.counts.compare_exchange_weak(
                counts,
                counts + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => counts = actual,
            }
        }
        false
    }

    #[cold]
    async fn acquire_slow(&self) -> Result<BulkheadPermit<'_>, Rejected> {
        let ticket = {
            // Under the lock, so that a releaser that sees us waiting finds us
            // in the queue.
            let mut queue = self.lock();
            let mut counts = self.counts.load(Ordering::Relaxed);
            loop {
                // Joining the line and taking a freed slot are both a CAS on
                // the counts, so a release that lands between our look and
                // our move makes the move fail and be taken again: a caller
                // never waits while a slot is free.
                let (next, order) = if waiting(counts) == 0 && running(counts) < self.max_concurrent
                {
                    (counts + 1, Ordering::Acquire)
                } else if waiting(counts) < self.max_queue {
                    (counts + ONE_WAITING, Ordering::Relaxed)
                } else {
                    return Err(self.rejection());
                };
                match self
                    .counts
                    .compare_exchange_weak(counts, next, order, Ordering::Relaxed)
                {
                    Ok(_) if next == counts + 1 => return Ok(self.permit()),
                    Ok(_) => break,
                    Err(actual) => counts = actual,
                }
            }
            let ticket = queue.push(self.max_queue as usize);
            if crate::meter::ENABLED {
                self.report_counts();
            }
            ticket
        };
        let mut waiter = Waiter {
            bulkhead: self,
            ticket,
            done: false,
        };
        let granted = match self.max_wait {
            None => waiter.wait().await,
            Some(max_wait) => {
                let mut sleep = pin!(tokio::time::sleep(max_wait));
                let mut wait = pin!(waiter.wait());
                poll_fn(|cx| {
                    if let Poll::Ready(granted) = wait.as_mut().poll(cx) {
                        return Poll::Ready(granted);
                    }
                    sleep.as_mut().poll(cx).map(|()| false)
                })
                .await
            }
        };
        if granted {
            waiter.done = true;
            Ok(self.permit())
        } else {
            // Gives up in `Waiter::drop`, which also passes on a slot granted
            // at the last moment.
            drop(waiter);
            Err(self.rejection())
        }
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
            crate::meter::bulkhead_call(self.name, true);
            self.report_counts();
        }
        BulkheadPermit { bulkhead: self }
    }

    /// The running and waiting gauges.
    fn report_counts(&self) {
        let counts = self.counts.load(Ordering::Relaxed);
        crate::meter::bulkhead_counts(self.name, running(counts), waiting(counts));
    }

    /// A rejection, reported.
    #[cold]
    fn rejection(&self) -> Rejected {
        let rejected = Rejected::bulkhead_full(self.name);
        crate::events::rejected(&rejected);
        crate::meter::bulkhead_call(self.name, false);
        rejected
    }

    /// Its `max_concurrent`.
    #[must_use]
    pub const fn max_concurrent(&self) -> u32 {
        self.max_concurrent
    }

    /// Its `max_queue`.
    #[must_use]
    pub const fn max_queue(&self) -> u32 {
        self.max_queue
    }

    /// Adds the bulkhead to [`health`](crate::health()) (once; later calls
    /// are a single relaxed load). The attributes register theirs on first use.
    #[inline]
    pub fn register(&'static self) {
        self.registered
            .ensure(|| crate::health::register_bulkhead(self));
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue's invariants hold between statements; a panic elsewhere
        // while the lock was held cannot break them.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives a slot back: to the first waiter if there is one, else to the pool.
    #[inline]
    fn release(&self) {
        let mut counts = self.counts.load(Ordering::Relaxed);
        while waiting(counts) == 0 {
            match self.counts.compare_exchange_weak(
                counts,
                counts - 1,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => counts = actual,
            }
        }
        self.hand_over();
    }

    #[cold]
    fn hand_over(&self) {
        let mut queue = self.lock();
        match queue.grant_first() {
            Some(waker) => {
                // The slot moves to the waiter: running stays, waiting drops.
                self.counts.fetch_sub(ONE_WAITING, Ordering::Release);
                drop(queue);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            None => {
                // The last waiter left between our look and the lock.
                self.counts.fetch_sub(1, Ordering::Release);
            }
        }
    }
}

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
    ticket: usize,
    done: bool,
}

impl Waiter<'_> {
    /// Resolves to `true` once a slot has been handed to this waiter.
    fn wait(&self) -> impl Future<Output = bool> + '_ {
        poll_fn(move |cx| {
            if self.bulkhead.lock().poll_granted(self.ticket, cx.waker()) {
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
        let mut queue = self.bulkhead.lock();
        if queue.leave(self.ticket) {
            // Still in line: give the place up.
            self.bulkhead
                .counts
                .fetch_sub(ONE_WAITING, Ordering::Relaxed);
            if crate::meter::ENABLED {
                self.bulkhead.report_counts();
            }
        } else {
            // A slot was handed over as we gave up: pass it on.
            drop(queue);
            self.bulkhead.release();
        }
    }
}

/// Builds a [`Bulkhead`] in `const` context. Invalid settings panic, which in
/// a `const` or `static` is a compile error.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct BulkheadBuilder {
    name: &'static str,
    max_concurrent: u32,
    max_queue: u32,
    max_wait: Option<Duration>,
}

impl BulkheadBuilder {
    /// The name in rejections, events and metrics.
    pub const fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Calls running at once (at least 1).
    pub const fn max_concurrent(mut self, calls: u32) -> Self {
        self.max_concurrent = calls;
        self
    }

    /// Calls waiting for a slot; 0 means never wait.
    pub const fn max_queue(mut self, calls: u32) -> Self {
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
            self.max_queue <= 1_000_000,
            "bulkhead: `max_queue` must be at most 1000000"
        );
        Bulkhead {
            name: self.name,
            max_concurrent: self.max_concurrent,
            max_queue: self.max_queue,
            max_wait: self.max_wait,
            counts: AtomicU64::new(0),
            queue: Mutex::new(Queue::new()),
            registered: crate::health::Registration::new(),
        }
    }
}

#[cfg(test)]
mod tests;
