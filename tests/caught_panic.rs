//! A panic caught by `catch_unwind` around the call's future, instead of by
//! a tokio task (issue 10, defect 5): the policy's future is dropped only
//! after the panic was caught, when `std::thread::panicking()` is false
//! again. The breaker still counts the panic as a failure (it sees it unwind
//! through its own `poll`), the bulkhead still gives its slot back, and the
//! panic still reaches the caller.
//!
//! (Through an attribute, the breaker's future is a local of the annotated
//! `async fn`, which the unwinding drops on its way out, while
//! `std::thread::panicking()` still holds: these passed before the breaker
//! watched its own `poll` too. The runtime's own tests,
//! `circuit_breaker/tests/panic.rs`, catch the panic right around the
//! breaker's future, where only that watch sees it.)

mod common_breaker;

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

use common_breaker::{Calls, Outcome, TestError, play, secs};
use steadfast::{Bulkhead, Failure, bulkhead, circuit_breaker};
use tokio::time::advance;

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

/// Asserts that `outcome` is the body's scripted panic, propagated.
fn assert_scripted_panic<T>(outcome: Result<T, Box<dyn Any + Send>>) {
    let Err(panic) = outcome else {
        panic!("the panic did not propagate")
    };
    let message = panic.downcast_ref::<String>().expect("the body's panic");
    assert!(message.contains("scripted panic"), "{message}");
}

#[circuit_breaker(window = 4, failure_ratio = 0.5)]
async fn caught_while_closed(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// S S F and a caught panic fill a window of 4 with 2 failures: it opens.
#[tokio::test(start_paused = true)]
async fn a_caught_panic_counts_as_a_failure_and_propagates() {
    static CALLS: Calls = Calls::new();
    assert_eq!(play(|o| caught_while_closed(&CALLS, o), "SSF").await, "SSF");
    assert_scripted_panic(caught(caught_while_closed(&CALLS, Outcome::PANIC)).await);
    assert_eq!(play(|o| caught_while_closed(&CALLS, o), "S").await, "O");
    assert_eq!(CALLS.entered(), 4);
}

#[circuit_breaker(consecutive_failures = 1, open_for = "1s")]
async fn caught_probe(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A half-open probe whose panic is caught reopens the breaker, for a full
/// `open_for` (it does not give its slot back as a dropped call would).
#[tokio::test(start_paused = true)]
async fn a_caught_panic_in_a_probe_reopens() {
    static CALLS: Calls = Calls::new();
    assert_eq!(play(|o| caught_probe(&CALLS, o), "F").await, "F");
    advance(secs(1)).await;
    assert_scripted_panic(caught(caught_probe(&CALLS, Outcome::PANIC)).await);
    assert_eq!(play(|o| caught_probe(&CALLS, o), "S").await, "O");
    advance(secs(1)).await;
    assert_eq!(play(|o| caught_probe(&CALLS, o), "S S").await, "SS");
}

#[bulkhead(max_concurrent = 1, max_queue = 0)]
async fn caught_in_a_slot(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A call whose panic is caught gives its bulkhead slot back (the only one).
#[tokio::test(start_paused = true)]
async fn a_caught_panic_releases_the_bulkhead_slot() {
    static CALLS: Calls = Calls::new();
    assert_scripted_panic(caught(caught_in_a_slot(&CALLS, Outcome::PANIC)).await);
    assert_eq!(play(|o| caught_in_a_slot(&CALLS, o), "SS").await, "SS");

    static ONE: Bulkhead = Bulkhead::builder().max_concurrent(1).max_queue(0).build();
    let outcome = caught(ONE.run(async {
        tokio::task::yield_now().await;
        panic!("scripted panic in a slot") as Result<(), ()>
    }))
    .await;
    assert_scripted_panic_str(outcome);
    assert_eq!(ONE.running(), 0, "the slot came back");
    let ran: Result<u8, Failure<()>> = ONE.run(async { Ok(1) }).await;
    assert_eq!(ran, Ok(1));
}

/// [`assert_scripted_panic`] for a `panic!` with a literal message.
fn assert_scripted_panic_str<T>(outcome: Result<T, Box<dyn Any + Send>>) {
    let Err(panic) = outcome else {
        panic!("the panic did not propagate")
    };
    let message = panic.downcast_ref::<&str>().expect("the body's panic");
    assert!(message.contains("scripted panic"), "{message}");
}
