//! The demo's core, shared by `main.rs` and `tests/demo.rs`: the phase clock,
//! the workload, the terminal view and the summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comfy_table::{CellAlignment, Table, modifiers, presets};
use steadfast::CircuitBreaker;
use steadfast::circuit_breaker::State;
use steadfast::health::{BreakerHealth, BulkheadHealth, Health, KeyedHealth, RateLimiterHealth};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, sleep};

use crate::server::{
    self, CATALOG, DepotTally, FAILING_WAREHOUSE, Faults, QUOTA, QuoteTally, ReviewsTally,
    SLOW_EVERY, SLOW_REVIEWS, ServerTally, WAREHOUSES,
};
use crate::shop::{
    DEPOT_BREAKER, FnCounts, PRICE_BREAKER, PRICE_POOL, Percentiles, Price, QUOTE_LIMITER, Quote,
    RESERVE_POOL, STOCK_BREAKER, Shop, Stock,
};

/// The server's four phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Healthy,
    Flaky,
    Down,
    Recovering,
}

impl Phase {
    pub(crate) const ALL: [Phase; 4] =
        [Phase::Healthy, Phase::Flaky, Phase::Down, Phase::Recovering];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Flaky => "flaky",
            Phase::Down => "down",
            Phase::Recovering => "recovering",
        }
    }

    /// What the server does in this phase.
    fn behaviour(self, faults: &Faults) -> String {
        match self {
            Phase::Healthy => "every endpoint answers (5-25 ms; /reserve 150-250 ms)".into(),
            Phase::Flaky => format!(
                "/price, /reserve: {:.0}% fail (503, 500, 429 + Retry-After), \
                 {:.0}% take {} ms",
                faults.error_rate * 100.0,
                faults.spike_rate * 100.0,
                faults.latency.as_millis()
            ),
            Phase::Down => format!(
                "/price, /reserve answer 503 at once; /stock hangs; warehouse {FAILING_WAREHOUSE} \
                 503s"
            ),
            Phase::Recovering => "back, and slower while caches warm (40-120 ms)".into(),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How long each phase lasts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phases {
    lengths: [Duration; 4],
}

impl Phases {
    /// Splits `total` 12% healthy, 24% flaky, 26% down, 38% recovering: enough
    /// room after the outage for the breakers (open for 1 s) to probe and close.
    pub(crate) fn split(total: Duration) -> Self {
        let share = |percent: u32| total * percent / 100;
        Phases {
            lengths: [share(12), share(24), share(26), share(38)],
        }
    }

    pub(crate) fn total(&self) -> Duration {
        self.lengths.iter().sum()
    }

    pub(crate) fn length(&self, phase: Phase) -> Duration {
        self.lengths[phase.index()]
    }

    pub(crate) fn start(&self, phase: Phase) -> Duration {
        self.lengths[..phase.index()].iter().sum()
    }

    /// The phase at `elapsed`; past the end, the last one.
    pub(crate) fn at(&self, elapsed: Duration) -> Phase {
        Phase::ALL
            .into_iter()
            .find(|&phase| elapsed < self.start(phase) + self.length(phase))
            .unwrap_or(Phase::Recovering)
    }
}

/// The demo's clock, shared by the server (which phase to play) and the
/// client (when to stop).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
    pub(crate) phases: Phases,
}

impl Clock {
    pub(crate) fn start(phases: Phases) -> Self {
        Clock {
            start: Instant::now(),
            phases,
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phases.at(self.elapsed())
    }

    fn running(&self) -> bool {
        self.elapsed() < self.phases.total() && !crate::ops::STOPPING.load(Ordering::Relaxed)
    }
}

/// How the demo shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// Redraw a dashboard every second (ANSI escapes; for a terminal).
    Live,
    /// One plain line per second (for logs and pipes).
    Lines,
    /// Nothing (for the test).
    Quiet,
}

impl View {
    /// `Live` on a terminal, `Lines` otherwise.
    pub(crate) fn auto() -> Self {
        if io::stdout().is_terminal() {
            View::Live
        } else {
            View::Lines
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) duration: Duration,
    pub(crate) faults: Faults,
    pub(crate) view: View,
}

impl Options {
    pub(crate) const DEFAULT_DURATION: Duration = Duration::from_secs(25);
    pub(crate) const SHORT_DURATION: Duration = Duration::from_secs(6);
    /// Below this the phases are too short for the breakers' one-second
    /// open period to play out.
    pub(crate) const MIN_DURATION: Duration = Duration::from_secs(5);
    pub(crate) const DEFAULT_FAULTS: Faults = Faults {
        error_rate: 0.25,
        spike_rate: 0.05,
        latency: Duration::from_millis(400),
    };

    /// The full demo, about 25 s.
    pub(crate) fn full() -> Self {
        Options {
            duration: Self::DEFAULT_DURATION,
            faults: Self::DEFAULT_FAULTS,
            view: View::auto(),
        }
    }
}

/// Concurrent price lookups (each pauses 60-100 ms between calls).
const PRICE_WORKERS: usize = 4;
/// Concurrent stock lookups (each pauses 100-150 ms between calls).
const STOCK_WORKERS: usize = 2;
/// Reservations sent at once, every half second: more than `RESERVE_POOL`
/// runs (2) and queues (2).
const RESERVE_BURST: usize = 5;
/// Concurrent shipping quotes (each pauses 50-100 ms between calls): about
/// 40 a second if none waited, five times the limiter's 8, so that some wait
/// for their turn and more are refused.
const QUOTE_WORKERS: usize = 4;
/// Concurrent warehouse lookups, each at a random warehouse (each pauses
/// 60-100 ms between calls).
const DEPOT_WORKERS: usize = 2;
/// Concurrent reviews readers, each reading a product's reviews plainly
/// and hedged (in a random order), then pausing 20-40 ms: about 35 calls a
/// second of each, 200 in the short run.
const REVIEWS_WORKERS: usize = 3;
/// How often the breakers' states are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// The breakers the demo watches, with the function that uses each.
fn breakers() -> [(&'static str, &'static CircuitBreaker); 2] {
    [("price", &PRICE_BREAKER), ("stock", &STOCK_BREAKER)]
}

/// The widest line the plain view (`--plain`) writes, summary included: it
/// reads in a log, a CI page or a 100-column terminal without wrapping.
pub(crate) const PLAIN_WIDTH: usize = 100;

/// Runs the demo: starts the server, runs the workload until the last phase
/// ends, shows progress and then the summary on `out` as `options.view` says,
/// and returns the summary.
pub(crate) async fn run(options: &Options, out: &mut dyn io::Write) -> io::Result<Summary> {
    // The attributes register their breakers and bulkheads for
    // `steadfast::health()` on first use; registering them now lists them
    // from the first frame, in this order.
    PRICE_BREAKER.register();
    STOCK_BREAKER.register();
    PRICE_POOL.register();
    RESERVE_POOL.register();

    // Built with the feature `chaos`: faults injected under the stock
    // lookup's timeout for the whole run (see `Shop::stock`).
    #[cfg(feature = "chaos")]
    {
        steadfast::chaos::seed(2026);
        steadfast::chaos::enable(crate::shop::CHAOS);
    }
    let clock = Clock::start(Phases::split(options.duration));
    let server = server::start(clock, options.faults).await?;
    let shop = Arc::new(Shop::new(server.addr));
    let ops = crate::ops::Ops::start(Arc::clone(&shop)).await?;
    let front = Arc::new(Front::default());
    let tracker = Arc::new(Mutex::new(Tracker::new(clock, Arc::clone(&shop))));

    let mut workers = JoinSet::new();
    for _ in 0..PRICE_WORKERS {
        workers.spawn(price_worker(Arc::clone(&shop), Arc::clone(&front), clock));
    }
    for _ in 0..STOCK_WORKERS {
        workers.spawn(stock_worker(Arc::clone(&shop), Arc::clone(&front), clock));
    }
    workers.spawn(reserve_bursts(Arc::clone(&shop), clock));
    for _ in 0..QUOTE_WORKERS {
        workers.spawn(quote_worker(Arc::clone(&shop), Arc::clone(&front), clock));
    }
    for _ in 0..DEPOT_WORKERS {
        workers.spawn(depot_worker(Arc::clone(&shop), clock));
    }
    for _ in 0..REVIEWS_WORKERS {
        workers.spawn(reviews_worker(Arc::clone(&shop), clock));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample(Arc::clone(&tracker), Arc::clone(&stop)));

    let mut screen = Screen {
        options,
        clock,
        server: &server,
        shop: &shop,
        front: &front,
        tracker: &tracker,
        out,
        phase_shown: None,
    };
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut first = true;
    // Graceful shutdown begins when the last phase ends, or on Ctrl-C /
    // SIGTERM: the calls in flight then drain while new ones are refused.
    let end = tokio::time::sleep(clock.phases.total().saturating_sub(clock.elapsed()));
    tokio::pin!(end);
    let mut drain = None;
    let mut readiness = Vec::new();
    let mut not_ready_body = None;
    let mut ready_at_end = None;
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                Some(result) => result.expect("a demo worker panicked"),
                None => break,
            },
            _ = ticker.tick() => {
                // The service's own readiness, over HTTP, once a second.
                if drain.is_none()
                    && let Some(ready) = ops.readiness().await
                {
                    // A check that went down, not one still pending at the start.
                    if ready.status != 200
                        && ready.body.contains("\"status\":\"down\"")
                        && not_ready_body.is_none()
                    {
                        not_ready_body = Some(ready.body.clone());
                    }
                    readiness.push(ready.status);
                    ready_at_end = Some(ready);
                }
                screen.show(first, false);
                first = false;
            }
            () = &mut end, if drain.is_none() => {
                drain = Some(tokio::spawn(steadfast::shutdown(crate::ops::DRAIN_DEADLINE)));
            }
            () = crate::ops::STOP.notified(), if drain.is_none() => {
                drain = Some(tokio::spawn(steadfast::shutdown(crate::ops::DRAIN_DEADLINE)));
            }
        }
    }
    let drain =
        drain.unwrap_or_else(|| tokio::spawn(steadfast::shutdown(crate::ops::DRAIN_DEADLINE)));
    let shutdown = drain.await.expect("the drain panicked");
    ops.stop().await;
    stop.store(true, Ordering::Relaxed);
    sampler.await.expect("the sampler panicked");
    screen.show(first, true);

    let shop_stats = &shop.stats;
    let tracker = tracker.lock().unwrap();
    let summary = Summary {
        server: server.addr.to_string(),
        elapsed: clock.elapsed(),
        phases: clock.phases,
        functions: vec![
            ("price", shop_stats.price.counts()),
            ("stock", shop_stats.stock.counts()),
            ("reserve", shop_stats.reserve.counts()),
            ("quote", shop_stats.quote.counts()),
            ("depot", shop_stats.depot.counts()),
        ],
        reviews: shop_stats.reviews.percentiles(),
        reviews_hedged: shop_stats.reviews_hedged.percentiles(),
        breakers: tracker.breakers.clone(),
        warehouses: tracker.warehouses.clone(),
        health: steadfast::health(),
        requests: server.counts.tally(),
        readiness,
        not_ready_body,
        ready_at_end,
        shutdown,
        #[cfg(feature = "chaos")]
        chaos: steadfast::chaos::injected(crate::shop::CHAOS),
    };
    if options.view != View::Quiet {
        let _ = writeln!(screen.out, "\n{}", summary.render());
        let _ = screen.out.flush();
    }
    Ok(summary)
}

