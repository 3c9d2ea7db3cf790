//! The attributes on a plain `fn` ("Sync functions" in DESIGN.md): `#[retry]`,
//! `#[circuit_breaker]`, `#[bulkhead]`, `#[rate_limit]` and `#[fallback]`
//! with the same keys, defaults and rules as on an `async fn`, blocking the
//! thread with `std` primitives on the `std` clock, and a `static` policy
//! shared by sync and async callers.
//!
//! These tests run on plain threads with small real durations; they assert
//! counts and order, never how long something took. (Shutdown waking a
//! blocked thread is in `sync_shutdown.rs`: shutdown is process-wide.)

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use common::until;

use steadfast::circuit_breaker::State;
use steadfast::{
    Bulkhead, CircuitBreaker, Rejected, RetryBudget, bulkhead, circuit_breaker, fallback,
    rate_limit, retry,
};

#[derive(Debug, Clone, PartialEq)]
enum Error {
    /// A failure worth retrying, numbered by attempt.
    Busy(u32),
    /// A failure not worth retrying.
    Invalid,
    Rejected(Rejected),
}

impl From<Rejected> for Error {
    fn from(rejected: Rejected) -> Self {
        Error::Rejected(rejected)
    }
}

impl Error {
    fn is_busy(&self) -> bool {
        matches!(self, Error::Busy(_))
    }

