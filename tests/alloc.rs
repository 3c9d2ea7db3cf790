//! Zero cost on the happy path: a call that succeeds makes no heap allocation,
//! whichever attributes it carries.
//!
//! A counting global allocator counts the allocations made on the measuring
//! thread while a flag is set. Each case runs on a current-thread runtime with
//! paused time (so the thread that counts is the one that polls the call and
//! drives the timers), makes one warm-up call, then counts over [`CALLS`] calls.

// `GlobalAlloc` is an unsafe trait, so a counting allocator needs
// `unsafe impl`; the workspace denies unsafe code everywhere else (and the library crates forbid it). The
// allocator only forwards to `System` and touches no memory itself.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::time::Duration;

use steadfast::{bulkhead, chaos, circuit_breaker, fallback, hedge, rate_limit, retry, timeout};

/// Calls measured per case, after one warm-up call.
const CALLS: u64 = 1000;

// ---------------------------------------------------------------- allocator

struct Counting;

thread_local! {
    /// Whether allocations on this thread are being counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations counted on this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn record() {
    // `try_with`: the thread-locals are gone while a thread exits. Neither has
    // a destructor, so touching them never allocates.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System` upholds the `GlobalAlloc` contract; `record` does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made on this thread by [`CALLS`] calls of `call`, after a
/// warm-up call, on a current-thread runtime with paused time; and the tokio
/// time the calls took (1 ms per call for the bodies that await [`tick`]).
fn allocations<F, Fut>(mut call: F) -> (u64, Duration)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = u32>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    let total = runtime.block_on(async {
        assert_eq!(call(7).await, 7, "the warm-up call must succeed");
        ALLOCATIONS.with(|n| n.set(0));
        COUNTING.with(|counting| counting.set(true));
        let start = tokio::time::Instant::now();
        let mut sum = 0_u64;
        for i in 0..CALLS {
            sum += u64::from(call(black_box(1)).await);
            black_box(i);
        }
        let elapsed = start.elapsed();
        COUNTING.with(|counting| counting.set(false));
        assert_eq!(sum, CALLS, "every measured call must succeed");
        (ALLOCATIONS.with(Cell::get), elapsed)
    });
    println!(
        "{} allocations over {CALLS} calls ({:?} of tokio time)",
        total.0, total.1
    );
    total
}

/// No allocation, and no time: the body was ready at once.
const READY: (u64, Duration) = (0, Duration::ZERO);

/// No allocation, and one timer tick per call: the body suspended each time.
const SUSPENDED: (u64, Duration) = (0, Duration::from_millis(CALLS));

/// A small error type that is never built on the success path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Error {
    Transient,
    Rejected,
}

impl Error {
    fn is_transient(&self) -> bool {
        *self == Error::Transient
    }

    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl From<steadfast::Rejected> for Error {
    fn from(_: steadfast::Rejected) -> Self {
        Error::Rejected
    }
}

/// One tick of tokio time, awaited by the bodies that suspend.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

// ---------------------------------------------------------------- functions

/// Every key set, including `max_elapsed` (which reads the clock).
#[retry(
    attempts = 4,
    backoff = exponential("50ms", factor = 2.0, max = "2s"),
    jitter = full,
    max_elapsed = "10s",
    when = Error::is_transient,
    delay_from = Error::retry_after
)]
async fn retry_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[retry(attempts = 3, backoff = fixed("10ms"))]
async fn retry_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

#[timeout("1s")]
async fn timeout_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[timeout("1s")]
async fn timeout_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

#[fallback(|_e| Ok(0))]
async fn fallback_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[fallback(|_e| Ok(0), when = Error::is_transient)]
#[retry(attempts = 3, max_elapsed = "10s", when = Error::is_transient)]
#[timeout("1s")]
async fn stacked_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[fallback(|_e| Ok(0), when = Error::is_transient)]
#[retry(attempts = 3, max_elapsed = "10s", when = Error::is_transient)]
#[timeout("1s")]
async fn stacked_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

/// Every key but `shared`; `slow_call` makes it read the clock per call.
#[circuit_breaker(
    failure_ratio = 0.5,
    window = 50,
    min_calls = 10,
    consecutive_failures = 5,
    slow_call = "1s",
    slow_ratio = 0.5,
    open_for = "1s",
    half_open_probes = 2,
    failure_if = Error::is_transient
)]
async fn breaker_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

/// A time window (buckets) instead of a count window.
#[circuit_breaker(window = "10s")]
async fn breaker_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

#[bulkhead(max_concurrent = 4, max_queue = 8, max_wait = "1s")]
async fn bulkhead_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[bulkhead(max_concurrent = 4)]
async fn bulkhead_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

