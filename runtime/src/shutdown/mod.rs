//! Graceful shutdown: one call stops new work, releases every waiting call,
//! and drains the calls in flight up to a deadline.
//!
//! [`shutdown`] (or `shutdown_on`, with the `tokio-util` feature, when a
//! `CancellationToken` is cancelled) starts it, once per process:
//!
//! - **New calls are refused.** A call that reaches a circuit breaker, a
//!   bulkhead, a rate limiter or a timeout after shutdown began fails at once
//!   with [`Rejected::ShuttingDown`](crate::Rejected::ShuttingDown), without
//!   running (keyed policies too: their per-key states are the same types).
//! - **Waiting calls leave.** A call waiting in a bulkhead's queue, or for a
//!   rate limiter's turn (a shared limiter's too), stops waiting and fails
//!   with `ShuttingDown` (a bulkhead waiter that had already been handed a
//!   slot runs: it was in flight). The turn it had reserved is given back as
//!   when it is dropped. The blocking [`RateLimiter::call`](crate::RateLimiter::call)
//!   sleeps its thread and cannot be woken: it runs at its turn.
//! - **Retry delays end early with the last error.** A retry sleeping
//!   between attempts wakes up and returns the error of its last attempt; a
//!   retry that fails after shutdown began makes no further attempt. (For
//!   an attribute whose error type is not `Send`, the attribute cannot keep
//!   the error across the sleep without making the future `!Send`: the
//!   delay still ends early, and the attempt that follows is made — refused
//!   with `ShuttingDown` by any policy below the retry.)
//! - **Calls in flight drain.** The returned future waits until every
//!   bulkhead is empty, or until the deadline, and reports, by bulkhead, the
//!   calls that finished during the drain and those still running at its end
//!   ([`ShutdownReport`]).
//!
//! Shutdown is process-wide and one-way: there is no "resume". Tests that
//! shut down call [`reset`] (hidden from the docs) afterwards, and live in a
//! test binary of their own, since a test binary's tests share the process.
//!
//! # What is drained
//!
//! Only bulkheads count the calls they run (that count is what they are
//! for), so only calls holding a bulkhead slot are waited for and reported.
//! Counting every call of every breaker and rate limiter would add two
//! read-modify-write operations on a shared counter to each call, where a
//! closed breaker's call today is loads only: a service that wants its
//! other calls drained puts them under a `#[bulkhead]` (one with a large
//! `max_concurrent` costs one compare-and-swap per call). Keyed bulkheads'
//! per-key states are not listed in the registry, so they are not waited
//! for either.
//!
//! # Cost and memory ordering
//!
//! A policy's entry reads the shutdown flag with one `Relaxed` load; nothing
//! else is added to a call that does not wait. A call that is about to wait
//! (a bulkhead queue, a rate limiter's turn, a retry delay) first subscribes
//! to the shutdown signal (a `tokio::sync::Notify`; one small allocation
//! per wait), then reads the flag with `SeqCst`: [`begin`] stores the flag
//! (`SeqCst`) before it notifies, and `Notify` orders subscriptions and
//! notifications, so a waiter either sees the flag or is woken. A call that
//! read the flag as clear just as shutdown began is admitted, and is then a
//! call in flight (the drain counts it if it holds a bulkhead slot). A
//! bulkhead releasing a slot while shutdown is under way wakes the drain
//! (one more `Relaxed` load per release), so the drain returns as soon as
//! the last call finishes, not on a polling tick. That load may still read
//! the flag as clear for a release that races the start of shutdown (the
//! release's count update and the drain's flag store form a store-buffering
//! pattern, which only `SeqCst` fences on both sides would rule out), so
//! the drain also looks every 10 ms: a missed wake-up delays it by at most
//! that, and never past its deadline.

mod report;

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll};
use core::time::Duration;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

pub use report::{PolicyDrain, ShutdownReport};

use crate::Bulkhead;
use crate::registry;

/// How often the drain looks at the bulkheads even if no release woke it.
const BACKSTOP: Duration = Duration::from_millis(10);

/// Whether shutdown has begun.
static BEGUN: AtomicBool = AtomicBool::new(false);

/// Woken once, when shutdown begins: every waiting call listens to it.
static STOP: Notify = Notify::const_new();

/// Woken when a bulkhead slot is released during shutdown: the drain
/// listens to it.
static RELEASED: Notify = Notify::const_new();

