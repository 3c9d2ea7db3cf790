//! The client side: a shop front calling the price, stock and reservation
//! endpoints over HTTP, each call protected by a stack of steadfast
//! attributes.
//!
//! The breakers and bulkheads are `static`s (`shared = …`) so that the demo can
//! read their state while it runs. Two functions keep their state in the
//! attribute instead, and the demo reads it from `steadfast::health()`: the
//! carrier's quotes go through a `#[rate_limit]` that keeps the client within
//! the carrier's quota ([`Shop::quote`]), and the warehouses through a
//! `#[circuit_breaker(key = warehouse)]`, one breaker per warehouse
//! ([`Shop::depot`]).
//!
//! The product reviews are read twice over, by two functions that differ
//! only in `#[hedge]` ([`Shop::reviews`], [`Shop::reviews_hedged`]), each
//! call's latency recorded ([`Latencies`]), so that the summary can show
//! the p50 and p99 of both.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::RETRY_AFTER;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use steadfast::{
    Bulkhead, CircuitBreaker, Rejected, bulkhead, chaos, circuit_breaker, fallback, hedge,
    rate_limit, retry, timeout,
};
use tokio::time::Instant;

use crate::server::{CATALOG, WAREHOUSES};

/// Opens when 60% of the last 20 attempts failed (once 10 are recorded);
/// probes again after a second.
pub(crate) static PRICE_BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .name("shop::price")
    .window_calls(20)
    .min_calls(10)
    .failure_ratio(0.6)
    .open_for(Duration::from_secs(1))
    .build();

/// Opens after three failures in a row (or half of the last ten calls);
/// probes again after a second.
pub(crate) static STOCK_BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .name("shop::stock")
    .window_calls(10)
    .consecutive_failures(3)
    .open_for(Duration::from_secs(1))
    .build();

/// The name of the quote limiter in `health()`, which also reports its
/// settings (the summary and the test read them there).
pub(crate) const QUOTE_LIMITER: &str = "shop::quote";
/// The name of the per-warehouse breaker in `health()`.
pub(crate) const DEPOT_BREAKER: &str = "shop::depot";

/// A call that starts its body this long after it was made waited for its
/// turn at the rate limiter (an admitted call starts at once).
const WAITED: Duration = Duration::from_millis(1);

/// At most 8 price requests in flight, 8 more waiting up to 100 ms.
pub(crate) static PRICE_POOL: Bulkhead = Bulkhead::builder()
    .name("shop::price")
    .max_concurrent(8)
    .max_queue(8)
    .max_wait(Duration::from_millis(100))
    .build();

/// Reservations are expensive: 2 at once, 2 more waiting up to 250 ms.
pub(crate) static RESERVE_POOL: Bulkhead = Bulkhead::builder()
    .name("shop::reserve")
    .max_concurrent(2)
    .max_queue(2)
    .max_wait(Duration::from_millis(250))
    .build();

/// The name of the demo's fault injection (`#[chaos]` on
/// [`Shop::stock`]), switched on at the start of a run built with the
/// feature `chaos`.
#[cfg_attr(not(feature = "chaos"), allow(dead_code))]
pub(crate) const CHAOS: &str = "demo::chaos";

/// The error `#[chaos]` injects: a 503, as the shop's own.
fn injected_503() -> ApiError {
    ApiError::Status {
        status: 503,
        retry_after: None,
    }
}

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("no such product")]
    NotFound,
    #[error("transport: {0}")]
    Transport(String),
    /// A policy refused or abandoned the call.
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

impl ApiError {
    /// Worth another try, a breaker's attention, or the cache: everything but
    /// a 404 (asking again will not create the product).
    fn is_transient(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => *status == 429 || *status >= 500,
            ApiError::NotFound => false,
            ApiError::Transport(_) | ApiError::Rejected(_) => true,
        }
    }

    /// The server's `Retry-After`, which replaces the computed backoff.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A price, live or from the cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Price {
    pub(crate) cents: u64,
    pub(crate) live: bool,
}

