//! The soak / chaos test: every attribute against a real HTTP server on
//! 127.0.0.1 that fails at random (5xx, 429, latency spikes, connection
//! resets, requests that never answer) and goes through outages, while two
//! OS threads call it through annotated functions, cancel some calls and
//! panic in some bodies.
//!
//! It checks, throughout and at the end:
//!
//! - every call ends in `Ok`, the body's error or a typed `Rejected` that its
//!   stack can produce (with the right name or limit); none outlives the
//!   caller's outer deadline (much longer than any policy's timeout);
//! - a bulkhead never runs more bodies than `max_concurrent` (an in-body
//!   counter's peak) and `health()` never shows more than `max_concurrent`
//!   running or `max_queue` waiting (a watcher thread samples it every
//!   500 µs); a half-open breaker never has more than `half_open_probes`
//!   probes in flight;
//! - every breaker opens during every outage and closes after it, and is
//!   closed at the end, after a healthy phase;
//! - nothing leaks: at the end every bulkhead has nothing running or waiting
//!   and no breaker has a probe in flight; each breaker's `transitions` count
//!   equals the transition events it emitted;
//! - every injected panic reaches the caller (none is swallowed or retried).
//!
//! Modes: the default is short (a few seconds, two outages; it runs with
//! `cargo test`). `STEADFAST_SOAK=long` runs at least 100,000 calls;
//! `STEADFAST_SOAK_CALLS=N` sets the number of calls in either mode. Figures
//! are printed at the end (`-- --nocapture` shows them).
//!
//! Real sockets need real time, so nothing here asserts on timing: only on
//! invariants, and on "opened during the outage, closed after it", with
//! phases that last until that happened (or a generous cap passes).

#[path = "soak/client.rs"]
mod client;
#[path = "soak/server.rs"]
mod server;
#[path = "soak/watch.rs"]
mod watch;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use steadfast::Rejected;
use steadfast::circuit_breaker::State;
use steadfast::health::Health;

use client::{
    BREAKERS, BULKHEADS, CallError, Ended, FALLBACK_RUNS, Func, Http, InjectedPanic, MAIN_BREAKER,
    MAIN_POOL, PANICS, PANICS_RAISED, Reply,
};
use server::{Fault, Phase, Server};
use watch::{Moves, Watcher};

/// Caller threads, each with its own current-thread tokio runtime.
const THREADS: usize = 2;
/// Concurrent callers per thread.
const WORKERS: usize = 10;
/// The caller's outer deadline: far beyond any call's longest legitimate
/// run (about 150 ms); a call still running then has hung.
const OUTER_DEADLINE: Duration = Duration::from_secs(10);
/// The share of calls the caller cancels, after 0–20 ms.
const CANCEL_CHANCE: f64 = 0.03;

/// How long the soak runs.
#[derive(Debug, Clone, Copy)]
struct Mode {
    name: &'static str,
    /// Keep going through flaky → outage → recovery cycles until this many
    /// calls were made ...
    calls: u64,
    /// ... and at least this many cycles ran.
    cycles: u32,
    flaky: Duration,
    /// Outages last at least this long, and until every breaker opened.
    outage: Duration,
    /// Recoveries last at least this long, and until every breaker closed.
    recovery: Duration,
    /// Give up on a phase's condition after this long.
    phase_cap: Duration,
    /// Give up on the whole run after this long.
    time_cap: Duration,
}

