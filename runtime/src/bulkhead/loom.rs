//! Loom model checks of the bulkhead's accounting: every interleaving
//! (within a preemption bound) of the fast path, releases and hand-overs,
//! callers joining the queue, waiting and giving up, run through the
//! functions of `slots.rs` (and the queue of `queue.rs`) that the bulkhead
//! itself runs, with the same glue as `Bulkhead::acquire` and `Waiter` around
//! them; some models line waiters up first, so that they leave from a known
//! place (the head, the middle, newest first) while the slot moves. A waiter parks until its
//! waker is woken, so a slot that is lost (or a wake-up that never comes)
//! shows up as a deadlock, which loom reports. They are ordinary tests: `cargo test -p steadfast-runtime loom`, with
//! `--nocapture` to see how many interleavings each explored.

use ::loom::sync::Mutex;
use ::loom::sync::atomic::{AtomicU64, AtomicUsize};
use ::loom::thread;
use core::sync::atomic::Ordering;
use core::task::Waker;
// Not loom's `Arc`: a deadlock found by loom unwinds the blocked threads,
// and dropping a loom object then aborts the test binary instead of
// reporting the failure.
use std::sync::Arc;
use std::task::Wake;

use super::queue::{Queue, Ticket};
use super::slots::{Join, Slots, running, waiting};
use crate::sync::model::check;

type Model = Slots<AtomicU64, Mutex<Queue>>;

/// `Bulkhead`'s glue around `Slots`, on loom's atomic and mutex, with
/// counters that watch the slot from outside the protocol.
struct Bulkhead {
    max_concurrent: u32,
    max_queue: u32,
    slots: Model,
    /// Callers holding a slot now, counted outside the protocol.
    inside: AtomicUsize,
    /// What the slot guards (there is one slot in every model): each holder
    /// reads it and writes it back plus one, with relaxed, not atomic
    /// read-modify-write, operations, so an update is lost unless the slot's
    /// hand-off orders each holder's work before the next one's.
    work: AtomicUsize,
    /// Times a slot was taken.
    entries: AtomicUsize,
}

impl Bulkhead {
    fn new(max_concurrent: u32, max_queue: u32) -> Arc<Bulkhead> {
        Arc::new(Bulkhead {
            max_concurrent,
            max_queue,
            slots: Slots {
                counts: AtomicU64::new(0),
                queue: Mutex::new(Queue::new()),
            },
            inside: AtomicUsize::new(0),
            work: AtomicUsize::new(0),
            entries: AtomicUsize::new(0),
        })
    }

    /// `Bulkhead::acquire` without `max_wait`: the fast path, then the queue,
    /// waiting as long as it takes. `false` when the queue is full.
    fn acquire(&self) -> bool {
        let ticket = match self.try_join() {
            Ok(taken) => return taken,
            Err(ticket) => ticket,
        };
        // `Waiter::wait`, polled by an executor that parks until woken.
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        while !self.slots.poll_granted(ticket, &waker) {
            thread::park();
        }
        self.enter();
        true
    }

    /// `Bulkhead::acquire` with a `max_wait` that runs out at once: in line,
    /// the caller looks once, then gives up (`Waiter::drop`).
    fn acquire_or_give_up(&self) -> bool {
        let ticket = match self.try_join() {
            Ok(taken) => return taken,
            Err(ticket) => ticket,
        };
        if self.slots.poll_granted(ticket, Waker::noop()) {
            self.enter();
            return true;
        }
        self.slots.give_up(ticket, || {});
        false
    }

    /// Joins the line, on the model's main thread before any other starts:
    /// the slot is held, so the caller queues behind those that did before.
    fn queue_up(&self) -> Ticket {
        self.try_join()
            .expect_err("the slot is held and the queue has room")
    }

    /// `Waiter::wait` for a caller already in line, then its call: waits for
    /// the slot, holds it, releases it.
    fn wait_then_release(&self, ticket: Ticket) {
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        while !self.slots.poll_granted(ticket, &waker) {
            thread::park();
        }
        self.enter();
        self.release();
    }

