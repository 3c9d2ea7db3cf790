//! The client side of the soak test: annotated `async fn`s that call the
//! server over real HTTP (hyper-util's pooled client), with all five
//! attributes between them, and the in-body probes the test checks.
//!
//! | fn | stack, outermost first |
//! |---|---|
//! | [`full`] | fallback, retry ×3, breaker [`MAIN_BREAKER`], timeout 40 ms, bulkhead [`MAIN_POOL`] |
//! | [`lean`] | retry ×2, timeout 30 ms (covers the wait for a slot), bulkhead [`MAIN_POOL`] |
//! | [`guarded`] | its own breaker `soak::guarded` (ratio or 5 failures in a row), timeout 25 ms |
//! | [`pooled`] | bulkhead `soak::pooled` (queue, `max_wait`), breaker [`MAIN_BREAKER`] judging server faults only, timeout 35 ms |
//! | [`bounded`] | timeout 100 ms around everything, bulkhead `soak::bounded_pool` (no queue), retry ×4, breaker `soak::bounded` (1 s time window, 3 probes) |

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use steadfast::{
    Bulkhead, CircuitBreaker, Rejected, bulkhead, circuit_breaker, fallback, retry, timeout,
};

use crate::server::FAULT_HEADER;

/// Shared by [`full`] and [`pooled`]: opens when half of the last 20 calls
/// failed (once 10 are recorded); two probes after 150 ms.
pub(crate) static MAIN_BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .name("soak::main")
    .window_calls(20)
    .min_calls(10)
    .failure_ratio(0.5)
    .open_for(Duration::from_millis(150))
    .half_open_probes(2)
    .build();

/// Shared by [`full`] and [`lean`]: 6 at once, 6 waiting (no `max_wait`).
pub(crate) static MAIN_POOL: Bulkhead = Bulkhead::builder()
    .name("soak::main_pool")
    .max_concurrent(6)
    .max_queue(6)
    .build();

/// A breaker the test watches, with what it was built with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BreakerSpec {
    pub(crate) name: &'static str,
    pub(crate) half_open_probes: u32,
}

/// Every breaker the soak uses.
pub(crate) const BREAKERS: [BreakerSpec; 3] = [
    BreakerSpec {
        name: "soak::main",
        half_open_probes: 2,
    },
    BreakerSpec {
        name: "soak::guarded",
        half_open_probes: 1,
    },
    BreakerSpec {
        name: "soak::bounded",
        half_open_probes: 3,
    },
];

/// A bulkhead the test watches, with its limits and its in-body probe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BulkheadSpec {
    pub(crate) name: &'static str,
    pub(crate) max_concurrent: u32,
    pub(crate) max_queue: u32,
    pub(crate) live: &'static Live,
}

pub(crate) static MAIN_LIVE: Live = Live::new();
pub(crate) static POOLED_LIVE: Live = Live::new();
pub(crate) static BOUNDED_LIVE: Live = Live::new();

/// Every bulkhead the soak uses.
pub(crate) const BULKHEADS: [BulkheadSpec; 3] = [
    BulkheadSpec {
        name: "soak::main_pool",
        max_concurrent: 6,
        max_queue: 6,
        live: &MAIN_LIVE,
    },
    BulkheadSpec {
        name: "soak::pooled",
        max_concurrent: 3,
        max_queue: 3,
        live: &POOLED_LIVE,
    },
    BulkheadSpec {
        name: "soak::bounded_pool",
        max_concurrent: 4,
        max_queue: 0,
        live: &BOUNDED_LIVE,
    },
];

/// Whether bodies panic now and then.
pub(crate) static PANICS: AtomicBool = AtomicBool::new(false);
/// Panics the bodies raised.
pub(crate) static PANICS_RAISED: AtomicU64 = AtomicU64::new(0);
/// Times the `#[fallback]` handler ran.
pub(crate) static FALLBACK_RUNS: AtomicU64 = AtomicU64::new(0);

/// The chance of a panic at each of two points of a body.
const PANIC_CHANCE: f64 = 0.002;

/// The payload of an injected panic.
#[derive(Debug)]
pub(crate) struct InjectedPanic;

/// Bodies running inside one bulkhead, now and at most.
#[derive(Debug)]
pub(crate) struct Live {
    now: AtomicU32,
    peak: AtomicU32,
    entered: AtomicU64,
}

impl Live {
    const fn new() -> Self {
        Live {
            now: AtomicU32::new(0),
            peak: AtomicU32::new(0),
            entered: AtomicU64::new(0),
        }
    }

    fn enter(&self) -> InBody<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.entered.fetch_add(1, Ordering::Relaxed);
        InBody(self)
    }

    pub(crate) fn now(&self) -> u32 {
        self.now.load(Ordering::SeqCst)
    }

    pub(crate) fn peak(&self) -> u32 {
        self.peak.load(Ordering::SeqCst)
    }

    pub(crate) fn entered(&self) -> u64 {
        self.entered.load(Ordering::SeqCst)
    }
}