impl Mode {
    fn from_env() -> Mode {
        let long = std::env::var("STEADFAST_SOAK").is_ok_and(|v| v == "long");
        let mut mode = if long {
            Mode {
                name: "long",
                calls: 100_000,
                cycles: 3,
                flaky: Duration::from_secs(3),
                outage: Duration::from_secs(1),
                recovery: Duration::from_secs(1),
                phase_cap: Duration::from_secs(20),
                time_cap: Duration::from_secs(1800),
            }
        } else {
            Mode {
                name: "short",
                calls: 2_000,
                cycles: 2,
                flaky: Duration::from_millis(700),
                outage: Duration::from_millis(300),
                recovery: Duration::from_millis(300),
                phase_cap: Duration::from_secs(10),
                time_cap: Duration::from_secs(60),
            }
        };
        if let Some(calls) = std::env::var("STEADFAST_SOAK_CALLS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
        {
            mode.calls = calls;
        }
        mode
    }
}

/// How the calls of one function ended.
#[derive(Debug, Clone, Copy, Default)]
struct FnTally {
    calls: u64,
    ok: u64,
    fallback: u64,
    status_5xx: u64,
    status_429: u64,
    reset: u64,
    transport: u64,
    timeout: u64,
    circuit_open: u64,
    bulkhead_full: u64,
    cancelled: u64,
    panicked: u64,
    hung: u64,
    attempts: u64,
}

impl FnTally {
    fn add(&mut self, other: &FnTally) {
        self.calls += other.calls;
        self.ok += other.ok;
        self.fallback += other.fallback;
        self.status_5xx += other.status_5xx;
        self.status_429 += other.status_429;
        self.reset += other.reset;
        self.transport += other.transport;
        self.timeout += other.timeout;
        self.circuit_open += other.circuit_open;
        self.bulkhead_full += other.bulkhead_full;
        self.cancelled += other.cancelled;
        self.panicked += other.panicked;
        self.hung += other.hung;
        self.attempts += other.attempts;
    }

    fn body_errors(&self) -> u64 {
        self.status_5xx + self.status_429 + self.reset + self.transport
    }

    fn rejected(&self) -> u64 {
        self.timeout + self.circuit_open + self.bulkhead_full
    }

    /// Every call lands in exactly one bucket.
    fn classified(&self) -> u64 {
        self.ok
            + self.fallback
            + self.body_errors()
            + self.rejected()
            + self.cancelled
            + self.panicked
            + self.hung
    }
}

/// How every call ended, per function, with what looked wrong.
#[derive(Debug, Default)]
struct Tally {
    per_fn: [FnTally; Func::ALL.len()],
    checks: u64,
    violations: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (mine, theirs) in self.per_fn.iter_mut().zip(&other.per_fn) {
            mine.add(theirs);
        }
        self.checks += other.checks;
        self.violations.extend(other.violations);
    }

    fn total(&self) -> FnTally {
        let mut total = FnTally::default();
        for t in &self.per_fn {
            total.add(t);
        }
        total
    }

    fn violation(&mut self, message: String) {
        if self.violations.len() < 50 {
            self.violations.push(message);
        }
    }