/// Units on the shelf, if the stock service could tell.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stock {
    Known(u64),
    Unknown,
}

/// One function's counters.
#[derive(Debug, Default)]
pub(crate) struct FnStats {
    calls: AtomicU64,
    ok: AtomicU64,
    retries: AtomicU64,
    fallbacks: AtomicU64,
    failed: AtomicU64,
    timeouts: AtomicU64,
    circuit_open: AtomicU64,
    bulkhead_full: AtomicU64,
    rate_limited: AtomicU64,
    waited: AtomicU64,
}

/// A copy of [`FnStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FnCounts {
    /// Calls made by the demo's workers.
    pub(crate) calls: u64,
    /// Calls answered by the server.
    pub(crate) ok: u64,
    /// Attempts after the first that reached the server (`#[retry]`).
    pub(crate) retries: u64,
    /// Calls answered by the `#[fallback]` handler.
    pub(crate) fallbacks: u64,
    /// Calls that returned an error to the caller.
    pub(crate) failed: u64,
    /// Attempts cut off by `#[timeout]`.
    pub(crate) timeouts: u64,
    /// Calls refused by an open `#[circuit_breaker]`.
    pub(crate) circuit_open: u64,
    /// Calls refused by a full `#[bulkhead]`.
    pub(crate) bulkhead_full: u64,
    /// Calls refused by a `#[rate_limit]` (their turn was more than
    /// `max_wait` away).
    pub(crate) rate_limited: u64,
    /// Calls that waited for their turn at a `#[rate_limit]` (at least
    /// [`WAITED`]) and then ran.
    pub(crate) waited: u64,
}

impl FnStats {
    pub(crate) fn counts(&self) -> FnCounts {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        FnCounts {
            calls: get(&self.calls),
            ok: get(&self.ok),
            retries: get(&self.retries),
            fallbacks: get(&self.fallbacks),
            failed: get(&self.failed),
            timeouts: get(&self.timeouts),
            circuit_open: get(&self.circuit_open),
            bulkhead_full: get(&self.bulkhead_full),
            rate_limited: get(&self.rate_limited),
            waited: get(&self.waited),
        }
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs one attempt's request. `#[timeout]` cancels an attempt by dropping
    /// its future, so an attempt dropped before its request finished counts as
    /// a timeout.
    async fn attempt<T>(&self, request: impl Future<Output = T>) -> T {
        struct CutOff<'a>(Option<&'a AtomicU64>);
        impl Drop for CutOff<'_> {
            fn drop(&mut self) {
                if let Some(timeouts) = self.0 {
                    FnStats::bump(timeouts);
                }
            }
        }
        let mut guard = CutOff(Some(&self.timeouts));
        let output = request.await;
        guard.0 = None;
        output
    }

    /// Counts the rejections that end a call: an open circuit, a full
    /// bulkhead or a spent rate limit is never retried, so it reaches the
    /// fallback handler or the caller. (Timeouts are counted per attempt, by
    /// [`FnStats::attempt`].)
    fn rejected(&self, error: &ApiError) {
        match error {
            ApiError::Rejected(Rejected::CircuitOpen { .. }) => Self::bump(&self.circuit_open),
            ApiError::Rejected(Rejected::BulkheadFull { .. }) => Self::bump(&self.bulkhead_full),
            ApiError::Rejected(Rejected::RateLimited { .. }) => Self::bump(&self.rate_limited),
            _ => {}
        }
    }

    /// Counts a call admitted by a `#[rate_limit]` that had to wait for its
    /// turn: its body starts at least [`WAITED`] after `asked`.
    fn admitted(&self, asked: Instant) {
        if asked.elapsed() >= WAITED {
            Self::bump(&self.waited);
        }
    }
}

/// How long each call of one function took, as its caller saw it, and
/// how many requests its body sent (one per copy of a hedged call). A
/// mutex over a list: the demo is not a hot path.
#[derive(Debug, Default)]
pub(crate) struct Latencies {
    took: Mutex<Vec<Duration>>,
    failed: AtomicU64,
    /// Calls started (those in flight included).
    started: AtomicU64,
    /// Requests sent: one per copy of each call started.
    requests: AtomicU64,
}