/// One body running; leaves on drop (end, error, panic or cancellation).
struct InBody<'a>(&'a Live);

impl Drop for InBody<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a call can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CallError {
    /// The server answered with an error status.
    #[error("HTTP {0}")]
    Status(u16),
    /// The server reset the connection.
    #[error("connection reset by the server")]
    Reset,
    /// Any other transport failure (a connection closed before the answer).
    #[error("transport: {0}")]
    Transport(String),
    /// A policy refused or abandoned the call.
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

impl CallError {
    /// Worth another try, or the cache: server errors, throttling, transport
    /// failures and rejections.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            CallError::Status(status) => *status == 429 || *status >= 500,
            CallError::Reset | CallError::Transport(_) | CallError::Rejected(_) => true,
        }
    }

    /// What [`pooled`]'s breaker counts: not a `429` (the server is up, just
    /// busy), which is neither success nor failure.
    pub(crate) fn is_server_fault(&self) -> bool {
        !matches!(self, CallError::Status(429))
    }
}

/// An answer: live from the server, or the fallback's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    Live(u64),
    Cached,
}

/// A pooled HTTP/1.1 client for one runtime.
#[derive(Debug)]
pub(crate) struct Http {
    client: Client<HttpConnector, Empty<Bytes>>,
    base: String,
}

impl Http {
    pub(crate) fn new(server: SocketAddr) -> Self {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{server}"),
        }
    }

    /// `GET {path}`, with a forced fault if `fault` names one.
    pub(crate) async fn get(&self, path: &str, fault: Option<&str>) -> Result<u64, CallError> {
        let mut request = Request::builder().uri(format!("{}{path}", self.base));
        if let Some(fault) = fault {
            request = request.header(FAULT_HEADER, fault);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let response = self.client.request(request).await.map_err(transport)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(transport)?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(CallError::Status(status.as_u16()));
        }
        std::str::from_utf8(&body)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| CallError::Transport(format!("unreadable body {body:?}")))
    }
}

/// A reset if any error in the chain is an `ECONNRESET`.
fn transport<E: std::error::Error + 'static>(error: E) -> CallError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::ConnectionReset
        {
            return CallError::Reset;
        }
        source = e.source();
    }
    CallError::Transport(error.to_string())
}

fn maybe_panic() {
    if PANICS.load(Ordering::Relaxed) && rand::random_bool(PANIC_CHANCE) {
        PANICS_RAISED.fetch_add(1, Ordering::SeqCst);
        std::panic::panic_any(InjectedPanic);
    }
}

/// One attempt, as every function's body runs it.
async fn attempt(
    http: &Http,
    path: &str,
    live: Option<&Live>,
    tries: &mut u32,
) -> Result<Reply, CallError> {
    *tries += 1;
    let _in_body = live.map(Live::enter);
    maybe_panic();
    let n = http.get(path, None).await?;
    maybe_panic();
    Ok(Reply::Live(n))
}

/// The `#[fallback]` handler: a cached answer, for six errors in ten.
fn cached(error: CallError) -> Result<Reply, CallError> {
    FALLBACK_RUNS.fetch_add(1, Ordering::Relaxed);
    if rand::random_bool(0.6) {
        Ok(Reply::Cached)
    } else {
        Err(error)
    }
}

#[fallback(cached, when = CallError::is_transient)]
#[retry(
    attempts = 3,
    backoff = exponential("1ms", factor = 2.0, max = "8ms"),
    when = CallError::is_transient
)]
#[circuit_breaker(shared = MAIN_BREAKER)]
#[timeout("40ms")]
#[bulkhead(shared = MAIN_POOL)]
pub(crate) async fn full(http: &Http, tries: &mut u32) -> Result<Reply, CallError> {
    attempt(http, "/full", Some(&MAIN_LIVE), tries).await
}

#[retry(attempts = 2, backoff = fixed("2ms"), jitter = equal)]
#[timeout("30ms")]
#[bulkhead(shared = MAIN_POOL)]
pub(crate) async fn lean(http: &Http, tries: &mut u32) -> Result<Reply, CallError> {
    attempt(http, "/lean", Some(&MAIN_LIVE), tries).await
}

#[circuit_breaker(
    name = "soak::guarded",
    window = 30,
    min_calls = 10,
    failure_ratio = 0.6,
    consecutive_failures = 5,
    open_for = "100ms"
)]
#[timeout("25ms")]
pub(crate) async fn guarded(http: &Http, tries: &mut u32) -> Result<Reply, CallError> {
    attempt(http, "/guarded", None, tries).await
}

