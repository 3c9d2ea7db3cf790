//! Panics caught by `catch_unwind` upstream of the breaker (issue 10, defect
//! 5): the permit is dropped only after the panic was caught, when
//! `std::thread::panicking()` is false again, so the breaker must see the
//! panic where it unwinds through its own `poll` (or `call`).

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{CircuitBreaker, Failure, MS, Rejected, State, breaker};

/// Polls `future` to its end, each poll under `catch_unwind`, as
/// `futures::FutureExt::catch_unwind` does: the future is dropped only after
/// a panic out of it was caught.
async fn caught<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = pin!(future);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        },
    )
    .await
}

/// The panic's message, which must be the body's own.
fn message(panic: Box<dyn Any + Send>) -> &'static str {
    *panic.downcast::<&str>().expect("the body's panic")
}

#[tokio::test(start_paused = true)]
async fn a_caught_panic_counts_as_a_failure_while_closed() {
    // A window of 2 at 0.5: one success and one failure open it.
    let cb = breaker(CircuitBreaker::builder().window_calls(2));
    // Pending first, then ready: a poll that returns records nothing.
    let ok = cb.run(async {
        tokio::task::yield_now().await;
        Ok::<_, ()>(())
    });
    assert_eq!(ok.await, Ok(()));
    assert_eq!(cb.state(), State::Closed);
    let panicked = caught(cb.run(async {
        tokio::task::yield_now().await;
        panic!("boom") as Result<(), ()>
    }))
    .await;
    assert_eq!(
        message(panicked.unwrap_err()),
        "boom",
        "the panic propagates"
    );
    assert_eq!(cb.window_counts().failures, 1, "the panic is a failure");
    assert_eq!(cb.state(), State::Open);
    assert_eq!(
        cb.run(async { Ok::<_, ()>(()) }).await,
        Err(Failure::Rejected(Rejected::circuit_open("test")))
    );
}

#[tokio::test(start_paused = true)]
async fn a_caught_panic_in_a_probe_reopens() {
    let cb = breaker(CircuitBreaker::builder().window_calls(1).open_for(MS));
    assert_eq!(cb.call(|| Err::<(), _>(())), Err(Failure::Error(())));
    assert_eq!(cb.state(), State::Open);
    tokio::time::advance(MS).await;
    let panicked = caught(cb.run(async { panic!("probe") as Result<(), ()> })).await;
    assert_eq!(message(panicked.unwrap_err()), "probe");
    assert_eq!(
        cb.state(),
        State::Open,
        "a panicking probe reopens, it does not give its slot back"
    );
    assert!(cb.try_acquire().is_err(), "a full `open_for` again");
    tokio::time::advance(MS).await;
    assert_eq!(cb.run(async { Ok::<_, ()>(()) }).await, Ok(()));
    assert_eq!(cb.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_caught_panic_in_a_synchronous_probe_reopens() {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(1)
            .open_for(Duration::from_secs(1)),
    );
    assert_eq!(cb.call(|| Err::<(), _>(())), Err(Failure::Error(())));
    tokio::time::advance(Duration::from_secs(1)).await;
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        cb.call(|| -> Result<(), ()> { panic!("sync probe") })
    }));
    assert_eq!(message(panicked.unwrap_err()), "sync probe");
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.probes_in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_future_dropped_after_a_caught_panic_records_it_once() {
    // A window of 3, min 3: two failures would open it, one does not.
    let cb = breaker(CircuitBreaker::builder().window_calls(3).failure_ratio(0.6));
    let mut call = Box::pin(cb.run(async { panic!("once") as Result<(), ()> }));
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let waker = core::task::Waker::noop();
        call.as_mut()
            .poll(&mut core::task::Context::from_waker(waker))
    }));
    assert_eq!(message(panicked.unwrap_err()), "once");
    drop(call);
    assert_eq!(
        cb.window_counts(),
        super::WindowCounts {
            calls: 1,
            failures: 1,
            slow: 0
        }
    );
}