async fn price_worker(shop: Arc<Shop>, front: Arc<Front>, clock: Clock) {
    while clock.running() {
        // One lookup in 25 asks for a product that does not exist: a 404 is
        // neither retried, nor a breaker failure, nor replaced by the cache.
        let sku = if rand::random_bool(0.04) {
            "oolong"
        } else {
            CATALOG[rand::random_range(0..CATALOG.len())].0
        };
        if let Ok(price) = shop.call_price(sku).await {
            front.set_price(sku, price);
        }
        sleep(Duration::from_millis(rand::random_range(60..100))).await;
    }
}

async fn stock_worker(shop: Arc<Shop>, front: Arc<Front>, clock: Clock) {
    while clock.running() {
        let sku = CATALOG[rand::random_range(0..CATALOG.len())].0;
        if let Ok(stock) = shop.call_stock(sku).await {
            front.set_stock(sku, stock);
        }
        sleep(Duration::from_millis(rand::random_range(100..150))).await;
    }
}

async fn reserve_bursts(shop: Arc<Shop>, clock: Clock) {
    while clock.running() {
        let mut burst = JoinSet::new();
        for (sku, _, _) in CATALOG.iter().cycle().take(RESERVE_BURST) {
            let shop = Arc::clone(&shop);
            burst.spawn(async move { shop.call_reserve(sku).await.is_ok() });
        }
        burst.join_all().await;
        sleep(Duration::from_millis(500)).await;
    }
}

