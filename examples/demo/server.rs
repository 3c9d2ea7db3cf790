//! The server side: a small shop API on 127.0.0.1 whose health follows the
//! demo's phase clock.
//!
//! | endpoint | healthy | flaky | down | recovering |
//! |---|---|---|---|---|
//! | `GET /price/{sku}` | 5–25 ms | `--error-rate` of 503/500/429, `--spike-rate` slow | 503 at once | 40–120 ms |
//! | `GET /stock/{sku}` | 5–25 ms | `--spike-rate` slow | hangs | 40–120 ms |
//! | `POST /reserve/{sku}` | 150–250 ms | as `/price` | 503 at once | 200–300 ms |
//! | `GET /depot/{warehouse}/{sku}` | 5–25 ms | 5–25 ms | 503 at once for [`FAILING_WAREHOUSE`], 5–25 ms for the others | 5–25 ms |
//! | `GET /quote/{sku}` | 5–25 ms, 429 beyond [`QUOTA`] a second | the same | the same | the same |
//! | `GET /reviews/{sku}` | 10–25 ms, one request in [`SLOW_EVERY`] [`SLOW_REVIEWS`] | the same | the same | the same |
//!
//! A slow answer takes `--latency-ms`; a 429 carries `Retry-After: 1`; a hung
//! request answers 503 after [`HANG`], long after every client timeout.
//!
//! Three more services share the port, each with a tally of its own (the
//! shop's [`ServerTally`] counts `/price`, `/stock` and `/reserve` only):
//!
//! - the warehouses (`/depot/…`), one host per entry of [`WAREHOUSES`]: only
//!   [`FAILING_WAREHOUSE`] goes down with the shop, the others stay up, so
//!   that a breaker per host ([`crate::shop::Shop::depot`]) has something to
//!   tell apart;
//! - a carrier's shipping quotes (`/quote/…`), a partner API that allows
//!   [`QUOTA`] requests per second of the demo's clock (a fixed window: the
//!   count starts again at each whole second since the start) and answers 429
//!   to the rest, whatever the phase;
//! - the product reviews (`/reviews/…`), a service with a latency tail and
//!   no outage: it answers every request, in 10–25 ms, except every
//!   [`SLOW_EVERY`]th request it receives, which takes [`SLOW_REVIEWS`] (a
//!   cold cache, a GC pause), so that a hedged call has a tail to cut
//!   ([`crate::shop::Shop::reviews_hedged`]). A counter, not a dice roll:
//!   two requests [`SLOW_EVERY`] apart are never both in flight at the demo's
//!   rate, so a hedged call's second request is never slow too.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// The warehouses behind `/depot/{warehouse}/{sku}`, one host each.
pub(crate) const WAREHOUSES: [&str; 3] = ["north", "east", "south"];

/// The warehouse that goes down (503s) with the shop; the others stay up.
pub(crate) const FAILING_WAREHOUSE: &str = "east";

/// Requests per second the carrier's `/quote` API answers; it answers 429 to
/// the rest.
pub(crate) const QUOTA: u64 = 10;

/// Every this many requests to `/reviews`, one is slow (5%).
pub(crate) const SLOW_EVERY: u64 = 20;

/// How long a slow `/reviews` answer takes: ten times the hedge's `after`
/// (30 ms), so that real-time noise cannot blur the two.
pub(crate) const SLOW_REVIEWS: Duration = Duration::from_millis(300);

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
    quote: QuoteCounts,
    depots: [DepotCounts; 3],
    reviews: ReviewsCounts,
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
    /// The carrier's `/quote` API.
    pub(crate) quote: QuoteTally,
    /// The warehouses, in the order of [`WAREHOUSES`].
    pub(crate) depots: [DepotTally; 3],
    /// The reviews service.
    pub(crate) reviews: ReviewsTally,
}

/// What the reviews service (`/reviews`) did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReviewsTally {
    pub(crate) requests: u64,
    /// Answered after [`SLOW_REVIEWS`] (or given up by the client first).
    pub(crate) slow: u64,
}

/// What the carrier's `/quote` API did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QuoteTally {
    pub(crate) requests: u64,
    /// Answered 200 (within the quota).
    pub(crate) answered: u64,
    /// Answered 429 (over the quota).
    pub(crate) throttled: u64,
    /// The most requests received in one second of the demo's clock.
    pub(crate) peak: u64,
}

