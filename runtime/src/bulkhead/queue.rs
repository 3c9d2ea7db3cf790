//! The bulkhead's waiter queue: FIFO order over a set of entries allocated
//! once at `max_queue` entries, so waiting allocates nothing in the common
//! case (see `Queue::push` for the exception).

use std::collections::VecDeque;
use std::task::Waker;

#[derive(Debug)]
pub(super) struct Queue {
    /// Tickets in arrival order.
    order: VecDeque<usize>,
    /// Per ticket: its waker, and whether a slot was handed to it.
    entries: Vec<Entry>,
    /// Tickets not in use.
    free: Vec<usize>,
}

#[derive(Debug, Default)]
struct Entry {
    waker: Option<Waker>,
    granted: bool,
}

impl Queue {
    pub(super) const fn new() -> Self {
        Queue {
            order: VecDeque::new(),
            entries: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Joins the back of the line; `capacity` is `max_queue`, which bounds the
    /// line itself. Tickets also stay out for waiters that were handed a slot
    /// and have not woken yet, so more may be needed: the entries grow then
    /// (rarely, and never past `max_queue + max_concurrent`).
    pub(super) fn push(&mut self, capacity: usize) -> usize {
        if self.entries.is_empty() {
            self.entries.resize_with(capacity, Entry::default);
            self.free = (0..capacity).rev().collect();
            self.order.reserve(capacity);
        }
        let ticket = self.free.pop().unwrap_or_else(|| {
            self.entries.push(Entry::default());
            self.entries.len() - 1
        });
        self.entries[ticket] = Entry::default();
        self.order.push_back(ticket);
        ticket
    }

    /// Hands a slot to the first in line; returns its waker (if it was
    /// polled), or `None` if nobody waits.
    pub(super) fn grant_first(&mut self) -> Option<Option<Waker>> {
        let ticket = self.order.pop_front()?;
        let entry = &mut self.entries[ticket];
        entry.granted = true;
        Some(entry.waker.take())
    }

    /// Whether a slot was handed to `ticket`; if not, remembers `waker`.
    pub(super) fn poll_granted(&mut self, ticket: usize, waker: &Waker) -> bool {
        let entry = &mut self.entries[ticket];
        if entry.granted {
            self.free.push(ticket);
            return true;
        }
        match &entry.waker {
            Some(current) if current.will_wake(waker) => {}
            _ => entry.waker = Some(waker.clone()),
        }
        false
    }

    /// Leaves the line. Returns `true` if `ticket` was still waiting, `false`
    /// if a slot had been handed to it (the caller now holds that slot).
    pub(super) fn leave(&mut self, ticket: usize) -> bool {
        let entry = std::mem::take(&mut self.entries[ticket]);
        self.free.push(ticket);
        if entry.granted {
            return false;
        }
        if let Some(index) = self.order.iter().position(|t| *t == ticket) {
            self.order.remove(index);
        }
        true
    }
}