async fn quote_worker(shop: Arc<Shop>, front: Arc<Front>, clock: Clock) {
    while clock.running() {
        let sku = CATALOG[rand::random_range(0..CATALOG.len())].0;
        // The flat rate answers when the limiter refuses: never an error.
        if let Ok(quote) = shop.call_quote(sku).await {
            front.set_shipping(quote);
        }
        sleep(Duration::from_millis(rand::random_range(50..100))).await;
    }
}

async fn depot_worker(shop: Arc<Shop>, clock: Clock) {
    while clock.running() {
        let warehouse = WAREHOUSES[rand::random_range(0..WAREHOUSES.len())];
        let sku = CATALOG[rand::random_range(0..CATALOG.len())].0;
        let _ = shop.call_depot(warehouse, sku).await;
        sleep(Duration::from_millis(rand::random_range(60..100))).await;
    }
}

async fn reviews_worker(shop: Arc<Shop>, clock: Clock) {
    while clock.running() {
        let sku = CATALOG[rand::random_range(0..CATALOG.len())].0;
        // Both ways, in a random order: neither gets the slow answers'
        // turns more than the other.
        let hedged_first = rand::random_bool(0.5);
        let _ = shop.call_reviews(sku, hedged_first).await;
        let _ = shop.call_reviews(sku, !hedged_first).await;
        sleep(Duration::from_millis(rand::random_range(20..40))).await;
    }
}

/// What a customer last saw for each product.
#[derive(Debug, Default)]
struct Front {
    shelves: Mutex<BTreeMap<&'static str, Shelf>>,
    /// The last shipping quote.
    shipping: Mutex<Option<Quote>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Shelf {
    price: Option<Price>,
    stock: Option<Stock>,
}

impl Front {
    fn set_price(&self, sku: &'static str, price: Price) {
        self.shelves.lock().unwrap().entry(sku).or_default().price = Some(price);
    }

    fn set_stock(&self, sku: &'static str, stock: Stock) {
        self.shelves.lock().unwrap().entry(sku).or_default().stock = Some(stock);
    }

    fn set_shipping(&self, quote: Quote) {
        *self.shipping.lock().unwrap() = Some(quote);
    }

    /// `tea $4.50 (12 left)`, with `*` for a cached price and `?` for an
    /// unknown stock.
    fn line(&self) -> String {
        let shelves = self.shelves.lock().unwrap();
        let items: Vec<String> = shelves
            .iter()
            .map(|(sku, shelf)| {
                let price = match shelf.price {
                    Some(Price { cents, live }) => format!(
                        "${}.{:02}{}",
                        cents / 100,
                        cents % 100,
                        if live { "" } else { "*" }
                    ),
                    None => "$?".into(),
                };
                let stock = match shelf.stock {
                    Some(Stock::Known(units)) => units.to_string(),
                    Some(Stock::Unknown) | None => "?".into(),
                };
                format!("{sku} {price} ({stock} left)")
            })
            .collect();
        items.join(", ") + "   (* cached, ? unknown)"
    }

    /// The last shipping quote: `$3.45 from the carrier`, or the flat rate.
    fn shipping_line(&self) -> String {
        match *self.shipping.lock().unwrap() {
            Some(Quote { cents, live }) => format!(
                "${}.{:02} {}",
                cents / 100,
                cents % 100,
                if live {
                    "from the carrier"
                } else {
                    "flat rate (the limiter refused the quote)"
                }
            ),
            None => "none yet".into(),
        }
    }
}

/// One change of a breaker's state, as sampled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transition {
    pub(crate) at: Duration,
    pub(crate) phase: Phase,
    pub(crate) from: State,
    pub(crate) to: State,
}

/// A breaker's history during the run, sampled every [`SAMPLE_EVERY`].
#[derive(Debug, Clone)]
pub(crate) struct BreakerTrack {
    pub(crate) function: &'static str,
    pub(crate) name: &'static str,
    /// The last state sampled.
    pub(crate) state: State,
    pub(crate) transitions: Vec<Transition>,
    /// Per phase: whether a sample found the breaker open or half-open.
    not_closed: [bool; 4],
}

impl BreakerTrack {
    /// Whether the breaker was seen open (or half-open) during `phase`.
    pub(crate) fn was_open_during(&self, phase: Phase) -> bool {
        self.not_closed[phase.index()]
    }

    /// Whether the breaker went back to closed during `phase`.
    pub(crate) fn closed_during(&self, phase: Phase) -> bool {
        self.transitions
            .iter()
            .any(|t| t.phase == phase && t.to == State::Closed)
    }

    fn sample(&mut self, at: Duration, phase: Phase, state: State) {
        if state != State::Closed {
            self.not_closed[phase.index()] = true;
        }
        if state != self.state {
            self.transitions.push(Transition {
                at,
                phase,
                from: self.state,
                to: state,
            });
            self.state = state;
        }
    }
}

/// One warehouse's breaker (a key of [`DEPOT_BREAKER`]), sampled from
/// `steadfast::health().keyed` every [`SAMPLE_EVERY`].
#[derive(Debug, Clone)]
pub(crate) struct WarehouseTrack {
    /// The warehouse's breaker: `name` is the warehouse.
    pub(crate) breaker: BreakerTrack,
    /// Its calls answered while another warehouse's breaker was not closed
    /// (the calls between two samples that found one so).
    pub(crate) ok_while_another_open: u64,
    /// Its `ok` count at the last sample.
    last_ok: u64,
}

#[derive(Debug)]
struct Tracker {
    clock: Clock,
    shop: Arc<Shop>,
    breakers: Vec<BreakerTrack>,
    /// In the order of [`WAREHOUSES`].
    warehouses: Vec<WarehouseTrack>,
}

impl Tracker {
    fn new(clock: Clock, shop: Arc<Shop>) -> Self {
        let breakers = breakers()
            .into_iter()
            .map(|(function, breaker)| BreakerTrack {
                function,
                name: breaker.name(),
                state: breaker.state(),
                transitions: Vec::new(),
                not_closed: [false; 4],
            })
            .collect();
        let warehouses = WAREHOUSES
            .iter()
            .map(|&name| WarehouseTrack {
                breaker: BreakerTrack {
                    function: "depot",
                    name,
                    state: State::Closed,
                    transitions: Vec::new(),
                    not_closed: [false; 4],
                },
                ok_while_another_open: 0,
                last_ok: 0,
            })
            .collect();
        Tracker {
            clock,
            shop,
            breakers,
            warehouses,
        }
    }

