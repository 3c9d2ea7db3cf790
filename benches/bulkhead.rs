//! A bulkhead slot taken and given back with nobody waiting — alone and with
//! two threads on one bulkhead — next to tokio's `Semaphore`, in one run.
//!
//! Run with `cargo bench --bench bulkhead`; compare the medians as ratios.

mod common;

use std::hint::black_box;

use common::{ready, two_threads};
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
