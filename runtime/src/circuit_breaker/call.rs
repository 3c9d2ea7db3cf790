//! [`Guarded`]: a call running through a [`CircuitBreaker`], as a future.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::CircuitBreaker;
use super::permit::{FailOnUnwind, Permit, Slot};
use crate::{Failure, Rejected};

pin_project! {
    /// The future of [`CircuitBreaker::wrap`] (and of `run` and `run_if`).
    ///
    /// It asks the breaker for a [`Permit`] when first polled, runs the inner
    /// future, and reports its outcome: an inner
    /// [`Rejected::RateLimited`], [`Rejected::StoreUnavailable`] or
    /// [`Rejected::ShuttingDown`] is neither
    /// a success nor a failure (the call was not made); other inner rejections are failures. A panic out of the inner future's
    /// `poll` is recorded as a failure as it unwinds through this `poll`
    /// (so also when a `catch_unwind` upstream catches it), and propagates.
    /// Dropped while running, it drops the permit unreported (nothing is
    /// recorded; a half-open probe slot is given back); dropped while its
    /// thread panics, it records a failure. It holds the inner future once,
    /// with a few words beside it, and allocates nothing.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless `.await`ed or polled"]
    pub struct Guarded<'a, F, P> {
        // The breaker, and whether the call has asked for admission, and
        // its permit (see `Slot` on why not an `Option<Permit>`).
        slot: Slot<'a>,
        #[pin]
        inner: F,
        failure_if: P,
    }
}

impl<'a, F, P> Guarded<'a, F, P> {
    pub(super) fn new(breaker: &'a CircuitBreaker, inner: F, failure_if: P) -> Self {
        Guarded {
            slot: Slot::pending(breaker),
            inner,
            failure_if,
        }
    }
}

impl<T, E, F, P> Future for Guarded<'_, F, P>
where
    F: Future<Output = Result<T, Failure<E, Rejected>>>,
    P: Fn(&E) -> bool,
{
    type Output = Result<T, Failure<E, Rejected>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.slot.is_pending() {
            match this.slot.breaker().try_acquire() {
                Ok(permit) => this.slot.hold(permit),
                Err(rejected) => {
                    this.slot.close();
                    return Poll::Ready(Err(Failure::Rejected(rejected)));
                }
            }
        }
        // Armed while the inner future runs: a panic out of it records a
        // failure on its way through (not only once it reaches a permit
        // dropped during the unwind, which a `catch_unwind` upstream of us
        // prevents by dropping this future only after catching it).
        let on_unwind = FailOnUnwind::arm(this.slot);
        let polled = this.inner.poll(cx);
        on_unwind.disarm();
        let result = core::task::ready!(polled);
        let permit = this
            .slot
            .take()
            .expect("steadfast: a circuit-breaker call polled after it finished");
        settle(permit, &result, &*this.failure_if);
        Poll::Ready(result)
    }
}

/// Reports a finished call's `result` on its `permit`: success; an error
/// `failure_if` declines, or an inner rejection that says the call was not
/// made (rate limit, store down, shutdown, leadership), is neither; anything
/// else is a failure.
#[inline]
pub(super) fn settle<T, E>(
    permit: Permit<'_>,
    result: &Result<T, Failure<E, Rejected>>,
    failure_if: impl Fn(&E) -> bool,
) {
    match result {
        Ok(_) => permit.success(),
        Err(Failure::Error(error)) if !failure_if(error) => permit.ignore(),
        // An inner rate limit says nothing about the dependency's health:
        // the call was not made.
        Err(Failure::Rejected(
            Rejected::RateLimited { .. }
            | Rejected::StoreUnavailable { .. }
            | Rejected::ShuttingDown { .. }
            | Rejected::NotLeader { .. }
            | Rejected::LeadershipLost { .. },
        )) => permit.ignore(),
        Err(_) => permit.failure(),
    }
}
