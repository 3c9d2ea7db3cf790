//! The shutdown flag and the signal that wakes waiting calls when it is set
//! (memory ordering: see the [module docs](super)).

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

/// Whether shutdown has begun.
static BEGUN: AtomicBool = AtomicBool::new(false);

/// Woken once, when shutdown begins: every waiting call listens to it.
static STOP: Notify = Notify::const_new();

/// Whether shutdown has begun: one `Relaxed` load, for the policies' entry.
#[must_use]
#[inline]
pub fn is_shutting_down() -> bool {
    BEGUN.load(Ordering::Relaxed)
}

/// Starts shutdown (once; later calls do nothing) and wakes every waiting
/// call. It does not wait for anything: [`shutdown`](super::shutdown()) also drains.
///
/// Returns `true` if this call started it.
pub fn begin() -> bool {
    let first = !BEGUN.swap(true, Ordering::SeqCst);
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

/// Ends shutdown: calls are admitted again. For tests only (shutdown is
/// process-wide); it does not bring back calls that were refused.
#[doc(hidden)]
pub fn reset() {
    BEGUN.store(false, Ordering::SeqCst);
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
    let Some(mut stop) = Stop::new() else {
        return true;
    };
    let mut sleep = core::pin::pin!(tokio::time::sleep_until(deadline));
    core::future::poll_fn(|cx| {
        if sleep.as_mut().poll(cx).is_ready() {
            Poll::Ready(false)
        } else {
            Pin::new(&mut stop).poll(cx).map(|()| true)
        }
    })
    .await
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
        if BEGUN.load(Ordering::SeqCst) {
            None
        } else {
            Some(Stop(notified))
        }
    }
}

impl Future for Stop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if BEGUN.load(Ordering::SeqCst) {
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