    fn rejected(&self) -> Option<&Rejected> {
        match self {
            Error::Rejected(rejected) => Some(rejected),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// #[retry]
// ---------------------------------------------------------------------------

#[retry(attempts = 3, backoff = fixed("1ms"))]
fn always_busy(calls: &AtomicU32) -> Result<u32, Error> {
    Err(Error::Busy(calls.fetch_add(1, SeqCst) + 1))
}

/// Every attempt runs, and the error returned is the last attempt's.
#[test]
fn retry_returns_the_last_attempts_error() {
    let calls = AtomicU32::new(0);
    assert_eq!(always_busy(&calls), Err(Error::Busy(3)));
    assert_eq!(calls.load(SeqCst), 3);
}

#[retry(backoff = fixed("1ms"))]
fn busy_once(calls: &AtomicU32) -> Result<u32, Error> {
    let n = calls.fetch_add(1, SeqCst) + 1;
    // `?` and `return` end the attempt, not the call.
    if n == 1 {
        Err(Error::Busy(n))?;
    }
    if n == 2 {
        return Ok(20);
    }
    Ok(n)
}

/// A success ends the retries; `?` and `return` behave as without the
/// attribute (the default is 3 attempts).
#[test]
fn retry_stops_at_the_first_success() {
    let calls = AtomicU32::new(0);
    assert_eq!(busy_once(&calls), Ok(20));
    assert_eq!(calls.load(SeqCst), 2);
}

#[retry(attempts = 5, backoff = fixed("1ms"), when = Error::is_busy)]
fn invalid(calls: &AtomicU32) -> Result<u32, Error> {
    calls.fetch_add(1, SeqCst);
    Err(Error::Invalid)
}

/// `when` judges the errors: one it refuses returns at once.
#[test]
fn retry_when_refuses_an_error() {
    let calls = AtomicU32::new(0);
    assert_eq!(invalid(&calls), Err(Error::Invalid));
    assert_eq!(calls.load(SeqCst), 1);
}

fn hinted(error: &Error) -> Option<Duration> {
    match error {
        Error::Busy(1) => Some(Duration::from_millis(2)),
        Error::Busy(_) => Some(Duration::from_secs(3_600)),
        _ => None,
    }
}

#[retry(attempts = 5, backoff = fixed("1ms"), delay_from = hinted, max_hint = "1s")]
fn with_hints(calls: &AtomicU32) -> Result<u32, Error> {
    Err(Error::Busy(calls.fetch_add(1, SeqCst) + 1))
}

/// A hint within `max_hint` is waited; a longer one ends the retries at
/// once with that error (an hour is never slept: the test would hang).
#[test]
fn retry_honours_hints_up_to_max_hint() {
    let calls = AtomicU32::new(0);
    assert_eq!(with_hints(&calls), Err(Error::Busy(2)));
    assert_eq!(calls.load(SeqCst), 2);
}

#[retry(attempts = 10, backoff = fixed("30ms"), jitter = none, max_elapsed = "50ms")]
fn elapsed(calls: &AtomicU32) -> Result<u32, Error> {
    Err(Error::Busy(calls.fetch_add(1, SeqCst) + 1))
}

/// `max_elapsed` on the `std` clock: the first retry ends at about 30 ms
/// (within 50 ms) and is made; the second would end past 60 ms and is not.
#[test]
fn retry_max_elapsed_is_measured_on_the_std_clock() {
    let calls = AtomicU32::new(0);
    assert_eq!(elapsed(&calls), Err(Error::Busy(2)));
    assert_eq!(calls.load(SeqCst), 2);
}

/// The same from inside a tokio runtime whose clock is paused (as in a
/// test): the plain `fn` still measures its budget on the `std` clock that
/// its delays are slept on (on the paused clock no time would pass, and all
/// ten attempts would be made).
#[test]
fn retry_max_elapsed_ignores_a_paused_tokio_clock() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    let result = runtime.block_on(async { elapsed(&calls) });
    assert_eq!(result, Err(Error::Busy(2)));
    assert_eq!(calls.load(SeqCst), 2);
}

#[retry(attempts = 3, backoff = fixed("1ms"))]
fn panics(calls: &AtomicU32) -> Result<u32, Error> {
    calls.fetch_add(1, SeqCst);
    panic!("boom");
}

/// A panic is never retried: it propagates from the first attempt.
#[test]
fn retry_lets_a_panic_through() {
    let calls = AtomicU32::new(0);
    let caught = catch_unwind(AssertUnwindSafe(|| panics(&calls)));
    assert!(caught.is_err());
    assert_eq!(calls.load(SeqCst), 1);
}

static BUDGET: RetryBudget = RetryBudget::builder().ratio(1.0).min_per_sec(0).build();

#[retry(attempts = 5, backoff = fixed("1ms"), budget = BUDGET)]
fn budgeted(calls: &AtomicU32) -> Result<u32, Error> {
    Err(Error::Busy(calls.fetch_add(1, SeqCst) + 1))
}

/// A retry budget on a plain `fn`: the call's first attempt pays for one
/// retry (ratio 1, no floor); the next retry finds the budget spent, and the
/// last error returns.
#[test]
fn retry_draws_from_a_budget() {
    let calls = AtomicU32::new(0);
    assert_eq!(budgeted(&calls), Err(Error::Busy(2)));
    assert_eq!(calls.load(SeqCst), 2);
}

struct Counter {
    seen: Vec<u32>,
}

impl Counter {
    /// `&mut self` in a retried body: each attempt borrows it anew.
    #[retry(attempts = 3, backoff = fixed("1ms"))]
    fn push(&mut self, value: u32) -> Result<usize, Error> {
        self.seen.push(value);
        if self.seen.len() < 3 {
            return Err(Error::Busy(value));
        }
        Ok(self.seen.len())
    }
}

#[test]
fn retry_on_a_method_taking_mut_self() {
    let mut counter = Counter { seen: Vec::new() };
    assert_eq!(counter.push(7), Ok(3));
    assert_eq!(counter.seen, [7, 7, 7]);
}

// ---------------------------------------------------------------------------
// #[circuit_breaker]
// ---------------------------------------------------------------------------

static OPENS: CircuitBreaker = CircuitBreaker::builder()
    .name("sync::opens")
    .window_calls(4)
    .min_calls(4)
    .open_for(Duration::from_millis(30))
    .build();

#[circuit_breaker(shared = OPENS)]
fn guarded(calls: &AtomicU32, fail: bool) -> Result<u32, Error> {
    calls.fetch_add(1, SeqCst);
    if fail { Err(Error::Invalid) } else { Ok(1) }
}

/// Failures open the breaker; while open, calls fail fast without running;
/// after `open_for` (std time passing) a probe runs and its success closes it.
#[test]
fn circuit_breaker_opens_fails_fast_and_closes_after_a_probe() {
    let calls = AtomicU32::new(0);
    for _ in 0..4 {
        assert_eq!(guarded(&calls, true), Err(Error::Invalid));
    }
    assert_eq!(OPENS.state(), State::Open);
    let refused = guarded(&calls, false).unwrap_err();
    assert!(
        matches!(refused.rejected(), Some(Rejected::CircuitOpen { name, .. }) if *name == "sync::opens"),
        "{refused:?}"
    );
    assert_eq!(calls.load(SeqCst), 4, "the body did not run while open");
    thread::sleep(Duration::from_millis(40));
    assert_eq!(guarded(&calls, false), Ok(1));
    assert_eq!(calls.load(SeqCst), 5);
    assert_eq!(OPENS.state(), State::Closed);
}

static PANICS: CircuitBreaker = CircuitBreaker::builder()
    .name("sync::panics")
    .consecutive_failures(1)
    .build();

#[circuit_breaker(shared = PANICS)]
fn guarded_panic() -> Result<u32, Error> {
    panic!("boom");
}

/// A panic counts as a failure (one opens this breaker) and propagates.
#[test]
fn circuit_breaker_counts_a_panic_as_a_failure() {
    assert!(catch_unwind(guarded_panic).is_err());
    assert_eq!(PANICS.state(), State::Open);
}

static IGNORES: CircuitBreaker = CircuitBreaker::builder()
    .name("sync::ignores")
    .consecutive_failures(1)
    .build();

#[circuit_breaker(shared = IGNORES, failure_if = Error::is_busy)]
fn judged(error: Error) -> Result<u32, Error> {
    Err(error)
}

/// `failure_if` decides what a failure is: other errors are neither.
#[test]
fn circuit_breaker_failure_if_judges_the_errors() {
    assert_eq!(judged(Error::Invalid), Err(Error::Invalid));
    assert_eq!(IGNORES.state(), State::Closed);
    assert_eq!(judged(Error::Busy(1)), Err(Error::Busy(1)));
    assert_eq!(IGNORES.state(), State::Open);
}

static BOTH: CircuitBreaker = CircuitBreaker::builder()
    .name("sync::both")
    .consecutive_failures(2)
    .build();

#[circuit_breaker(shared = BOTH)]
fn blocking_side(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::Invalid) } else { Ok(1) }
}