#[fallback(|_e| Ok(0), when = Error::is_transient)]
#[retry(attempts = 3, max_elapsed = "10s", when = Error::is_transient)]
#[circuit_breaker(slow_call = "1s")]
#[timeout("1s")]
#[bulkhead(max_concurrent = 4, max_queue = 4)]
async fn five_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[fallback(|_e| Ok(0), when = Error::is_transient)]
#[retry(attempts = 3, max_elapsed = "10s", when = Error::is_transient)]
#[circuit_breaker(slow_call = "1s")]
#[timeout("1s")]
#[bulkhead(max_concurrent = 4, max_queue = 4)]
async fn five_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

/// A rate high enough that every measured call is admitted at once.
#[rate_limit(rate = 1_000_000, per = "1s", max_wait = "1s")]
async fn rate_limit_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[rate_limit(rate = 1_000_000, per = "1s")]
async fn rate_limit_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

/// Keyed state: every measured call finds its key (one of 8, all stored by
/// the warm-up calls).
#[rate_limit(rate = 1_000_000, key = x % 8)]
async fn keyed_rate_limit(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[circuit_breaker(window = 50, key = KEYS[x as usize % 8])]
async fn keyed_breaker(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

/// `&str` keys, stored as `String`s: a lookup of a stored key borrows.
const KEYS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

#[bulkhead(max_concurrent = 4, key = KEYS[x as usize % 8])]
async fn keyed_bulkhead(x: u32) -> Result<u32, Error> {
    Ok(x)
}

/// The same body as `timeout_suspends`, without an attribute.
async fn bare_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

fn ok(result: Result<u32, Error>) -> u32 {
    result.expect("the success path")
}

// ---------------------------------------------------------------- tests

/// Asserts that `ready` (a body ready at once) and `suspends` (a body that
/// awaits [`tick`]) make no allocation per call.
fn assert_no_allocations<R, RF, S, SF>(ready: R, suspends: S)
where
    R: Fn(u32) -> RF,
    RF: Future<Output = Result<u32, Error>>,
    S: Fn(u32) -> SF,
    SF: Future<Output = Result<u32, Error>>,
{
    assert_eq!(
        allocations(|x| {
            let call = ready(x);
            async move { ok(call.await) }
        }),
        READY
    );
    assert_eq!(
        allocations(|x| {
            let call = suspends(x);
            async move { ok(call.await) }
        }),
        SUSPENDED
    );
}

#[test]
fn the_counter_sees_allocations_on_this_thread() {
    let (total, _) = allocations(|x| async move { *black_box(Box::new(x)) });
    assert_eq!(
        total, CALLS,
        "a `Box` per call counts as one allocation per call"
    );
}

#[test]
fn a_bare_body_awaiting_a_sleep_does_not_allocate() {
    // The baseline for the `*_suspends` cases: tokio's timer itself.
    assert_eq!(
        allocations(|x| async move { ok(bare_suspends(x).await) }),
        SUSPENDED
    );
}

#[test]
fn retry_does_not_allocate_on_success() {
    assert_no_allocations(retry_ready, retry_suspends);
}

#[test]
fn timeout_does_not_allocate_on_success() {
    assert_no_allocations(timeout_ready, timeout_suspends);
}

#[test]
fn fallback_does_not_allocate_on_success() {
    assert_eq!(
        allocations(|x| async move { ok(fallback_ready(x).await) }),
        READY
    );
}

#[test]
fn a_stack_of_three_does_not_allocate_on_success() {
    assert_no_allocations(stacked_ready, stacked_suspends);
}

#[test]
fn circuit_breaker_does_not_allocate_on_success() {
    assert_no_allocations(breaker_ready, breaker_suspends);
}

#[test]
fn bulkhead_does_not_allocate_on_success() {
    assert_no_allocations(bulkhead_ready, bulkhead_suspends);
}

#[test]
fn all_five_stacked_do_not_allocate_on_success() {
    assert_no_allocations(five_ready, five_suspends);
}

#[test]
fn rate_limit_does_not_allocate_on_an_admitted_call() {
    assert_no_allocations(rate_limit_ready, rate_limit_suspends);
}

/// Keys 0 to 7 are stored by warm-up calls; the measured calls only find them.
fn warmed<F, Fut>(call: F) -> impl FnMut(u32) -> Fut
where
    F: Fn(u32) -> Fut + Copy,
    Fut: Future<Output = Result<u32, Error>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        for key in 0..8 {
            ok(call(key).await);
        }
    });
    move |x| call(x)
}

