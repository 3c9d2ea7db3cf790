//! `#[fallback]`: handler forms, `when`, and when the handler runs or not.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::{Probe, TestError, is_transient, ms, secs};
use steadfast::{Rejected, fallback, timeout};
use tokio::time::Instant;

/// Counts handler runs (each test uses its own counter).
fn ran(counter: &AtomicU32) {
    counter.fetch_add(1, Ordering::SeqCst);
}

// ------------------------------------------------------------ handler forms

fn sync_handler(e: TestError) -> Result<u32, TestError> {
    match e {
        TestError::Transient(n) => Ok(1000 + n),
        other => Err(other),
    }
}

async fn async_handler(e: TestError) -> Result<u32, TestError> {
    tokio::time::sleep(ms(30)).await;
    match e {
        TestError::Transient(n) => Ok(2000 + n),
        other => Err(other),
    }
}

#[fallback(sync_handler)]
async fn with_sync_path(outcome: Result<u32, TestError>) -> Result<u32, TestError> {
    outcome
}

#[fallback(async_handler)]
async fn with_async_fn(outcome: Result<u32, TestError>) -> Result<u32, TestError> {
    outcome
}

#[fallback(|e| match e { TestError::Transient(n) => Ok(3000 + n), other => Err(other) })]
async fn with_sync_closure(outcome: Result<u32, TestError>) -> Result<u32, TestError> {
    outcome
}

#[fallback(async |e: TestError| {
    tokio::time::sleep(ms(40)).await;
    match e { TestError::Transient(n) => Ok(4000 + n), other => Err(other) }
})]
async fn with_async_closure(outcome: Result<u32, TestError>) -> Result<u32, TestError> {
    outcome
}

#[fallback(|e: TestError| async move {
    tokio::time::sleep(ms(50)).await;
    match e { TestError::Transient(n) => Ok(5000 + n), other => Err(other) }
})]
async fn with_closure_returning_future(outcome: Result<u32, TestError>) -> Result<u32, TestError> {
    outcome
}

#[tokio::test(start_paused = true)]
async fn a_sync_fn_path_handler_replaces_the_error() {
    assert_eq!(with_sync_path(Err(TestError::Transient(7))).await, Ok(1007));
}

#[tokio::test(start_paused = true)]
async fn an_async_fn_handler_is_awaited() {
    let start = Instant::now();
    assert_eq!(with_async_fn(Err(TestError::Transient(7))).await, Ok(2007));
    assert_eq!(start.elapsed(), ms(30));
}

#[tokio::test(start_paused = true)]
async fn a_sync_closure_handler_replaces_the_error() {
    assert_eq!(
        with_sync_closure(Err(TestError::Transient(7))).await,
        Ok(3007)
    );
}

#[tokio::test(start_paused = true)]
async fn an_async_closure_handler_is_awaited() {
    let start = Instant::now();
    assert_eq!(
        with_async_closure(Err(TestError::Transient(7))).await,
        Ok(4007)
    );
    assert_eq!(start.elapsed(), ms(40));
}

#[tokio::test(start_paused = true)]
async fn a_closure_returning_a_future_is_awaited() {
    let start = Instant::now();
    assert_eq!(
        with_closure_returning_future(Err(TestError::Transient(7))).await,
        Ok(5007)
    );
    assert_eq!(start.elapsed(), ms(50));
}

#[tokio::test(start_paused = true)]
async fn the_handlers_own_error_propagates() {
    // Every handler above returns `Err(other)` for a permanent error.
    let e = TestError::Permanent(9);
    assert_eq!(with_sync_path(Err(e.clone())).await, Err(e.clone()));
    assert_eq!(with_async_fn(Err(e.clone())).await, Err(e.clone()));
    assert_eq!(with_sync_closure(Err(e.clone())).await, Err(e.clone()));
    assert_eq!(with_async_closure(Err(e.clone())).await, Err(e.clone()));
    assert_eq!(with_closure_returning_future(Err(e.clone())).await, Err(e));
}

