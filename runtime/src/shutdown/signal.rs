//! The mode word (whether shutdown has begun, whether calls are tracked)
//! and the signal that wakes waiting calls when shutdown begins (memory
//! ordering: see the [module docs](super)).

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

/// The process's mode: [`BEGUN`] and [`TRACKING`] bits, 0 in normal
/// operation, so that a policy's entry tells "nothing to do" from one
/// `Relaxed` load compared to 0.
pub(super) static MODE: AtomicU64 = AtomicU64::new(0);

/// [`MODE`]'s bit: shutdown has begun.
pub(super) const BEGUN: u64 = 1;

/// [`MODE`]'s bit: circuit breakers count their calls in flight
/// ([`track_calls`](super::track_calls)).
pub(super) const TRACKING: u64 = 2;

/// Woken once, when shutdown begins: every waiting call listens to it.
static STOP: Notify = Notify::const_new();

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

/// Starts shutdown (once; later calls do nothing) and wakes every waiting
/// call. It does not wait for anything: [`shutdown`](super::shutdown()) also drains.
///
/// Returns `true` if this call started it.
pub fn begin() -> bool {
    // Followed by a `SeqCst` fence: see `track.rs`.
    let first = super::track::begin(&MODE);
    if first {
        tracing::info!(target: "steadfast::shutdown", "shutdown started");
    }
    // Every subscriber, even on a repeated call (harmless).
    STOP.notify_waiters();
    first
}

/// Waits for shutdown to begin (at once if it has): hand it to a server's
/// own graceful shutdown (`axum::serve(..).with_graceful_shutdown(steadfast::shutdown::begun())`)
/// so that it stops accepting connections when the policies stop taking
/// calls.
pub async fn begun() {
    let stop = Stop::new();
    if let Some(stop) = stop {
        stop.await;
    }
}

/// Back to the startup state: shutdown has not begun (calls are admitted
/// again), and calls are not tracked (until [`track_calls`](super::track_calls)
/// is called again). For tests only (shutdown is process-wide); it does not
/// bring back calls that were refused. A call admitted while tracking was on
/// still leaves its breaker's count when it ends, and one admitted while it
/// was off never enters it: turning tracking on or off never unbalances a
/// count.
#[doc(hidden)]
pub fn reset() {
    MODE.store(0, Ordering::SeqCst);
}

/// A subscription to `notify`, registered at once (before it is polled).
pub(super) fn pin_notified(notify: &'static Notify) -> Pin<Box<Notified<'static>>> {
    let mut notified = Box::pin(notify.notified());
    notified.as_mut().enable();
    notified
}

/// Sleeps until `deadline` unless shutdown begins (or has begun) first:
/// `true` if it did (the sleep ended early).
pub(crate) async fn stopped_before(deadline: Instant) -> bool {
    // Subscribed in place (not boxed as `Stop` is): a retry delay allocates
    // nothing. Then the flag, as `Stop::new` reads it (see the module docs).
    let mut stop = core::pin::pin!(STOP.notified());
    stop.as_mut().enable();
    if MODE.load(Ordering::SeqCst) & BEGUN != 0 {
        return true;
    }
    let mut sleep = core::pin::pin!(tokio::time::sleep_until(deadline));
    core::future::poll_fn(|cx| {
        if sleep.as_mut().poll(cx).is_ready() {
            Poll::Ready(false)
        } else if MODE.load(Ordering::SeqCst) & BEGUN != 0 {
            Poll::Ready(true)
        } else {
            stop.as_mut().poll(cx).map(|()| true)
        }
    })
    .await
}

/// [`stopped_before`] for a plain `fn`: parks the thread until `deadline`
/// on the `std` clock (`None`: no deadline) unless shutdown begins (or has
/// begun) first: `true` if it did.
pub(crate) fn stopped_before_blocking(deadline: Option<std::time::Instant>) -> bool {
    let mut stop = core::pin::pin!(STOP.notified());
    stop.as_mut().enable();
    if MODE.load(Ordering::SeqCst) & BEGUN != 0 {
        return true;
    }
    crate::blocking::park_until(deadline, |cx| {
        if MODE.load(Ordering::SeqCst) & BEGUN != 0 {
            Poll::Ready(())
        } else {
            stop.as_mut().poll(cx)
        }
    })
    .is_some()
}

/// A waiting call's subscription to the shutdown signal: ready once
/// shutdown has begun. Made just before the call waits, so that a shutdown
/// that begins afterwards wakes it.
pub(crate) struct Stop(Pin<Box<Notified<'static>>>);

impl Stop {
    /// Subscribes, or `None` if shutdown has already begun (the caller
    /// leaves at once).
    #[cold]
    pub(crate) fn new() -> Option<Stop> {
        let notified = pin_notified(&STOP);
        // After subscribing (see the module docs on ordering).
        if MODE.load(Ordering::SeqCst) & BEGUN != 0 {
            None
        } else {
            Some(Stop(notified))
        }
    }
}

impl Future for Stop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if MODE.load(Ordering::SeqCst) & BEGUN != 0 {
            return Poll::Ready(());
        }
        self.0.as_mut().poll(cx)
    }
}

impl core::fmt::Debug for Stop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Stop")
    }
}
