//! The closed circuit breaker's cost per call, the open breaker's rejection,
//! and two threads on one shared breaker — next to a bare call, a hand-written
//! two-atomic breaker (the floor) and failsafe's default policy, in one run.
//!
//! Run with `cargo bench --bench breaker`; compare the medians as ratios.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::{ready, two_threads};
use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use steadfast::{CircuitBreaker, circuit_breaker};

/// The operation under protection: cheap, so that overhead dominates.
#[inline(never)]
fn op(x: u64) -> Result<u64, ()> {
    Ok(x.wrapping_mul(31))
}

/// The floor: an open flag and a consecutive-failure counter.
struct TwoAtomic {
    open: AtomicBool,
    failures: AtomicU32,
}

impl TwoAtomic {
    const fn new() -> Self {
        TwoAtomic {
            open: AtomicBool::new(false),
            failures: AtomicU32::new(0),
        }
    }

    #[inline]
    fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Option<Result<T, E>> {
        if self.open.load(Ordering::Acquire) {
            return None;
        }
        let result = f();
        if result.is_ok() {
            if self.failures.load(Ordering::Relaxed) != 0 {
                self.failures.store(0, Ordering::Relaxed);
            }
        } else if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= 5 {
            self.open.store(true, Ordering::Release);
        }
        Some(result)
    }
}

static FLOOR: TwoAtomic = TwoAtomic::new();
static BREAKER: CircuitBreaker = CircuitBreaker::builder().name("bench").build();
static OPEN: CircuitBreaker = CircuitBreaker::builder()
    .name("open")
    .window_calls(1)
    .open_for(Duration::from_secs(3600))
    .build();

#[circuit_breaker]
async fn annotated(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

async fn plain(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

fn closed_success(c: &mut Criterion) {
    let failsafe = failsafe::Config::new().build();
    let mut group = c.benchmark_group("breaker/closed-success");
    group.bench_function("bare call", |b| b.iter(|| op(black_box(7))));
    group.bench_function("two-atomic floor", |b| {
        b.iter(|| FLOOR.call(|| op(black_box(7))))
    });
    group.bench_function("steadfast", |b| {
        b.iter(|| {
            let permit = BREAKER.try_acquire().ok()?;
            let result = op(black_box(7));
            if result.is_ok() {
                permit.success()
            } else {
                permit.failure()
            }
            Some(result)
        })
    });
    group.bench_function("failsafe default", |b| {
        b.iter(|| failsafe.call(|| op(black_box(7))))
    });
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("steadfast #[circuit_breaker] async fn", |b| {
        b.iter(|| ready(annotated(black_box(7))))
    });
    group.finish();
}

fn open_rejection(c: &mut Criterion) {
    // Open both breakers for good.
    for _ in 0..1 {
        OPEN.try_acquire().unwrap().failure();
    }
    let failsafe = failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(
            1,
            failsafe::backoff::constant(Duration::from_secs(3600)),
        ))
        .build();
    let _ = failsafe.call(|| Err::<(), ()>(()));
    assert!(OPEN.try_acquire().is_err() && !failsafe.is_call_permitted());
    let mut group = c.benchmark_group("breaker/open-rejection");
    group.bench_function("steadfast", |b| b.iter(|| OPEN.try_acquire().is_err()));
    group.bench_function("failsafe", |b| {
        b.iter(|| failsafe.call(|| op(black_box(7))).is_err())
    });
    group.finish();
}

fn shared_two_threads(c: &mut Criterion) {
    let failsafe = failsafe::Config::new().build();
    let mut group = c.benchmark_group("breaker/two-threads");
    group.bench_function("two-atomic floor", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(FLOOR.call(|| op(black_box(7))));
            })
        })
    });
    group.bench_function("steadfast", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                let permit = BREAKER.try_acquire().unwrap();
                black_box(op(black_box(7))).unwrap();
                permit.success();
            })
        })
    });
    group.bench_function("failsafe default", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(failsafe.call(|| op(black_box(7)))).ok();
            })
        })
    });
    group.finish();
}

criterion_group!(benches, closed_success, open_rejection, shared_two_threads);
criterion_main!(benches);
