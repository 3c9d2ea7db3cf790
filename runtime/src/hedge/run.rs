//! The hedged call's future.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::slots::Slots;
use crate::RetryBudget;

pin_project! {
    /// A hedged call: its copies (`S`, a chain of `1 + MAX` slots of `Fut`),
    /// its timer, created only once the first copy has been pending, and
    /// what it counts. Dropping it drops every copy.
    #[must_use = "a hedged call does nothing unless awaited"]
    pub(super) struct Hedged<'b, S, Op, E> {
        #[pin]
        slots: S,
        #[pin]
        timer: Option<Sleep>,
        op: Op,
        call: Call<'b, E>,
    }
}

/// What one call knows besides its copies.
struct Call<'b, E> {
    after: Duration,
    budget: Option<&'b RetryBudget>,
    /// Copies the call may hold, the first included (`1 + MAX`).
    total: usize,
    /// Copies started so far (slots `0..started`).
    started: usize,
    /// Copies started and not yet failed.
    running: usize,
    /// Copies polled at least once (slots `0..polled`).
    polled: usize,
    /// No further copy may start (all started, budget spent, shutdown).
    closed: bool,
    /// The error of the copy that failed last.
    last: Option<E>,
}

impl<'b, S, Op, E> Hedged<'b, S, Op, E> {
    pub(super) fn new<Fut>(
        after: Duration,
        budget: Option<&'b RetryBudget>,
        total: usize,
        mut op: Op,
    ) -> Self
    where
        S: Slots<Fut>,
        Op: FnMut() -> Fut,
    {
        // The first copy's future is made here, with the call (it does
        // nothing until polled): written once, in its slot, as the call is
        // built. Made on the first poll instead, it was copied there from
        // `op`'s captures just written by the caller, a load wider than the
        // stores before it that could not be forwarded from them (a stall
        // of about 4 ns, most of `#[hedge]`'s cost over `#[timeout]`).
        let first = op();
        Hedged {
            slots: S::with_first(first),
            timer: None,
            op,
            call: Call {
                after,
                budget,
                total,
                started: 0,
                running: 0,
                polled: 0,
                closed: false,
                last: None,
            },
        }
    }
}

impl<S, Op, Fut, T, E> Future for Hedged<'_, S, Op, E>
where
    S: Slots<Fut>,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let call = this.call;
        if call.polled == 0 {
            // The first poll: the first copy alone, before any timer exists.
            // Ready (`Ok`, or `Err` while no other copy runs and none is
            // due) ends the call here.
            let Some(mut first) = this.slots.as_mut().slot(0) else {
                unreachable!("a chain has a first slot");
            };
            if call.started == 0 {
                if let Some(budget) = call.budget {
                    // Counted like a retried call's first attempt.
                    budget.deposit();
                }
                // Its future was made with the call (`new`).
                call.started = 1;
                call.running = 1;
            }
            if let Some(copy) = first.as_mut().as_pin_mut() {
                let outcome = copy.poll(cx);
                if outcome.is_ready() {
                    // The copy goes now, not when the call is dropped.
                    first.set(None);
                    call.running = 0;
                    return outcome;
                }
            }
            call.polled = 1;
            return call.poll(cx, this.slots, this.timer, this.op, false);
        }
        call.poll(cx, this.slots, this.timer, this.op, true)
    }
}

impl<E> Call<'_, E> {
    #[inline(never)]
    fn poll<T, S, Fut, Op>(
        &mut self,
        cx: &mut Context<'_>,
        mut slots: Pin<&mut S>,
        mut timer: Pin<&mut Option<Sleep>>,
        op: &mut Op,
        all: bool,
    ) -> Poll<Result<T, E>>
    where
        S: Slots<Fut>,
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        // Every copy on a wake-up; after the first copy's own first poll,
        // only the copies not yet polled.
        let mut first_pass = all;
        loop {
            // Start the copies that are due.
            self.fire(cx, slots.as_mut(), timer.as_mut(), op);
            let from = if first_pass { 0 } else { self.polled };
            first_pass = false;
            for index in from..self.started {
                let Some(mut slot) = slots.as_mut().slot(index) else {
                    break;
                };
                let Some(copy) = slot.as_mut().as_pin_mut() else {
                    continue;
                };
                match copy.poll(cx) {
                    Poll::Ready(Ok(value)) => {
                        // The winner: every other copy goes at once.
                        self.drop_all(slots.as_mut(), timer.as_mut());
                        return Poll::Ready(Ok(value));
                    }
                    Poll::Ready(Err(error)) => {
                        // A failed copy goes at once (its permits with it).
                        slot.set(None);
                        self.running -= 1;
                        self.last = Some(error);
                    }
                    Poll::Pending => {}
                }
            }
            self.polled = self.started;
            if self.running == 0 {
                self.close(timer.as_mut());
                let error = self.last.take().expect("a copy failed");
                return Poll::Ready(Err(error));
            }
            if timer.is_none() && !self.closed && self.started < self.total {
                // The first copy is pending after its first poll: only now
                // is there a timer (and a clock read).
                timer.set(Some(tokio::time::sleep(self.after)));
                continue;
            }
            return Poll::Pending;
        }
    }

    /// Starts a copy each time the timer has run out, re-arming it for the
    /// next one; leaves the timer pending (waker registered) or gone.
    fn fire<S, Fut, Op>(
        &mut self,
        cx: &mut Context<'_>,
        mut slots: Pin<&mut S>,
        mut timer: Pin<&mut Option<Sleep>>,
        op: &mut Op,
    ) where
        S: Slots<Fut>,
        Op: FnMut() -> Fut,
    {
        while let Some(mut sleep) = timer.as_mut().as_pin_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return;
            }
            let due = sleep.deadline();
            if crate::shutdown::is_shutting_down() {
                self.close(timer.as_mut());
                return;
            }
            if let Some(budget) = self.budget
                && !budget.try_withdraw()
            {
                tracing::debug!(
                    target: "steadfast::hedge",
                    budget = budget.name(),
                    copies = self.started,
                    "retry budget spent: no further hedged copy",
                );
                self.close(timer.as_mut());
                return;
            }
            if let Some(mut slot) = slots.as_mut().slot(self.started) {
                slot.set(Some(op()));
                self.started += 1;
                self.running += 1;
            }
            if self.started >= self.total {
                self.close(timer.as_mut());
                return;
            }
            if let Some(sleep) = timer.as_mut().as_pin_mut() {
                sleep.reset(due + self.after);
            }
        }
    }

    fn close(&mut self, mut timer: Pin<&mut Option<Sleep>>) {
        self.closed = true;
        timer.set(None);
    }

    /// Drops every copy and the timer: the call is over.
    fn drop_all<S: Slots<Fut>, Fut>(
        &mut self,
        mut slots: Pin<&mut S>,
        timer: Pin<&mut Option<Sleep>>,
    ) {
        for index in 0..self.started {
            if let Some(mut slot) = slots.as_mut().slot(index) {
                slot.set(None);
            }
        }
        self.running = 0;
        self.close(timer);
    }
}
