//! What the benchmarks share: polling a future that is ready at once, and
//! timing calls split over two threads.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Polls a future that is ready at once (none of the benchmarked calls waits).
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the benchmarked futures never wait"),
    }
}

/// The time `iters` calls take when split over two threads at once.
pub(crate) fn two_threads(iters: u64, call: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..iters / 2 {
                    call();
                }
            });
        }
    });
    start.elapsed()
}
