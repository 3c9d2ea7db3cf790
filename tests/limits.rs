//! The limits of the policies are written once, in the runtime's `const`
//! builders; the attributes accept every value up to them (one past each is a
//! compile error: `tests/ui/circuit-breaker-window-too-large.rs`,
//! `tests/ui/circuit-breaker-half-open-probes-too-large.rs`,
//! `tests/ui/bulkhead-max-queue-too-large.rs`).

use steadfast::{bulkhead, circuit_breaker, health};

#[circuit_breaker(window = 1024, half_open_probes = 65535, name = "limits::breaker")]
async fn at_the_breaker_limits() -> std::io::Result<u32> {
    Ok(1)
}

#[bulkhead(max_concurrent = 1, max_queue = 1000000, name = "limits::bulkhead")]
async fn at_the_bulkhead_limit() -> std::io::Result<u32> {
    Ok(2)
}

#[tokio::test]
async fn the_largest_accepted_values_build_working_policies() {
    assert_eq!(at_the_breaker_limits().await.unwrap(), 1);
    assert_eq!(at_the_bulkhead_limit().await.unwrap(), 2);
    let snapshot = health();
    let bulkhead = snapshot
        .bulkheads
        .iter()
        .find(|b| b.name == "limits::bulkhead")
        .expect("registered");
    assert_eq!(bulkhead.max_queue, 1_000_000);
}

#[test]
fn the_limits_are_the_runtime_s() {
    // The values the test above uses are the runtime's constants.
    assert_eq!(steadfast::CircuitBreaker::MAX_WINDOW_CALLS, 1024);
    assert_eq!(steadfast::CircuitBreaker::MAX_HALF_OPEN_PROBES, 65535);
    assert_eq!(steadfast::Bulkhead::MAX_QUEUE, 1_000_000);
}
