//! The bulkhead's waiter queue: a FIFO line that a waiter joins, is served
//! from, or leaves from anywhere, each in O(1).
//!
//! The line is a doubly linked list threaded, by index, through one array of
//! entries allocated once, at `max_queue` entries, on first use; the entries
//! not in line form a singly linked free list through the same array. After
//! that first allocation nothing allocates, and no operation walks the line.
//!
//! A waiter holds a [`Ticket`]: its entry's index and the serial number the
//! entry was stamped with when the waiter joined (serials count up from 1 and
//! are never reused). A slot handed over returns the first waiter's entry to
//! the free list at once, so the entries never outnumber the waiters in line
//! (at most `max_queue`, which the bulkhead's waiting count bounds); the
//! waiter then finds its entry stamped with another serial (or none), and
//! that is how it learns it was served.
//!
//! # Invariants (between operations, i.e. whenever the lock is free)
//!
//! 1. Every entry is either in line (`serial != FREE`) or free
//!    (`serial == FREE`, no waker); free entries are exactly those on the free
//!    list, entries in line exactly those reachable from `head`.
//! 2. In line, `next` points towards the tail and `prev` towards the head,
//!    `NIL` at the ends; `head`/`tail` are `NIL` together, when the line is
//!    empty. The line is in joining order (serials increase from head to tail).
//! 3. A ticket whose serial is its entry's serial is in line; any other ticket
//!    was served: an entry leaves the line only by [`Queue::grant_first`] (the
//!    slot is then the ticket holder's) or by [`Queue::leave`] with that very
//!    ticket, after which the ticket is not used again.
//!
//! `check` (tests only) verifies all three; each operation touches at most
//! three entries, which the tests count (`visited`).

use core::fmt;
use std::task::Waker;

/// A waiter's claim on its place in line. See the module docs (invariant 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket {
    index: u32,
    serial: u64,
}

/// No entry: the end of a list.
const NIL: u32 = u32::MAX;

/// The serial of a free entry.
const FREE: u64 = 0;

pub(super) struct Queue {
    /// Allocated once, at `max_queue` entries (at most 1,000,000, so indices
    /// fit in a `u32` with room for `NIL`).
    entries: Vec<Entry>,
    /// The first in line (served next), or `NIL`.
    head: u32,
    /// The last in line (joined last), or `NIL`.
    tail: u32,
    /// The first free entry, or `NIL`.
    free: u32,
    /// The serial the last waiter to join was stamped with.
    last_serial: u64,
    /// Entries read or written by the operations so far: the tests bound the
    /// work each operation does with it.
    #[cfg(test)]
    visited: u64,
}

struct Entry {
    /// Its waiter's serial, or `FREE`.
    serial: u64,
    /// The waiter's waker, once it has been polled.
    waker: Option<Waker>,
    /// In line: the neighbour towards the head. Free: `NIL`.
    prev: u32,
    /// In line: the neighbour towards the tail. Free: the next free entry.
    next: u32,
}

impl Queue {
    pub(super) const fn new() -> Self {
        Queue {
            entries: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            last_serial: FREE,
            #[cfg(test)]
            visited: 0,
        }
    }

    /// Whether the entries are allocated (a call has waited).
    pub(super) fn is_allocated(&self) -> bool {
        !self.entries.is_empty()
    }

    /// Joins the back of the line. `capacity` is `max_queue`: the caller
    /// keeps the line within it (the bulkhead's waiting count, changed only
    /// under the lock with the line, is the line's length).
    pub(super) fn push(&mut self, capacity: usize) -> Ticket {
        if self.entries.is_empty() {
            self.allocate(capacity);
        }
        let index = self.free;
        assert!(
            index != NIL,
            "bulkhead: more waiters in line than `max_queue`"
        );
        self.last_serial += 1;
        let serial = self.last_serial;
        let tail = self.tail;
        let entry = self.at(index);
        let next_free = entry.next;
        *entry = Entry {
            serial,
            waker: None,
            prev: tail,
            next: NIL,
        };
        self.free = next_free;
        match tail {
            NIL => self.head = index,
            tail => self.at(tail).next = index,
        }
        self.tail = index;
        Ticket { index, serial }
    }

    /// The entries, all free, on first use.
    #[cold]
    fn allocate(&mut self, capacity: usize) {
        assert!(
            capacity < NIL as usize,
            "bulkhead: `max_queue` too large for the queue"
        );
        self.entries = (1..=capacity)
            .map(|next| Entry {
                serial: FREE,
                waker: None,
                prev: NIL,
                next: if next < capacity { next as u32 } else { NIL },
            })
            .collect();
        self.free = if capacity > 0 { 0 } else { NIL };
    }

    /// Hands a slot to the first in line, who leaves it; returns its waker
    /// (if it was polled), or `None` if nobody waits.
    pub(super) fn grant_first(&mut self) -> Option<Option<Waker>> {
        match self.head {
            NIL => None,
            head => self.take_out(head, None),
        }
    }

