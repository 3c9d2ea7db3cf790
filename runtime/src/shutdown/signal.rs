//! The signal that wakes waiting calls when shutdown begins, and the waits
//! that listen to it (memory ordering: see the [module docs](super)).

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use super::mode::{BEGUN, MODE};

/// Woken once, when shutdown begins: every waiting call listens to it.
static STOP: Notify = Notify::const_new();

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

/// Whether shutdown has begun, read as the waits read it (`SeqCst`, after
/// subscribing: see the module docs on ordering).
fn has_begun() -> bool {
    MODE.load(Ordering::SeqCst) & BEGUN != 0
}

/// Subscribes `stop` to the signal in place (a retry delay allocates
/// nothing), then reads the flag: whether shutdown had already begun.
fn subscribe(stop: Pin<&mut Notified<'_>>) -> bool {
    stop.enable();
    has_begun()
}

/// Ready once shutdown has begun: the flag, or the signal.
fn poll_stop(stop: Pin<&mut Notified<'_>>, cx: &mut Context<'_>) -> Poll<()> {
    if has_begun() {
        Poll::Ready(())
    } else {
        stop.poll(cx)
    }
}

/// Sleeps until `deadline` unless shutdown begins (or has begun) first:
/// `true` if it did (the sleep ended early).
pub(crate) async fn stopped_before(deadline: Instant) -> bool {
    let mut stop = core::pin::pin!(STOP.notified());
    if subscribe(stop.as_mut()) {
        return true;
    }
    let mut sleep = core::pin::pin!(tokio::time::sleep_until(deadline));
    core::future::poll_fn(|cx| {
        if sleep.as_mut().poll(cx).is_ready() {
            Poll::Ready(false)
        } else {
            poll_stop(stop.as_mut(), cx).map(|()| true)
        }
    })
    .await
}

/// [`stopped_before`] for a plain `fn`: parks the thread until `deadline`
/// on the `std` clock (`None`: no deadline) unless shutdown begins (or has
/// begun) first: `true` if it did.
pub(crate) fn stopped_before_blocking(deadline: Option<std::time::Instant>) -> bool {
    let mut stop = core::pin::pin!(STOP.notified());
    if subscribe(stop.as_mut()) {
        return true;
    }
    crate::blocking::park_until(deadline, |cx| poll_stop(stop.as_mut(), cx)).is_some()
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
        let mut notified = Box::pin(STOP.notified());
        if subscribe(notified.as_mut()) {
            None
        } else {
            Some(Stop(notified))
        }
    }
}

impl Future for Stop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_stop(self.0.as_mut(), cx)
    }
}

impl core::fmt::Debug for Stop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Stop")
    }
}
