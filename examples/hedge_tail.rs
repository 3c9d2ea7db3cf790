//! Tail latency with and without `#[hedge]` (`cargo run --example hedge_tail`).
//!
//! A backend answers in 8–12 ms, except for one answer in twenty, which
//! takes 400–600 ms (a GC pause, a cold cache, a slow replica). The same
//! 2000 calls go through a plain `async fn` and through one marked
//! `#[hedge(after = "25ms")]`; the summary prints the p50 and p99 of both
//! and the extra load the hedge cost. Time is tokio's paused clock, so the
//! run takes a moment and prints the same figures every time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use steadfast::hedge;
use tokio::time::Instant;

/// Calls per run.
pub(crate) const CALLS: usize = 2000;

/// Requests the backend received (copies included).
pub(crate) static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// The backend: a deterministic pseudo-random latency per request.
async fn backend(id: u64) -> Result<u64, std::io::Error> {
    let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
    // A splitmix64 step: independent draws per request.
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let ms = if z.is_multiple_of(20) {
        400 + z / 20 % 201
    } else {
        8 + z / 20 % 5
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(id)
}

/// The endpoint as written.
pub(crate) async fn plain(id: u64) -> Result<u64, std::io::Error> {
    backend(id).await
}

/// The same endpoint, hedged: a second request after 25 ms (above the
/// usual 8–12 ms, so about one call in twenty sends one).
#[hedge(after = "25ms", max = 1)]
pub(crate) async fn hedged(id: u64) -> Result<u64, std::io::Error> {
    backend(id).await
}

/// p50 and p99 of `CALLS` calls of `call`, one after another, and the
/// requests they sent.
pub(crate) async fn measure<F, Fut>(call: F) -> (Duration, Duration, u64)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<u64, std::io::Error>>,
{
    REQUESTS.store(0, Ordering::Relaxed);
    let mut took = Vec::with_capacity(CALLS);
    for id in 0..CALLS as u64 {
        let start = Instant::now();
        assert_eq!(call(id).await.expect("the backend answers"), id);
        took.push(start.elapsed());
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    (at(0.50), at(0.99), REQUESTS.load(Ordering::Relaxed))
}

#[allow(dead_code)]
#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let (p50, p99, sent) = measure(plain).await;
    let (h50, h99, hsent) = measure(hedged).await;
    println!("{CALLS} calls; one answer in twenty takes 400-600 ms");
    println!("{:<24}{:>10}{:>10}{:>12}", "", "p50", "p99", "requests");
    println!(
        "{:<24}{:>10}{:>10}{:>12}",
        "plain async fn",
        format!("{p50:.0?}"),
        format!("{p99:.0?}"),
        sent
    );
    println!(
        "{:<24}{:>10}{:>10}{:>12}",
        "#[hedge(after = 25ms)]",
        format!("{h50:.0?}"),
        format!("{h99:.0?}"),
        hsent
    );
}
