//! `#[chaos]` without the feature `chaos` (the default suite): the function
//! is untouched. No fault, whatever the rates; no state (the policy is
//! zero-sized); the same future as without the attribute.

#![cfg(not(feature = "chaos"))]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steadfast::{Rejected, chaos, retry, timeout};
use tokio::time::Instant;

#[derive(Debug, PartialEq)]
enum ApiError {
    Injected,
    Rejected(Rejected),
}

impl From<Rejected> for ApiError {
    fn from(rejected: Rejected) -> Self {
        ApiError::Rejected(rejected)
    }
}

static INJECTED: AtomicU32 = AtomicU32::new(0);

fn injected() -> ApiError {
    INJECTED.fetch_add(1, Ordering::Relaxed);
    ApiError::Injected
}

#[chaos(error = injected, error_rate = 1.0, latency = "1s", latency_rate = 1.0)]
async fn always_faulty_with_the_feature(n: u32) -> Result<u32, ApiError> {
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn no_fault_is_ever_injected() {
    let start = Instant::now();
    for n in 0..1_000 {
        assert_eq!(always_faulty_with_the_feature(n).await, Ok(n));
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "no latency");
    assert_eq!(
        INJECTED.load(Ordering::Relaxed),
        0,
        "the error fn never ran"
    );
}

#[test]
fn the_policy_is_zero_sized() {
    assert_eq!(size_of::<steadfast::__private::Chaos>(), 0);
}

// Two stacks that differ only by `#[chaos]`: their futures are the same
// size, since the layer is the inner future itself.
#[retry(attempts = 2, backoff = none)]
#[timeout("1s")]
async fn plain(n: u32) -> Result<u32, ApiError> {
    tokio::task::yield_now().await;
    Ok(n)
}

#[retry(attempts = 2, backoff = none)]
#[chaos(error = injected, error_rate = 0.5, latency = "1s", latency_rate = 0.5)]
#[timeout("1s")]
async fn with_chaos(n: u32) -> Result<u32, ApiError> {
    tokio::task::yield_now().await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn the_future_is_the_same_as_without_the_attribute() {
    assert_eq!(size_of_val(&with_chaos(1)), size_of_val(&plain(1)));
    assert_eq!(with_chaos(3).await, plain(3).await);
}
