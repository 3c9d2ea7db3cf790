//! Helpers for the circuit breaker and bulkhead behaviour tests: a scripted
//! call outcome, a per-function call counter that also tracks concurrency,
//! a test error type, and a player that runs a string of outcomes through an
//! annotated function and spells the results back.
#![allow(dead_code, unreachable_pub)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::Rejected;
use tokio::sync::Semaphore;

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// How long a `'L'` (slow) call of [`play`] takes; tests use `slow_call = "1s"`.
pub const SLOW: Duration = Duration::from_millis(1500);
/// How long a `'Q'` (quick, but not instant) call of [`play`] takes.
pub const QUICK: Duration = Duration::from_millis(500);

/// The error type of every annotated function in these tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestError {
    /// The body failed; counts as a failure.
    Fail,
    /// The body failed in a way that `failure_if = TestError::counts` rejects.
    Ignored,
    /// A policy refused or abandoned the call.
    Rejected(Rejected),
}

impl TestError {
    /// For `failure_if = TestError::counts`: every error but `Ignored`.
    pub fn counts(&self) -> bool {
        !matches!(self, TestError::Ignored)
    }
}

/// For `failure_if = never`: no body error counts.
pub fn never(_: &TestError) -> bool {
    false
}

impl From<Rejected> for TestError {
    fn from(rejected: Rejected) -> Self {
        TestError::Rejected(rejected)
    }
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestError::Rejected(r) => r.fmt(f),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for TestError {}

/// What the body waits for before it ends.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// Nothing: it ends at once.
    None,
    /// A tokio sleep.
    Sleep(Duration),
    /// One permit of the gate (taken and forgotten): the test opens it.
    Gate(&'static Semaphore),
    /// Forever (the call can only be dropped).
    Forever,
}

/// How the body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Ok,
    Fail,
    Ignored,
    Panic,
}

/// A scripted call: wait, then end.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub wait: Wait,
    pub end: End,
}

impl Outcome {
    pub const OK: Outcome = Outcome::new(Wait::None, End::Ok);
    pub const FAIL: Outcome = Outcome::new(Wait::None, End::Fail);
    pub const IGNORED: Outcome = Outcome::new(Wait::None, End::Ignored);
    pub const PANIC: Outcome = Outcome::new(Wait::None, End::Panic);
    pub const HANG: Outcome = Outcome::new(Wait::Forever, End::Ok);

    pub const fn new(wait: Wait, end: End) -> Self {
        Outcome { wait, end }
    }

    /// Waits for `gate`, then ends with `end`.
    pub const fn gated(gate: &'static Semaphore, end: End) -> Self {
        Outcome::new(Wait::Gate(gate), end)
    }

    /// Sleeps `d`, then ends with `end`.
    pub const fn after(d: Duration, end: End) -> Self {
        Outcome::new(Wait::Sleep(d), end)
    }

    /// The outcome a letter of [`play`] stands for.
    pub fn from_letter(letter: char) -> Self {
        match letter {
            'S' => Outcome::OK,
            'F' => Outcome::FAIL,
            'I' => Outcome::IGNORED,
            'L' => Outcome::after(SLOW, End::Ok),
            'Q' => Outcome::after(QUICK, End::Ok),
            other => panic!("no outcome for {other:?}"),
        }
    }
}

/// Counts the calls whose body ran, and how many run at once.
#[derive(Debug)]
pub struct Calls {
    entered: AtomicU32,
    running: AtomicU32,
    peak: AtomicU32,
    order: Mutex<Vec<u32>>,
}

impl Default for Calls {
    fn default() -> Self {
        Calls::new()
    }
}

impl Calls {
    pub const fn new() -> Self {
        Calls {
            entered: AtomicU32::new(0),
            running: AtomicU32::new(0),
            peak: AtomicU32::new(0),
            order: Mutex::new(Vec::new()),
        }
    }

    /// Bodies that started.
    pub fn entered(&self) -> u32 {
        self.entered.load(SeqCst)
    }

    /// Bodies running now.
    pub fn running(&self) -> u32 {
        self.running.load(SeqCst)
    }

    /// The most bodies that ever ran at once.
    pub fn peak(&self) -> u32 {
        self.peak.load(SeqCst)
    }

    /// The tags of [`run_tagged`](Calls::run_tagged) bodies, in the order they started.
    pub fn order(&self) -> Vec<u32> {
        self.order.lock().unwrap().clone()
    }

    /// The body of every annotated test function: plays `outcome`.
    pub async fn run(&self, outcome: Outcome) -> Result<u32, TestError> {
        self.run_tagged(0, outcome).await
    }