    /// Classifies one call's end and checks it against its function's stack.
    fn record(&mut self, func: Func, ended: Ended, tries: u32, cancelling: bool) {
        let name = func.name();
        let t = &mut self.per_fn[func.index()];
        t.calls += 1;
        t.attempts += u64::from(tries);
        let mut problems = Vec::new();
        self.checks += 2;
        if tries > func.max_tries() {
            problems.push(format!(
                "{name}: {tries} attempts, at most {} allowed",
                func.max_tries()
            ));
        }
        match ended {
            Ended::DeadlinePassed if cancelling => t.cancelled += 1,
            Ended::DeadlinePassed => {
                t.hung += 1;
                problems.push(format!(
                    "{name}: still running at the caller's outer deadline ({OUTER_DEADLINE:?})"
                ));
            }
            Ended::Panicked(payload) => {
                if payload.is::<InjectedPanic>() {
                    t.panicked += 1;
                } else {
                    problems.push(format!(
                        "{name}: unexpected panic {}",
                        panic_message(&*payload)
                    ));
                }
            }
            Ended::Returned(Ok(Reply::Live(_))) => t.ok += 1,
            Ended::Returned(Ok(Reply::Cached)) => {
                t.fallback += 1;
                if !func.has_fallback() {
                    problems.push(format!("{name}: a fallback answer without #[fallback]"));
                }
            }
            Ended::Returned(Err(error)) => match error {
                CallError::Status(429) => t.status_429 += 1,
                CallError::Status(500..=599) => t.status_5xx += 1,
                CallError::Status(status) => {
                    problems.push(format!("{name}: HTTP {status}, never sent"));
                }
                CallError::Reset => t.reset += 1,
                CallError::Transport(_) => t.transport += 1,
                CallError::Rejected(rejected) => match rejected {
                    Rejected::Timeout { after, .. } => {
                        t.timeout += 1;
                        if after != func.timeout() {
                            problems.push(format!(
                                "{name}: Timeout after {after:?}, its #[timeout] is {:?}",
                                func.timeout()
                            ));
                        }
                    }
                    Rejected::CircuitOpen { name: breaker, .. } => {
                        t.circuit_open += 1;
                        if Some(breaker) != func.breaker() {
                            problems.push(format!("{name}: CircuitOpen from {breaker}"));
                        }
                    }
                    Rejected::BulkheadFull { name: bulkhead, .. } => {
                        t.bulkhead_full += 1;
                        if Some(bulkhead) != func.bulkhead() {
                            problems.push(format!("{name}: BulkheadFull from {bulkhead}"));
                        }
                    }
                    other => problems.push(format!("{name}: unknown rejection {other:?}")),
                },
            },
        }
        for problem in problems {
            self.violation(problem);
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string payload>".into())
}

/// What the callers share with the test.
#[derive(Debug, Default)]
struct Control {
    stop: AtomicBool,
    calls: AtomicU64,
}

/// One caller thread: `WORKERS` concurrent callers on a current-thread
/// runtime, until told to stop.
fn caller_thread(server: std::net::SocketAddr, control: Arc<Control>) -> Tally {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("caller runtime");
    runtime.block_on(async move {
        let http = Arc::new(Http::new(server));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..WORKERS {
            workers.spawn(worker(Arc::clone(&http), Arc::clone(&control)));
        }
        let mut tally = Tally::default();
        while let Some(joined) = workers.join_next().await {
            match joined {
                Ok(worker) => tally.add(worker),
                Err(error) => tally.violation(format!("a caller task failed: {error}")),
            }
        }
        tally
    })
}

async fn worker(http: Arc<Http>, control: Arc<Control>) -> Tally {
    let mut tally = Tally::default();
    while !control.stop.load(Ordering::Relaxed) {
        let func = Func::ALL[rand::random_range(0..Func::ALL.len())];
        let cancelling = rand::random_bool(CANCEL_CHANCE);
        let deadline = if cancelling {
            Duration::from_micros(rand::random_range(0..20_000))
        } else {
            OUTER_DEADLINE
        };
        let (ended, tries) = client::call(&http, func, deadline).await;
        tally.record(func, ended, tries, cancelling);
        control.calls.fetch_add(1, Ordering::Relaxed);
        // Fast rejections complete without waiting: let the others run.
        if rand::random_bool(0.2) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    tally
}

/// One phase, as it went.
#[derive(Debug)]
struct PhaseLog {
    phase: &'static str,
    cycle: u32,
    lasted: Duration,
    calls: u64,
    /// Breaker transitions during the phase, per breaker.
    moves: [Moves; BREAKERS.len()],
}

/// Runs the phases: `mode.cycles` (or more, until `mode.calls`) cycles of
/// flaky → outage → recovery, then a final healthy phase without panics
/// until every breaker is closed. Errors name the condition that never came.
fn drive(
    mode: &Mode,
    server: &Server,
    control: &Control,
    log: &mut Vec<PhaseLog>,
) -> Result<(), String> {
    let start = Instant::now();
    let mut cycle = 0;
    let phase = |log: &mut Vec<PhaseLog>,
                 name: &'static str,
                 cycle: u32,
                 phase: Phase,
                 min: Duration,
                 done: &dyn Fn(&[Moves; BREAKERS.len()], &Health) -> bool|
     -> Result<(), String> {
        server.shared.set_phase(phase);
        let began = Instant::now();
        let calls = control.calls.load(Ordering::SeqCst);
        let before = watch::moves();
        loop {
            thread::sleep(Duration::from_millis(5));
            let now = watch::moves();
            let since: [Moves; BREAKERS.len()] = std::array::from_fn(|i| Moves {
                opened: now[i].opened - before[i].opened,
                half_opened: now[i].half_opened - before[i].half_opened,
                closed: now[i].closed - before[i].closed,
            });
            let lasted = began.elapsed();
            if lasted >= min && done(&since, &steadfast::health()) {
                log.push(PhaseLog {
                    phase: name,
                    cycle,
                    lasted,
                    calls: control.calls.load(Ordering::SeqCst) - calls,
                    moves: since,
                });
                return Ok(());
            }
            if lasted > mode.phase_cap || start.elapsed() > mode.time_cap {
                return Err(format!(
                    "{name} phase of cycle {cycle}: its condition did not hold after {lasted:?}; \
                     transitions during it {since:?}; health {:#?}",
                    steadfast::health()
                ));
            }
        }
    };
    let always = |_: &[Moves; BREAKERS.len()], _: &Health| true;
    let every_breaker_opened =
        |since: &[Moves; BREAKERS.len()], _: &Health| since.iter().all(|m| m.opened > 0);
    let every_breaker_closed =
        |since: &[Moves; BREAKERS.len()], _: &Health| since.iter().all(|m| m.closed > 0);
    let all_closed_now = |_: &[Moves; BREAKERS.len()], health: &Health| {
        BREAKERS.iter().all(|spec| {
            health
                .breakers
                .iter()
                .any(|b| b.name == spec.name && b.state == State::Closed)
        })
    };
    PANICS.store(true, Ordering::SeqCst);
    while cycle < mode.cycles || control.calls.load(Ordering::SeqCst) < mode.calls {
        cycle += 1;
        phase(log, "flaky", cycle, Phase::Flaky, mode.flaky, &always)?;
        phase(
            log,
            "outage",
            cycle,
            Phase::Outage,
            mode.outage,
            &every_breaker_opened,
        )?;
        phase(
            log,
            "recovery",
            cycle,
            Phase::Healthy,
            mode.recovery,
            &every_breaker_closed,
        )?;
    }
    PANICS.store(false, Ordering::SeqCst);
    phase(
        log,
        "final",
        cycle,
        Phase::Healthy,
        mode.recovery,
        &all_closed_now,
    )
}

/// With the callers stopped: calls, one at a time and without faults, through
/// any breaker a last in-flight call left open, until every breaker is
/// closed (normally there is none to call).
fn settle(server: &Server, tally: &mut Tally) -> Result<u64, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("settle runtime");
    runtime.block_on(async {
        let http = Http::new(server.addr);
        let began = Instant::now();
        let mut calls = 0;
        loop {
            let health = steadfast::health();
            let open: Vec<&str> = health
                .breakers
                .iter()
                .filter(|b| b.state != State::Closed)
                .map(|b| b.name)
                .collect();
            if open.is_empty() {
                return Ok(calls);
            }
            if began.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "breakers {open:?} stayed open after the soak: {health:#?}"
                ));
            }
            for name in open {
                let func = Func::through(name);
                let (ended, tries) = client::call(&http, func, OUTER_DEADLINE).await;
                tally.record(func, ended, tries, false);
                calls += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// Silences the panics the bodies raise on purpose; any other panic is
/// reported as usual.
fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<InjectedPanic>() {
                default(info);
            }
        }));
    });
}

