//! steadfast next to what users would otherwise pick, in one run: backon,
//! tokio-retry and tower's `Retry` (retry); `tokio::time::timeout` and tower's
//! `Timeout`; failsafe and recloser (circuit breaker); tokio's `Semaphore` and
//! tower's `ConcurrencyLimit` (bulkhead); tower's middleware stack — with
//! hand-written floors (an inline retry loop, a two-atomic breaker, a `match`
//! fallback) and a bare call in every group, so each row reads as a ratio.
//!
//! Run with `scripts/bench.sh` (all of it, with the summary table) or
//! `cargo bench -p steadfast-benches --bench peers [filter]`.

mod common;

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable as _;
use common::{op, plain, ready, runtime, tower_on_runtime};
use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use steadfast::{
    Bulkhead, CircuitBreaker, bulkhead, circuit_breaker, fallback, hedge, retry, timeout,
};
use tokio::sync::Semaphore;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt as _};

/// [`ready`] for a future moved once first (into this function's frame), as
/// a future is when handed to a function that is not inlined.
#[inline(never)]
fn moved<F: Future>(future: F) -> F::Output {
    ready(future)
}

/// The time `iters` calls take when split over two threads at once.
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

/// The time `iters` awaited calls take inside one `block_on`.
fn on_runtime<F: Future>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    mut call: impl FnMut() -> F,
) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(call().await);
        }
        start.elapsed()
    })
}

/// Up to three attempts, no delay: the simplest tower retry policy.
#[derive(Clone, Copy)]
struct ThreeAttempts(u32);

impl<Res, E> tower::retry::Policy<u64, Res, E> for ThreeAttempts {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _: &mut u64, result: &mut Result<Res, E>) -> Option<Self::Future> {
        if result.is_err() && self.0 < 3 {
            self.0 += 1;
            Some(std::future::ready(()))
        } else {
            None
        }
    }

    fn clone_request(&mut self, req: &u64) -> Option<u64> {
        Some(*req)
    }
}

/// One call through a tower service that is ready at once.
fn tower_call<S: Service<u64>>(service: &mut S) -> Result<S::Response, S::Error> {
    let service = ready(service.ready())?;
    ready(service.call(black_box(7)))
}

// --- retry, success on the first attempt -----------------------------------

