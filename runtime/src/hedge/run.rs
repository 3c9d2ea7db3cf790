//! The hedged call's loop.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use core::time::Duration;

use tokio::time::Sleep;

use super::slots::{Extra, Slots, Width};
use crate::RetryBudget;

/// What one call knows besides its copies.
struct Call<'b, E> {
    after: Duration,
    budget: Option<&'b RetryBudget>,
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

pub(super) async fn run<const MAX: usize, T, E, Op, Fut>(
    after: Duration,
    budget: Option<&RetryBudget>,
    mut op: Op,
) -> Result<T, E>
where
    Extra<MAX>: Width,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if let Some(budget) = budget {
        // The call's first copy counts like a retried call's first attempt.
        budget.deposit();
    }
    let mut slots = pin!(<<Extra<MAX> as Width>::Slots<Fut> as Slots<Fut>>::empty());
    let mut timer = pin!(None::<Sleep>);
    if let Some(mut first) = slots.as_mut().slot(0) {
        first.set(Some(op()));
    }
    let mut call = Call {
        after,
        budget,
        started: 1,
        running: 1,
        polled: 0,
        closed: false,
        last: None,
    };
    // Returning drops `slots`: every copy still running goes with the call.
    poll_fn(|cx| {
        if call.polled == 0 {
            // The first poll: the first copy alone, before any timer exists.
            // Ready (`Ok` or `Err`: no other copy runs, none is due) ends
            // the call here.
            let outcome = match slots.as_mut().slot(0) {
                Some(mut first) => match first.as_mut().as_pin_mut() {
                    Some(copy) => copy.poll(cx),
                    None => Poll::Pending,
                },
                None => Poll::Pending,
            };
            if outcome.is_ready() {
                return outcome;
            }
            call.polled = 1;
            return call.poll(cx, slots.as_mut(), timer.as_mut(), &mut op, MAX + 1, false);
        }
        call.poll(cx, slots.as_mut(), timer.as_mut(), &mut op, MAX + 1, true)
    })
    .await
}

impl<E> Call<'_, E> {
    #[inline(never)]
    fn poll<T, S, Fut, Op>(
        &mut self,
        cx: &mut Context<'_>,
        mut slots: Pin<&mut S>,
        mut timer: Pin<&mut Option<Sleep>>,
        op: &mut Op,
        total: usize,
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
            // Start the copies that are due (none before the first pass).
            self.fire(cx, slots.as_mut(), timer.as_mut(), op, total);
            // Poll every copy on the first pass, then only the new ones.
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
                    Poll::Ready(Ok(value)) => return Poll::Ready(Ok(value)),
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
                let error = self.last.take().expect("a copy failed");
                return Poll::Ready(Err(error));
            }
            if timer.is_none() && !self.closed && self.started < total {
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
        total: usize,
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
            if self.started >= total {
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
}
