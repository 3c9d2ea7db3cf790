//! Waiting on the thread of a plain `fn`: the thread is parked (no busy
//! loop) until a waker wakes it or a deadline on the `std` clock passes.
//!
//! The waits of the synchronous policies — a bulkhead's line, a rate
//! limiter's turn, a retry's delay — are the same futures' wake-ups as for
//! an `async fn` (a bulkhead's queue entry, the shutdown signal), polled
//! here with a waker that unparks the waiting thread, and the same time
//! limits, measured with `std::time::Instant` and slept with
//! `std::thread::park_timeout`. Nothing here needs a tokio runtime.
//!
//! # Wake-ups
//!
//! `unpark` before `park` makes the next `park` return at once (the thread's
//! token), so a wake that lands between a poll that found nothing and the
//! park that follows is never lost. `park_timeout` may also return early
//! for no reason: every return polls again and re-reads the clock.

use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// This thread's waker, made on its first wait (one allocation per
    /// thread, never per call).
    static WAKER: Waker = Waker::from(Arc::new(Unpark(thread::current())));
}

/// Polls `poll` until it is ready, parking this thread in between; `None`
/// once `deadline` has passed first (`None` deadline: no time limit).
pub(crate) fn park_until<R>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(ready) = poll(&mut cx) {
                return Some(ready);
            }
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    thread::park_timeout(deadline - now);
                }
            }
        }
    })
}

/// `delay` from now on the `std` clock (`None`: beyond its range, never).
pub(crate) fn deadline_after(delay: Duration) -> Option<Instant> {
    Instant::now().checked_add(delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_deadline_ends_the_wait() {
        let start = Instant::now();
        let polls = std::cell::Cell::new(0);
        let got: Option<()> = park_until(deadline_after(Duration::from_millis(20)), |_| {
            polls.set(polls.get() + 1);
            Poll::Pending
        });
        assert_eq!(got, None);
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Parked, not spinning: a poll per wake-up, a handful at most.
        assert!(polls.get() < 100, "polled {} times", polls.get());
    }

    #[test]
    fn a_wake_from_another_thread_ends_the_wait() {
        let ready = Arc::new(AtomicBool::new(false));
        let got = park_until(None, |cx| {
            if ready.load(Ordering::Acquire) {
                return Poll::Ready(7);
            }
            let (ready, waker) = (Arc::clone(&ready), cx.waker().clone());
            thread::spawn(move || {
                ready.store(true, Ordering::Release);
                waker.wake();
            });
            Poll::Pending
        });
        assert_eq!(got, Some(7));
    }
}