/// steadfast's default policy: 3 attempts, exponential 100ms ×2 up to 10s,
/// full jitter.
#[retry]
async fn retried(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// The default policy drawing its retries from a retry budget (defaults:
/// ratio 0.2, 10 per second, 10 s window): on success, one deposit.
static BUDGET: steadfast::RetryBudget = steadfast::RetryBudget::builder().name("bench").build();

#[retry(budget = BUDGET)]
async fn budgeted(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// The floor: the same attempts and delays written by hand, no jitter.
async fn inline_loop(x: u64) -> Result<u64, std::io::Error> {
    let mut retry = 0;
    loop {
        match plain(x).await {
            Ok(v) => return Ok(v),
            Err(e) if retry + 1 >= 3 => return Err(e),
            Err(_) => {
                let delay = Duration::from_millis(100)
                    .saturating_mul(1 << retry)
                    .min(Duration::from_secs(10));
                tokio::time::sleep(delay).await;
                retry += 1;
            }
        }
    }
}

fn retry_success(c: &mut Criterion) {
    let backoff = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_factor(2.0)
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(2)
        .with_jitter();
    let mut tower = ServiceBuilder::new()
        .retry(ThreeAttempts(1))
        .service_fn(plain);
    let mut group = c.benchmark_group("retry-success");
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("inline retry loop", |b| {
        b.iter(|| ready(inline_loop(black_box(7))))
    });
    group.bench_function("steadfast #[retry]", |b| {
        b.iter(|| ready(retried(black_box(7))))
    });
    group.bench_function("steadfast #[retry(budget = …)]", |b| {
        b.iter(|| ready(budgeted(black_box(7))))
    });
    group.bench_function("backon", |b| {
        b.iter(|| {
            let x = black_box(7);
            ready((|| plain(x)).retry(backoff))
        })
    });
    group.bench_function("tokio-retry", |b| {
        b.iter(|| {
            let x = black_box(7);
            let strategy = tokio_retry::strategy::ExponentialBackoff::from_millis(2)
                .factor(50)
                .max_delay(Duration::from_secs(10))
                .take(2);
            ready(tokio_retry::Retry::start(strategy, || plain(x)))
        })
    });
    group.bench_function("tower retry", |b| b.iter(|| tower_call(&mut tower)));
    group.finish();
}

// --- retry on a plain fn, success on the first attempt ------------------------

/// The same operation as a plain `fn`: the bare call.
#[inline(never)]
fn plain_sync(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// What a user writes by hand: three attempts, exponential delays slept on
/// the thread.
#[inline(never)]
fn inline_loop_sync(x: u64) -> Result<u64, std::io::Error> {
    let mut retry = 0_u32;
    loop {
        match plain_sync(x) {
            Ok(value) => return Ok(value),
            Err(error) if retry >= 2 => return Err(error),
            Err(_) => {
                let delay = Duration::from_millis(100)
                    .saturating_mul(1 << retry)
                    .min(Duration::from_secs(10));
                std::thread::sleep(delay);
                retry += 1;
            }
        }
    }
}

/// steadfast's default policy on a plain `fn`.
#[retry]
#[inline(never)]
fn retried_sync(x: u64) -> Result<u64, std::io::Error> {
    plain_sync(x)
}

/// The same, drawing its retries from a budget.
#[retry(budget = BUDGET)]
#[inline(never)]
fn budgeted_sync(x: u64) -> Result<u64, std::io::Error> {
    plain_sync(x)
}

/// Target: `#[retry]` on a plain `fn` ≤ 1.3× the hand-written loop (issue
/// 15 item 5); backon's blocking retry beside them.
fn sync_retry_success(c: &mut Criterion) {
    use backon::BlockingRetryable as _;
    let backoff = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_factor(2.0)
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(2)
        .with_jitter();
    let mut group = c.benchmark_group("sync-retry-success");
    group.bench_function("bare fn", |b| b.iter(|| plain_sync(black_box(7))));
    group.bench_function("inline retry loop", |b| {
        b.iter(|| inline_loop_sync(black_box(7)))
    });
    group.bench_function("steadfast #[retry] fn", |b| {
        b.iter(|| retried_sync(black_box(7)))
    });
    group.bench_function("steadfast #[retry(budget = …)] fn", |b| {
        b.iter(|| budgeted_sync(black_box(7)))
    });
    group.bench_function("backon blocking", |b| {
        b.iter(|| {
            let x = black_box(7);
            (|| plain_sync(x)).retry(backoff).call()
        })
    });
    group.finish();
}

// --- the deposit of a first attempt into a retry budget ----------------------

/// What a first attempt may cost a budget: a `Relaxed` `fetch_add` (exact,
/// a locked RMW), a `Relaxed` load and store (no lock prefix, but two
/// callers racing lose a deposit: stricter, never looser), and
/// `RetryBudget::deposit` (the `fetch_add`, plus a clock reading every 64th).
fn budget_deposit(c: &mut Criterion) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static DEPOSITS: steadfast::RetryBudget = steadfast::RetryBudget::builder()
        .name("bench-deposit")
        .build();
    let mut group = c.benchmark_group("budget-deposit");
    group.bench_function("fetch_add Relaxed", |b| {
        b.iter(|| black_box(&COUNTER).fetch_add(1, Ordering::Relaxed))
    });
    group.bench_function("load + store Relaxed", |b| {
        b.iter(|| {
            let counter = black_box(&COUNTER);
            counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        })
    });
    group.bench_function("RetryBudget::deposit", |b| {
        b.iter(|| black_box(&DEPOSITS).deposit())
    });
    group.finish();
}

// --- timeout, on a future that is ready at once ------------------------------

#[timeout("1s")]
async fn timed(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

fn timeout_ready(c: &mut Criterion) {
    const LIMIT: steadfast::Timeout = steadfast::Timeout::new(Duration::from_secs(1));
    let rt = runtime();
    let mut tower = ServiceBuilder::new()
        .timeout(Duration::from_secs(1))
        .service_fn(plain);
    let mut group = c.benchmark_group("timeout-ready");
    group.bench_function("bare async fn", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || plain(black_box(7))))
    });
    group.bench_function("steadfast #[timeout]", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || timed(black_box(7))))
    });
    group.bench_function("steadfast Timeout::run", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || LIMIT.run(plain(black_box(7)))))
    });
    group.bench_function("tokio::time::timeout", |b| {
        b.iter_custom(|iters| {
            on_runtime(&rt, iters, || {
                tokio::time::timeout(Duration::from_secs(1), plain(black_box(7)))
            })
        })
    });
    group.bench_function("tower timeout", |b| {
        b.iter_custom(|iters| tower_on_runtime(&rt, iters, &mut tower))
    });
    group.finish();
}