#[fallback(|e: TestError| Err(TestError::Handler(format!("cache miss after {e:?}"))))]
async fn handler_fails_too() -> Result<u32, TestError> {
    Err(TestError::Transient(1))
}

#[tokio::test(start_paused = true)]
async fn a_failing_handlers_error_replaces_the_original() {
    assert_eq!(
        handler_fails_too().await,
        Err(TestError::Handler("cache miss after Transient(1)".into()))
    );
}

// ------------------------------------------------------ closures see the fn

#[fallback(|_e| Ok(format!("cached {sku} x{qty}")))]
async fn sees_arguments(sku: &str, qty: u32) -> Result<String, TestError> {
    Err(TestError::Transient(qty))
}

#[fallback(async |_e| { tokio::task::yield_now().await; Ok(format!("async cached {sku}")) })]
async fn async_sees_arguments(sku: &str) -> Result<String, TestError> {
    Err(TestError::Transient(0))
}

#[tokio::test(start_paused = true)]
async fn a_closure_sees_the_functions_arguments() {
    assert_eq!(sees_arguments("ab-1", 3).await.unwrap(), "cached ab-1 x3");
    assert_eq!(
        async_sees_arguments("cd-2").await.unwrap(),
        "async cached cd-2"
    );
}

struct Catalog {
    cached: u32,
    misses: AtomicU32,
    live: Option<u32>,
}

impl Catalog {
    async fn cached_value(&self) -> Option<u32> {
        tokio::task::yield_now().await;
        Some(self.cached)
    }

    fn stale(&self, _e: TestError) -> Result<u32, TestError> {
        Ok(self.cached + 1)
    }

    #[fallback(|_e| { ran(&self.misses); Ok(self.cached) })]
    async fn price(&self) -> Result<u32, TestError> {
        self.live.ok_or(TestError::Transient(0))
    }

    #[fallback(async |e| self.cached_value().await.ok_or(e))]
    async fn price_async(&self) -> Result<u32, TestError> {
        self.live.ok_or(TestError::Transient(0))
    }

    #[fallback(|e| self.stale(e))]
    async fn price_stale(&self) -> Result<u32, TestError> {
        self.live.ok_or(TestError::Transient(0))
    }

    #[fallback(Self::default_price)]
    async fn price_default(&self) -> Result<u32, TestError> {
        self.live.ok_or(TestError::Transient(0))
    }

    fn default_price(_e: TestError) -> Result<u32, TestError> {
        Ok(1)
    }
}

#[tokio::test(start_paused = true)]
async fn a_closure_sees_self() {
    let down = Catalog {
        cached: 40,
        misses: AtomicU32::new(0),
        live: None,
    };
    assert_eq!(down.price().await, Ok(40));
    assert_eq!(down.misses.load(Ordering::SeqCst), 1);
    assert_eq!(down.price_async().await, Ok(40));
    assert_eq!(down.price_stale().await, Ok(41));
    assert_eq!(down.price_default().await, Ok(1));

    let up = Catalog {
        cached: 40,
        misses: AtomicU32::new(0),
        live: Some(99),
    };
    assert_eq!(up.price().await, Ok(99));
    assert_eq!(up.misses.load(Ordering::SeqCst), 0);
    assert_eq!(up.price_async().await, Ok(99));
    assert_eq!(up.price_stale().await, Ok(99));
    assert_eq!(up.price_default().await, Ok(99));
}

// -------------------------------------------------------------------- when

#[fallback(|e| { ran(counter); sync_handler(e) }, when = is_transient)]
async fn gated_by_path(counter: &AtomicU32, e: TestError) -> Result<u32, TestError> {
    Err(e)
}

#[fallback(|_e| { ran(counter); Ok(0) }, when = |e: &TestError| matches!(e, TestError::Permanent(n) if *n > 10))]
async fn gated_by_closure(counter: &AtomicU32, e: TestError) -> Result<u32, TestError> {
    Err(e)
}

