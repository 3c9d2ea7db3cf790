//! Waiting for a turn: the [`Reservation`] of a turn, and [`Limited`], a
//! call running through a [`RateLimiter`] as a future.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::{Admission, RateLimiter};
use crate::{Failure, Rejected};

/// A turn reserved for a waiting call. Dropped before it is
/// [kept](Reservation::keep), it gives the turn back if it is still the last
/// one reserved (see the module docs of `rate_limit`).
#[derive(Debug)]
pub(super) struct Reservation<'a> {
    limiter: &'a RateLimiter,
    /// The word's value after the reservation.
    reserved: u64,
}

impl<'a> Reservation<'a> {
    pub(super) const fn new(limiter: &'a RateLimiter, reserved: u64) -> Self {
        Reservation { limiter, reserved }
    }

    /// The turn has come and the call runs: nothing to give back.
    pub(super) fn keep(self) {
        // Only a borrow and a number: forgetting it leaks nothing.
        core::mem::forget(self);
    }

    /// The wait for the turn is over: the call runs at it (`Ok`), or, when
    /// shutdown ended the wait (`stopped`), the turn is given back as a
    /// dropped waiting call gives it back, and the call is refused.
    pub(super) fn end_wait(self, stopped: bool) -> Result<(), Rejected> {
        if stopped {
            let limiter = self.limiter;
            drop(self);
            return Err(limiter.shutting_down());
        }
        self.keep();
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.limiter.give_back(self.reserved);
    }
}

pin_project! {
    /// The future of [`RateLimiter::wrap`] (and of `run`).
    ///
    /// When first polled it asks the limiter for a turn (a shared limiter
    /// asks its store, see [`RateLimiterBuilder::store`](super::RateLimiterBuilder::store)):
    /// admitted at once,
    /// it polls the inner future straight away, with no timer armed and
    /// nothing allocated; over the limit, it sleeps until its reserved turn
    /// (a tokio sleep held inline), or fails at once with
    /// [`Rejected::RateLimited`] when that turn is beyond `max_wait`.
    /// Dropped while waiting, it gives the turn back if no call reserved one
    /// after it.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless `.await`ed or polled"]
    pub struct Limited<'a, F> {
        limiter: &'a RateLimiter,
        #[pin]
        inner: F,
        // The sleep until the reserved turn, while waiting for it.
        #[pin]
        turn: Option<Sleep>,
        reservation: Option<Reservation<'a>>,
        // The shutdown signal, while waiting for the turn.
        stop: Option<crate::shutdown::Stop>,
        // A shared limiter's decision (its store's, or `on_store_error`'s),
        // boxed: one allocation per call in shared mode only, next to a
        // network round trip.
        asking: Option<Asking<'a>>,
        admitted: bool,
    }
}

/// The future of a shared limiter's decision.
struct Asking<'a>(Pin<Box<dyn Future<Output = Result<(), Rejected>> + Send + 'a>>);

impl core::fmt::Debug for Asking<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Asking")
    }
}

impl<'a, F> Limited<'a, F> {
    pub(super) fn new(limiter: &'a RateLimiter, inner: F) -> Self {
        Limited {
            limiter,
            inner,
            turn: None,
            reservation: None,
            stop: None,
            asking: None,
            admitted: false,
        }
    }
}

impl<T, E, F> Future for Limited<'_, F>
where
    F: Future<Output = Result<T, Failure<E, Rejected>>>,
{
    type Output = Result<T, Failure<E, Rejected>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !*this.admitted
            && let Some(shared) = this.limiter.shared
        {
            let limiter = *this.limiter;
            let asking = this
                .asking
                .get_or_insert_with(|| Asking(Box::pin(limiter.acquire_shared(shared))));
            let decided = core::task::ready!(asking.0.as_mut().poll(cx));
            *this.asking = None;
            if let Err(rejected) = decided {
                return Poll::Ready(Err(Failure::Rejected(rejected)));
            }
            *this.admitted = true;
        }
        if !*this.admitted {
            if this.turn.is_none() {
                match this.limiter.admit(true) {
                    Admission::Now => *this.admitted = true,
                    Admission::Wait {
                        until, reservation, ..
                    } => {
                        let Some(stop) = crate::shutdown::Stop::new() else {
                            drop(reservation);
                            let rejected = this.limiter.shutting_down();
                            return Poll::Ready(Err(Failure::Rejected(rejected)));
                        };
                        this.turn.set(Some(tokio::time::sleep_until(until)));
                        *this.reservation = Some(reservation);
                        *this.stop = Some(stop);
                    }
                    Admission::Rejected(rejected) => {
                        return Poll::Ready(Err(Failure::Rejected(rejected)));
                    }
                }
            }
            if let Some(sleep) = this.turn.as_mut().as_pin_mut() {
                if sleep.poll(cx).is_pending() {
                    let stopped = this
                        .stop
                        .as_mut()
                        .is_some_and(|stop| Pin::new(stop).poll(cx).is_ready());
                    if !stopped {
                        return Poll::Pending;
                    }
                    // Shutdown: leave the line, giving the turn back as a
                    // dropped call does.
                    this.turn.set(None);
                    *this.stop = None;
                    drop(this.reservation.take());
                    let rejected = this.limiter.shutting_down();
                    return Poll::Ready(Err(Failure::Rejected(rejected)));
                }
                this.turn.set(None);
                *this.stop = None;
                if let Some(reservation) = this.reservation.take() {
                    reservation.keep();
                }
                *this.admitted = true;
            }
        }
        this.inner.poll(cx)
    }
}
