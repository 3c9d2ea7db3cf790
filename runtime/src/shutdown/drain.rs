//! The drain: waiting for the bulkheads (and, with
//! [`track_calls`](super::track_calls), the circuit breakers) to empty, up to
//! a deadline.

use core::future::Future;
use core::task::Poll;
use core::time::Duration;

use tokio::time::Instant;

use super::ShutdownReport;
use super::signal::{begin, pin_notified};
use super::track::RELEASED;
use crate::registry;
use crate::{Bulkhead, CircuitBreaker};

/// How often the drain looks at the policies even if no release woke it.
const BACKSTOP: Duration = Duration::from_millis(10);

/// Starts shutdown and drains: new calls into any policy are refused with
/// [`Rejected::ShuttingDown`](crate::Rejected::ShuttingDown), waiting calls
/// leave, retry delays end with the last error, and the future returned
/// waits until every bulkhead is empty (and every registered circuit
/// breaker, after [`track_calls`](super::track_calls)) or `deadline` has
/// passed (tokio time), whichever comes first, then reports.
///
/// Shutdown begins when this function is called, not when the future is
/// first polled. See the [module docs](super).
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
    // Sets the flag, then a `SeqCst` fence, before any count is read (see
    // the module docs).
    begin();
    // Bulkheads, then breakers, each kind in registration order. Breakers
    // count their calls only when tracking: otherwise they are all at 0 and
    // none is listed.
    let policies: Vec<Drained> = registry::members::<Bulkhead>()
        .into_iter()
        .map(Drained::Bulkhead)
        .chain(
            registry::members::<CircuitBreaker>()
                .into_iter()
                .map(Drained::CircuitBreaker),
        )
        .collect();
    // Read from the last (the breakers) to the first (the bulkheads): a
    // call under a breaker and a bulkhead below it (the usual order) that
    // ends while these are read leaves its bulkhead first, so it is never
    // counted in the bulkhead and not in its breaker.
    let mut at_start: Vec<u32> = policies.iter().rev().map(|p| p.running()).collect();
    at_start.reverse();
    async move {
        let ends = started + deadline;
        let timed_out = loop {
            let released = pin_notified(&RELEASED);
            if policies.iter().all(|p| p.running() == 0) {
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
        let report = ShutdownReport::new(&policies, &at_start, started.elapsed(), timed_out);
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

/// A policy that the drain waits for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Drained {
    Bulkhead(&'static Bulkhead),
    /// Its count is kept only while calls are tracked.
    CircuitBreaker(&'static CircuitBreaker),
}

impl Drained {
    /// Its calls in flight now.
    pub(super) fn running(self) -> u32 {
        match self {
            Drained::Bulkhead(bulkhead) => bulkhead.running(),
            Drained::CircuitBreaker(breaker) => {
                u32::try_from(breaker.in_flight()).unwrap_or(u32::MAX)
            }
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Drained::Bulkhead(bulkhead) => bulkhead.name(),
            Drained::CircuitBreaker(breaker) => breaker.name(),
        }
    }

    /// [`PolicyDrain::kind`](super::PolicyDrain::kind).
    pub(super) fn kind(self) -> &'static str {
        match self {
            Drained::Bulkhead(_) => "bulkhead",
            Drained::CircuitBreaker(_) => "circuit_breaker",
        }
    }
}