    fn sample(&mut self) {
        let at = self.clock.elapsed();
        let phase = self.clock.phases.at(at);
        for (track, (_, breaker)) in self.breakers.iter_mut().zip(breakers()) {
            track.sample(at, phase, breaker.state());
        }
        let health = steadfast::health();
        let depot = depot_health(&health);
        for track in &mut self.warehouses {
            let state = depot.map_or(State::Closed, |keyed| key_state(keyed, track.breaker.name));
            track.breaker.sample(at, phase, state);
        }
        for (i, track) in self.warehouses.iter_mut().enumerate() {
            let ok = self.shop.stats.depots[i].counts().ok;
            let another_open = depot.is_some_and(|keyed| {
                WAREHOUSES
                    .iter()
                    .any(|&w| w != track.breaker.name && key_state(keyed, w) != State::Closed)
            });
            if another_open {
                track.ok_while_another_open += ok - track.last_ok;
            }
            track.last_ok = ok;
        }
    }
}

/// The per-warehouse breaker in a `health()` snapshot.
fn depot_health(health: &Health) -> Option<&KeyedHealth> {
    health.keyed.iter().find(|k| k.name == DEPOT_BREAKER)
}

/// The state of `warehouse`'s breaker: `health()` lists the keys whose
/// breaker is not closed, each as its `Debug` rendering (a `&str` key is
/// stored as a `String`: `"east"`, quotes included).
fn key_state(keyed: &KeyedHealth, warehouse: &str) -> State {
    let key = format!("{warehouse:?}");
    keyed
        .not_closed
        .iter()
        .find(|entry| entry.key == key)
        .map_or(State::Closed, |entry| entry.state)
}

/// The quote limiter in a `health()` snapshot.
fn quote_health(health: &Health) -> Option<&RateLimiterHealth> {
    health
        .rate_limiters
        .iter()
        .find(|r| r.name == QUOTE_LIMITER)
}

async fn sample(tracker: Arc<Mutex<Tracker>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        tracker.lock().unwrap().sample();
        sleep(SAMPLE_EVERY).await;
    }
    tracker.lock().unwrap().sample();
}

/// What the demo returns: the counters, the breakers' history, the health
/// snapshot at the end.
#[derive(Debug)]
pub(crate) struct Summary {
    pub(crate) server: String,
    pub(crate) elapsed: Duration,
    pub(crate) phases: Phases,
    pub(crate) functions: Vec<(&'static str, FnCounts)>,
    /// The reviews read without a hedge: each call's latency.
    pub(crate) reviews: Percentiles,
    /// The reviews read under `#[hedge]`.
    pub(crate) reviews_hedged: Percentiles,
    pub(crate) breakers: Vec<BreakerTrack>,
    /// The per-warehouse breaker's keys, in the order of [`WAREHOUSES`].
    pub(crate) warehouses: Vec<WarehouseTrack>,
    /// `steadfast::health()` at the end.
    pub(crate) health: Health,
    pub(crate) requests: ServerTally,
    /// The service's readiness over HTTP (`/health/ready`), once a second.
    pub(crate) readiness: Vec<u16>,
    /// The JSON body of the first not-ready answer with a check down.
    pub(crate) not_ready_body: Option<String>,
    /// The last readiness answer before shutdown began (the endpoints stop
    /// serving then).
    pub(crate) ready_at_end: Option<crate::ops::Readiness>,
    /// Graceful shutdown's report.
    pub(crate) shutdown: steadfast::ShutdownReport,
    /// The faults injected under the stock lookup (feature `chaos`).
    #[cfg(feature = "chaos")]
    pub(crate) chaos: Option<steadfast::chaos::Injected>,
}

// Read by tests/demo.rs.
#[allow(dead_code)]
impl Summary {
    /// The counters of `function` (`"price"`, `"stock"`, `"reserve"`,
    /// `"quote"` or `"depot"`).
    pub(crate) fn function(&self, function: &str) -> FnCounts {
        self.functions
            .iter()
            .find(|(name, _)| *name == function)
            .map(|(_, counts)| *counts)
            .unwrap_or_else(|| panic!("no function {function:?} in the demo"))
    }

    /// The history of the breaker named `name` (`"shop::price"`, `"shop::stock"`).
    pub(crate) fn breaker(&self, name: &str) -> &BreakerTrack {
        self.breakers
            .iter()
            .find(|track| track.name == name)
            .unwrap_or_else(|| panic!("no breaker {name:?} in the demo"))
    }

    /// The history of `warehouse`'s breaker (one of [`WAREHOUSES`]).
    pub(crate) fn warehouse(&self, warehouse: &str) -> &WarehouseTrack {
        self.warehouses
            .iter()
            .find(|track| track.breaker.name == warehouse)
            .unwrap_or_else(|| panic!("no warehouse {warehouse:?} in the demo"))
    }

    /// The per-warehouse breaker in the health snapshot at the end.
    pub(crate) fn depot_health(&self) -> &KeyedHealth {
        depot_health(&self.health).expect("the per-warehouse breaker is in health()")
    }

    /// The quote limiter in the health snapshot at the end.
    pub(crate) fn quote_health(&self) -> &RateLimiterHealth {
        quote_health(&self.health).expect("the quote limiter is in health()")
    }