/// A summary of [`Latencies`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Percentiles {
    /// Calls recorded (answered or failed).
    pub(crate) calls: u64,
    /// Calls that returned an error.
    pub(crate) failed: u64,
    /// Requests sent beyond one per call: the copies a hedge started.
    pub(crate) extra: u64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

impl Latencies {
    fn record(&self, took: Duration, ok: bool) {
        self.took.lock().unwrap().push(took);
        if !ok {
            FnStats::bump(&self.failed);
        }
    }

    /// The calls so far: their p50 and p99 (nearest rank), zero before the
    /// first.
    pub(crate) fn percentiles(&self) -> Percentiles {
        let mut took = self.took.lock().unwrap().clone();
        took.sort_unstable();
        let at = |q: f64| {
            let rank = (q * took.len() as f64).ceil() as usize;
            took.get(rank.saturating_sub(1))
                .copied()
                .unwrap_or_default()
        };
        Percentiles {
            calls: took.len() as u64,
            failed: self.failed.load(Ordering::Relaxed),
            extra: self
                .requests
                .load(Ordering::Relaxed)
                .saturating_sub(self.started.load(Ordering::Relaxed)),
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// The client's counters, per function.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) price: FnStats,
    pub(crate) stock: FnStats,
    pub(crate) reserve: FnStats,
    pub(crate) quote: FnStats,
    /// Every warehouse's calls together.
    pub(crate) depot: FnStats,
    /// Per warehouse, in the order of [`WAREHOUSES`].
    pub(crate) depots: [FnStats; 3],
    /// [`Shop::reviews`], without a hedge.
    pub(crate) reviews: Latencies,
    /// [`Shop::reviews_hedged`].
    pub(crate) reviews_hedged: Latencies,
}

/// A shipping quote, from the carrier or the flat rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quote {
    pub(crate) cents: u64,
    pub(crate) live: bool,
}

/// What the shop charges for shipping when the carrier cannot be asked.
const FLAT_SHIPPING: u64 = 500;

/// The shop front: an HTTP client, a cache of the last live prices, counters.
#[derive(Debug)]
pub(crate) struct Shop {
    http: Client<HttpConnector, Empty<Bytes>>,
    base: String,
    cache: Mutex<HashMap<String, u64>>,
    pub(crate) stats: Stats,
}

impl Shop {
    pub(crate) fn new(server: SocketAddr) -> Self {
        Shop {
            http: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{server}"),
            cache: Mutex::new(HashMap::new()),
            stats: Stats::default(),
        }
    }

