//! Counting circuit-breaker calls in flight, opt-in ([`track_calls`]), so
//! that the drain can wait for them: the count/flag protocol (a Dekker
//! pattern written with `SeqCst` fences; the argument is in the
//! [module docs](super#cost-and-memory-ordering)), generic over the atomic
//! word so that `loom.rs` checks the very functions the breaker runs; and
//! the signal that wakes the drain when a call leaves or a bulkhead slot is
//! released.

use core::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

use super::mode::{BEGUN, MODE, TRACKING, is_shutting_down};
use crate::sync::AtomicWord;

/// From now on, every [`CircuitBreaker`](crate::CircuitBreaker) counts its
/// calls in flight (admitted, not yet finished or dropped), and
/// [`shutdown`](super::shutdown()) waits for the registered breakers' calls
/// as it waits for the bulkheads', and lists them in its
/// [`ShutdownReport`](super::ShutdownReport) (kind `"circuit_breaker"`).
///
/// Call it once at startup, before traffic: a call admitted before it is
/// not counted (nor waited for). Calling it again does nothing. It has a
/// cost, which is why it is not the default: two atomic read-modify-writes
/// on the breaker's counter and a `SeqCst` fence per call (where a closed
/// breaker's call is otherwise loads only), and the breaker's admission
/// takes its cold path. Without it, a breaker pays nothing for it. A keyed
/// breaker's per-key states count their calls too, but are not in the
/// registry, so they are not waited for (as keyed bulkheads). See the
/// [module docs](super).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Rejected, circuit_breaker};
///
/// #[circuit_breaker(name = "track-calls-doc")]
/// async fn fetch() -> Result<&'static str, Rejected> {
///     tokio::time::sleep(Duration::from_secs(2)).await;
///     Ok("done")
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// steadfast::shutdown::track_calls(); // at startup, before traffic
///
/// let running = tokio::spawn(fetch());
/// tokio::task::yield_now().await; // the call is admitted, and counted
///
/// let report = steadfast::shutdown(Duration::from_secs(5)).await;
/// assert_eq!(running.await.unwrap(), Ok("done"));
/// assert_eq!((report.finished, report.still_running), (1, 0));
/// assert_eq!(report.elapsed, Duration::from_secs(2)); // it waited for the call
/// let breaker = &report.policies[0];
/// assert_eq!((breaker.kind, breaker.name), ("circuit_breaker", "track-calls-doc"));
/// # }
/// ```
pub fn track_calls() {
    MODE.fetch_or(TRACKING, Ordering::SeqCst);
}

/// Sets `mode`'s [`BEGUN`] bit, then a `SeqCst` fence, before the caller
/// reads any count: `true` if this call set it.
pub(super) fn begin<W: AtomicWord>(mode: &W) -> bool {
    let before = mode.fetch_or(BEGUN, Ordering::SeqCst);
    W::fence(Ordering::SeqCst);
    before & BEGUN == 0
}

/// A call that a tracking breaker admitted enters the breaker's `count`;
/// then (after a `SeqCst` fence) reads `mode`: `true` if the call may run,
/// `false` if shutdown has begun. Either way the count was entered: a call
/// refused here [leaves](leave) it at once.
pub(crate) fn enter<W: AtomicWord>(mode: &W, count: &W) -> bool {
    count.fetch_add(1, Ordering::Relaxed);
    W::fence(Ordering::SeqCst);
    mode.load(Ordering::Relaxed) & BEGUN == 0
}

/// A counted call ended (or was refused): `true` if it was the last one
/// in flight. `Release`, so that what the call did happens before a drain
/// that reads the count it leaves ([`in_flight`]).
pub(crate) fn leave<W: AtomicWord>(count: &W) -> bool {
    count.fetch_sub(1, Ordering::Release) == 1
}

/// The calls in `count`, for a drain that read it after [`begin`].
pub(crate) fn in_flight<W: AtomicWord>(count: &W) -> u64 {
    count.load(Ordering::Acquire)
}

/// [`enter`] on the process's mode word.
#[inline]
pub(crate) fn call_entered(count: &AtomicU64) -> bool {
    enter(&MODE, count)
}

/// [`leave`]; the last call out wakes the drain if shutdown is under way
/// (the bulkheads' hook, with its backstop: see the module docs).
#[inline]
pub(crate) fn call_left(count: &AtomicU64) {
    if leave(count) {
        released();
    }
}

/// Woken when a bulkhead slot is released, or a tracked breaker's last call
/// ends, during shutdown: the drain listens to it.
pub(super) static RELEASED: Notify = Notify::const_new();

/// A bulkhead slot was released, or a tracked breaker's last call in flight
/// ended: wakes the drain if shutdown is under way.
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