/// What one warehouse did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DepotTally {
    pub(crate) ok: u64,
    /// Answered 503 (down).
    pub(crate) failed: u64,
}

/// The carrier's quota: requests counted per whole second of the demo's
/// clock.
#[derive(Debug, Default)]
struct QuoteCounts {
    /// (second since the start, requests received in it).
    window: Mutex<(u64, u64)>,
    requests: AtomicU64,
    answered: AtomicU64,
    throttled: AtomicU64,
    peak: AtomicU64,
}

#[derive(Debug, Default)]
struct DepotCounts {
    ok: AtomicU64,
    failed: AtomicU64,
}

#[derive(Debug, Default)]
struct ReviewsCounts {
    /// Also the number of the next request: every [`SLOW_EVERY`]th is slow.
    requests: AtomicU64,
    slow: AtomicU64,
}

impl ServerCounts {
    pub(crate) fn tally(&self) -> ServerTally {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let q = &self.quote;
        ServerTally {
            requests: get(&self.requests),
            ok: get(&self.ok),
            not_found: get(&self.not_found),
            throttled: get(&self.throttled),
            failed: get(&self.failed),
            slow: get(&self.slow),
            hung: get(&self.hung),
            quote: QuoteTally {
                requests: get(&q.requests),
                answered: get(&q.answered),
                throttled: get(&q.throttled),
                peak: get(&q.peak),
            },
            depots: std::array::from_fn(|i| DepotTally {
                ok: get(&self.depots[i].ok),
                failed: get(&self.depots[i].failed),
            }),
            reviews: ReviewsTally {
                requests: get(&self.reviews.requests),
                slow: get(&self.reviews.slow),
            },
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
        .route("/depot/{warehouse}/{sku}", get(depot))
        .route("/quote/{sku}", get(quote))
        .route("/reviews/{sku}", get(reviews))
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

async fn depot(
    State(shared): State<Arc<Shared>>,
    Path((warehouse, sku)): Path<(String, String)>,
) -> Response {
    let Some(index) = WAREHOUSES.iter().position(|&name| name == warehouse) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some((_, _, units)) = lookup(&sku) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let counts = &shared.counts.depots[index];
    if warehouse == FAILING_WAREHOUSE && shared.clock.phase() == Phase::Down {
        counts.failed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(pick(1..5)).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    counts.ok.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(pick(5..25)).await;
    // The shop's units, spread over the warehouses.
    (units / 3 + u64::from(index == 0) * (units % 3))
        .to_string()
        .into_response()
}

async fn quote(State(shared): State<Arc<Shared>>, Path(sku): Path<String>) -> Response {
    let Some((_, cents, _)) = lookup(&sku) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let counts = &shared.counts.quote;
    counts.requests.fetch_add(1, Ordering::Relaxed);
    let in_this_second = {
        let mut window = counts.window.lock().unwrap();
        // Read under the lock, so that the seconds only move forward.
        let second = shared.clock.elapsed().as_secs();
        if window.0 != second {
            *window = (second, 0);
        }
        window.1 += 1;
        window.1
    };
    counts.peak.fetch_max(in_this_second, Ordering::Relaxed);
    if in_this_second > QUOTA {
        counts.throttled.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::TOO_MANY_REQUESTS, [(RETRY_AFTER, "1")]).into_response();
    }
    counts.answered.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(pick(5..25)).await;
    // Shipping: a base rate and a share of the price.
    (300 + cents / 10).to_string().into_response()
}

async fn reviews(State(shared): State<Arc<Shared>>, Path(sku): Path<String>) -> Response {
    let Some((_, cents, units)) = lookup(&sku) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let counts = &shared.counts.reviews;
    // Whatever the phase: the reviews have a tail, not an outage. The
    // first request is fast, then every `SLOW_EVERY`th is slow.
    let n = counts.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let after = if n.is_multiple_of(SLOW_EVERY) {
        counts.slow.fetch_add(1, Ordering::Relaxed);
        SLOW_REVIEWS
    } else {
        pick(10..25)
    };
    tokio::time::sleep(after).await;
    // A number of reviews, made up from the catalog.
    (cents / 10 + units).to_string().into_response()
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
