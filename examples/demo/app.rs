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
use steadfast::health::{BreakerHealth, BulkheadHealth, Health};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, sleep};

use crate::server::{self, CATALOG, Faults, ServerTally};
use crate::shop::{
    FnCounts, PRICE_BREAKER, PRICE_POOL, Price, RESERVE_POOL, STOCK_BREAKER, Shop, Stock,
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
            Phase::Down => "/price and /reserve answer 503 at once; /stock hangs".into(),
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
        self.elapsed() < self.phases.total()
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

    let clock = Clock::start(Phases::split(options.duration));
    let server = server::start(clock, options.faults).await?;
    let shop = Arc::new(Shop::new(server.addr));
    let front = Arc::new(Front::default());
    let tracker = Arc::new(Mutex::new(Tracker::new(clock)));

    let mut workers = JoinSet::new();
    for _ in 0..PRICE_WORKERS {
        workers.spawn(price_worker(Arc::clone(&shop), Arc::clone(&front), clock));
    }
    for _ in 0..STOCK_WORKERS {
        workers.spawn(stock_worker(Arc::clone(&shop), Arc::clone(&front), clock));
    }
    workers.spawn(reserve_bursts(Arc::clone(&shop), clock));

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
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                Some(result) => result.expect("a demo worker panicked"),
                None => break,
            },
            _ = ticker.tick() => {
                screen.show(first, false);
                first = false;
            }
        }
    }
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
        ],
        breakers: tracker.breakers.clone(),
        health: steadfast::health(),
        requests: server.counts.tally(),
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

/// What a customer last saw for each product.
#[derive(Debug, Default)]
struct Front {
    shelves: Mutex<BTreeMap<&'static str, Shelf>>,
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

#[derive(Debug)]
struct Tracker {
    clock: Clock,
    breakers: Vec<BreakerTrack>,
}

impl Tracker {
    fn new(clock: Clock) -> Self {
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
        Tracker { clock, breakers }
    }

    fn sample(&mut self) {
        let at = self.clock.elapsed();
        let phase = self.clock.phases.at(at);
        for (track, (_, breaker)) in self.breakers.iter_mut().zip(breakers()) {
            track.sample(at, phase, breaker.state());
        }
    }
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
    pub(crate) breakers: Vec<BreakerTrack>,
    /// `steadfast::health()` at the end.
    pub(crate) health: Health,
    pub(crate) requests: ServerTally,
}

// Read by tests/demo.rs.
#[allow(dead_code)]
impl Summary {
    /// The counters of `function` (`"price"`, `"stock"` or `"reserve"`).
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

    /// The summary as text: the table, the breakers' story, the health
    /// snapshot, the server's tally.
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
        let states: Vec<(&str, FnCounts, Option<State>)> = self
            .functions
            .iter()
            .map(|&(name, counts)| {
                let state = self
                    .breakers
                    .iter()
                    .find(|track| track.function == name)
                    .map(|track| track.state);
                (name, counts, state)
            })
            .collect();
        let _ = writeln!(out, "{}", functions_table(&states));
        let _ = writeln!(out, "\nBreakers (sampled every {SAMPLE_EVERY:?}):");
        for track in &self.breakers {
            let _ = writeln!(out, "  {}", breaker_verdict(track));
            out.push_str(&wrap(&commas(events(track)), "    ", PLAIN_WIDTH));
        }
        let _ = writeln!(out, "\nHealth at the end:\n{}", health_table(&self.health));
        let _ = write!(
            out,
            "\nServer, over the whole run:\n{}",
            wrap(&requests_pieces(&self.requests), "  ", PLAIN_WIDTH)
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

    fn rows(&self) -> Vec<(&'static str, FnCounts, Option<State>)> {
        let stats = &self.shop.stats;
        vec![
            ("price", stats.price.counts(), Some(PRICE_BREAKER.state())),
            ("stock", stats.stock.counts(), Some(STOCK_BREAKER.state())),
            ("reserve", stats.reserve.counts(), None),
        ]
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
        for bulkhead in &health.bulkheads {
            let _ = writeln!(out, "  {}", bulkhead_line(bulkhead));
        }
        let _ = writeln!(
            out,
            "server: {}",
            requests_line(&self.server.counts.tally())
        );
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
             how they ended; \"-\" = a policy the function does not carry.\n\
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
            for (i, (_, value)) in cells(name, &counts, breaker).iter().enumerate() {
                push_cell(&mut row, i, value.as_deref().unwrap_or("-"));
            }
            text.push_str(row.trim_end());
            text.push('\n');
        }
    }
}

/// The widths of the plain view's columns after `time` and `fn`: right-aligned
/// counters (room for 6 digits), then the breaker's state after two spaces.
const PLAIN_COLUMNS: [usize; 9] = [7, 7, 9, 7, 8, 8, 7, 7, 11];

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
          full = refused by a full bulkhead. retries = attempts after the first.
";

/// Each function's stack, outermost first.
const STACKS: &str = "\
stacks, outermost first:
  price    fallback(cache) > retry(3, Retry-After) > circuit_breaker > timeout(300ms) > bulkhead(8)
  stock    fallback(\"unknown\") > circuit_breaker(3 failures in a row) > timeout(250ms)
  reserve  retry(2) > timeout(1s) > bulkhead(2 running, 2 waiting)
";

fn table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .apply_modifier(modifiers::UTF8_ROUND_CORNERS);
    table
}

/// Which policies each function carries (see `shop.rs`): retry, fallback,
/// bulkhead. (Breakers come from [`breakers`].)
fn carries(function: &str) -> (bool, bool, bool) {
    match function {
        "price" => (true, true, true),
        "stock" => (false, true, false),
        _ => (true, false, true),
    }
}

/// A function's counters as (column, value), `None` where the function does
/// not carry the policy.
fn cells(name: &str, c: &FnCounts, breaker: Option<State>) -> [(&'static str, Option<String>); 9] {
    let (retry, fallback, bulkhead) = carries(name);
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
        (
            "breaker",
            breaker.map(|state| state_name(state).to_string()),
        ),
    ]
}

fn functions_table(rows: &[(&str, FnCounts, Option<State>)]) -> Table {
    let mut table = table();
    let mut header = vec!["fn"];
    header.extend(cells("", &FnCounts::default(), None).map(|(column, _)| column));
    table.set_header(header);
    for (name, counts, breaker) in rows {
        let mut row = vec![(*name).to_string()];
        row.extend(
            cells(name, counts, *breaker).map(|(_, value)| value.unwrap_or_else(|| "-".into())),
        );
        table.add_row(row);
    }
    for column in 1..9 {
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

fn secs(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

fn progress(elapsed: Duration, total: Duration, width: usize) -> String {
    let done = (elapsed.as_secs_f64() / total.as_secs_f64() * width as f64).round() as usize;
    let done = done.min(width);
    format!("[{}{}]", "#".repeat(done), ".".repeat(width - done))
}