    /// The summary as text: the table, the breakers' story, the rate
    /// limiter's, the health snapshot, the server's tally.
    /// The operations side: readiness over HTTP each second, one not-ready
    /// answer's JSON, and graceful shutdown's report.
    fn operations(&self) -> String {
        let mut out = String::new();
        let statuses: Vec<String> = self.readiness.iter().map(u16::to_string).collect();
        let _ = writeln!(
            out,
            "\nReadiness over HTTP (GET /health/ready), each second:"
        );
        out.push_str(&wrap(&statuses, "  ", PLAIN_WIDTH));
        if let Some(body) = &self.not_ready_body {
            let _ = writeln!(out, "  the first 503 with the shop's check down, its body:");
            out.push_str(&wrap(&json_pieces(body), "    ", PLAIN_WIDTH));
        }
        if let Some(ready) = &self.ready_at_end {
            let _ = writeln!(out, "  at the end: {}", ready.status);
        }
        #[cfg(feature = "chaos")]
        if let Some(injected) = &self.chaos {
            let stock = self.function("stock");
            let _ = writeln!(
                out,
                "Chaos under stock's timeout: {} injected 503s, {} injected 400 ms delays;",
                injected.errors, injected.latencies
            );
            let _ = writeln!(
                out,
                "  the timeout cut the delays, the breaker counted the 503s: stock had {} answers",
                stock.fallbacks
            );
            let _ = writeln!(
                out,
                "  from its fallback and {} open-circuit rejections (real faults included)",
                stock.circuit_open
            );
        }
        let _ = writeln!(out, "Graceful shutdown:");
        for line in self.shutdown.to_string().lines() {
            let _ = writeln!(out, "  {line}");
        }
        out
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let phases: Vec<String> = Phase::ALL
            .iter()
            .map(|&phase| format!("{} {}", phase.name(), secs(self.phases.length(phase))))
            .collect();
        let _ = writeln!(
            out,
            "Summary: {} against http://{}\nphases: {}",
            secs(self.elapsed),
            self.server,
            phases.join(" -> ")
        );
        let _ = writeln!(out, "Totals over the whole run (cumulative):");
        let states: Vec<Row> = self
            .functions
            .iter()
            .map(|&(name, counts)| {
                let state = if name == "depot" {
                    let states: Vec<State> =
                        self.warehouses.iter().map(|w| w.breaker.state).collect();
                    Some(keyed_cell(&states))
                } else {
                    self.breakers
                        .iter()
                        .find(|track| track.function == name)
                        .map(|track| state_name(track.state).to_string())
                };
                (name, counts, state)
            })
            .collect();
        let _ = writeln!(out, "{}", functions_table(&states));
        let _ = writeln!(out, "\nBreakers (sampled every {SAMPLE_EVERY:?}):");
        for track in &self.breakers {
            let _ = writeln!(out, "  {}", breaker_verdict(track));
            out.push_str(&wrap(&commas(events(track)), "    ", PLAIN_WIDTH));
        }
        let _ = writeln!(
            out,
            "  {:<12} one breaker per warehouse (key = warehouse), {} keys:",
            DEPOT_BREAKER,
            self.depot_health().keys
        );
        for track in &self.warehouses {
            out.push_str(&warehouse_story(track));
        }
        if let Some(limiter) = quote_health(&self.health) {
            let _ = writeln!(
                out,
                "\nRate limit {}: {} per {:?}, burst {}, wait <= {:?} (at most {} in any {:?}):",
                limiter.name,
                limiter.rate,
                limiter.per,
                limiter.burst,
                limiter.max_wait,
                limiter.rate + limiter.burst,
                limiter.per
            );
            let quote = self.function("quote");
            out.push_str(&wrap(&quote_pieces(&quote), "  ", PLAIN_WIDTH));
            out.push_str(&wrap(
                &carrier_pieces(&self.requests.quote),
                "  ",
                PLAIN_WIDTH,
            ));
        }
        out.push_str(&tail_lines(
            &self.reviews,
            &self.reviews_hedged,
            &self.requests.reviews,
        ));
        let _ = writeln!(out, "\nHealth at the end:\n{}", health_table(&self.health));
        let _ = write!(out, "{}", self.operations());
        let _ = write!(
            out,
            "\nServer, over the whole run:\n{}{}",
            wrap(&requests_pieces(&self.requests), "  ", PLAIN_WIDTH),
            wrap(&depots_pieces(&self.requests.depots), "  ", PLAIN_WIDTH)
        );
        out.truncate(out.trim_end().len());
        out
    }
}

/// What the view needs to draw a frame.
struct Screen<'a> {
    options: &'a Options,
    clock: Clock,
    server: &'a server::Server,
    shop: &'a Shop,
    front: &'a Front,
    tracker: &'a Mutex<Tracker>,
    /// Where the view writes (stdout, or the test's buffer).
    out: &'a mut dyn io::Write,
    /// The phase the plain view last announced.
    phase_shown: Option<Phase>,
}

