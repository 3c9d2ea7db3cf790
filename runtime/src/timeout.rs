//! Bounding a call's duration: the [`Timeout`] policy.

use core::future::{Future, IntoFuture, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::{Failure, Rejected};

/// Cancels a call that has not finished within a limit.
///
/// The inner future is polled first, so a call that is ready at once never
/// arms a timer. The deadline is counted from the first poll; when it passes,
/// the inner future is dropped (cancelled) and the call ends with
/// [`Rejected::Timeout`]. Like every async timeout, it takes effect at the
/// inner future's `.await` points: a body that blocks the thread without
/// yielding cannot be interrupted.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Rejected, Timeout};
///
/// const LIMIT: Timeout = Timeout::new(Duration::from_millis(50));
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let slow = tokio::time::sleep(Duration::from_secs(1));
/// assert_eq!(LIMIT.run(slow).await, Err(Rejected::timeout(Duration::from_millis(50))));
/// assert_eq!(LIMIT.run(async { 7 }).await, Ok(7));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timeout {
    after: Duration,
    name: &'static str,
}

impl Timeout {
    /// A timeout of `after`.
    ///
    /// # Panics
    ///
    /// If `after` is zero (a compile error in `const` context): such a call
    /// could never succeed.
    #[must_use]
    pub const fn new(after: Duration) -> Self {
        assert!(
            !after.is_zero(),
            "timeout: the limit must be greater than zero"
        );
        Timeout {
            after,
            name: "timeout",
        }
    }

    /// The same timeout, named in `tracing` events (the attribute uses
    /// `module::fn`).
    #[must_use]
    pub const fn named(self, name: &'static str) -> Self {
        Timeout { name, ..self }
    }

    /// The limit.
    #[must_use]
    pub const fn after(&self) -> Duration {
        self.after
    }

    /// Runs `future` to completion, or cancels it at the deadline.
    ///
    /// # Errors
    ///
    /// [`Rejected::Timeout`] when the deadline passed first.
    pub async fn run<F: IntoFuture>(&self, future: F) -> Result<F::Output, Rejected> {
        let (after, name) = (self.after, self.name);
        let mut future = pin!(future.into_future());
        // Armed on the first `Pending` only: a ready future costs one clock read.
        let mut sleep = pin!(None::<Sleep>);
        // `None` inside: a limit so large that the deadline is not representable,
        // which is no limit at all.
        let mut deadline: Option<Option<Instant>> = None;
        poll_fn(move |cx| {
            let deadline = *deadline.get_or_insert_with(|| Instant::now().checked_add(after));
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                // The time waited, only when metrics want it: one more clock read.
                let waited = (crate::meter::ENABLED && sleep.is_some())
                    .then(|| {
                        deadline.map(|d| {
                            after.saturating_sub(d.saturating_duration_since(Instant::now()))
                        })
                    })
                    .flatten();
                crate::meter::timeout_call(name, false, waited);
                return Poll::Ready(Ok(output));
            }
            let Some(deadline) = deadline else {
                return Poll::Pending;
            };
            if sleep.is_none() {
                sleep.set(Some(tokio::time::sleep_until(deadline)));
            }
            match sleep.as_mut().as_pin_mut().map(|s| s.poll(cx)) {
                Some(Poll::Ready(())) => {
                    crate::events::timed_out(name, after);
                    crate::meter::timeout_call(name, true, Some(after));
                    Poll::Ready(Err(Rejected::timeout(after)))
                }
                _ => Poll::Pending,
            }
        })
        .await
    }

    /// [`run`](Timeout::run) for a call whose error already travels as a
    /// [`Failure`]: the timeout joins the other rejections in it.
    pub async fn wrap<T, E, F>(&self, future: F) -> Result<T, Failure<E, Rejected>>
    where
        F: Future<Output = Result<T, Failure<E, Rejected>>>,
    {
        self.run(future)
            .await
            .unwrap_or_else(|rejected| Err(Failure::Rejected(rejected)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn cuts_off_at_the_deadline_and_reports_the_limit() {
        let t = Timeout::new(MS * 100);
        let start = Instant::now();
        let out = t.run(tokio::time::sleep(MS * 500)).await;
        assert_eq!(out, Err(Rejected::timeout(MS * 100)));
        assert_eq!(start.elapsed(), MS * 100);
    }

    #[tokio::test(start_paused = true)]
    async fn finishes_in_time() {
        let t = Timeout::new(MS * 100);
        let out = t
            .run(async {
                tokio::time::sleep(MS * 99).await;
                "done"
            })
            .await;
        assert_eq!(out, Ok("done"));
    }

    #[tokio::test(start_paused = true)]
    async fn drops_the_inner_future_at_the_deadline() {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Flag(dropped.clone());
        let inner = async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        };
        assert!(Timeout::new(MS).run(inner).await.is_err());
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn wrap_turns_the_deadline_into_a_failure() {
        let t = Timeout::new(MS * 5);
        let out: Result<(), Failure<u8>> = t
            .wrap(async {
                tokio::time::sleep(MS * 10).await;
                Ok(())
            })
            .await;
        assert_eq!(out, Err(Failure::Rejected(Rejected::timeout(MS * 5))));
        let out: Result<(), Failure<u8>> = t.wrap(async { Err(Failure::Error(3)) }).await;
        assert_eq!(out, Err(Failure::Error(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unrepresentable_deadline_is_no_limit() {
        let out = Timeout::new(Duration::MAX)
            .run(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                1
            })
            .await;
        assert_eq!(out, Ok(1));
    }

    #[test]
    #[should_panic(expected = "greater than zero")]
    fn zero_is_rejected() {
        let _ = Timeout::new(Duration::ZERO);
    }
}