#[circuit_breaker(shared = BOTH)]
async fn async_side(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::Invalid) } else { Ok(2) }
}

/// One `static` breaker serves sync and async callers alike: a failure from
/// each opens it (two in a row), and then both are refused.
#[test]
fn a_static_breaker_serves_sync_and_async_callers() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert_eq!(blocking_side(true), Err(Error::Invalid));
    assert_eq!(runtime.block_on(async_side(true)), Err(Error::Invalid));
    assert_eq!(BOTH.state(), State::Open);
    assert!(matches!(
        blocking_side(false).unwrap_err().rejected(),
        Some(Rejected::CircuitOpen { .. })
    ));
    assert!(matches!(
        runtime.block_on(async_side(false)).unwrap_err().rejected(),
        Some(Rejected::CircuitOpen { .. })
    ));
}

#[circuit_breaker(key = host, consecutive_failures = 1, open_for = "1h")]
fn per_host(host: &str, fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::Invalid) } else { Ok(1) }
}

/// Keyed state on a plain `fn`: one host's failure opens only its breaker.
#[test]
fn a_keyed_breaker_keeps_one_state_per_key() {
    assert_eq!(per_host("a", true), Err(Error::Invalid));
    assert!(matches!(
        per_host("a", false).unwrap_err().rejected(),
        Some(Rejected::CircuitOpen { .. })
    ));
    assert_eq!(per_host("b", false), Ok(1));
}

