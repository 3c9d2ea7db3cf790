//! The server side: a small shop API on 127.0.0.1 whose health follows the
//! demo's phase clock.
//!
//! | endpoint | healthy | flaky | down | recovering |
//! |---|---|---|---|---|
//! | `GET /price/{sku}` | 5–25 ms | `--error-rate` of 503/500/429, `--spike-rate` slow | 503 at once | 40–120 ms |
//! | `GET /stock/{sku}` | 5–25 ms | `--spike-rate` slow | hangs | 40–120 ms |
//! | `POST /reserve/{sku}` | 150–250 ms | as `/price` | 503 at once | 200–300 ms |
//!
//! A slow answer takes `--latency-ms`; a 429 carries `Retry-After: 1`; a hung
//! request answers 503 after [`HANG`], long after every client timeout.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::app::{Clock, Phase};

/// What the shop sells: SKU, price in cents, units in stock.
pub(crate) const CATALOG: &[(&str, u64, u64)] = &[
    ("tea", 450, 12),
    ("coffee", 380, 30),
    ("cocoa", 520, 7),
    ("matcha", 890, 3),
];

/// How long a request hangs while the stock service is down.
pub(crate) const HANG: Duration = Duration::from_secs(2);

/// How the server misbehaves while flaky.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Faults {
    /// Share of `/price` and `/reserve` requests answered 503, 500 or 429.
    pub(crate) error_rate: f64,
    /// Share of requests (any endpoint) answered after `latency`.
    pub(crate) spike_rate: f64,
    /// How long a slow answer takes.
    pub(crate) latency: Duration,
}

/// Requests the server has received, by what it did with them.
#[derive(Debug, Default)]
pub(crate) struct ServerCounts {
    requests: AtomicU64,
    /// 200, at once or slowly.
    ok: AtomicU64,
    not_found: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
    slow: AtomicU64,
    hung: AtomicU64,
}

/// A copy of [`ServerCounts`] at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ServerTally {
    pub(crate) requests: u64,
    pub(crate) ok: u64,
    pub(crate) not_found: u64,
    pub(crate) throttled: u64,
    pub(crate) failed: u64,
    pub(crate) slow: u64,
    pub(crate) hung: u64,
}

impl ServerCounts {
    pub(crate) fn tally(&self) -> ServerTally {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        ServerTally {
            requests: get(&self.requests),
            ok: get(&self.ok),
            not_found: get(&self.not_found),
            throttled: get(&self.throttled),
            failed: get(&self.failed),
            slow: get(&self.slow),
            hung: get(&self.hung),
        }
    }
}

/// A running server; it stops when this is dropped.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) counts: Arc<ServerCounts>,
    task: JoinHandle<io::Result<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    clock: Clock,
    faults: Faults,
    counts: Arc<ServerCounts>,
}

/// Binds an ephemeral port on 127.0.0.1 and serves the shop API on it.
pub(crate) async fn start(clock: Clock, faults: Faults) -> io::Result<Server> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let counts = Arc::new(ServerCounts::default());
    let shared = Arc::new(Shared {
        clock,
        faults,
        counts: Arc::clone(&counts),
    });
    let app = Router::new()
        .route("/price/{sku}", get(price))
        .route("/stock/{sku}", get(stock))
        .route("/reserve/{sku}", post(reserve))
        .with_state(shared);
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Server { addr, counts, task })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Price,
    Stock,
    Reserve,
}

/// What the server does with one request.
#[derive(Debug)]
enum Plan {
    Answer { after: Duration, slow: bool },
    Fail(StatusCode),
    Throttle,
    Hang,
}

async fn price(State(shared): State<Arc<Shared>>, Path(sku): Path<String>) -> Response {
    let cents = lookup(&sku).map(|(_, cents, _)| cents);
    shared.serve(Endpoint::Price, cents).await
}

async fn stock(State(shared): State<Arc<Shared>>, Path(sku): Path<String>) -> Response {
    let units = lookup(&sku).map(|(_, _, units)| units);
    shared.serve(Endpoint::Stock, units).await
}

async fn reserve(State(shared): State<Arc<Shared>>, Path(sku): Path<String>) -> Response {
    let found = lookup(&sku).map(|_| 1);
    shared.serve(Endpoint::Reserve, found).await
}

fn lookup(sku: &str) -> Option<(&'static str, u64, u64)> {
    CATALOG.iter().copied().find(|(name, _, _)| *name == sku)
}

fn pick(range: Range<u64>) -> Duration {
    Duration::from_millis(rand::random_range(range))
}

impl Shared {
    async fn serve(&self, endpoint: Endpoint, value: Option<u64>) -> Response {
        let counts = &self.counts;
        counts.requests.fetch_add(1, Ordering::Relaxed);
        let Some(value) = value else {
            counts.not_found.fetch_add(1, Ordering::Relaxed);
            return StatusCode::NOT_FOUND.into_response();
        };
        // Counted on arrival: a client that gives up closes the connection,
        // and the handler is dropped before it would answer.
        match self.plan(endpoint) {
            Plan::Answer { after, slow } => {
                counts.ok.fetch_add(1, Ordering::Relaxed);
                if slow {
                    counts.slow.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(after).await;
                value.to_string().into_response()
            }
            Plan::Fail(status) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(pick(1..5)).await;
                status.into_response()
            }
            Plan::Throttle => {
                counts.throttled.fetch_add(1, Ordering::Relaxed);
                (StatusCode::TOO_MANY_REQUESTS, [(RETRY_AFTER, "1")]).into_response()
            }
            Plan::Hang => {
                counts.hung.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(HANG).await;
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        }
    }

    fn plan(&self, endpoint: Endpoint) -> Plan {
        let normal = |recovering: bool| {
            let range = match (endpoint, recovering) {
                (Endpoint::Reserve, false) => 150..250,
                (Endpoint::Reserve, true) => 200..300,
                (_, false) => 5..25,
                (_, true) => 40..120,
            };
            Plan::Answer {
                after: pick(range),
                slow: false,
            }
        };
        match self.clock.phase() {
            Phase::Healthy => normal(false),
            Phase::Recovering => normal(true),
            Phase::Down if endpoint == Endpoint::Stock => Plan::Hang,
            Phase::Down => Plan::Fail(StatusCode::SERVICE_UNAVAILABLE),
            Phase::Flaky => {
                let Faults {
                    error_rate,
                    spike_rate,
                    latency,
                } = self.faults;
                let error_rate = if endpoint == Endpoint::Stock {
                    0.0
                } else {
                    error_rate
                };
                let roll: f64 = rand::random();
                if roll < error_rate {
                    // Half 503, a quarter 500, a quarter 429.
                    match rand::random_range(0..4) {
                        0 | 1 => Plan::Fail(StatusCode::SERVICE_UNAVAILABLE),
                        2 => Plan::Fail(StatusCode::INTERNAL_SERVER_ERROR),
                        _ => Plan::Throttle,
                    }
                } else if roll < error_rate + spike_rate {
                    Plan::Answer {
                        after: latency,
                        slow: true,
                    }
                } else {
                    normal(false)
                }
            }
        }
    }
}