#[fallback(|_e| { ran(counter); Ok(0) }, when = TestError::is_transient)]
async fn gated_by_method(counter: &AtomicU32, e: TestError) -> Result<u32, TestError> {
    Err(e)
}

#[tokio::test(start_paused = true)]
async fn when_gates_the_handler() {
    let c = AtomicU32::new(0);
    assert_eq!(gated_by_path(&c, TestError::Transient(5)).await, Ok(1005));
    assert_eq!(c.load(Ordering::SeqCst), 1);
    assert_eq!(
        gated_by_path(&c, TestError::Permanent(5)).await,
        Err(TestError::Permanent(5))
    );
    assert_eq!(
        c.load(Ordering::SeqCst),
        1,
        "handler ran for a refused error"
    );

    let c = AtomicU32::new(0);
    assert_eq!(gated_by_closure(&c, TestError::Permanent(11)).await, Ok(0));
    assert_eq!(
        gated_by_closure(&c, TestError::Permanent(10)).await,
        Err(TestError::Permanent(10))
    );
    assert_eq!(
        gated_by_closure(&c, TestError::Transient(50)).await,
        Err(TestError::Transient(50))
    );
    assert_eq!(c.load(Ordering::SeqCst), 1);

    let c = AtomicU32::new(0);
    assert_eq!(gated_by_method(&c, TestError::Transient(1)).await, Ok(0));
    assert_eq!(
        gated_by_method(&c, TestError::Permanent(1)).await,
        Err(TestError::Permanent(1))
    );
    assert_eq!(c.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------- when it must not run

#[fallback(|_e| { ran(counter); Ok(0) })]
async fn maybe_ok(counter: &AtomicU32, ok: bool) -> Result<u32, TestError> {
    if ok {
        Ok(77)
    } else {
        Err(TestError::Transient(0))
    }
}

#[tokio::test(start_paused = true)]
async fn the_handler_never_runs_on_success() {
    let c = AtomicU32::new(0);
    assert_eq!(maybe_ok(&c, true).await, Ok(77));
    assert_eq!(c.load(Ordering::SeqCst), 0);
    assert_eq!(maybe_ok(&c, false).await, Ok(0));
    assert_eq!(c.load(Ordering::SeqCst), 1);
}

static PANIC_HANDLER_RUNS: AtomicU32 = AtomicU32::new(0);

#[fallback(|_e| { ran(&PANIC_HANDLER_RUNS); Ok(0) })]
async fn panics(really: bool) -> Result<u32, TestError> {
    tokio::task::yield_now().await;
    if really {
        panic!("body panicked");
    }
    Err(TestError::Transient(0))
}

#[tokio::test(start_paused = true)]
async fn the_handler_does_not_run_on_a_panic_which_propagates() {
    let joined = tokio::spawn(panics(true)).await;
    let error = joined.unwrap_err();
    assert!(error.is_panic());
    let payload = error.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"body panicked"));
    assert_eq!(PANIC_HANDLER_RUNS.load(Ordering::SeqCst), 0);
    // The same function without a panic does run its handler.
    assert_eq!(panics(false).await, Ok(0));
    assert_eq!(PANIC_HANDLER_RUNS.load(Ordering::SeqCst), 1);
}

// ------------------------------------------------------------- rejections