impl Screen<'_> {
    /// Draws the view: `first` at the start, `last` once every worker is done.
    fn show(&mut self, first: bool, last: bool) {
        let text = match self.options.view {
            View::Quiet => return,
            View::Live => {
                // Home, then each line cleared to its end, then the rest of
                // the screen: a redraw without flicker.
                let mut text = String::from(if first { "\x1b[2J\x1b[H" } else { "\x1b[H" });
                for line in self.frame().lines() {
                    text.push_str(line);
                    text.push_str("\x1b[K\n");
                }
                text.push_str("\x1b[J");
                text
            }
            View::Lines => {
                let mut text = if first { self.intro() } else { String::new() };
                self.lines(&mut text, last);
                text
            }
        };
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn rows(&self) -> Vec<Row> {
        let stats = &self.shop.stats;
        let state = |breaker: &CircuitBreaker| Some(state_name(breaker.state()).to_string());
        vec![
            ("price", stats.price.counts(), state(&PRICE_BREAKER)),
            ("stock", stats.stock.counts(), state(&STOCK_BREAKER)),
            ("reserve", stats.reserve.counts(), None),
            ("quote", stats.quote.counts(), None),
            (
                "depot",
                stats.depot.counts(),
                Some(keyed_cell(&self.warehouse_states())),
            ),
        ]
    }

    /// Each warehouse's breaker, as last sampled.
    fn warehouse_states(&self) -> Vec<State> {
        let tracker = self.tracker.lock().unwrap();
        tracker.warehouses.iter().map(|w| w.breaker.state).collect()
    }

    /// `north closed, east OPEN, south closed`.
    fn warehouses_line(&self) -> String {
        let states: Vec<String> = WAREHOUSES
            .iter()
            .zip(self.warehouse_states())
            .map(|(name, state)| format!("{name} {}", state_name(state)))
            .collect();
        states.join(", ")
    }

    /// The quote limiter's waits and the carrier's count, on one line.
    fn quote_line(&self) -> String {
        let quote = self.shop.stats.quote.counts();
        let carrier = self.server.counts.tally().quote;
        format!(
            "{} waited, {} refused; carrier /quote: peak {}/s (quota {QUOTA}), \
             {} answered 429",
            quote.waited, quote.rate_limited, carrier.peak, carrier.throttled
        )
    }

    /// The reviews' p50/p99 so far, plain and hedged, on one line.
    fn reviews_line(&self) -> String {
        let stats = &self.shop.stats;
        let (plain, hedged) = (
            stats.reviews.percentiles(),
            stats.reviews_hedged.percentiles(),
        );
        // `19/301 ms`, or `-` before the first call.
        let pair = |p: &Percentiles| {
            if p.calls == 0 {
                "-".to_string()
            } else {
                format!("{}/{} ms", p.p50.as_millis(), p.p99.as_millis())
            }
        };
        format!(
            "p50/p99 plain {}, hedged {} (+{} requests)",
            pair(&plain),
            pair(&hedged),
            hedged.extra
        )
    }

    /// The clock, as far as the view is concerned: it stops at the end.
    fn now(&self) -> (Duration, Phase) {
        let elapsed = self.clock.elapsed().min(self.clock.phases.total());
        (elapsed, self.clock.phases.at(elapsed))
    }

    /// The live view: about 30 lines, 100 columns.
    fn frame(&self) -> String {
        let (elapsed, now) = self.now();
        let total = self.clock.phases.total();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "steadfast demo: a shop client calling http://{} over HTTP",
            self.server.addr
        );
        let phases: Vec<String> = Phase::ALL
            .iter()
            .map(|&phase| {
                if phase == now {
                    format!("[{}]", phase.name().to_uppercase())
                } else {
                    phase.name().to_string()
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "{:>5} of {}  {}  {}",
            secs(elapsed),
            secs(total),
            progress(elapsed, total, 20),
            phases.join(" > ")
        );
        let _ = writeln!(out, "server: {}", now.behaviour(&self.options.faults));
        let _ = writeln!(out, "{}", functions_table(&self.rows()));
        out.push_str(LEGEND);
        out.push_str(STACKS);
        let _ = writeln!(out, "shop front: {}", self.front.line());
        let _ = writeln!(out, "shipping: {}", self.front.shipping_line());
        out.push_str("health (steadfast::health()):\n");
        let tracker = self.tracker.lock().unwrap();
        let health = steadfast::health();
        for breaker in &health.breakers {
            let _ = write!(out, "  {}", breaker_line(breaker));
            if let Some(track) = tracker.breakers.iter().find(|t| t.name == breaker.name) {
                let _ = write!(out, "; {}", events(track).join(", "));
            }
            out.push('\n');
        }
        drop(tracker);
        if let Some(keyed) = depot_health(&health) {
            let _ = writeln!(
                out,
                "  keyed breaker   {:<14} {} keys: {}",
                keyed.name,
                keyed.keys,
                self.warehouses_line()
            );
        }
        for bulkhead in &health.bulkheads {
            let _ = writeln!(out, "  {}", bulkhead_line(bulkhead));
        }
        if let Some(limiter) = quote_health(&health) {
            let _ = writeln!(out, "  rate limiter    {}", limiter_line(limiter));
        }
        let tally = self.server.counts.tally();
        let _ = writeln!(out, "server: {}", requests_line(&tally));
        let _ = writeln!(out, "quote: {}", self.quote_line());
        out.push_str(&wrap(&depots_pieces(&tally.depots), "", PLAIN_WIDTH));
        let _ = writeln!(out, "reviews: {}", self.reviews_line());
        out
    }

    /// What the plain view's columns mean, written once at the start.
    fn intro(&self) -> String {
        let phases: Vec<String> = Phase::ALL
            .iter()
            .map(|&phase| format!("{} {}", phase.name(), secs(self.clock.phases.length(phase))))
            .collect();
        format!(
            "steadfast demo: a shop client calling http://{} over HTTP\n\
             phases: {}\n\
             Every second, one row per function. The counters are CUMULATIVE: totals since\n\
             the start of the run, not per second. calls = calls made; ok, fallback, failed =\n\
             how they ended; \"-\" = a policy the function does not carry. After the rows:\n\
             the quote limiter's waits and the carrier's count; each warehouse's breaker;\n\
             the reviews' latency so far (p50/p99 of every call), read plainly and hedged.\n\
             {LEGEND}{STACKS}",
            self.server.addr,
            phases.join(" -> ")
        )
    }

    /// The plain view's rows for this second (or, `last`, for the end of the
    /// run): the phase and the column headings when the phase has changed,
    /// then one row per function.
    fn lines(&mut self, text: &mut String, last: bool) {
        let (elapsed, phase) = self.now();
        if self.phase_shown != Some(phase) {
            self.phase_shown = Some(phase);
            let start = self.clock.phases.start(phase);
            let _ = writeln!(
                text,
                "\n{:>6}  phase {}: {}",
                secs(start),
                phase.name(),
                phase.behaviour(&self.options.faults)
            );
            let _ = writeln!(
                text,
                "{:8}{:8}{:-^60}",
                "", "", " cumulative totals since the start "
            );
            let mut heading = format!("{:>6}  {:<8}", "time", "fn");
            for (i, (column, _)) in cells("", &FnCounts::default(), None).iter().enumerate() {
                push_cell(&mut heading, i, column);
            }
            text.push_str(heading.trim_end());
            text.push('\n');
        }
        let time = if last { "end".into() } else { secs(elapsed) };
        for (name, counts, breaker) in self.rows() {
            let mut row = format!("{time:>6}  {name:<8}");
            for (i, (_, value)) in cells(name, &counts, breaker.as_deref()).iter().enumerate() {
                push_cell(&mut row, i, value.as_deref().unwrap_or("-"));
            }
            text.push_str(row.trim_end());
            text.push('\n');
        }
        let _ = writeln!(text, "{time:>6}  quote: {}", self.quote_line());
        let _ = writeln!(text, "{time:>6}  depot: {}", self.warehouses_line());
        let _ = writeln!(text, "{time:>6}  reviews: {}", self.reviews_line());
    }
}

/// The widths of the plain view's columns after `time` and `fn`: right-aligned
/// counters (room for 6 digits), then the breaker's state after two spaces.
const PLAIN_COLUMNS: [usize; 10] = [7, 7, 9, 7, 8, 8, 7, 7, 7, 11];

/// Appends column `i` of a plain-view row.
fn push_cell(row: &mut String, i: usize, value: &str) {
    let width = PLAIN_COLUMNS[i];
    if i + 1 == PLAIN_COLUMNS.len() {
        let _ = write!(row, "  {value:<0$}", width - 2);
    } else {
        let _ = write!(row, "{value:>width$}");
    }
}

/// `pieces` joined with spaces over as many lines as `width` needs (a piece
/// is never split), each line starting with `indent` and ending in `\n`.
fn wrap(pieces: &[String], indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for piece in pieces {
        let fresh = line.len() == indent.len();
        if !fresh && line.chars().count() + 1 + piece.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        } else if !fresh {
            line.push(' ');
        }
        line.push_str(piece);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A JSON text as pieces for [`wrap`], cut after each comma (still JSON:
/// whitespace may go there); a piece too long for a line is shortened.
fn json_pieces(json: &str) -> Vec<String> {
    json.split_inclusive(',')
        .map(|piece| {
            if piece.chars().count() > PLAIN_WIDTH - 8 {
                let cut: String = piece.chars().take(PLAIN_WIDTH - 9).collect();
                cut + "…"
            } else {
                piece.to_owned()
            }
        })
        .collect()
}

/// `items` with a comma after each but the last, as pieces for [`wrap`].
fn commas(items: Vec<String>) -> Vec<String> {
    let last = items.len().saturating_sub(1);
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| if i < last { item + "," } else { item })
        .collect()
}

/// What the rejection columns count.
const LEGEND: &str = "\
rejected: timeout = attempts cut off by #[timeout]; open = refused by an open breaker;
          full = refused by a full bulkhead; limit = refused by a rate limiter.
retries = attempts after the first. depot's breaker: warehouses not closed / known.
";

/// Each function's stack, outermost first.
const STACKS: &str = "\
stacks, outermost first:
  price    fallback(cache) > retry(3, Retry-After) > circuit_breaker > timeout(300ms) > bulkhead(8)
  stock    fallback(\"unknown\") > circuit_breaker(3 failures in a row) > timeout(250ms)
  reserve  retry(2) > timeout(1s) > bulkhead(2 running, 2 waiting)
  quote    fallback(flat rate) > rate_limit(8/s, burst 1, wait 250ms) > timeout(300ms)
  depot    circuit_breaker(key = warehouse, 3 failures in a row) > timeout(250ms)
  reviews  timeout(1s), read twice: plainly, and under hedge(after 30ms, max 1)
";

fn table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .apply_modifier(modifiers::UTF8_ROUND_CORNERS);
    table
}

/// A row of the functions' table: the function, its counters, its breaker's
/// cell (`None` without a breaker).
type Row = (&'static str, FnCounts, Option<String>);

/// Which policies a function carries (see `shop.rs`), apart from its breaker
/// (the rows carry that).
struct Carries {
    retry: bool,
    fallback: bool,
    bulkhead: bool,
    rate_limit: bool,
}

/// What `function` carries.
fn carries(function: &str) -> Carries {
    let (retry, fallback, bulkhead, rate_limit) = match function {
        "price" => (true, true, true, false),
        "stock" => (false, true, false, false),
        "quote" => (false, true, false, true),
        "depot" => (false, false, false, false),
        _ => (true, false, true, false),
    };
    Carries {
        retry,
        fallback,
        bulkhead,
        rate_limit,
    }
}

/// A function's counters as (column, value), `None` where the function does
/// not carry the policy.
fn cells(name: &str, c: &FnCounts, breaker: Option<&str>) -> [(&'static str, Option<String>); 10] {
    let Carries {
        retry,
        fallback,
        bulkhead,
        rate_limit,
    } = carries(name);
    let count = |carried: bool, n: u64| carried.then(|| n.to_string());
    [
        ("calls", count(true, c.calls)),
        ("ok", count(true, c.ok)),
        ("fallback", count(fallback, c.fallbacks)),
        ("failed", count(true, c.failed)),
        ("retries", count(retry, c.retries)),
        ("timeout", count(true, c.timeouts)),
        ("open", count(breaker.is_some(), c.circuit_open)),
        ("full", count(bulkhead, c.bulkhead_full)),
        ("limit", count(rate_limit, c.rate_limited)),
        ("breaker", breaker.map(str::to_string)),
    ]
}

/// The depot row's breaker cell: how many warehouses' breakers are not
/// closed, of the warehouses known (`1/3 OPEN`, `1/3 half`), or `3 closed`.
fn keyed_cell(states: &[State]) -> String {
    let not_closed = states.iter().filter(|&&s| s != State::Closed).count();
    let worst = if states.contains(&State::Open) {
        "OPEN"
    } else {
        "half"
    };
    match not_closed {
        0 => format!("{} closed", states.len()),
        n => format!("{n}/{} {worst}", states.len()),
    }
}

fn functions_table(rows: &[Row]) -> Table {
    let mut table = table();
    let mut header = vec!["fn"];
    header.extend(cells("", &FnCounts::default(), None).map(|(column, _)| column));
    table.set_header(header);
    for (name, counts, breaker) in rows {
        let mut row = vec![(*name).to_string()];
        row.extend(
            cells(name, counts, breaker.as_deref())
                .map(|(_, value)| value.unwrap_or_else(|| "-".into())),
        );
        table.add_row(row);
    }
    for column in 1..10 {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

fn health_table(health: &Health) -> Table {
    let mut table = table();
    table.set_header(["policy", "name", "state", "detail"]);
    for b in &health.breakers {
        let since = b
            .in_state_for
            .map_or(String::new(), |d| format!(" for {}", secs(d)));
        table.add_row([
            "circuit breaker".to_string(),
            b.name.to_string(),
            format!("{}{since}", state_name(b.state)),
            format!(
                "window: {} calls, {} failed",
                b.window_calls, b.window_failures
            ),
        ]);
    }
    for k in &health.keyed {
        let not_closed: Vec<String> = k
            .not_closed
            .iter()
            .map(|entry| {
                format!(
                    "{} {}",
                    entry.key.trim_matches('"'),
                    state_name(entry.state)
                )
            })
            .collect();
        table.add_row([
            format!("keyed {}", k.kind.replace('_', " ")),
            k.name.to_string(),
            if not_closed.is_empty() {
                "all closed".to_string()
            } else {
                format!("{} not closed", not_closed.len())
            },
            format!(
                "{} keys (at most {}){}{}",
                k.keys,
                k.max_keys,
                if not_closed.is_empty() { "" } else { ": " },
                not_closed.join(", ")
            ),
        ]);
    }
    for b in &health.bulkheads {
        table.add_row([
            "bulkhead".to_string(),
            b.name.to_string(),
            if b.running > 0 { "busy" } else { "idle" }.to_string(),
            format!(
                "{} of {} running, {} of {} waiting",
                b.running, b.max_concurrent, b.waiting, b.max_queue
            ),
        ]);
    }
    for r in &health.rate_limiters {
        table.add_row([
            "rate limiter".to_string(),
            r.name.to_string(),
            format!("{} available", r.available),
            format!(
                "{} per {:?}, burst {}, wait <= {:?}",
                r.rate, r.per, r.burst, r.max_wait
            ),
        ]);
    }
    table
}

/// A breaker's openings and closings, with when and in which phase.
fn events(track: &BreakerTrack) -> Vec<String> {
    let mut events = Vec::new();
    for t in &track.transitions {
        let what = match (t.from, t.to) {
            (State::Closed, State::Open) => "opened",
            (_, State::Closed) => "closed",
            _ => continue,
        };
        events.push(format!("{what} {} ({})", secs(t.at), t.phase.name()));
    }
    if events.is_empty() {
        events.push(format!("{} throughout", state_name(track.state)));
    }
    events
}

/// Whether a breaker did what the demo is about (its events follow on the
/// next lines of the summary).
fn breaker_verdict(track: &BreakerTrack) -> String {
    let verdict = match (
        track.was_open_during(Phase::Down),
        track.closed_during(Phase::Recovering),
    ) {
        (true, true) => "opened while down, closed after recovery",
        (true, false) => "opened while down, NOT closed after recovery",
        (false, _) => "NOT open while down",
    };
    format!("{:<12} {verdict}:", track.name)
}

fn breaker_line(b: &BreakerHealth) -> String {
    format!(
        "circuit breaker {:<14} {:<9} window: {} calls, {} failed",
        b.name,
        state_name(b.state),
        b.window_calls,
        b.window_failures
    )
}

/// `shop::quote 8 per 1s, burst 1, wait <= 250ms (at most 9 in any 1s); 0
/// available`.
fn limiter_line(r: &RateLimiterHealth) -> String {
    format!(
        "{:<14} {} per {:?}, burst {}, wait <= {:?} (at most {} in any {:?}); {} available",
        r.name,
        r.rate,
        r.per,
        r.burst,
        r.max_wait,
        r.rate + r.burst,
        r.per,
        r.available
    )
}

/// What happened to the quote calls, as pieces for [`wrap`].
fn quote_pieces(q: &FnCounts) -> Vec<String> {
    let admitted = q.calls - q.rate_limited;
    let mut pieces = vec![format!("{} calls:", q.calls)];
    pieces.extend(commas(vec![
        format!(
            "{admitted} admitted ({} after waiting for their turn)",
            q.waited
        ),
        format!("{} refused at once (flat rate instead)", q.rate_limited),
        format!("{} answered by the carrier", q.ok),
    ]));
    pieces
}

/// The carrier's count, as pieces for [`wrap`].
fn carrier_pieces(c: &QuoteTally) -> Vec<String> {
    let mut pieces = vec![format!("carrier /quote: {} requests:", c.requests)];
    pieces.extend(commas(vec![
        format!("{} answered", c.answered),
        format!("at most {} in one second (quota {QUOTA})", c.peak),
        format!("{} answered 429", c.throttled),
    ]));
    pieces
}

/// The warehouses' tallies, as pieces for [`wrap`].
fn depots_pieces(depots: &[DepotTally; 3]) -> Vec<String> {
    let mut pieces = vec!["warehouses:".to_string()];
    pieces.extend(commas(
        WAREHOUSES
            .iter()
            .zip(depots)
            .map(|(name, d)| format!("{name} {} answered, {} failed (503)", d.ok, d.failed))
            .collect(),
    ));
    pieces
}

/// One warehouse's breaker in the summary: what it did, when, and the calls
/// it answered while another warehouse's breaker was not closed.
fn warehouse_story(track: &WarehouseTrack) -> String {
    let b = &track.breaker;
    let opened = Phase::ALL.iter().any(|&phase| b.was_open_during(phase));
    let verdict = if opened {
        breaker_verdict(b)
    } else {
        format!("{:<12} never opened:", b.name)
    };
    let mut out = format!("    {verdict}\n");
    let mut pieces = commas(events(b));
    if !opened {
        if let Some(last) = pieces.last_mut() {
            last.push(';');
        }
        pieces.push(format!(
            "{} calls answered while another warehouse's breaker was not closed",
            track.ok_while_another_open
        ));
    }
    out.push_str(&wrap(&pieces, "      ", PLAIN_WIDTH));
    out
}

fn bulkhead_line(b: &BulkheadHealth) -> String {
    format!(
        "bulkhead        {:<14} {} of {} running, {} of {} waiting",
        b.name, b.running, b.max_concurrent, b.waiting, b.max_queue
    )
}

/// The server's tally, as pieces for [`wrap`].
fn requests_pieces(r: &ServerTally) -> Vec<String> {
    let mut pieces = vec![format!("{} requests:", r.requests)];
    pieces.extend(commas(vec![
        format!("{} answered ({} slowly)", r.ok, r.slow),
        format!("{} failed (5xx)", r.failed),
        format!("{} throttled (429)", r.throttled),
        format!("{} not found", r.not_found),
        format!("{} hung", r.hung),
    ]));
    pieces
}

fn requests_line(r: &ServerTally) -> String {
    requests_pieces(r).join(" ")
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Closed => "closed",
        State::Open => "OPEN",
        State::HalfOpen => "half-open",
    }
}

/// The summary's tail-latency lines: what `/reviews` does, then the p50
/// and p99 of the plain and the hedged reads, one line each.
fn tail_lines(plain: &Percentiles, hedged: &Percentiles, server: &ReviewsTally) -> String {
    let mut out = format!(
        "\nTail latency: GET /reviews answers in 10-25 ms, but every {SLOW_EVERY}th request takes {} \
         ms\n  (the server: {} requests, {} slow). Each call as its caller saw it:\n",
        SLOW_REVIEWS.as_millis(),
        server.requests,
        server.slow
    );
    for (name, stack, p) in [
        ("plain", "#[timeout(\"1s\")]", plain),
        ("hedged", "#[hedge(after = \"30ms\", max = 1)]", hedged),
    ] {
        let mut line = format!(
            "  {name:<7} {stack:<35} p50 {:>7}  p99 {:>7}  {} calls",
            millis(p.p50),
            millis(p.p99),
            p.calls
        );
        if p.extra > 0 {
            let _ = write!(line, ", +{} requests", p.extra);
        }
        if p.failed > 0 {
            let _ = write!(line, ", {} failed", p.failed);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `18 ms`.
fn millis(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}

fn secs(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

fn progress(elapsed: Duration, total: Duration, width: usize) -> String {
    let done = (elapsed.as_secs_f64() / total.as_secs_f64() * width as f64).round() as usize;
    let done = done.min(width);
    format!("[{}{}]", "#".repeat(done), ".".repeat(width - done))
}