    /// Whether a slot was handed to `ticket`; if not, remembers `waker`.
    pub(super) fn poll_granted(&mut self, ticket: Ticket, waker: &Waker) -> bool {
        let entry = self.at(ticket.index);
        if entry.serial != ticket.serial {
            // Served (invariant 3): the entry went back at the hand-over.
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
    /// `ticket` is not to be used again.
    pub(super) fn leave(&mut self, ticket: Ticket) -> bool {
        // Its waker, if any, is dropped here, with the lock held.
        self.take_out(ticket.index, Some(ticket.serial)).is_some()
    }

    /// Takes the entry at `index` out of the line, wherever it stands, and
    /// onto the free list, and returns its waker; unless `serial` is given
    /// and is not the entry's, when it does nothing and returns `None`.
    /// Touches the entry and its two neighbours, nothing else.
    fn take_out(&mut self, index: u32, serial: Option<u64>) -> Option<Option<Waker>> {
        let free = self.free;
        let entry = self.at(index);
        if serial.is_some_and(|serial| serial != entry.serial) {
            return None;
        }
        let waker = entry.waker.take();
        let (prev, next) = (entry.prev, entry.next);
        entry.serial = FREE;
        entry.prev = NIL;
        entry.next = free;
        self.free = index;
        match prev {
            NIL => self.head = next,
            prev => self.at(prev).next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.at(next).prev = prev,
        }
        Some(waker)
    }

    /// The entry at `index`: every operation reaches the entries through
    /// here, which counts them for the tests.
    #[inline]
    fn at(&mut self, index: u32) -> &mut Entry {
        #[cfg(test)]
        {
            self.visited += 1;
        }
        &mut self.entries[index as usize]
    }
}

/// A summary: the entries themselves may number a million.
impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("entries", &self.entries.len())
            .field("head", &self.head)
            .field("tail", &self.tail)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl Queue {
    /// Entries read or written by the operations so far.
    pub(super) fn visited(&self) -> u64 {
        self.visited
    }

    /// Checks the invariants (module docs); returns the serials in line, from
    /// the head. Panics on a violation.
    pub(super) fn check(&self) -> Vec<u64> {
        let entries = &self.entries;
        let mut line = Vec::new();
        let (mut at, mut prev) = (self.head, NIL);
        while at != NIL {
            assert!(line.len() < entries.len(), "the line has a cycle");
            let entry = &entries[at as usize];
            assert_ne!(entry.serial, FREE, "entry {at} in line is free");
            assert_eq!(entry.prev, prev, "entry {at} links back elsewhere");
            if let Some(&last) = line.last() {
                assert!(last < entry.serial, "the line is out of joining order");
            }
            assert!(entry.serial <= self.last_serial, "serial from the future");
            line.push(entry.serial);
            (prev, at) = (at, entry.next);
        }
        assert_eq!(self.tail, prev, "the tail is not the line's last entry");
        let mut free = 0;
        let mut at = self.free;
        while at != NIL {
            assert!(free < entries.len(), "the free list has a cycle");
            let entry = &entries[at as usize];
            assert_eq!(entry.serial, FREE, "entry {at} on the free list is in line");
            assert!(entry.waker.is_none(), "free entry {at} keeps a waker");
            free += 1;
            at = entry.next;
        }
        assert_eq!(line.len() + free, entries.len(), "entries lost");
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the invariants after each step, and that the step touched at
    /// most three entries.
    fn step<R>(queue: &mut Queue, op: impl FnOnce(&mut Queue) -> R) -> R {
        let before = queue.visited();
        let result = op(queue);
        let visited = queue.visited() - before;
        assert!(visited <= 3, "one operation touched {visited} entries");
        queue.check();
        result
    }

    #[test]
    fn joins_serves_and_leaves_from_anywhere_in_constant_work() {
        let mut queue = Queue::new();
        let tickets: Vec<Ticket> = (0..6).map(|_| step(&mut queue, |q| q.push(6))).collect();
        assert_eq!(queue.check(), [1, 2, 3, 4, 5, 6]);
        // The middle, the tail, the head.
        assert!(step(&mut queue, |q| q.leave(tickets[2])));
        assert!(step(&mut queue, |q| q.leave(tickets[5])));
        assert!(step(&mut queue, |q| q.leave(tickets[0])));
        assert_eq!(queue.check(), [2, 4, 5]);
        // Served in order; a served waiter sees it, and leaving then says so.
        assert!(step(&mut queue, |q| q.grant_first()).is_some());
        assert!(step(&mut queue, |q| q.poll_granted(tickets[1], Waker::noop())));
        assert!(!step(&mut queue, |q| q.poll_granted(tickets[3], Waker::noop())));
        // Its entry is reused at once; the old ticket still reads as served.
        let newcomer = step(&mut queue, |q| q.push(6));
        assert_eq!(newcomer.index, tickets[1].index);
        assert!(!step(&mut queue, |q| q.leave(tickets[1])));
        assert_eq!(queue.check(), [4, 5, 7]);
        for _ in 0..3 {
            assert!(step(&mut queue, |q| q.grant_first()).is_some());
        }
        assert!(step(&mut queue, |q| q.grant_first()).is_none());
        assert!(queue.check().is_empty());
    }

    #[test]
    fn a_full_line_uses_every_entry_and_no_more() {
        let mut queue = Queue::new();
        let tickets: Vec<Ticket> = (0..4).map(|_| queue.push(4)).collect();
        assert_eq!(queue.entries.len(), 4);
        // Newest first, then refilled: the same four entries.
        for ticket in tickets.iter().rev() {
            assert!(queue.leave(*ticket));
        }
        let tickets: Vec<Ticket> = (0..4).map(|_| queue.push(4)).collect();
        assert_eq!(queue.check(), [5, 6, 7, 8]);
        // Two served who have not looked yet hold no entry: two more fit in
        // the same four (the old queue grew here, allocating under the lock).
        assert!(queue.grant_first().is_some());
        assert!(queue.grant_first().is_some());
        queue.push(4);
        queue.push(4);
        assert_eq!(queue.entries.len(), 4);
        assert_eq!(queue.check(), [7, 8, 9, 10]);
        assert!(queue.poll_granted(tickets[0], Waker::noop()));
        assert!(!queue.leave(tickets[1]), "served: the slot is the caller's");
        assert_eq!(queue.check(), [7, 8, 9, 10]);
    }
}