// --- hedge, with the first copy ready at once --------------------------------

#[hedge(after = "50ms")]
async fn hedged(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

#[hedge(after = "50ms", max = 2, budget = BUDGET)]
async fn hedged_budgeted(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// Target: `#[hedge]` ≤ 1× `#[timeout]` on the same body (issue 15 item 5):
/// one poll of the first copy, no timer, no clock read.
fn hedge_ready(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("hedge-ready");
    group.bench_function("bare async fn", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || plain(black_box(7))))
    });
    group.bench_function("steadfast #[timeout]", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || timed(black_box(7))))
    });
    group.bench_function("steadfast #[hedge]", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || hedged(black_box(7))))
    });
    group.bench_function("steadfast #[hedge(max = 2, budget = …)]", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || hedged_budgeted(black_box(7))))
    });
    group.finish();
}

// --- circuit breaker ----------------------------------------------------------

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
static CLOSED: CircuitBreaker = CircuitBreaker::builder().name("peers-closed").build();
static OPEN: CircuitBreaker = CircuitBreaker::builder()
    .name("peers-open")
    .window_calls(1)
    .open_for(Duration::from_secs(3600))
    .build();

/// The attribute's floor: the two-atomic breaker written by hand into the
/// same async fn, rejecting with an `io::Error` of its own.
async fn floor_guarded(x: u64) -> Result<u64, std::io::Error> {
    FLOOR
        .call(|| op(x).map_err(|()| std::io::Error::other("no")))
        .unwrap_or_else(|| Err(std::io::ErrorKind::ResourceBusy.into()))
}