// ---------------------------------------------------------------------------
// #[bulkhead]
// ---------------------------------------------------------------------------

static LINE: Bulkhead = Bulkhead::builder()
    .name("sync::line")
    .max_concurrent(1)
    .max_queue(3)
    .build();

#[bulkhead(shared = LINE)]
fn in_line(
    id: u32,
    order: &Mutex<Vec<u32>>,
    gate: &Mutex<mpsc::Receiver<()>>,
) -> Result<u32, Error> {
    order.lock().unwrap().push(id);
    if id == 0 {
        // The first call holds the only slot until the test lets it go.
        gate.lock().unwrap().recv().unwrap();
    }
    Ok(id)
}

/// One slot: the first call holds it while three more block in line,
/// joining in a known order; released, they run one at a time in that order
/// (FIFO), and the slot is free again afterwards.
#[test]
fn bulkhead_blocks_waiters_and_serves_them_in_order() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let (release, gate) = mpsc::channel();
    let gate = Arc::new(Mutex::new(gate));
    let mut threads = Vec::new();
    for id in 0..4 {
        let (order, gate) = (Arc::clone(&order), Arc::clone(&gate));
        threads.push(thread::spawn(move || in_line(id, &order, &gate)));
        if id == 0 {
            until(|| LINE.running() == 1);
        } else {
            until(|| LINE.waiting() == id);
        }
    }
    assert_eq!(*order.lock().unwrap(), [0], "nobody ran beside the holder");
    release.send(()).unwrap();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results, [Ok(0), Ok(1), Ok(2), Ok(3)]);
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    assert_eq!((LINE.running(), LINE.waiting()), (0, 0));
}

static TIGHT: Bulkhead = Bulkhead::builder()
    .name("sync::tight")
    .max_concurrent(1)
    .max_queue(1)
    .max_wait(Duration::from_millis(20))
    .build();

#[bulkhead(shared = TIGHT)]
fn tight(hold: Option<mpsc::Receiver<()>>, ran: &AtomicU32) -> Result<u32, Error> {
    ran.fetch_add(1, SeqCst);
    if let Some(hold) = hold {
        hold.recv().unwrap();
    }
    Ok(1)
}

/// A full queue refuses at once; a waiter gives up after `max_wait` with
/// `BulkheadFull` and never runs; a panic gives the slot back.
#[test]
fn bulkhead_refuses_when_full_and_gives_up_after_max_wait() {
    let ran = Arc::new(AtomicU32::new(0));
    let (release, hold) = mpsc::channel();
    let holder = {
        let ran = Arc::clone(&ran);
        thread::spawn(move || tight(Some(hold), &ran))
    };
    until(|| TIGHT.running() == 1);
    let waiter = {
        let ran = Arc::clone(&ran);
        thread::spawn(move || tight(None, &ran))
    };
    until(|| TIGHT.waiting() == 1);
    // The queue (1) is full: refused at once.
    let full = tight(None, &ran).unwrap_err();
    assert!(
        matches!(full.rejected(), Some(Rejected::BulkheadFull { .. })),
        "{full:?}"
    );
    // The waiter's 20 ms pass while the holder holds on.
    let gave_up = waiter.join().unwrap().unwrap_err();
    assert!(
        matches!(gave_up.rejected(), Some(Rejected::BulkheadFull { .. })),
        "{gave_up:?}"
    );
    release.send(()).unwrap();
    assert_eq!(holder.join().unwrap(), Ok(1));
    assert_eq!(ran.load(SeqCst), 1, "neither refused call ran");
    assert_eq!((TIGHT.running(), TIGHT.waiting()), (0, 0));
}