#[test]
fn a_keyed_policy_does_not_allocate_when_the_key_is_stored() {
    let mut rate = warmed(keyed_rate_limit);
    assert_eq!(
        allocations(|x| {
            let call = rate(x);
            async move { ok(call.await) }
        }),
        READY
    );
    let mut breaker = warmed(keyed_breaker);
    assert_eq!(
        allocations(|x| {
            let call = breaker(x);
            async move { ok(call.await) }
        }),
        SUSPENDED
    );
    let mut bulk = warmed(keyed_bulkhead);
    assert_eq!(
        allocations(|x| {
            let call = bulk(x);
            async move { ok(call.await) }
        }),
        READY
    );
}

/// A limit no measured run reaches: every call is admitted at once.
static WIDE: steadfast::RateLimiter = steadfast::RateLimiter::builder().rate(u32::MAX).build();

/// The programmatic limiter (the attribute's runtime path): admitted at
/// once, a call arms no timer and allocates nothing.
#[test]
fn a_rate_limited_call_admitted_at_once_does_not_allocate() {
    assert_no_allocations(
        |x| async move {
            WIDE.run(async move { Ok::<_, Error>(x) })
                .await
                .map_err(steadfast::Failure::into_error)
        },
        |x| async move {
            WIDE.run(async move {
                tick().await;
                Ok::<_, Error>(x)
            })
            .await
            .map_err(steadfast::Failure::into_error)
        },
    );
}

/// The programmatic keyed API: a use of a stored key's state through
/// `Keyed::with` allocates nothing.
#[test]
fn keyed_with_on_a_stored_key_does_not_allocate() {
    use steadfast::keyed::{Keyed, Probe};
    static STATE: Keyed<steadfast::CircuitBreaker> = Keyed::new(
        steadfast::CircuitBreaker::builder().name("alloc-keyed-with"),
        8,
    );
    let admit = |id: u64| STATE.with(Probe::debug(&id), |b| b.try_acquire().is_ok());
    assert!(admit(1), "the miss stores the key");
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let admitted = (0..CALLS).filter(|_| admit(1)).count();
    COUNTING.with(|c| c.set(false));
    assert_eq!(admitted as u64, CALLS);
    assert_eq!(ALLOCATIONS.with(Cell::get), 0);
}

// ---------------------------------------------------------------- chaos

fn transient() -> Error {
    Error::Transient
}

/// With the feature `chaos` (`.ci/run` runs this file with it too): enabled,
/// drawing on every call, striking none. Without it: nothing at all.
#[chaos(error = transient, error_rate = 0.0, latency = "1s", latency_rate = 0.0)]
async fn chaos_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[chaos(error = transient, error_rate = 0.0, latency = "1s", latency_rate = 0.0)]
async fn chaos_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

#[test]
fn chaos_does_not_allocate_per_call() {
    assert_no_allocations(chaos_ready, chaos_suspends);
}