    /// `Waiter::drop` for a caller in line that gives up (cancelled, or its
    /// `max_wait` passed): it leaves, or passes on a slot handed to it.
    fn give_up(&self, ticket: Ticket) {
        self.slots.give_up(ticket, || {});
    }

    /// The fast path, then joining the line: `Ok(taken)`, or `Err(ticket)`
    /// when in line.
    fn try_join(&self) -> Result<bool, Ticket> {
        if self.slots.try_take(self.max_concurrent) {
            self.enter();
            return Ok(true);
        }
        match self
            .slots
            .join(|| (self.max_concurrent, self.max_queue), || {})
        {
            Join::Slot => {
                self.enter();
                Ok(true)
            }
            Join::Full => Ok(false),
            Join::Queued(ticket) => Err(ticket),
        }
    }

    fn enter(&self) {
        let inside = self.inside.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(
            inside <= self.max_concurrent as usize,
            "{inside} callers hold a slot"
        );
        let work = self.work.load(Ordering::Relaxed);
        self.work.store(work + 1, Ordering::Relaxed);
        self.entries.fetch_add(1, Ordering::Relaxed);
    }

    /// `BulkheadPermit::drop`.
    fn release(&self) {
        self.inside.fetch_sub(1, Ordering::Relaxed);
        self.slots.release();
    }

    /// Once every caller is done: no slot or place is left taken, no holder's
    /// work was lost, and the next caller gets a slot at once.
    fn assert_idle(&self) {
        assert_eq!(
            self.work.load(Ordering::Relaxed),
            self.entries.load(Ordering::Relaxed),
            "a holder did not see the previous holder's work"
        );
        let counts = self.slots.counts.load(Ordering::Relaxed);
        assert_eq!((running(counts), waiting(counts)), (0, 0), "counts leaked");
        let line = self.slots.queue.lock().unwrap().check();
        assert!(line.is_empty(), "still in line: {line:?}");
        assert!(
            self.slots.try_take(self.max_concurrent),
            "a free slot is refused"
        );
        self.slots.release();
    }
}

/// The waker of a parked model thread.
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A model thread that runs `f` on the bulkhead.
fn spawn(
    bulkhead: &Arc<Bulkhead>,
    f: impl FnOnce(&Bulkhead) + Send + 'static,
) -> thread::JoinHandle<()> {
    let bulkhead = Arc::clone(bulkhead);
    thread::spawn(move || f(&bulkhead))
}

#[test]
fn loom_bulkhead_never_runs_more_than_max_concurrent() {
    check("contenders", Some(2), || {
        // One slot, room for both others in line: each caller gets the slot
        // in turn, never two at once.
        let bulkhead = Bulkhead::new(1, 2);
        let callers: Vec<_> = (0..3)
            .map(|_| {
                spawn(&bulkhead, |b| {
                    assert!(b.acquire(), "the queue has room");
                    b.release();
                })
            })
            .collect();
        for caller in callers {
            caller.join().unwrap();
        }
        bulkhead.assert_idle();
    });
}

#[test]
fn loom_slot_released_while_joining_the_queue_is_never_lost() {
    check("release against join", None, || {
        // The slot is taken; its holder releases it while a caller goes from
        // the failed fast path into the queue. The caller either takes the
        // slot on its way in, or is in line when the releaser looks and is
        // handed the slot: it never waits forever.
        let bulkhead = Bulkhead::new(1, 1);
        assert!(bulkhead.acquire());
        let holder = spawn(&bulkhead, Bulkhead::release);
        let caller = spawn(&bulkhead, |b| {
            assert!(b.acquire(), "the queue has room");
            b.release();
        });
        holder.join().unwrap();
        caller.join().unwrap();
        bulkhead.assert_idle();
    });
}