/// Waits for a thread, at most `limit`: a thread that does not end has hung.
fn join_within<T>(handle: thread::JoinHandle<T>, limit: Duration, what: &str) -> T {
    let began = Instant::now();
    while !handle.is_finished() {
        assert!(
            began.elapsed() < limit,
            "{what} did not finish within {limit:?}: a call hung past its deadlines"
        );
        thread::sleep(Duration::from_millis(5));
    }
    match handle.join() {
        Ok(value) => value,
        Err(payload) => panic!("{what} panicked: {}", panic_message(&*payload)),
    }
}

#[test]
fn soak_real_http_faults_outages_cancellations_and_panics() {
    let mode = Mode::from_env();
    watch::install_recorder();
    quiet_injected_panics();
    MAIN_BREAKER.register();
    MAIN_POOL.register();

    let began = Instant::now();
    let server = server::start(Phase::Healthy);
    let control = Arc::new(Control::default());
    let watcher = Arc::new(Watcher::default());
    let watching = {
        let watcher = Arc::clone(&watcher);
        thread::Builder::new()
            .name("soak-watcher".into())
            .spawn(move || watcher.run())
            .expect("spawn the watcher")
    };
    let callers: Vec<_> = (0..THREADS)
        .map(|i| {
            let control = Arc::clone(&control);
            let addr = server.addr;
            thread::Builder::new()
                .name(format!("soak-caller-{i}"))
                .spawn(move || caller_thread(addr, control))
                .expect("spawn a caller thread")
        })
        .collect();

    let mut log = Vec::new();
    let driven = drive(&mode, &server, &control, &mut log);
    control.stop.store(true, Ordering::SeqCst);
    let mut tally = Tally::default();
    for (i, caller) in callers.into_iter().enumerate() {
        tally.add(join_within(
            caller,
            OUTER_DEADLINE * 2,
            &format!("caller thread {i}"),
        ));
    }
    let soak_calls = tally.total().calls;
    let settled = match &driven {
        Ok(()) => settle(&server, &mut tally),
        Err(_) => Ok(0),
    };
    watcher.stop.store(true, Ordering::SeqCst);
    join_within(watching, Duration::from_secs(5), "the watcher");

    // The end state: nothing running, waiting or probing; every breaker closed.
    let health = steadfast::health();
    watcher.check(&health);
    let moves = watch::moves();
    let mut end_checks = 0;
    let mut end_problems = Vec::new();
    for spec in BULKHEADS {
        end_checks += 3;
        match health.bulkheads.iter().find(|b| b.name == spec.name) {
            None => end_problems.push(format!("bulkhead {} is not in health()", spec.name)),
            Some(b) if b.running != 0 || b.waiting != 0 => {
                end_problems.push(format!("bulkhead {} leaked: {b:?}", spec.name));
            }
            Some(_) => {}
        }
        if spec.live.now() != 0 {
            end_problems.push(format!(
                "{} bodies still inside bulkhead {}",
                spec.live.now(),
                spec.name
            ));
        }
        if spec.live.peak() > spec.max_concurrent {
            end_problems.push(format!(
                "bulkhead {}: {} bodies ran at once, limit {}",
                spec.name,
                spec.live.peak(),
                spec.max_concurrent
            ));
        }
    }
    for (i, spec) in BREAKERS.iter().enumerate() {
        end_checks += 3;
        match health.breakers.iter().find(|b| b.name == spec.name) {
            None => end_problems.push(format!("breaker {} is not in health()", spec.name)),
            Some(b) => {
                if b.probes_in_flight != 0 || b.state != State::Closed {
                    end_problems.push(format!("breaker {} not closed and idle: {b:?}", spec.name));
                }
                if u64::from(b.transitions) != moves[i].total() {
                    end_problems.push(format!(
                        "breaker {}: health() counts {} transitions, events say {:?}",
                        spec.name, b.transitions, moves[i]
                    ));
                }
            }
        }
    }
    let total = tally.total();
    let server_tally = server.shared.tally();
    end_checks += 4;
    if total.classified() != total.calls {
        end_problems.push(format!(
            "{} calls, {} classified",
            total.calls,
            total.classified()
        ));
    }
    let raised = PANICS_RAISED.load(Ordering::SeqCst);
    if total.panicked != raised {
        end_problems.push(format!(
            "{raised} panics raised in bodies, {} reached the callers",
            total.panicked
        ));
    }
    if server_tally.of(Fault::Reset) > 0 && total.reset == 0 && total.fallback == 0 {
        end_problems.push("the server reset connections, no caller saw a reset".into());
    }
    if soak_calls < mode.calls {
        end_problems.push(format!("{soak_calls} calls, {} wanted", mode.calls));
    }

    let report = report(&Report {
        mode: &mode,
        elapsed: began.elapsed(),
        tally: &tally,
        soak_calls,
        settle_calls: *settled.as_ref().unwrap_or(&0),
        server: &server_tally,
        log: &log,
        watcher: &watcher,
        moves: &moves,
        health: &health,
        end_checks,
    });
    eprintln!("{report}");

    drop(server);
    if let Err(error) = driven {
        panic!("{error}");
    }
    if let Err(error) = settled {
        panic!("{error}");
    }
    let watcher_violations = watcher.violations.lock().unwrap();
    assert!(
        tally.violations.is_empty() && watcher_violations.is_empty() && end_problems.is_empty(),
        "the soak found problems:\ncalls: {:#?}\nwatcher: {:#?}\nend: {:#?}",
        tally.violations,
        *watcher_violations,
        end_problems
    );
}

