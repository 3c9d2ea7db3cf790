//! [`Slotted`]: a call running in a [`Bulkhead`] slot, as a future.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{Bulkhead, BulkheadPermit};
use crate::{Failure, Rejected};

pin_project! {
    /// The future of [`Bulkhead::wrap`] (and of `run`).
    ///
    /// When first polled it takes a free slot at once if there is one (no
    /// lock), and otherwise waits in line through `waiting`, the bulkhead's
    /// slow path, which is only polled then. The slot is held while the inner
    /// future runs and released when it finishes or is dropped. It allocates
    /// nothing.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless `.await`ed or polled"]
    pub struct Slotted<'a, F, W> {
        bulkhead: &'a Bulkhead,
        // `None` once finished: the call is gone before its slot is released,
        // whatever the inner future keeps after completing.
        #[pin]
        inner: Option<F>,
        #[pin]
        waiting: W,
        permit: Option<BulkheadPermit<'a>>,
        fast_path_tried: bool,
    }
}

impl<'a, F, W> Slotted<'a, F, W> {
    pub(super) fn new(bulkhead: &'a Bulkhead, inner: F, waiting: W) -> Self {
        Slotted {
            bulkhead,
            inner: Some(inner),
            waiting,
            permit: None,
            fast_path_tried: false,
        }
    }
}

impl<'a, T, E, F, W> Future for Slotted<'a, F, W>
where
    F: Future<Output = Result<T, Failure<E, Rejected>>>,
    W: Future<Output = Result<BulkheadPermit<'a>, Rejected>>,
{
    type Output = Result<T, Failure<E, Rejected>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this.permit.is_none() {
            if !*this.fast_path_tried
                && !crate::shutdown::is_shutting_down()
                && this.bulkhead.try_take_slot()
            {
                *this.permit = Some(this.bulkhead.permit());
            } else {
                *this.fast_path_tried = true;
                match core::task::ready!(this.waiting.poll(cx)) {
                    Ok(permit) => *this.permit = Some(permit),
                    Err(rejected) => return Poll::Ready(Err(Failure::Rejected(rejected))),
                }
            }
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            panic!("steadfast: a bulkhead call polled after it finished");
        };
        let result = core::task::ready!(inner.poll(cx));
        // The call is dropped, then its slot goes back.
        this.inner.set(None);
        *this.permit = None;
        Poll::Ready(result)
    }
}