/// Whether shutdown has begun: one `Relaxed` load, for the policies' entry.
#[must_use]
#[inline]
pub fn is_shutting_down() -> bool {
    BEGUN.load(Ordering::Relaxed)
}

/// Starts shutdown (once; later calls do nothing) and wakes every waiting
/// call. It does not wait for anything: [`shutdown`] also drains.
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

/// Starts shutdown and drains: new calls into any policy are refused with
/// [`Rejected::ShuttingDown`](crate::Rejected::ShuttingDown), waiting calls
/// leave, retry delays end with the last error, and the future returned
/// waits until every bulkhead is empty or `deadline` has passed (tokio time),
/// whichever comes first, then reports.
///
/// Shutdown begins when this function is called, not when the future is
/// first polled. See the [module docs](self).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Rejected, bulkhead};
///
/// #[bulkhead(max_concurrent = 1, max_queue = 1, name = "shutdown-doc")]
/// async fn slow() -> Result<&'static str, Rejected> {
///     tokio::time::sleep(Duration::from_secs(2)).await;
///     Ok("done")
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let running = tokio::spawn(slow());
/// let waiting = tokio::spawn(slow());
/// tokio::task::yield_now().await; // both reach the bulkhead
///
/// let report = steadfast::shutdown(Duration::from_secs(5)).await;
/// assert_eq!(running.await.unwrap(), Ok("done"));
/// assert!(matches!(waiting.await.unwrap(), Err(Rejected::ShuttingDown { .. })));
/// assert_eq!((report.finished, report.still_running), (1, 0));
/// assert!(matches!(slow().await, Err(Rejected::ShuttingDown { .. })));
/// # }
/// ```
pub fn shutdown(deadline: Duration) -> impl Future<Output = ShutdownReport> + Send + 'static {
    let started = Instant::now();
    begin();
    let bulkheads = registry::members::<Bulkhead>();
    let at_start: Vec<u32> = bulkheads.iter().map(|b| b.running()).collect();
    async move {
        let ends = started + deadline;
        let timed_out = loop {
            let released = pin_notified(&RELEASED);
            if bulkheads.iter().all(|b| b.running() == 0) {
                break false;
            }
            if Instant::now() >= ends {
                break true;
            }
            let mut released = released;
            // The deadline, or the backstop look (see the module docs).
            let wake = ends.min(Instant::now() + BACKSTOP);
            let mut sleep = core::pin::pin!(tokio::time::sleep_until(wake));
            core::future::poll_fn(|cx| {
                if released.as_mut().poll(cx).is_ready() || sleep.as_mut().poll(cx).is_ready() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        };
        let report = ShutdownReport::new(&bulkheads, &at_start, started.elapsed(), timed_out);
        tracing::info!(
            target: "steadfast::shutdown",
            finished = report.finished,
            still_running = report.still_running,
            timed_out,
            "shutdown drained"
        );
        report
    }
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

/// Starts [`shutdown`] when `token` is cancelled, and reports the drain.
///
/// ```
/// use std::time::Duration;
/// use tokio_util::sync::CancellationToken;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let token = CancellationToken::new();
/// let drain = tokio::spawn(steadfast::shutdown::shutdown_on(token.clone(), Duration::from_secs(5)));
/// assert!(!steadfast::shutdown::is_shutting_down());
/// token.cancel();
/// let report = drain.await.unwrap();
/// assert!(steadfast::shutdown::is_shutting_down());
/// assert!(!report.timed_out);
/// # }
/// ```
#[cfg(feature = "tokio-util")]
pub async fn shutdown_on(
    token: tokio_util::sync::CancellationToken,
    deadline: Duration,
) -> ShutdownReport {
    token.cancelled().await;
    shutdown(deadline).await
}

/// Ends shutdown: calls are admitted again. For tests only (shutdown is
/// process-wide); it does not bring back calls that were refused.
#[doc(hidden)]
pub fn reset() {
    BEGUN.store(false, Ordering::SeqCst);
}

/// A bulkhead slot was released: wakes the drain if shutdown is under way.
#[inline]
pub(crate) fn released() {
    if is_shutting_down() {
        released_slow();
    }
}

#[cold]
fn released_slow() {
    RELEASED.notify_waiters();
}

fn pin_notified(notify: &'static Notify) -> Pin<Box<Notified<'static>>> {
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
