//! OTHER CRATES' ATTRIBUTES keep working, and where they sit relative to the
//! toolkit's attributes means what the written order says:
//!
//! - `#[tracing::instrument]` written above the stack is the outermost: one
//!   span for the whole call, `err`/`ret` see its final outcome; written below
//!   (or between), it is inside the layers above it: a span per attempt. The
//!   same on a plain `fn`.
//! - `#[async_trait]` on an impl or trait whose methods carry toolkit
//!   attributes.
//! - `#[tokio::test]` written below the stack (it always wraps the whole call),
//!   and a plain `#[test]` below the stack of a plain `fn`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::{Probe, TestError, ms};
use steadfast as sf;
use steadfast::{Rejected, bulkhead, circuit_breaker, fallback, retry, timeout};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber, instrument};

/// Counts spans by name and events by kind (`error` or `return` field).
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Counts>>);

#[derive(Default)]
struct Counts {
    spans: BTreeMap<String, u32>,
    errors: u32,
    returns: u32,
    next: u64,
}

struct Names<'a>(&'a mut Vec<String>);

impl Visit for Names<'_> {
    fn record_debug(&mut self, field: &Field, _: &dyn std::fmt::Debug) {
        self.0.push(field.name().to_string());
    }
}

impl Subscriber for Spans {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        !metadata.target().starts_with("steadfast")
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut counts = self.0.lock().unwrap();
        *counts
            .spans
            .entry(attrs.metadata().name().to_string())
            .or_default() += 1;
        counts.next += 1;
        Id::from_u64(counts.next)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut names = Vec::new();
        event.record(&mut Names(&mut names));
        let mut counts = self.0.lock().unwrap();
        if names.iter().any(|n| n == "error") {
            counts.errors += 1;
        }
        if names.iter().any(|n| n == "return") {
            counts.returns += 1;
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Spans {
    fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let spans = Spans::default();
        let guard = tracing::subscriber::set_default(spans.clone());
        (spans, guard)
    }
    fn spans(&self, name: &str) -> u32 {
        self.0.lock().unwrap().spans.get(name).copied().unwrap_or(0)
    }
    fn errors(&self) -> u32 {
        self.0.lock().unwrap().errors
    }
    fn returns(&self) -> u32 {
        self.0.lock().unwrap().returns
    }
}

/// Fails attempts 1 and 2, then answers.
fn third_time(probe: &Probe) -> Result<u32, TestError> {
    let n = probe.hit();
    if n < 3 {
        Err(TestError::Transient(n))
    } else {
        Ok(n)
    }
}

// ---------------------------------------------------- #[tracing::instrument]

static ABOVE: Probe = Probe::new();

#[instrument(err, ret)]
#[retry(attempts = 3, backoff = none)]
async fn instrumented_above() -> Result<u32, TestError> {
    third_time(&ABOVE)
}

#[tokio::test(start_paused = true)]
async fn instrument_above_the_stack_spans_the_whole_call() {
    let (spans, _guard) = Spans::install();
    assert_eq!(instrumented_above().await, Ok(3));
    assert_eq!(ABOVE.calls(), 3);
    assert_eq!(
        spans.spans("instrumented_above"),
        1,
        "one span for the call"
    );
    assert_eq!(spans.errors(), 0, "`err` sees the final outcome only");
    assert_eq!(spans.returns(), 1);
}

static BELOW: Probe = Probe::new();

#[retry(attempts = 3, backoff = none)]
#[instrument(err, ret)]
async fn instrumented_below() -> Result<u32, TestError> {
    third_time(&BELOW)
}

#[tokio::test(start_paused = true)]
async fn instrument_below_the_stack_spans_each_attempt() {
    let (spans, _guard) = Spans::install();
    assert_eq!(instrumented_below().await, Ok(3));
    assert_eq!(spans.spans("instrumented_below"), 3, "a span per attempt");
    assert_eq!(spans.errors(), 2, "`err` sees each failed attempt");
    assert_eq!(spans.returns(), 1);
}

static BETWEEN: Probe = Probe::new();

// Between two layers: inside the retry, outside the per-attempt timeout.
#[retry(attempts = 3, backoff = none)]
#[instrument(err)]
#[timeout("10ms")]
async fn instrumented_between() -> Result<u32, TestError> {
    let n = BETWEEN.hit();
    if n < 3 {
        tokio::time::sleep(ms(1000)).await;
    }
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn instrument_between_layers_keeps_its_place() {
    let (spans, _guard) = Spans::install();
    assert_eq!(instrumented_between().await, Ok(3));
    assert_eq!(spans.spans("instrumented_between"), 3);
    assert_eq!(spans.errors(), 2, "two attempts timed out inside the span");
}

static PLAIN: Probe = Probe::new();

#[instrument]
#[retry(attempts = 3, backoff = none)]
#[timeout("1s")]
async fn instrumented_plain(add: u32) -> Result<u32, TestError> {
    third_time(&PLAIN).map(|n| n + add)
}

#[tokio::test(start_paused = true)]
async fn instrument_without_err_or_ret_above_the_stack() {
    let (spans, _guard) = Spans::install();
    assert_eq!(instrumented_plain(10).await, Ok(13));
    assert_eq!(spans.spans("instrumented_plain"), 1);
}

// -------------------------------------------------------------- #[async_trait]

#[async_trait::async_trait]
trait Prices {
    async fn price(&self, sku: String) -> Result<u32, TestError>;
    async fn cheapest(&self, a: u32, b: u32) -> Result<u32, TestError>;
}

struct Shop {
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl Prices for Shop {
    #[fallback(|_e| Ok(0))]
    #[retry(attempts = 3, backoff = fixed("5ms"), jitter = none)]
    #[circuit_breaker(window = 10, name = "other_attributes::shop")]
    #[timeout("50ms")]
    #[bulkhead(max_concurrent = 2, max_queue = 2)]
    async fn price(&self, sku: String) -> Result<u32, TestError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n < 3 {
            return Err(TestError::Transient(n));
        }
        Ok(u32::try_from(sku.len()).unwrap() * 100)
    }

    #[timeout("10ms")]
    async fn cheapest(&self, a: u32, b: u32) -> Result<u32, TestError> {
        tokio::time::sleep(ms(u64::from(a.max(b)))).await;
        Ok(a.min(b))
    }
}

#[tokio::test(start_paused = true)]
async fn async_trait_methods_carry_every_attribute() {
    let shop = Shop {
        calls: AtomicU32::new(0),
    };
    let start = tokio::time::Instant::now();
    // A `String` argument, moved into async-trait's block once and borrowed
    // by every attempt.
    assert_eq!(shop.price("tea".to_string()).await, Ok(300));
    assert_eq!(shop.calls.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), ms(10));
    assert_eq!(shop.cheapest(3, 4).await, Ok(3));
    assert_eq!(
        shop.cheapest(30, 4).await,
        Err(TestError::Rejected(Rejected::timeout(ms(10))))
    );
    // As a trait object, whose future must be `Send`.
    let dyn_shop: Arc<dyn Prices + Send + Sync> = Arc::new(Shop {
        calls: AtomicU32::new(0),
    });
    let handle = tokio::spawn(async move { dyn_shop.price("coffee".into()).await });
    assert_eq!(handle.await.unwrap(), Ok(600));
}

// -------------------------------------------------------------- #[tokio::test]

static FLAKY_TEST: Probe = Probe::new();

// A flaky test retried as a whole: `#[tokio::test]` below the stack.
#[retry(attempts = 3, backoff = none)]
#[tokio::test]
async fn a_test_entry_point_below_the_stack_wraps_the_whole_call() -> Result<(), TestError> {
    third_time(&FLAKY_TEST).map(|_| ())
}

static ABOVE_AND_DEFERRED: Probe = Probe::new();

// Instrumented from above while the stack below defers (an unrecognised path
// to one of ours): every layer still goes inside the one span.
#[instrument(err)]
#[retry(attempts = 3, backoff = none)]
#[sf::timeout("10ms")]
async fn instrumented_above_a_deferred_stack() -> Result<u32, TestError> {
    let n = ABOVE_AND_DEFERRED.hit();
    if n < 3 {
        tokio::time::sleep(ms(1000)).await;
    }
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn instrument_above_a_deferred_stack_still_spans_the_whole_call() {
    let (spans, _guard) = Spans::install();
    assert_eq!(instrumented_above_a_deferred_stack().await, Ok(3));
    assert_eq!(ABOVE_AND_DEFERRED.calls(), 3, "a timeout per attempt");
    assert_eq!(spans.spans("instrumented_above_a_deferred_stack"), 1);
    assert_eq!(spans.errors(), 0, "the timeouts are inside the span");
}

// ------------------------------------------ #[tracing::instrument] on a plain fn

static SYNC_ABOVE: Probe = Probe::new();

#[instrument(err, ret)]
#[retry(attempts = 3, backoff = none)]
fn sync_instrumented_above() -> Result<u32, TestError> {
    third_time(&SYNC_ABOVE)
}

/// On a plain `fn` too, `#[tracing::instrument]` written above the stack is
/// the outermost: one span for the call, `err` and `ret` see its outcome.
#[test]
fn sync_instrument_above_the_stack_spans_the_whole_call() {
    let (spans, _guard) = Spans::install();
    assert_eq!(sync_instrumented_above(), Ok(3));
    assert_eq!(SYNC_ABOVE.calls(), 3);
    assert_eq!(
        spans.spans("sync_instrumented_above"),
        1,
        "one span for the call"
    );
    assert_eq!(spans.errors(), 0, "`err` sees the final outcome only");
    assert_eq!(spans.returns(), 1);
}

static SYNC_PLAIN: Probe = Probe::new();

#[instrument]
#[retry(attempts = 3, backoff = none)]
fn sync_instrumented_plain(add: u32) -> Result<u32, TestError> {
    third_time(&SYNC_PLAIN).map(|n| n + add)
}

/// Without `err` or `ret` (instrument's other shape), the same.
#[test]
fn sync_instrument_without_err_or_ret_above_the_stack() {
    let (spans, _guard) = Spans::install();
    assert_eq!(sync_instrumented_plain(10), Ok(13));
    assert_eq!(spans.spans("sync_instrumented_plain"), 1);
}

static SYNC_BELOW: Probe = Probe::new();

#[retry(attempts = 3, backoff = none)]
#[instrument(err, ret)]
fn sync_instrumented_below() -> Result<u32, TestError> {
    third_time(&SYNC_BELOW)
}

/// Written below the stack, a span per attempt.
#[test]
fn sync_instrument_below_the_stack_spans_each_attempt() {
    let (spans, _guard) = Spans::install();
    assert_eq!(sync_instrumented_below(), Ok(3));
    assert_eq!(
        spans.spans("sync_instrumented_below"),
        3,
        "a span per attempt"
    );
    assert_eq!(spans.errors(), 2, "`err` sees each failed attempt");
    assert_eq!(spans.returns(), 1);
}

static FLAKY_SYNC_TEST: Probe = Probe::new();

// A flaky plain test retried as a whole: `#[test]` below the stack.
#[retry(attempts = 3, backoff = none)]
#[test]
fn a_plain_test_below_the_stack_is_retried() -> Result<(), TestError> {
    third_time(&FLAKY_SYNC_TEST).map(|_| ())
}
