//! Bounding a call's duration: the [`Timeout`] policy.

use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;
use tokio::task::coop;
use tokio::time::{Instant, Sleep};

use crate::name::PolicyName;
use crate::{Failure, Rejected};

/// Cancels a call that has not finished within a limit.
///
/// The inner future is polled first, so a call that is ready at once neither
/// arms a timer nor reads the clock. The deadline is counted from the first
/// time the inner future has to wait (its first `Pending`); when it passes,
/// the inner future is dropped (cancelled) and the call ends with
/// [`Rejected::Timeout`]. Like every async timeout, it takes effect at the
/// inner future's `.await` points: a body that blocks the thread without
/// yielding cannot be interrupted. A body that never waits but yields because
/// it spent tokio's cooperative budget (draining a backlog, looping on
/// `consume_budget`) is cut off at the deadline too.
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
    name: PolicyName,
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
            name: PolicyName::fixed("timeout"),
        }
    }

    /// The same timeout, named in `tracing` events and metrics (the
    /// attribute uses `module::fn`, or `module::Type::fn` for a method).
    #[must_use]
    pub const fn named(self, name: &'static str) -> Self {
        Timeout {
            name: PolicyName::fixed(name),
            ..self
        }
    }

    /// The same timeout, named after where it is declared: `function` of
    /// `module` (`module_path!()`), worked out on first read from `here`, as
    /// [`CircuitBreakerBuilder::name_located`](crate::circuit_breaker::CircuitBreakerBuilder::name_located).
    #[must_use]
    pub const fn named_located(self, location: &'static crate::name::Location) -> Self {
        Timeout {
            name: PolicyName::located(location),
            ..self
        }
    }

    /// The name in `tracing` events and metrics (default `timeout`). A
    /// located name is worked out on its first read (a timeout, or a call
    /// with metrics on) and looked up afterwards.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name.get()
    }

    /// The limit.
    #[must_use]
    pub const fn after(&self) -> Duration {
        self.after
    }

    /// Runs `future` to completion, or cancels it at the deadline.
    ///
    /// The returned future resolves to [`Rejected::Timeout`] when the
    /// deadline passed first.
    ///
    /// The future holds a copy of the timeout, so it borrows nothing:
    /// `tokio::spawn(Timeout::new(limit).run(call))` works.
    pub fn run<F: IntoFuture>(&self, future: F) -> Timed<F::IntoFuture> {
        Timed::new(future.into_future(), *self)
    }

    /// [`run`](Timeout::run) for a call whose error already travels as a
    /// [`Failure`]: the timeout joins the other rejections in it. The future
    /// refers to this `'static` timeout rather than copying it (one word
    /// instead of four: what `#[timeout]` uses, where the timeout is a
    /// constant, so that a call that is ready at once moves as little as
    /// possible).
    pub fn wrap<T, E, F>(&'static self, future: F) -> TimedWrap<F>
    where
        F: Future<Output = Result<T, Failure<E, Rejected>>>,
    {
        TimedWrap {
            timed: Timed::new(future, self),
        }
    }
}

/// Where a [`Timed`] future finds its limit and name: its own copy of the
/// [`Timeout`], or a reference to a `'static` one.
pub trait Limit: sealed::Sealed {
    /// The timeout.
    fn timeout(&self) -> &Timeout;
}

impl Limit for Timeout {
    #[inline]
    fn timeout(&self) -> &Timeout {
        self
    }
}

impl Limit for &'static Timeout {
    #[inline]
    fn timeout(&self) -> &Timeout {
        self
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Timeout {}
    impl Sealed for &'static super::Timeout {}
}

impl<F, L> Timed<F, L> {
    const fn new(inner: F, limit: L) -> Self {
        Timed {
            inner: Some(inner),
            sleep: None,
            limit,
            unbounded: false,
        }
    }
}

pin_project! {
    /// The future of [`Timeout::run`]: the inner future, and the timer it arms
    /// when it first has to wait.
    ///
    /// Its size is the inner future's plus a tokio `Sleep` and the
    /// [`Timeout`] (a copy, or a reference for [`Timeout::wrap`]); nothing is
    /// allocated.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless `.await`ed or polled"]
    pub struct Timed<F, L = Timeout> {
        // `None` once cancelled: dropped at the deadline, not when `Timed` is.
        #[pin]
        inner: Option<F>,
        #[pin]
        sleep: Option<Sleep>,
        // Its limit and name: see `Limit`.
        limit: L,
        // The deadline is not representable: no limit at all.
        unbounded: bool,
    }
}

