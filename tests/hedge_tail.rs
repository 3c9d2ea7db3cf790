//! The hedge demo (`examples/hedge_tail.rs`): hedging cuts the p99 of a
//! backend with rare slow answers, for a few percent more requests.

#[path = "../examples/hedge_tail.rs"]
mod demo;

use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn hedging_cuts_the_p99_for_a_few_percent_more_requests() {
    let (p50, p99, sent) = demo::measure(demo::plain).await;
    let (h50, h99, hsent) = demo::measure(demo::hedged).await;
    println!("plain: p50 {p50:?} p99 {p99:?} ({sent} requests)");
    println!("hedged: p50 {h50:?} p99 {h99:?} ({hsent} requests)");
    assert_eq!(p50, h50, "the median call never waits for a hedge");
    assert!(p99 >= Duration::from_millis(400), "{p99:?}");
    // At most `after` (25 ms) plus a usual answer (≤ 12 ms).
    assert!(h99 <= Duration::from_millis(37), "{h99:?}");
    assert_eq!(sent, demo::CALLS as u64);
    assert!(hsent <= sent * 110 / 100, "{hsent} requests");
}
