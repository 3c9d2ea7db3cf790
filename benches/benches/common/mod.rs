//! What every benchmark file shares: the operation under protection, its
//! bare `async fn`, the poller that runs a future ready at once, and the
//! runtime (and its driver for tower services) of the rows that need one.

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tower::{Service, ServiceExt as _};

/// The operation under protection: cheap, so that overhead dominates.
#[inline(never)]
pub(crate) fn op(x: u64) -> Result<u64, ()> {
    Ok(x.wrapping_mul(31))
}

/// The same operation as an async fn with a real error type: the bare call.
pub(crate) async fn plain(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// Polls a future that is ready at once (none of the benchmarked calls waits),
/// where it was made.
///
/// Always inlined, so that every row measures its call the same way. Left to
/// the compiler, it was inlined for small futures and called for larger ones,
/// which then paid for a copy of the future into its frame: a copy that
/// reads, 8 or 16 bytes at a time, a state byte and arguments written a few
/// instructions before with narrower stores, which the processor cannot
/// forward (a store-forwarding stall, ≈ 5 to 10 ns on this machine). That is
/// a cost of moving any future over 16 bytes right after making it, measured
/// on its own by `moved` in `peers.rs`.
#[inline(always)]
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the benchmarked futures never wait"),
    }
}

/// A current-thread runtime with the timer, for what needs one (tokio's and
/// tower's timeouts register with it).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// The time `iters` calls through a tower service take inside one `block_on`.
pub(crate) fn tower_on_runtime<S>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    service: &mut S,
) -> Duration
where
    S: Service<u64, Response = u64>,
    S::Error: std::fmt::Debug,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let ready = service.ready().await.unwrap();
            black_box(ready.call(black_box(7)).await).unwrap();
        }
        start.elapsed()
    })
}