struct Report<'a> {
    mode: &'a Mode,
    elapsed: Duration,
    tally: &'a Tally,
    soak_calls: u64,
    settle_calls: u64,
    server: &'a server::ServerTally,
    log: &'a [PhaseLog],
    watcher: &'a Watcher,
    moves: &'a [Moves; BREAKERS.len()],
    health: &'a Health,
    end_checks: u64,
}

fn report(r: &Report<'_>) -> String {
    let mut out = String::new();
    let t = r.tally.total();
    let s = r.server;
    let _ = writeln!(
        out,
        "\n== steadfast soak ({} mode): {} calls from {THREADS} threads x {WORKERS} callers \
         (+{} settle calls) in {:.2?} ==",
        r.mode.name, r.soak_calls, r.settle_calls, r.elapsed
    );
    let _ = writeln!(
        out,
        "outcomes: ok {} | body error {} (5xx {}, 429 {}, reset {}, other transport {}) | \
         rejected {} (timeout {}, circuit open {}, bulkhead full {}) | fallback {} | \
         cancelled {} | panicked {} | hung {}",
        t.ok,
        t.body_errors(),
        t.status_5xx,
        t.status_429,
        t.reset,
        t.transport,
        t.rejected(),
        t.timeout,
        t.circuit_open,
        t.bulkhead_full,
        t.fallback,
        t.cancelled,
        t.panicked,
        t.hung
    );
    let _ = writeln!(
        out,
        "bodies run (attempts): {}; fallback handler ran {} times; panics raised {}",
        t.attempts,
        FALLBACK_RUNS.load(Ordering::SeqCst),
        PANICS_RAISED.load(Ordering::SeqCst)
    );
    let _ = writeln!(
        out,
        "{:<8} {:>7} {:>7} {:>6} {:>6} {:>5} {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>5} {:>4}",
        "fn",
        "calls",
        "ok",
        "fallbk",
        "5xx",
        "429",
        "reset",
        "transp",
        "timeout",
        "open",
        "full",
        "cancel",
        "panic",
        "hung"
    );
    for func in Func::ALL {
        let f = &r.tally.per_fn[func.index()];
        let _ = writeln!(
            out,
            "{:<8} {:>7} {:>7} {:>6} {:>6} {:>5} {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>5} {:>4}",
            func.name(),
            f.calls,
            f.ok,
            f.fallback,
            f.status_5xx,
            f.status_429,
            f.reset,
            f.transport,
            f.timeout,
            f.circuit_open,
            f.bulkhead_full,
            f.cancelled,
            f.panicked,
            f.hung
        );
    }
    let faults: Vec<String> = Fault::ALL
        .iter()
        .map(|f| format!("{} {}", f.name(), s.of(*f)))
        .collect();
    let _ = writeln!(
        out,
        "server: {} requests ({} during outages); by fault: {}; handlers still live {}, hanging {}",
        s.requests(),
        s.outage,
        faults.join(", "),
        s.live,
        s.hanging
    );
    let _ = writeln!(
        out,
        "invariant checks: {} per call, {} in {} health() samples, {} at the end",
        r.tally.checks,
        r.watcher.checks.load(Ordering::SeqCst),
        r.watcher.samples.load(Ordering::SeqCst),
        r.end_checks
    );
    let peaks = *r.watcher.peaks.lock().unwrap();
    for (spec, (running, waiting)) in BULKHEADS.iter().zip(peaks) {
        let _ = writeln!(
            out,
            "bulkhead {:<18} bodies at once: peak {} / max_concurrent {}; health(): running peak {}, \
             waiting peak {} / max_queue {}; bodies run {}",
            spec.name,
            spec.live.peak(),
            spec.max_concurrent,
            running,
            waiting,
            spec.max_queue,
            spec.live.entered()
        );
    }
    let seen = *r.watcher.breakers.lock().unwrap();
    for ((spec, moves), seen) in BREAKERS.iter().zip(r.moves).zip(seen) {
        let end = r
            .health
            .breakers
            .iter()
            .find(|b| b.name == spec.name)
            .map_or("missing", |b| b.state.as_str());
        let _ = writeln!(
            out,
            "breaker {:<14} opened {}, half-opened {}, closed {} (transitions {}); probes peak {} / {}; \
             samples open {} half-open {} closed {}; at the end {end}",
            spec.name,
            moves.opened,
            moves.half_opened,
            moves.closed,
            moves.total(),
            seen.max_probes,
            spec.half_open_probes,
            seen.samples_open,
            seen.samples_half_open,
            seen.samples_closed
        );
    }
    let _ = writeln!(out, "phases:");
    for p in r.log {
        let moves: Vec<String> = BREAKERS
            .iter()
            .zip(&p.moves)
            .map(|(b, m)| format!("{} +{}o/+{}c", b.name, m.opened, m.closed))
            .collect();
        let _ = writeln!(
            out,
            "  cycle {} {:<8} {:>9.2?} {:>7} calls  {}",
            p.cycle,
            p.phase,
            p.lasted,
            p.calls,
            moves.join("  ")
        );
    }
    out
}