#[bulkhead(
    max_concurrent = 3,
    max_queue = 3,
    max_wait = "15ms",
    name = "soak::pooled"
)]
#[circuit_breaker(shared = MAIN_BREAKER, failure_if = CallError::is_server_fault)]
#[timeout("35ms")]
pub(crate) async fn pooled(http: &Http, tries: &mut u32) -> Result<Reply, CallError> {
    attempt(http, "/pooled", Some(&POOLED_LIVE), tries).await
}

#[timeout("100ms")]
#[bulkhead(max_concurrent = 4, max_queue = 0, name = "soak::bounded_pool")]
#[retry(attempts = 4, backoff = fixed("2ms"), when = CallError::is_transient)]
#[circuit_breaker(
    name = "soak::bounded",
    window = "1s",
    min_calls = 8,
    failure_ratio = 0.5,
    open_for = "120ms",
    half_open_probes = 3
)]
pub(crate) async fn bounded(http: &Http, tries: &mut u32) -> Result<Reply, CallError> {
    attempt(http, "/bounded", Some(&BOUNDED_LIVE), tries).await
}

/// The annotated functions, and what each may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Full,
    Lean,
    Guarded,
    Pooled,
    Bounded,
}

impl Func {
    pub(crate) const ALL: [Func; 5] = [
        Func::Full,
        Func::Lean,
        Func::Guarded,
        Func::Pooled,
        Func::Bounded,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::Full => "full",
            Func::Lean => "lean",
            Func::Guarded => "guarded",
            Func::Pooled => "pooled",
            Func::Bounded => "bounded",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Attempts at most (the body runs once per attempt).
    pub(crate) fn max_tries(self) -> u32 {
        match self {
            Func::Full => 3,
            Func::Lean => 2,
            Func::Guarded | Func::Pooled => 1,
            Func::Bounded => 4,
        }
    }

    /// Its `#[timeout]`.
    pub(crate) fn timeout(self) -> Duration {
        Duration::from_millis(match self {
            Func::Full => 40,
            Func::Lean => 30,
            Func::Guarded => 25,
            Func::Pooled => 35,
            Func::Bounded => 100,
        })
    }

    /// Its breaker's name, if it has one.
    pub(crate) fn breaker(self) -> Option<&'static str> {
        match self {
            Func::Full | Func::Pooled => Some("soak::main"),
            Func::Guarded => Some("soak::guarded"),
            Func::Bounded => Some("soak::bounded"),
            Func::Lean => None,
        }
    }

    /// Its bulkhead's name, if it has one.
    pub(crate) fn bulkhead(self) -> Option<&'static str> {
        match self {
            Func::Full | Func::Lean => Some("soak::main_pool"),
            Func::Pooled => Some("soak::pooled"),
            Func::Bounded => Some("soak::bounded_pool"),
            Func::Guarded => None,
        }
    }

    /// Whether it has a `#[fallback]`.
    pub(crate) fn has_fallback(self) -> bool {
        self == Func::Full
    }

    /// A function that goes through the breaker called `name`.
    pub(crate) fn through(name: &str) -> Func {
        Func::ALL
            .into_iter()
            .find(|f| f.breaker() == Some(name))
            .expect("a function for every breaker")
    }
}

/// How a call ended, seen from the caller.
#[derive(Debug)]
pub(crate) enum Ended {
    /// It returned.
    Returned(Result<Reply, CallError>),
    /// It panicked; the payload.
    Panicked(Box<dyn std::any::Any + Send>),
    /// The caller's deadline passed first, and the call was dropped.
    DeadlinePassed,
}

/// Calls `func` under a caller-side deadline, catching a panic. Returns how
/// it ended and how many attempts its body made.
pub(crate) async fn call(http: &Http, func: Func, deadline: Duration) -> (Ended, u32) {
    let mut tries = 0;
    let ended = {
        let tries = &mut tries;
        match func {
            Func::Full => guard(full(http, tries), deadline).await,
            Func::Lean => guard(lean(http, tries), deadline).await,
            Func::Guarded => guard(guarded(http, tries), deadline).await,
            Func::Pooled => guard(pooled(http, tries), deadline).await,
            Func::Bounded => guard(bounded(http, tries), deadline).await,
        }
    };
    (ended, tries)
}

async fn guard<F>(future: F, deadline: Duration) -> Ended
where
    F: Future<Output = Result<Reply, CallError>>,
{
    let future = std::pin::pin!(future);
    match tokio::time::timeout(deadline, CatchUnwind(future)).await {
        Ok(Ok(result)) => Ended::Returned(result),
        Ok(Err(payload)) => Ended::Panicked(payload),
        Err(_) => Ended::DeadlinePassed,
    }
}

/// Polls a future, turning a panic into `Err(payload)`.
struct CatchUnwind<'a, F>(Pin<&'a mut F>);

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.get_mut().0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