    /// `GET /price/{sku}`, under all five attributes (outermost first):
    ///
    /// - `fallback`: the last live price, for transient errors only (a 404
    ///   stays a 404);
    /// - `retry`: 3 attempts within 2 s, exponential backoff from 50 ms, or the
    ///   server's `Retry-After` (capped at 500 ms); never a 404;
    /// - `circuit_breaker`: [`PRICE_BREAKER`], per attempt; 404s do not count;
    /// - `timeout`: 300 ms per attempt;
    /// - `bulkhead`: [`PRICE_POOL`], one slot per attempt.
    ///
    /// `tries` counts the attempts that ran: the body runs once per attempt.
    #[fallback(|e| self.cached_price(sku, e), when = ApiError::is_transient)]
    #[retry(
        attempts = 3,
        backoff = exponential("50ms", factor = 2.0, max = "500ms"),
        max_elapsed = "2s",
        when = ApiError::is_transient,
        delay_from = ApiError::retry_after
    )]
    #[circuit_breaker(shared = PRICE_BREAKER, failure_if = ApiError::is_transient)]
    #[timeout("300ms")]
    #[bulkhead(shared = PRICE_POOL)]
    pub(crate) async fn price(&self, sku: &str, tries: &mut u32) -> Result<Price, ApiError> {
        *tries += 1;
        let path = format!("/price/{sku}");
        let body = self.stats.price.attempt(self.get(&path)).await?;
        let cents = parse(&body)?;
        self.cache.lock().unwrap().insert(sku.to_owned(), cents);
        Ok(Price { cents, live: true })
    }

    fn cached_price(&self, sku: &str, error: ApiError) -> Result<Price, ApiError> {
        self.stats.price.rejected(&error);
        match self.cache.lock().unwrap().get(sku) {
            Some(&cents) => Ok(Price { cents, live: false }),
            None => Err(error),
        }
    }

    /// `GET /stock/{sku}`: no retry (the next page view asks again); a breaker
    /// that opens after three failures in a row ([`STOCK_BREAKER`]); 250 ms;
    /// "unknown" rather than an error.
    ///
    /// Built with the cargo feature `chaos`, the demo also injects faults
    /// right under the timeout ([`CHAOS`]): 400 ms of latency, which the
    /// timeout cuts, and 503s, which the breaker counts and the fallback
    /// answers, as for the real ones. Without the feature the attribute
    /// compiles to nothing.
    #[fallback(|e| self.unknown_stock(e))]
    #[circuit_breaker(shared = STOCK_BREAKER)]
    #[timeout("250ms")]
    #[chaos(
        name = "demo::chaos",
        error = injected_503,
        error_rate = 0.15,
        latency = "400ms",
        latency_rate = 0.1,
        enabled = false
    )]
    pub(crate) async fn stock(&self, sku: &str) -> Result<Stock, ApiError> {
        let path = format!("/stock/{sku}");
        let body = self.stats.stock.attempt(self.get(&path)).await?;
        Ok(Stock::Known(parse(&body)?))
    }

    fn unknown_stock(&self, error: ApiError) -> Result<Stock, ApiError> {
        self.stats.stock.rejected(&error);
        Ok(Stock::Unknown)
    }

    /// `POST /reserve/{sku}`: one retry after 100 ms; a second for the whole
    /// attempt, waiting for a slot included; at most two at once
    /// ([`RESERVE_POOL`]). No fallback: a reservation cannot come from a cache,
    /// so its errors reach the caller.
    #[retry(attempts = 2, backoff = fixed("100ms"), when = ApiError::is_transient)]
    #[timeout("1s")]
    #[bulkhead(shared = RESERVE_POOL)]
    pub(crate) async fn reserve(&self, sku: &str, tries: &mut u32) -> Result<(), ApiError> {
        *tries += 1;
        let path = format!("/reserve/{sku}");
        self.stats.reserve.attempt(self.post(&path)).await?;
        Ok(())
    }

    /// `GET /quote/{sku}` from the carrier, whose API answers 429 beyond
    /// [`QUOTA`](crate::server::QUOTA) requests a second (outermost first):
    ///
    /// - `fallback`: the flat shipping rate, for any error;
    /// - `rate_limit` ([`QUOTE_LIMITER`]): 8 calls a second after a burst of
    ///   1, so at most 9 in any second: one under the carrier's quota of 10,
    ///   which leaves room for a request that the network delays into the
    ///   next second. A call whose turn is at most 250 ms away waits for it
    ///   (in arrival order); any other is refused at once
    ///   (`Rejected::RateLimited`) and gets the flat rate;
    /// - `timeout`: 300 ms for the request itself (below the limiter, so
    ///   that waiting for a turn does not eat into it).
    ///
    /// `asked` is when the call was made: the body starts when the limiter
    /// admits it.
    #[fallback(|e| self.flat_quote(e))]
    #[rate_limit(
        rate = 8,
        per = "1s",
        burst = 1,
        max_wait = "250ms",
        name = "shop::quote"
    )]
    #[timeout("300ms")]
    pub(crate) async fn quote(&self, sku: &str, asked: Instant) -> Result<Quote, ApiError> {
        self.stats.quote.admitted(asked);
        let path = format!("/quote/{sku}");
        let body = self.stats.quote.attempt(self.get(&path)).await?;
        Ok(Quote {
            cents: parse(&body)?,
            live: true,
        })
    }

    fn flat_quote(&self, error: ApiError) -> Result<Quote, ApiError> {
        self.stats.quote.rejected(&error);
        Ok(Quote {
            cents: FLAT_SHIPPING,
            live: false,
        })
    }

    /// `GET /depot/{warehouse}/{sku}`: the units one warehouse holds. One
    /// breaker per warehouse (`key = warehouse`, at most 8 kept): three
    /// failures in a row open that warehouse's breaker for a second, and the
    /// other warehouses' calls go on. 250 ms per call; no fallback (the
    /// caller picks another warehouse).
    #[circuit_breaker(
        key = warehouse,
        max_keys = 8,
        window = 10,
        consecutive_failures = 3,
        open_for = "1s",
        name = "shop::depot"
    )]
    #[timeout("250ms")]
    pub(crate) async fn depot(&self, warehouse: &str, sku: &str) -> Result<u64, ApiError> {
        let path = format!("/depot/{warehouse}/{sku}");
        // Counted for the warehouse and for all of them.
        let request = self.depot_stats(warehouse).attempt(self.get(&path));
        let body = self.stats.depot.attempt(request).await?;
        parse(&body)
    }

    /// `GET /reviews/{sku}`, whose every
    /// [`SLOW_EVERY`](crate::server::SLOW_EVERY)th answer takes
    /// [`SLOW_REVIEWS`](crate::server::SLOW_REVIEWS): a second for the call,
    /// and nothing else, so each slow answer is a slow call.
    #[timeout("1s")]
    pub(crate) async fn reviews(&self, sku: &str) -> Result<u64, ApiError> {
        self.read_reviews(&self.stats.reviews, sku).await
    }

    /// The same read, hedged: when the answer has not come after 30 ms
    /// (about the p95 of the fast answers, 10–25 ms plus the round trip), a
    /// second request goes out, and the first answer wins; the other
    /// request is dropped. At most one extra request per call (`max = 1`);
    /// the second rarely comes to be needed, so the extra load is about the
    /// share of slow answers. The timeout, below the hedge, bounds each
    /// request.
    #[hedge(after = "30ms", max = 1)]
    #[timeout("1s")]
    pub(crate) async fn reviews_hedged(&self, sku: &str) -> Result<u64, ApiError> {
        self.read_reviews(&self.stats.reviews_hedged, sku).await
    }

    /// One request to `/reviews`, counted in `latencies`.
    async fn read_reviews(&self, latencies: &Latencies, sku: &str) -> Result<u64, ApiError> {
        FnStats::bump(&latencies.requests);
        let body = self.get(&format!("/reviews/{sku}")).await?;
        parse(&body)
    }

    /// One reviews read, plain (`hedged == false`) or hedged, timed. A call
    /// refused because graceful shutdown has begun (the last calls of the
    /// run) never reached the server: it is not recorded.
    pub(crate) async fn call_reviews(&self, sku: &str, hedged: bool) -> Result<u64, ApiError> {
        let latencies = if hedged {
            &self.stats.reviews_hedged
        } else {
            &self.stats.reviews
        };
        let start = std::time::Instant::now();
        FnStats::bump(&latencies.started);
        let result = if hedged {
            self.reviews_hedged(sku).await
        } else {
            self.reviews(sku).await
        };
        match &result {
            Err(ApiError::Rejected(Rejected::ShuttingDown { .. })) => {
                latencies.started.fetch_sub(1, Ordering::Relaxed);
            }
            other => latencies.record(start.elapsed(), other.is_ok()),
        }
        result
    }

    /// The counters of `warehouse` (one of [`WAREHOUSES`]).
    fn depot_stats(&self, warehouse: &str) -> &FnStats {
        let index = WAREHOUSES
            .iter()
            .position(|&name| name == warehouse)
            .expect("a known warehouse");
        &self.stats.depots[index]
    }

    /// One shipping quote, counted.
    pub(crate) async fn call_quote(&self, sku: &str) -> Result<Quote, ApiError> {
        let stats = &self.stats.quote;
        FnStats::bump(&stats.calls);
        let result = self.quote(sku, Instant::now()).await;
        match &result {
            Ok(Quote { live: true, .. }) => FnStats::bump(&stats.ok),
            Ok(Quote { live: false, .. }) => FnStats::bump(&stats.fallbacks),
            Err(_) => FnStats::bump(&stats.failed),
        }
        result
    }

    /// One warehouse lookup, counted for the warehouse and for all of them.
    pub(crate) async fn call_depot(&self, warehouse: &str, sku: &str) -> Result<u64, ApiError> {
        let stats = [&self.stats.depot, self.depot_stats(warehouse)];
        for s in stats {
            FnStats::bump(&s.calls);
        }
        let result = self.depot(warehouse, sku).await;
        for s in stats {
            match &result {
                Ok(_) => FnStats::bump(&s.ok),
                Err(error) => {
                    FnStats::bump(&s.failed);
                    s.rejected(error);
                }
            }
        }
        result
    }

    /// One price lookup, counted.
    pub(crate) async fn call_price(&self, sku: &str) -> Result<Price, ApiError> {
        let stats = &self.stats.price;
        FnStats::bump(&stats.calls);
        let mut tries = 0;
        let result = self.price(sku, &mut tries).await;
        stats
            .retries
            .fetch_add(u64::from(tries.saturating_sub(1)), Ordering::Relaxed);
        match &result {
            Ok(Price { live: true, .. }) => FnStats::bump(&stats.ok),
            Ok(Price { live: false, .. }) => FnStats::bump(&stats.fallbacks),
            // Rejections were counted by the fallback handler.
            Err(_) => FnStats::bump(&stats.failed),
        }
        result
    }

    /// One stock lookup, counted.
    pub(crate) async fn call_stock(&self, sku: &str) -> Result<Stock, ApiError> {
        let stats = &self.stats.stock;
        FnStats::bump(&stats.calls);
        let result = self.stock(sku).await;
        match &result {
            Ok(Stock::Known(_)) => FnStats::bump(&stats.ok),
            Ok(Stock::Unknown) => FnStats::bump(&stats.fallbacks),
            Err(_) => FnStats::bump(&stats.failed),
        }
        result
    }

    /// One reservation, counted.
    pub(crate) async fn call_reserve(&self, sku: &str) -> Result<(), ApiError> {
        let stats = &self.stats.reserve;
        FnStats::bump(&stats.calls);
        let mut tries = 0;
        let result = self.reserve(sku, &mut tries).await;
        stats
            .retries
            .fetch_add(u64::from(tries.saturating_sub(1)), Ordering::Relaxed);
        match &result {
            Ok(()) => FnStats::bump(&stats.ok),
            Err(error) => {
                FnStats::bump(&stats.failed);
                stats.rejected(error);
            }
        }
        result
    }

    /// The health check's probe: `GET /price/{sku}` of the first product,
    /// under no policy (a probe must see the shop as it is).
    pub(crate) async fn probe(&self) -> Result<(), ApiError> {
        self.get(&format!("/price/{}", CATALOG[0].0))
            .await
            .map(|_| ())
    }

    async fn get(&self, path: &str) -> Result<Bytes, ApiError> {
        self.send(Method::GET, path).await
    }

    async fn post(&self, path: &str) -> Result<Bytes, ApiError> {
        self.send(Method::POST, path).await
    }

    async fn send(&self, method: Method, path: &str) -> Result<Bytes, ApiError> {
        let transport = |e: &dyn std::error::Error| ApiError::Transport(e.to_string());
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .body(Empty::new())
            .map_err(|e| transport(&e))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| transport(&e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .map(Duration::from_secs);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| transport(&e))?
            .to_bytes();
        match status {
            StatusCode::OK => Ok(body),
            StatusCode::NOT_FOUND => Err(ApiError::NotFound),
            status => Err(ApiError::Status {
                status: status.as_u16(),
                retry_after,
            }),
        }
    }
}

fn parse(body: &[u8]) -> Result<u64, ApiError> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| ApiError::Transport("unreadable body".into()))
}