impl<F: Future, L: Limit> Future for Timed<F, L> {
    type Output = Result<F::Output, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // A new call (never polled before: no timer armed) during shutdown
        // is refused; one already running is left to finish.
        if this.sleep.is_none() && !*this.unbounded && crate::shutdown::is_shutting_down() {
            this.inner.set(None);
            let rejected = Rejected::shutting_down(this.limit.timeout().name());
            crate::events::rejected(&rejected);
            return Poll::Ready(Err(rejected));
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            panic!("steadfast: a timed-out call polled after it finished");
        };
        // Whether the task still had cooperative budget before the body ran
        // (a thread-local read, not the clock): see `poll_deadline`. Not read
        // on the first poll, so that a call ready at once pays nothing for
        // it: the timer armed after that poll cannot be due yet, and if the
        // body spent the budget, the task is polled again soon anyway.
        let had_budget = this.sleep.is_some() && coop::has_budget_remaining();
        if let Poll::Ready(output) = inner.poll(cx) {
            if crate::meter::ENABLED {
                // The time waited (a clock read only when metrics want it).
                let waited = this.sleep.as_ref().as_pin_ref().map(|sleep| {
                    this.limit
                        .timeout()
                        .after
                        .saturating_sub(sleep.deadline().saturating_duration_since(Instant::now()))
                });
                crate::meter::timeout_call(this.limit.timeout().name(), false, waited);
            }
            return Poll::Ready(Ok(output));
        }
        if this.sleep.is_none() {
            // The first wait: the only clock read of a call that finishes in time.
            match Instant::now().checked_add(this.limit.timeout().after) {
                Some(deadline) => this.sleep.set(Some(tokio::time::sleep_until(deadline))),
                None => *this.unbounded = true,
            }
        }
        match this
            .sleep
            .as_pin_mut()
            .map(|sleep| poll_deadline(sleep, had_budget, cx))
        {
            Some(Poll::Ready(())) => {
                // Cancelled now, whatever its owner does with this future next.
                this.inner.set(None);
                let timeout = this.limit.timeout();
                let (name, after) = (timeout.name(), timeout.after);
                crate::events::timed_out(name, after);
                crate::meter::timeout_call(name, true, Some(after));
                Poll::Ready(Err(Rejected::timeout(after)))
            }
            _ => Poll::Pending,
        }
    }
}

/// Polls the deadline's timer, even when the body used up the task's
/// cooperative budget.
///
/// Tokio's `Sleep` is a budgeted resource: with no budget left it returns
/// `Pending` without looking at the clock. A body that always has work ready
/// (a channel backlog, a loop on `consume_budget`) spends the whole budget on
/// every poll and yields only because of it, so a budgeted check would never
/// see the deadline, and the call would run past it for as long as the body
/// finds work (forever, for a loop). When it was the body that spent the
/// budget (there was some left before it ran, none after), the timer is
/// polled unconstrained, as `tokio::time::Timeout` does; the task still
/// yields, since the body returned `Pending`. When the budget was already
/// gone before the body ran, the timer stays budgeted like any resource, so
/// that it cannot be used to dodge the scheduler's fairness.
fn poll_deadline(sleep: Pin<&mut Sleep>, had_budget: bool, cx: &mut Context<'_>) -> Poll<()> {
    if had_budget && !coop::has_budget_remaining() {
        core::pin::pin!(coop::unconstrained(sleep)).poll(cx)
    } else {
        sleep.poll(cx)
    }
}

pin_project! {
    /// The future of [`Timeout::wrap`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless `.await`ed or polled"]
    pub struct TimedWrap<F> {
        #[pin]
        timed: Timed<F, &'static Timeout>,
    }
}

impl<T, E, F> Future for TimedWrap<F>
where
    F: Future<Output = Result<T, Failure<E, Rejected>>>,
{
    type Output = Result<T, Failure<E, Rejected>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .timed
            .poll(cx)
            .map(|out| out.unwrap_or_else(|rejected| Err(Failure::Rejected(rejected))))
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
    async fn the_inner_future_is_dropped_at_the_deadline_not_later() {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Flag(dropped.clone());
        let mut timed = core::pin::pin!(Timeout::new(MS).run(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        }));
        assert!(
            core::future::poll_fn(|cx| Poll::Ready(timed.as_mut().poll(cx)))
                .await
                .is_pending()
        );
        tokio::time::sleep(MS).await;
        let out = core::future::poll_fn(|cx| Poll::Ready(timed.as_mut().poll(cx))).await;
        assert_eq!(out, Poll::Ready(Err(Rejected::timeout(MS))));
        // `timed` is still alive: the body must be gone already, so that a
        // bulkhead or breaker above sees it finished when the call does.
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn wrap_turns_the_deadline_into_a_failure() {
        static T: Timeout = Timeout::new(Duration::from_millis(5));
        let t = &T;
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

    /// Polls the spawned call's task until it ends, giving up after `turns`
    /// turns of the scheduler: `None` if it is still running.
    async fn outcome_within<T: Send + 'static>(
        task: &mut tokio::task::JoinHandle<T>,
        turns: usize,
    ) -> Option<T> {
        for _ in 0..turns {
            if task.is_finished() {
                return Some(task.await.expect("the call's task does not panic"));
            }
            tokio::task::yield_now().await;
        }
        None
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_spending_the_whole_coop_budget_is_cut_off_at_the_deadline() {
        // The body never waits: it yields only because `consume_budget` runs
        // the task's budget out, on every poll. A budgeted timer never fires
        // for it. Paused time does not advance by itself while a task is
        // busy, so this test moves the clock.
        let started = Arc::new(AtomicBool::new(false));
        let running = started.clone();
        let mut task = tokio::spawn(Timeout::new(MS * 50).run(async move {
            running.store(true, Ordering::SeqCst);
            loop {
                tokio::task::coop::consume_budget().await;
            }
        }));
        while !started.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        // The timer is armed at the body's first yield, at `start`.
        let start = Instant::now();
        tokio::time::advance(MS * 49).await;
        assert!(
            outcome_within(&mut task, 100).await.is_none(),
            "ended early"
        );
        tokio::time::advance(MS).await;
        let out = outcome_within(&mut task, 100).await;
        assert_eq!(
            out,
            Some(Err(Rejected::timeout(MS * 50))),
            "the call ends with a timeout at its deadline"
        );
        assert_eq!(start.elapsed(), MS * 50);
    }

    #[test]
    #[should_panic(expected = "greater than zero")]
    fn zero_is_rejected() {
        let _ = Timeout::new(Duration::ZERO);
    }
}
