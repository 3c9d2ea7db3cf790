//! A bulkhead slot taken and given back with nobody waiting — alone and with
//! two threads on one bulkhead — next to tokio's `Semaphore`, in one run.
//!
//! Run with `cargo bench --bench bulkhead`; compare the medians as ratios.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::{Bulkhead, bulkhead};
use tokio::sync::Semaphore;

static BULKHEAD: Bulkhead = Bulkhead::builder().name("bench").max_concurrent(64).build();
static SEMAPHORE: Semaphore = Semaphore::const_new(64);

#[bulkhead(max_concurrent = 64)]
async fn annotated(x: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(x))
}

async fn plain(x: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(x))
}

/// Polls a future that is ready at once.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("nobody waits in these benchmarks"),
    }
}

fn uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulkhead/uncontended");
    group.bench_function("tokio Semaphore try_acquire", |b| {
        b.iter(|| drop(black_box(SEMAPHORE.try_acquire().unwrap())))
    });
    group.bench_function("tokio Semaphore acquire", |b| {
        b.iter(|| drop(black_box(ready(SEMAPHORE.acquire()).unwrap())))
    });
    group.bench_function("steadfast try_acquire", |b| {
        b.iter(|| drop(black_box(BULKHEAD.try_acquire().unwrap())))
    });
    group.bench_function("steadfast acquire", |b| {
        b.iter(|| drop(black_box(ready(BULKHEAD.acquire()).unwrap())))
    });
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("steadfast #[bulkhead] async fn", |b| {
        b.iter(|| ready(annotated(black_box(7))))
    });
    group.finish();
}

/// `iters` acquire/release pairs split over two threads.
fn two_threads(iters: u64, call: impl Fn() + Sync) -> Duration {
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

fn shared(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulkhead/two-threads");
    group.bench_function("tokio Semaphore acquire", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                drop(black_box(ready(SEMAPHORE.acquire()).unwrap()))
            })
        })
    });
    group.bench_function("steadfast acquire", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                drop(black_box(ready(BULKHEAD.acquire()).unwrap()))
            })
        })
    });
    group.finish();
}

criterion_group!(benches, uncontended, shared);
criterion_main!(benches);
