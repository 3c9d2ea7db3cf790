//! Leaving a bulkhead's queue: `n` waiters join the line behind a held slot,
//! then all give up (their `acquire` futures are dropped), newest first or
//! oldest first. Only the leaving is timed; the cost per waiter should not
//! grow with `n`.
//!
//! Run with `cargo bench --bench bulkhead_queue [filter]`.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use steadfast::bulkhead::BulkheadPermit;
use steadfast::{Bulkhead, Rejected};

type Waiting = Pin<Box<dyn Future<Output = Result<BulkheadPermit<'static>, Rejected>>>>;

const SIZES: [u32; 3] = [1_000, 10_000, 100_000];

/// `n` waiters in line on `bulkhead`, whose one slot is held.
fn join(bulkhead: &'static Bulkhead, n: u32) -> Vec<Waiting> {
    (0..n)
        .map(|_| {
            let mut waiting: Waiting = Box::pin(bulkhead.acquire());
            let polled = waiting
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            assert!(matches!(polled, Poll::Pending), "the slot is held");
            waiting
        })
        .collect()
}

fn leave(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulkhead_queue_leave");
    group.sample_size(10);
    for n in SIZES {
        let bulkhead: &'static Bulkhead = Box::leak(Box::new(
            Bulkhead::builder()
                .name("queue")
                .max_concurrent(1)
                .max_queue(n)
                .build(),
        ));
        // Held for the whole run: every waiter stays in line until it leaves.
        std::mem::forget(bulkhead.try_acquire().expect("a free slot"));
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_function(BenchmarkId::new("newest_first", n), |b| {
            b.iter_batched(
                || join(bulkhead, n),
                |mut line| {
                    while let Some(waiting) = line.pop() {
                        drop(black_box(waiting));
                    }
                },
                BatchSize::PerIteration,
            );
        });
        group.bench_function(BenchmarkId::new("oldest_first", n), |b| {
            b.iter_batched(
                || join(bulkhead, n),
                |line| {
                    for waiting in line {
                        drop(black_box(waiting));
                    }
                },
                BatchSize::PerIteration,
            );
        });
        assert_eq!(bulkhead.waiting(), 0, "every waiter left");
    }
    group.finish();
}

criterion_group!(benches, leave);
criterion_main!(benches);