#[bulkhead(max_concurrent = 1, max_queue = 0)]
fn one_at_a_time(fail: bool) -> Result<u32, Error> {
    if fail {
        panic!("boom");
    }
    Ok(1)
}

#[test]
fn bulkhead_releases_the_slot_on_panic() {
    assert!(catch_unwind(|| one_at_a_time(true)).is_err());
    assert_eq!(one_at_a_time(false), Ok(1));
}

// ---------------------------------------------------------------------------
// #[rate_limit]
// ---------------------------------------------------------------------------

#[rate_limit(rate = 2, per = "1h")]
fn rare(ran: &AtomicU32) -> Result<u32, Error> {
    Ok(ran.fetch_add(1, SeqCst))
}

/// The burst passes, the next call is refused at once (the default
/// `max_wait` is 0) with the time to its turn, and does not run.
#[test]
fn rate_limit_admits_the_burst_then_refuses() {
    let ran = AtomicU32::new(0);
    assert_eq!(rare(&ran), Ok(0));
    assert_eq!(rare(&ran), Ok(1));
    let refused = rare(&ran).unwrap_err();
    match refused.rejected() {
        Some(Rejected::RateLimited { retry_after, .. }) => {
            assert!(*retry_after > Duration::from_secs(1_000), "{retry_after:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ran.load(SeqCst), 2);
}

#[rate_limit(rate = 1, per = "20ms", max_wait = "1s")]
fn paced(id: u32, order: &Mutex<Vec<u32>>) -> Result<u32, Error> {
    order.lock().unwrap().push(id);
    Ok(id)
}

/// Over the limit, a call within `max_wait` of its turn blocks until then
/// and runs: three calls, one turn each, all admitted, in call order.
#[test]
fn rate_limit_blocks_until_the_turn_within_max_wait() {
    let order = Mutex::new(Vec::new());
    let results: Vec<_> = (0..3).map(|id| paced(id, &order)).collect();
    assert_eq!(results, [Ok(0), Ok(1), Ok(2)]);
    assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
}

// ---------------------------------------------------------------------------
// #[fallback] and stacks
// ---------------------------------------------------------------------------

fn cached(_: Error) -> Result<u32, Error> {
    Ok(42)
}

#[fallback(cached, when = Error::is_busy)]
fn price(error: Error) -> Result<u32, Error> {
    Err(error)
}

#[fallback(|_e| Ok(sku.len() as u32))]
fn by_closure(sku: &str) -> Result<u32, Error> {
    let _ = sku;
    Err(Error::Invalid)
}

/// A synchronous handler answers for the errors `when` accepts; a closure
/// handler sees the arguments; success never reaches the handler.
#[test]
fn fallback_answers_for_accepted_errors() {
    assert_eq!(price(Error::Busy(1)), Ok(42));
    assert_eq!(price(Error::Invalid), Err(Error::Invalid));
    assert_eq!(by_closure("abcd"), Ok(4));
}

#[retry(attempts = 3, backoff = fixed("1ms"))]
#[circuit_breaker(consecutive_failures = 1, open_for = "1h")]
fn retried_breaker(calls: &AtomicU32) -> Result<u32, Error> {
    Err(Error::Busy(calls.fetch_add(1, SeqCst) + 1))
}

/// Written order is the stack's order on a plain `fn` too: the retry is
/// outside the breaker, whose `CircuitOpen` it does not retry.
#[test]
fn retry_does_not_retry_an_open_circuit() {
    let calls = AtomicU32::new(0);
    let last = retried_breaker(&calls).unwrap_err();
    assert!(
        matches!(last.rejected(), Some(Rejected::CircuitOpen { .. })),
        "{last:?}"
    );
    assert_eq!(
        calls.load(SeqCst),
        1,
        "one attempt ran; the retry was refused fast"
    );
}

#[fallback(|e: Error| if e.rejected().is_some() { Err(e) } else { Ok(0) })]
#[retry(attempts = 2, backoff = fixed("1ms"))]
#[rate_limit(rate = 1, per = "1h")]
#[bulkhead(max_concurrent = 4)]
fn full_stack(calls: &AtomicU32) -> Result<u32, Error> {
    Err(Error::Busy(calls.fetch_add(1, SeqCst) + 1))
}

/// Five attributes on one plain `fn`: the first call fails its attempt, and
/// its retry is refused by the rate limit, which the retry does not retry;
/// the fallback passes the rejection on as the same rejection.
#[test]
fn a_rejection_keeps_its_kind_through_the_stack() {
    let calls = AtomicU32::new(0);
    let error = full_stack(&calls).unwrap_err();
    assert!(
        matches!(error.rejected(), Some(Rejected::RateLimited { .. })),
        "{error:?}"
    );
    assert_eq!(calls.load(SeqCst), 1);
}

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

trait Source {
    fn get(&self) -> u32;
}

struct Fixed(u32);

impl Source for Fixed {
    fn get(&self) -> u32 {
        self.0
    }
}

#[retry(attempts = 2, backoff = none)]
fn generic<'a, S: Source, T>(source: &'a S, extra: impl Fn() -> T, _tag: T) -> Result<&'a S, Error>
where
    T: Copy,
{
    let _ = extra();
    if source.get() == 0 {
        Err(Error::Invalid)
    } else {
        Ok(source)
    }
}

struct Service {
    base: u32,
}

impl Service {
    #[circuit_breaker]
    #[bulkhead]
    fn shared(self: Arc<Self>, add: u32) -> std::io::Result<u32> {
        Ok(self.base + add)
    }
}

/// A plain `fn` that drives async code on a runtime of its own (not an
/// entry point: the attribute wraps it like any other body).
#[retry(attempts = 2, backoff = none)]
fn bridge(runtime: &tokio::runtime::Runtime, calls: &AtomicU32) -> Result<u32, Error> {
    runtime.block_on(async {
        let n = calls.fetch_add(1, SeqCst) + 1;
        if n < 2 { Err(Error::Busy(n)) } else { Ok(n) }
    })
}

/// Generics, lifetimes, `impl Trait`, `where`, `self: Arc<Self>`, a
/// `Result` alias and a body that calls `block_on` work on a plain `fn`.
#[test]
fn signatures_work_on_a_plain_fn() {
    let source = Fixed(3);
    assert!(generic(&source, || 1u8, 2u8).is_ok());
    assert!(generic(&Fixed(0), || (), ()).is_err());
    let service = Arc::new(Service { base: 40 });
    assert_eq!(service.shared(2).unwrap(), 42);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    assert_eq!(bridge(&runtime, &calls), Ok(2));
}

// ---------------------------------------------------------------------------
// Names and health
// ---------------------------------------------------------------------------

#[circuit_breaker]
#[bulkhead]
#[rate_limit(rate = 10)]
fn named_by_default() -> Result<u32, Error> {
    Ok(1)
}

impl Service {
    #[circuit_breaker]
    fn method_named(&self) -> Result<u32, Error> {
        Ok(self.base)
    }
}

/// A plain `fn`'s policies carry the default names (`module::fn`,
/// `module::Type::fn` for a method) and are listed in `health()` from
/// startup, before any call.
#[test]
fn a_plain_fns_policies_are_named_and_listed() {
    let health = steadfast::health();
    assert!(
        health
            .breakers
            .iter()
            .any(|b| b.name == "sync::named_by_default")
    );
    assert!(
        health
            .bulkheads
            .iter()
            .any(|b| b.name == "sync::named_by_default")
    );
    assert!(
        health
            .rate_limiters
            .iter()
            .any(|r| r.name == "sync::named_by_default")
    );
    assert!(
        health
            .breakers
            .iter()
            .any(|b| b.name == "sync::Service::method_named")
    );
    assert_eq!(named_by_default(), Ok(1));
    assert_eq!(Service { base: 5 }.method_named(), Ok(5));
}