#[circuit_breaker]
async fn guarded(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

#[circuit_breaker(shared = OPEN)]
async fn guarded_open(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// An error type that takes a rejection without allocating (`io::Error` boxes it).
#[derive(Debug)]
enum CallError {
    Rejected(steadfast::Rejected),
    Failed,
}

impl From<steadfast::Rejected> for CallError {
    fn from(rejected: steadfast::Rejected) -> Self {
        CallError::Rejected(rejected)
    }
}

#[circuit_breaker(shared = OPEN)]
async fn guarded_open_enum(x: u64) -> Result<u64, CallError> {
    op(x).map_err(|()| CallError::Failed)
}

/// A call through the permit API, as a user holding a permit across work
/// writes it: a function of its own, so that how the compiler moves the
/// permit does not depend on what else the benchmark group inlines.
#[inline(never)]
fn through_permit() -> Option<Result<u64, ()>> {
    let permit = CLOSED.try_acquire().ok()?;
    let result = op(black_box(7));
    if result.is_ok() {
        permit.success();
    } else {
        permit.failure();
    }
    Some(result)
}

fn closed_success(c: &mut Criterion) {
    let failsafe = failsafe::Config::new().build();
    let recloser = recloser::Recloser::custom().build();
    let mut group = c.benchmark_group("breaker-closed-success");
    group.bench_function("bare call", |b| b.iter(|| op(black_box(7))));
    group.bench_function("two-atomic floor", |b| {
        b.iter(|| FLOOR.call(|| op(black_box(7))))
    });
    group.bench_function("steadfast call", |b| {
        b.iter(|| CLOSED.call(|| op(black_box(7))))
    });
    group.bench_function("steadfast permit", |b| b.iter(through_permit));
    group.bench_function("recloser", |b| {
        b.iter(|| recloser.call(|| op(black_box(7))))
    });
    group.bench_function("failsafe default", |b| {
        b.iter(|| failsafe.call(|| op(black_box(7))))
    });
    group.finish();

    let mut group = c.benchmark_group("breaker-attribute");
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("two-atomic floor, async fn", |b| {
        b.iter(|| ready(floor_guarded(black_box(7))))
    });
    group.bench_function("steadfast #[circuit_breaker]", |b| {
        b.iter(|| ready(guarded(black_box(7))))
    });
    group.bench_function("two-atomic floor, async fn, moved once", |b| {
        b.iter(|| moved(floor_guarded(black_box(7))))
    });
    group.bench_function("steadfast #[circuit_breaker], moved once", |b| {
        b.iter(|| moved(guarded(black_box(7))))
    });
    group.finish();
}

fn open_rejection(c: &mut Criterion) {
    OPEN.try_acquire().unwrap().failure();
    let failsafe = failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(
            1,
            failsafe::backoff::constant(Duration::from_secs(3600)),
        ))
        .build();
    let _ = failsafe.call(|| Err::<(), ()>(()));
    let recloser = recloser::Recloser::custom()
        .error_rate(0.5)
        .closed_len(1)
        .open_wait(Duration::from_secs(3600))
        .build();
    for _ in 0..4 {
        let _ = recloser.call(|| Err::<(), ()>(()));
    }
    assert!(OPEN.try_acquire().is_err());
    assert!(ready(guarded_open(7)).is_err());
    assert!(matches!(
        ready(guarded_open_enum(7)),
        Err(CallError::Rejected(steadfast::Rejected::CircuitOpen { .. }))
    ));
    assert!(!failsafe.is_call_permitted());
    assert!(matches!(
        recloser.call(|| op(7)),
        Err(recloser::Error::Rejected)
    ));
    let mut group = c.benchmark_group("breaker-open-rejection");
    group.bench_function("bare call", |b| b.iter(|| op(black_box(7))));
    // What bounds an open breaker's rejection: it must read the clock to see
    // whether `open_for` has passed (so must failsafe's and recloser's).
    group.bench_function("clock read (tokio Instant::now)", |b| {
        b.iter(tokio::time::Instant::now)
    });
    group.bench_function("steadfast", |b| b.iter(|| OPEN.try_acquire().is_err()));
    group.bench_function("steadfast #[circuit_breaker]", |b| {
        b.iter(|| ready(guarded_open(black_box(7))).is_err())
    });
    group.bench_function("steadfast #[circuit_breaker], error enum", |b| {
        b.iter(|| ready(guarded_open_enum(black_box(7))).is_err())
    });
    // What the `io::Error` rows pay on top: std boxes the rejection, and the
    // error holding it (two allocations and two frees).
    group.bench_function("io::Error from Rejected", |b| {
        b.iter(|| std::io::Error::from(black_box(steadfast::Rejected::circuit_open("x"))))
    });
    group.bench_function("failsafe", |b| {
        b.iter(|| failsafe.call(|| op(black_box(7))).is_err())
    });
    group.bench_function("recloser", |b| {
        b.iter(|| recloser.call(|| op(black_box(7))).is_err())
    });
    group.finish();
}

fn breaker_two_threads(c: &mut Criterion) {
    let failsafe = failsafe::Config::new().build();
    let recloser = recloser::Recloser::custom().build();
    let mut group = c.benchmark_group("breaker-two-threads");
    group.bench_function("bare call", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(op(black_box(7))).ok();
            })
        })
    });
    group.bench_function("two-atomic floor", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(FLOOR.call(|| op(black_box(7))));
            })
        })
    });
    group.bench_function("steadfast call", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(CLOSED.call(|| op(black_box(7)))).ok();
            })
        })
    });
    group.bench_function("steadfast permit", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(through_permit());
            })
        })
    });
    group.bench_function("recloser", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(recloser.call(|| op(black_box(7)))).ok();
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

// --- bulkhead -------------------------------------------------------------------

static BULKHEAD: Bulkhead = Bulkhead::builder()
    .name("peers-bulkhead")
    .max_concurrent(64)
    .build();
static SEMAPHORE: Semaphore = Semaphore::const_new(64);

#[bulkhead(max_concurrent = 64)]
async fn slotted(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

fn bulkhead_uncontended(c: &mut Criterion) {
    let mut tower = ServiceBuilder::new()
        .concurrency_limit(64)
        .service_fn(plain);
    let mut group = c.benchmark_group("bulkhead-uncontended");
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("steadfast try_acquire", |b| {
        b.iter(|| drop(black_box(BULKHEAD.try_acquire().unwrap())))
    });
    group.bench_function("steadfast acquire", |b| {
        b.iter(|| drop(black_box(ready(BULKHEAD.acquire()).unwrap())))
    });
    group.bench_function("steadfast #[bulkhead]", |b| {
        b.iter(|| ready(slotted(black_box(7))))
    });
    group.bench_function("tokio Semaphore try_acquire", |b| {
        b.iter(|| drop(black_box(SEMAPHORE.try_acquire().unwrap())))
    });
    group.bench_function("tokio Semaphore acquire", |b| {
        b.iter(|| drop(black_box(ready(SEMAPHORE.acquire()).unwrap())))
    });
    group.bench_function("tower concurrency_limit", |b| {
        b.iter(|| tower_call(&mut tower))
    });
    group.finish();
}

fn bulkhead_two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulkhead-two-threads");
    group.bench_function("bare async fn", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(ready(plain(black_box(7)))).ok();
            })
        })
    });
    group.bench_function("steadfast acquire", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                drop(black_box(ready(BULKHEAD.acquire()).unwrap()));
            })
        })
    });
    group.bench_function("steadfast #[bulkhead]", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(ready(slotted(black_box(7)))).ok();
            })
        })
    });
    group.bench_function("tokio Semaphore acquire", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                drop(black_box(ready(SEMAPHORE.acquire()).unwrap()));
            })
        })
    });
    group.finish();
}