/// The harness itself: each fault the server injects reaches a plain HTTP
/// client as intended (a reset is an `ECONNRESET`, a hang never answers and
/// its handler goes away with the connection).
#[test]
fn injected_faults_reach_the_client_as_intended() {
    let server = server::start(Phase::Healthy);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let http = Http::new(server.addr);
        for _ in 0..20 {
            let answer = http.get("/", None).await;
            assert!(answer.is_ok(), "{answer:?}");
            let slow = http.get("/", Some("slow")).await;
            assert!(slow.is_ok(), "{slow:?}");
            let error = http.get("/", Some("error")).await;
            assert!(
                matches!(error, Err(CallError::Status(500 | 503))),
                "{error:?}"
            );
            let throttled = http.get("/", Some("throttle")).await;
            assert!(
                matches!(throttled, Err(CallError::Status(429))),
                "{throttled:?}"
            );
            let reset = http.get("/", Some("reset")).await;
            assert!(matches!(reset, Err(CallError::Reset)), "{reset:?}");
        }
        for _ in 0..5 {
            let hang = tokio::time::timeout(Duration::from_millis(50), http.get("/", Some("hang")));
            assert!(hang.await.is_err(), "a hanging request answered");
        }
        // The client closed those connections; the server drops the handlers.
        let began = Instant::now();
        while server.shared.tally().hanging != 0 {
            assert!(
                began.elapsed() < Duration::from_secs(5),
                "hanging handlers outlived their connections: {:?}",
                server.shared.tally()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let tally = server.shared.tally();
    assert_eq!(tally.of(Fault::Reset), 20);
    assert_eq!(tally.of(Fault::Hang), 5);
}