#[test]
fn loom_waiter_that_gives_up_never_keeps_a_slot() {
    check("give up against release", None, || {
        // A caller in line gives up just as the slot is released (and maybe
        // handed to it): it leaves the line, or passes the slot on.
        let bulkhead = Bulkhead::new(1, 1);
        assert!(bulkhead.acquire());
        let holder = spawn(&bulkhead, Bulkhead::release);
        let quitter = spawn(&bulkhead, |b| {
            if b.acquire_or_give_up() {
                b.release();
            }
        });
        holder.join().unwrap();
        quitter.join().unwrap();
        bulkhead.assert_idle();
    });
}

#[test]
fn loom_slot_passed_on_by_a_waiter_that_gives_up_reaches_the_next() {
    check("give up with a waiter behind", Some(2), || {
        // As above, with a patient caller in line too: whichever of them the
        // released slot reaches first, the patient one ends up with it.
        let bulkhead = Bulkhead::new(1, 2);
        assert!(bulkhead.acquire());
        let quitter = spawn(&bulkhead, |b| {
            if b.acquire_or_give_up() {
                b.release();
            }
        });
        let patient = spawn(&bulkhead, |b| {
            assert!(b.acquire(), "the queue has room");
            b.release();
        });
        let holder = spawn(&bulkhead, Bulkhead::release);
        for thread in [quitter, patient, holder] {
            thread.join().unwrap();
        }
        bulkhead.assert_idle();
    });
}

#[test]
fn loom_waiter_leaving_the_middle_of_the_line_keeps_the_rest_in_order() {
    check("middle leaves", Some(2), || {
        // Three in line behind the held slot; the middle one gives up as the
        // slot is released. The first is served, then the last (in one
        // thread, in that order: a slot handed out of order would leave the
        // thread waiting for the first forever, a deadlock), whether the
        // middle one left before its turn or was handed the slot and passed
        // it on.
        let bulkhead = Bulkhead::new(1, 3);
        assert!(bulkhead.acquire());
        let [first, middle, last] = [(); 3].map(|()| bulkhead.queue_up());
        let holder = spawn(&bulkhead, Bulkhead::release);
        let quitter = spawn(&bulkhead, move |b| b.give_up(middle));
        let patient = spawn(&bulkhead, move |b| {
            b.wait_then_release(first);
            b.wait_then_release(last);
        });
        for thread in [holder, quitter, patient] {
            thread.join().unwrap();
        }
        bulkhead.assert_idle();
    });
}

#[test]
fn loom_waiters_leaving_newest_first_as_the_slot_moves() {
    check("newest first", Some(2), || {
        // The two newest of three give up, newest first, as the slot is
        // released to the oldest: the line unwinds from its tail while its
        // head is served.
        let bulkhead = Bulkhead::new(1, 3);
        assert!(bulkhead.acquire());
        let [first, second, third] = [(); 3].map(|()| bulkhead.queue_up());
        let holder = spawn(&bulkhead, Bulkhead::release);
        let quitter = spawn(&bulkhead, move |b| {
            b.give_up(third);
            b.give_up(second);
        });
        let patient = spawn(&bulkhead, move |b| b.wait_then_release(first));
        for thread in [holder, quitter, patient] {
            thread.join().unwrap();
        }
        bulkhead.assert_idle();
    });
}

#[test]
fn loom_head_of_the_line_leaving_as_it_is_served_passes_the_slot_on() {
    check("head leaves", None, || {
        // The first in line gives up just as the slot is handed to it: it
        // leaves the line (and the slot goes to the second), or passes the
        // slot on to the second.
        let bulkhead = Bulkhead::new(1, 2);
        assert!(bulkhead.acquire());
        let [head, second] = [(); 2].map(|()| bulkhead.queue_up());
        let holder = spawn(&bulkhead, Bulkhead::release);
        let quitter = spawn(&bulkhead, move |b| b.give_up(head));
        let patient = spawn(&bulkhead, move |b| b.wait_then_release(second));
        for thread in [holder, quitter, patient] {
            thread.join().unwrap();
        }
        bulkhead.assert_idle();
    });
}