/// Injected latency on every call (with the feature): a timer, no allocation.
#[chaos(latency = "1ms")]
async fn chaos_latency(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[test]
fn injected_latency_does_not_allocate() {
    let expected = if steadfast::chaos::ENABLED {
        SUSPENDED
    } else {
        READY
    };
    assert_eq!(
        allocations(|x| {
            let call = chaos_latency(x);
            async move { ok(call.await) }
        }),
        expected
    );
}

// ---------------------------------------------------------- retry budget

/// One retry per call, and a floor far above the calls measured: every
/// retry below is drawn.
static ALLOC_BUDGET: steadfast::RetryBudget = steadfast::RetryBudget::builder()
    .name("alloc")
    .ratio(1.0)
    .min_per_sec(1000)
    .build();

#[retry(attempts = 3, backoff = fixed("10ms"), budget = ALLOC_BUDGET)]
async fn budget_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[retry(attempts = 3, backoff = fixed("10ms"), budget = ALLOC_BUDGET)]
async fn budget_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

/// Set between a call's failed first attempt and its retry.
static FAILED_ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Fails its first attempt and succeeds on the retry, after a delay: each
/// call deposits and draws one retry, and sleeps (subscribed to the
/// shutdown signal in place, not boxed).
#[retry(attempts = 2, backoff = fixed("10ms"), jitter = none, budget = ALLOC_BUDGET)]
async fn budget_retried(x: u32) -> Result<u32, Error> {
    if FAILED_ONCE.fetch_xor(true, std::sync::atomic::Ordering::Relaxed) {
        Ok(x)
    } else {
        Err(Error::Transient)
    }
}

#[test]
fn retry_with_a_budget_does_not_allocate_on_success() {
    assert_no_allocations(budget_ready, budget_suspends);
}

#[test]
fn retry_with_a_budget_does_not_allocate_when_it_retries() {
    let before = ALLOC_BUDGET.level().withdrawals;
    let (allocated, slept) = allocations(|x| {
        let call = budget_retried(x);
        async move { ok(call.await) }
    });
    assert_eq!(
        allocated, 0,
        "a deposit, a draw and a delay per call, no allocation"
    );
    assert!(!slept.is_zero(), "the retries waited their delay");
    assert!(
        ALLOC_BUDGET.level().withdrawals > before,
        "the retries drew from the budget"
    );
}

// ---------------------------------------------------------------- hedge

/// Every key set; the first copy is ready at once: no timer, no clock read.
#[hedge(after = "50ms", max = 3, budget = ALLOC_BUDGET)]
async fn hedge_ready(x: u32) -> Result<u32, Error> {
    Ok(x)
}

/// The first copy suspends (1 ms, under `after`): one timer, no extra copy.
#[hedge(after = "50ms", max = 3)]
async fn hedge_suspends(x: u32) -> Result<u32, Error> {
    tick().await;
    Ok(x)
}

static SLOW_COPY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Every call's first copy hangs; the second, started after 1 ms, wins.
#[hedge(after = "1ms", max = 2, budget = ALLOC_BUDGET)]
async fn hedge_hedges(x: u32) -> Result<u32, Error> {
    if !SLOW_COPY.fetch_xor(true, std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    Ok(x)
}

#[test]
fn hedge_does_not_allocate_on_success() {
    assert_no_allocations(hedge_ready, hedge_suspends);
}

#[test]
fn hedge_does_not_allocate_when_it_starts_a_second_copy() {
    let (allocated, took) = allocations(|x| {
        let call = hedge_hedges(x);
        async move { ok(call.await) }
    });
    assert_eq!(allocated, 0, "two copies inline per call, no allocation");
    assert_eq!(
        took,
        Duration::from_millis(CALLS),
        "each call's second copy won after 1 ms"
    );
}

// ------------------------------------------------------------ plain functions

/// Allocations made on this thread by [`CALLS`] calls of the plain `fn`
/// `call`, after a warm-up call; no runtime.
fn allocations_blocking(mut call: impl FnMut(u32) -> u32) -> u64 {
    assert_eq!(call(7), 7, "the warm-up call must succeed");
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|counting| counting.set(true));
    let mut sum = 0_u64;
    for _ in 0..CALLS {
        sum += u64::from(call(black_box(1)));
    }
    COUNTING.with(|counting| counting.set(false));
    assert_eq!(sum, CALLS, "every measured call must succeed");
    let total = ALLOCATIONS.with(Cell::get);
    println!("{total} allocations over {CALLS} plain calls");
    total
}

static SYNC_BUDGET: steadfast::RetryBudget = steadfast::RetryBudget::builder().build();

#[fallback(|_e| Ok(0))]
#[retry(attempts = 3, when = Error::is_transient, budget = SYNC_BUDGET)]
#[circuit_breaker(window = 100)]
#[bulkhead(max_concurrent = 8, max_queue = 8)]
#[rate_limit(rate = 1_000_000, per = "1s")]
fn sync_stack(x: u32) -> Result<u32, Error> {
    Ok(black_box(x))
}

#[circuit_breaker(key = k, max_keys = 4)]
fn sync_keyed(k: u8, x: u32) -> Result<u32, Error> {
    let _ = k;
    Ok(black_box(x))
}

#[retry(attempts = 3, backoff = fixed("1ms"))]
fn sync_retried(fail_first: &Cell<bool>, x: u32) -> Result<u32, Error> {
    if fail_first.replace(false) {
        return Err(Error::Transient);
    }
    Ok(black_box(x))
}

/// The five attributes of a plain `fn`, stacked, and a keyed breaker:
/// no allocation on success.
#[test]
fn plain_functions_do_not_allocate_on_success() {
    assert_eq!(allocations_blocking(|x| sync_stack(x).unwrap()), 0);
    assert_eq!(allocations_blocking(|x| sync_keyed(1, x).unwrap()), 0);
}

/// A plain `fn` that retries once (a real 1 ms delay, parked) allocates
/// nothing either: the thread's waker is made on its first wait, in the
/// warm-up call.
#[test]
fn a_plain_fn_does_not_allocate_when_it_retries() {
    let fail_first = Cell::new(true);
    let allocated = allocations_blocking(|x| {
        fail_first.set(true);
        sync_retried(&fail_first, x).unwrap()
    });
    assert_eq!(allocated, 0);
}