// --- fallback -------------------------------------------------------------------

#[fallback(|_e| Ok(0))]
async fn with_fallback(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// The floor: a `match` on the result.
async fn match_fallback(x: u64) -> Result<u64, std::io::Error> {
    match plain(x).await {
        Ok(v) => Ok(v),
        Err(_) => Ok(0),
    }
}

fn fallback_success(c: &mut Criterion) {
    let mut group = c.benchmark_group("fallback-success");
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("hand-written match", |b| {
        b.iter(|| ready(match_fallback(black_box(7))))
    });
    group.bench_function("steadfast #[fallback]", |b| {
        b.iter(|| ready(with_fallback(black_box(7))))
    });
    group.finish();
}

// --- five policies stacked ----------------------------------------------------

#[fallback(|_e| Ok(0))]
#[retry(attempts = 3)]
#[circuit_breaker]
#[timeout("1s")]
#[bulkhead(max_concurrent = 64)]
async fn stacked(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

fn stack(c: &mut Criterion) {
    let rt = runtime();
    // Outermost first, as the attributes: fallback (as `map_result`), retry,
    // timeout, concurrency limit. tower has no circuit breaker.
    let mut tower = ServiceBuilder::new()
        .map_result(|r: Result<u64, BoxError>| r.or(Ok::<u64, BoxError>(0)))
        .retry(ThreeAttempts(1))
        .timeout(Duration::from_secs(1))
        .concurrency_limit(64)
        .service_fn(plain);
    let mut group = c.benchmark_group("five-policy-stack");
    group.bench_function("bare async fn", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || plain(black_box(7))))
    });
    group.bench_function("steadfast five attributes", |b| {
        b.iter_custom(|iters| on_runtime(&rt, iters, || stacked(black_box(7))))
    });
    group.bench_function("tower four layers", |b| {
        b.iter_custom(|iters| tower_on_runtime(&rt, iters, &mut tower))
    });
    group.finish();
}

criterion_group!(
    benches,
    retry_success,
    sync_retry_success,
    budget_deposit,
    timeout_ready,
    hedge_ready,
    closed_success,
    open_rejection,
    breaker_two_threads,
    bulkhead_uncontended,
    bulkhead_two_threads,
    fallback_success,
    stack
);
criterion_main!(benches);
