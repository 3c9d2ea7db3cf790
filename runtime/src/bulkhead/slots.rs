//! The bulkhead's accounting: the running and waiting counts in one atomic
//! word, and the hand-off of released slots to waiters under the queue's
//! lock. Generic over the atomic and the lock ([`crate::sync`]) so that the
//! loom checks (`loom.rs`) explore the interleavings of these same
//! functions; the bulkhead instantiates them with `AtomicU64` and
//! `std::sync::Mutex`.

use core::sync::atomic::Ordering;
use core::task::Waker;

use super::queue::{Queue, Ticket};
use crate::sync::{AtomicWord, Lock};

/// The counts and the waiter queue. The limits (`max_concurrent`,
/// `max_queue`) are the bulkhead's, passed in.
#[derive(Debug)]
pub(super) struct Slots<C, L> {
    /// `waiting << 32 | running`.
    pub(super) counts: C,
    pub(super) queue: L,
}

const RUNNING_MASK: u64 = u32::MAX as u64;

pub(super) fn running(counts: u64) -> u32 {
    (counts & RUNNING_MASK) as u32
}

pub(super) fn waiting(counts: u64) -> u32 {
    (counts >> 32) as u32
}

const ONE_WAITING: u64 = 1 << 32;

/// How [`Slots::join`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Join {
    /// A slot was free after all, and is taken.
    Slot,
    /// In line, with this ticket.
    Queued(Ticket),
    /// Every slot is taken and the queue is full.
    Full,
}

impl<C: AtomicWord, L: Lock<Queue>> Slots<C, L> {
    /// Takes a slot if one is free and nobody is waiting.
    #[inline]
    pub(super) fn try_take(&self, max_concurrent: u32) -> bool {
        let mut counts = self.counts.load(Ordering::Relaxed);
        while waiting(counts) == 0 && running(counts) < max_concurrent {
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

    /// Joins the line, or takes a slot freed since [`try_take`](Slots::try_take)
    /// failed. `queued` runs after joining, with the lock still held.
    /// `limits` gives `max_concurrent` and `max_queue`, read under the lock
    /// (where a configuration override stores them).
    pub(super) fn join(&self, limits: impl FnOnce() -> (u32, u32), queued: impl FnOnce()) -> Join {
        // Under the lock, so that a releaser that sees us waiting finds us in
        // the queue.
        self.queue.with(|queue| {
            let (max_concurrent, max_queue) = limits();
            let mut counts = self.counts.load(Ordering::Relaxed);
            loop {
                // Joining the line and taking a freed slot are both a CAS on
                // the counts, so a release that lands between our look and
                // our move makes the move fail and be taken again: a caller
                // never waits while a slot is free.
                let (next, order) = if waiting(counts) == 0 && running(counts) < max_concurrent {
                    (counts + 1, Ordering::Acquire)
                } else if waiting(counts) < max_queue {
                    (counts + ONE_WAITING, Ordering::Relaxed)
                } else {
                    return Join::Full;
                };
                match self
                    .counts
                    .compare_exchange_weak(counts, next, order, Ordering::Relaxed)
                {
                    Ok(_) if next == counts + 1 => return Join::Slot,
                    Ok(_) => break,
                    Err(actual) => counts = actual,
                }
            }
            let ticket = queue.push(max_queue as usize);
            queued();
            Join::Queued(ticket)
        })
    }

    /// Whether a slot has been handed to `ticket`; if not, `waker` will be
    /// woken when one is.
    pub(super) fn poll_granted(&self, ticket: Ticket, waker: &Waker) -> bool {
        self.queue.with(|queue| queue.poll_granted(ticket, waker))
    }

    /// Gives a slot back: to the first waiter if there is one, else to the pool.
    #[inline]
    pub(super) fn release(&self) {
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
        let granted = self.queue.with(|queue| match queue.grant_first() {
            Some(waker) => {
                // The slot moves to the waiter: running stays, waiting drops.
                self.counts.fetch_sub(ONE_WAITING, Ordering::Release);
                waker
            }
            None => {
                // The last waiter left between our look and the lock.
                self.counts.fetch_sub(1, Ordering::Release);
                None
            }
        });
        // Woken once the lock is released.
        if let Some(waker) = granted {
            waker.wake();
        }
    }

    /// Gives up `ticket`'s place: leaves the line (then `left` runs, with the
    /// lock still held), or, if a slot was handed to it in the meantime,
    /// passes that slot on.
    pub(super) fn give_up(&self, ticket: Ticket, left: impl FnOnce()) {
        let still_waiting = self.queue.with(|queue| {
            if queue.leave(ticket) {
                // Still in line: give the place up.
                self.counts.fetch_sub(ONE_WAITING, Ordering::Relaxed);
                left();
                true
            } else {
                false
            }
        });
        if !still_waiting {
            // A slot was handed over as we gave up: pass it on, without the lock.
            self.release();
        }
    }
}