    /// [`run`](Calls::run), recording `tag` in [`order`](Calls::order).
    pub async fn run_tagged(&self, tag: u32, outcome: Outcome) -> Result<u32, TestError> {
        let n = self.entered.fetch_add(1, SeqCst) + 1;
        self.order.lock().unwrap().push(tag);
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        // Leaves `running` whatever way the body ends (drop, panic).
        let _leave = Leave(&self.running);
        match outcome.wait {
            Wait::None => {}
            Wait::Sleep(d) => tokio::time::sleep(d).await,
            Wait::Gate(gate) => gate.acquire().await.expect("gate closed").forget(),
            Wait::Forever => std::future::pending::<()>().await,
        }
        match outcome.end {
            End::Ok => Ok(n),
            End::Fail => Err(TestError::Fail),
            End::Ignored => Err(TestError::Ignored),
            End::Panic => panic!("scripted panic in call {n}"),
        }
    }
}

struct Leave<'a>(&'a AtomicU32);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// One letter for a call's result: `S` success, `F` / `I` the body's own
/// errors, `O` circuit open, `B` bulkhead full, `T` timeout.
pub fn letter<T>(result: &Result<T, TestError>) -> char {
    match result {
        Ok(_) => 'S',
        Err(TestError::Fail) => 'F',
        Err(TestError::Ignored) => 'I',
        Err(TestError::Rejected(Rejected::CircuitOpen { .. })) => 'O',
        Err(TestError::Rejected(Rejected::BulkheadFull { .. })) => 'B',
        Err(TestError::Rejected(Rejected::Timeout { .. })) => 'T',
        Err(TestError::Rejected(_)) => '?',
    }
}

/// Runs one call per letter of `script` (spaces ignored), one after the
/// other, and returns one letter per result (see [`letter`]).
///
/// Script letters: `S` succeed, `F` fail, `I` an error `TestError::counts`
/// rejects, `L` succeed after [`SLOW`], `Q` succeed after [`QUICK`].
pub async fn play<F, Fut>(mut call: F, script: &str) -> String
where
    F: FnMut(Outcome) -> Fut,
    Fut: Future<Output = Result<u32, TestError>>,
{
    let mut out = String::new();
    for c in script.chars().filter(|c| !c.is_whitespace()) {
        out.push(letter(&call(Outcome::from_letter(c)).await));
    }
    out
}

/// The name in a `CircuitOpen` rejection.
pub fn circuit_open_name<T: std::fmt::Debug>(result: &Result<T, TestError>) -> &'static str {
    match result {
        Err(TestError::Rejected(Rejected::CircuitOpen { name, .. })) => name,
        other => panic!("expected CircuitOpen, got {other:?}"),
    }
}

/// The name in a `BulkheadFull` rejection.
pub fn bulkhead_full_name<T: std::fmt::Debug>(result: &Result<T, TestError>) -> &'static str {
    match result {
        Err(TestError::Rejected(Rejected::BulkheadFull { name, .. })) => name,
        other => panic!("expected BulkheadFull, got {other:?}"),
    }
}

/// Yields (on a current-thread runtime: lets every other task run) until
/// `done` holds; panics if it never does.
pub async fn settle(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened: {what}");
}

/// [`settle`] for a multi-thread runtime: yields until `done` holds, for at
/// most 20 s of real time (a guard against a hang, not a measurement).
pub async fn settle_mt(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            std::time::Instant::now() < give_up,
            "never happened: {what}"
        );
        tokio::task::yield_now().await;
    }
}

/// Polls `future` once with the current task's waker: `Some(output)` if it
/// finished, `None` if it is pending (it keeps its place: a call holding a
/// slot, or waiting in a queue).
pub async fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut *future).poll(cx) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// Lets every other task of a current-thread runtime run for a while.
pub async fn yield_a_few() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// Awaits `future` on paused time and checks that it answered without any
/// time passing (a rejection "at once"); fails instead of hanging if it waits.
pub async fn at_once<F: Future>(future: F) -> F::Output {
    let start = tokio::time::Instant::now();
    let output = tokio::time::timeout(Duration::from_secs(3600), future)
        .await
        .expect("expected an answer at once, but the call waited");
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "expected an answer at once"
    );
    output
}

/// Awaits `future` on paused time, failing instead of hanging if it never
/// finishes (a deadlock shows as an hour of virtual time passing).
pub async fn within_an_hour<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(3600), future)
        .await
        .expect("stalled: never finished")
}