#[fallback(|e: TestError| match e {
    TestError::Rejected(rejected) => Ok(common::timeout_after(&rejected).unwrap().as_millis() as u32),
    other => Err(other),
})]
#[timeout("120ms")]
async fn slow_with_fallback(p: &Probe) -> Result<u32, TestError> {
    p.hit();
    tokio::time::sleep(secs(10)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn the_handler_runs_on_a_timeout_converted_into_e() {
    let p = Probe::new();
    let start = Instant::now();
    // The handler received `TestError::Rejected(Timeout { after: 120ms })`.
    assert_eq!(slow_with_fallback(&p).await, Ok(120));
    assert_eq!(start.elapsed(), ms(120));
    assert_eq!(p.calls(), 1);
}

#[fallback(|_e| Ok(0), when = |e: &TestError| matches!(e, TestError::Rejected(_)))]
#[timeout("50ms")]
async fn fallback_only_on_rejections(delay: std::time::Duration) -> Result<u32, TestError> {
    tokio::time::sleep(delay).await;
    Err(TestError::Permanent(3))
}

#[tokio::test(start_paused = true)]
async fn when_sees_rejections_as_e() {
    assert_eq!(fallback_only_on_rejections(ms(200)).await, Ok(0));
    assert_eq!(
        fallback_only_on_rejections(ms(10)).await,
        Err(TestError::Permanent(3))
    );
}

// Without a rejecting policy, `E` needs no `From<Rejected>`.
#[fallback(|e: String| Ok(e.len()))]
async fn plain_string_error(s: &str) -> Result<usize, String> {
    Err(s.to_uppercase())
}

#[tokio::test(start_paused = true)]
async fn fallback_alone_works_with_any_error_type() {
    assert_eq!(plain_string_error("four").await, Ok(4));
}

// The rejection is converted through `E`'s own `From<Rejected>`.
#[derive(Debug, PartialEq)]
struct Code(u16);

impl From<Rejected> for Code {
    fn from(_: Rejected) -> Self {
        Code(504)
    }
}

#[fallback(|e: Code| if e.0 == 504 { Ok("gateway timeout handled") } else { Err(e) })]
#[timeout("10ms")]
async fn converted_by_from(hang: bool) -> Result<&'static str, Code> {
    if hang {
        std::future::pending::<()>().await;
    }
    Err(Code(500))
}

#[tokio::test(start_paused = true)]
async fn the_handler_receives_the_rejection_through_from() {
    assert_eq!(converted_by_from(true).await, Ok("gateway timeout handled"));
    assert_eq!(converted_by_from(false).await, Err(Code(500)));
}

// ------------------------------------------------------------- more forms

struct Cache {
    misses: u32,
    value: u32,
}

impl Cache {
    #[fallback(|_e| { self.misses += 1; Ok(self.value) })]
    async fn get(&mut self, live: Option<u32>) -> Result<u32, TestError> {
        self.value += 1;
        live.ok_or(TestError::Transient(0))
    }
}

#[tokio::test(start_paused = true)]
async fn a_closure_may_mutate_self_after_the_body() {
    let mut c = Cache {
        misses: 0,
        value: 10,
    };
    assert_eq!(c.get(None).await, Ok(11));
    assert_eq!(c.get(Some(5)).await, Ok(5));
    assert_eq!(c.get(None).await, Ok(13));
    assert_eq!(c.misses, 2);
}

fn default_value<T: Default, E>(_: E) -> Result<T, E> {
    Ok(T::default())
}

#[fallback(default_value)]
async fn generic_handler(fail: bool) -> Result<String, TestError> {
    if fail {
        Err(TestError::Permanent(0))
    } else {
        Ok("live".into())
    }
}

#[fallback(|_| Ok(1), when = |e| e.is_transient())]
async fn untyped_when(e: TestError) -> Result<u32, TestError> {
    Err(e)
}

#[tokio::test(start_paused = true)]
async fn generic_fn_handler_and_untyped_when_closure() {
    assert_eq!(generic_handler(true).await, Ok(String::new()));
    assert_eq!(generic_handler(false).await, Ok("live".to_string()));
    assert_eq!(untyped_when(TestError::Transient(0)).await, Ok(1));
    assert_eq!(
        untyped_when(TestError::Permanent(0)).await,
        Err(TestError::Permanent(0))
    );
}

// ------------------------------ a declining fallback keeps a rejection's kind
//
// DESIGN: "A rejection keeps its kind through every layer, `#[fallback]`
// included: a fallback that declines it passes it on as the same rejection."

fn never(_: &TestError) -> bool {
    false
}

fn unreachable_handler(e: TestError) -> Result<u32, TestError> {
    panic!("the handler ran although `when` declined {e:?}")
}

static FORCED_OPEN: steadfast::CircuitBreaker = steadfast::CircuitBreaker::builder()
    .name("fallback::forced_open")
    .build();

static RETRIED_THROUGH_FALLBACK: Probe = Probe::new();

#[steadfast::retry(attempts = 5, backoff = fixed("1s"), jitter = none)]
#[fallback(unreachable_handler, when = never)]
#[steadfast::circuit_breaker(shared = FORCED_OPEN)]
async fn open_below_a_declining_fallback() -> Result<u32, TestError> {
    RETRIED_THROUGH_FALLBACK.hit();
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn circuit_open_through_a_declining_fallback_is_not_retried() {
    FORCED_OPEN.force_open();
    let start = Instant::now();
    let result = open_below_a_declining_fallback().await;
    assert!(
        matches!(
            result,
            Err(TestError::Rejected(Rejected::CircuitOpen { .. }))
        ),
        "{result:?}"
    );
    assert_eq!(start.elapsed(), ms(0), "CircuitOpen is never retried");
    assert_eq!(RETRIED_THROUGH_FALLBACK.calls(), 0, "the body never ran");
}

static TIMED_OUT_ATTEMPTS: Probe = Probe::new();

// The retry's own `when` accepts none of the body's errors: a `Timeout` from
// below the fallback is still retried, as a rejection always is.
#[steadfast::retry(attempts = 3, backoff = fixed("10ms"), jitter = none, when = never)]
#[fallback(unreachable_handler, when = never)]
#[timeout("50ms")]
async fn timeout_below_a_declining_fallback() -> Result<u32, TestError> {
    TIMED_OUT_ATTEMPTS.hit();
    tokio::time::sleep(secs(10)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn a_timeout_through_a_declining_fallback_is_retried() {
    let result = timeout_below_a_declining_fallback().await;
    assert_eq!(result, Err(TestError::Rejected(Rejected::timeout(ms(50)))));
    assert_eq!(TIMED_OUT_ATTEMPTS.calls(), 3, "Timeout is always retried");
}

static OUTER_BREAKER_CALLS: Probe = Probe::new();

// The breaker's `failure_if` counts none of the body's errors: timeouts from
// below the fallback still count as failures.
#[steadfast::circuit_breaker(window = 2, min_calls = 2, failure_if = never, name = "fallback::outer")]
#[fallback(unreachable_handler, when = never)]
#[timeout("50ms")]
async fn breaker_over_a_declining_fallback() -> Result<u32, TestError> {
    OUTER_BREAKER_CALLS.hit();
    tokio::time::sleep(secs(10)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn an_outer_breaker_counts_timeouts_through_a_declining_fallback() {
    for _ in 0..2 {
        let result = breaker_over_a_declining_fallback().await;
        assert_eq!(result, Err(TestError::Rejected(Rejected::timeout(ms(50)))));
    }
    let result = breaker_over_a_declining_fallback().await;
    assert!(
        matches!(
            result,
            Err(TestError::Rejected(Rejected::CircuitOpen { .. }))
        ),
        "two timeouts opened the breaker: {result:?}"
    );
    assert_eq!(OUTER_BREAKER_CALLS.calls(), 2);
}

// A fallback that accepts a rejection sees it as `E`, and its answer replaces it.
#[steadfast::retry(attempts = 3, backoff = none)]
#[fallback(|e| match e { TestError::Rejected(Rejected::Timeout { .. }) => Ok(7), e => Err(e) })]
#[timeout("50ms")]
async fn accepting_fallback_in_the_middle() -> Result<u32, TestError> {
    tokio::time::sleep(secs(10)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn an_accepting_fallback_in_the_middle_sees_the_rejection_as_e() {
    assert_eq!(accepting_fallback_in_the_middle().await, Ok(7));
}
