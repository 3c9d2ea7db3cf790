//! # Operating steadfast
//!
//! What the policies report while they work, and the handles to step in: the
//! `tracing` events, the `metrics` (cargo feature `metrics`), the
//! [`health()`](crate::health()) snapshot and manual control of breakers;
//! then the lifecycle of a service in production: state that survives a
//! restart, health checks that act, chaos experiments and graceful
//! shutdown.
//!
//! ## Running it in production
//!
//! A service's life with steadfast, in order; each step has a section below.
//!
//! 1. **At startup, before traffic**: restore the breakers' state that the
//!    last process saved ([`snapshot::restore`](crate::snapshot::restore)),
//!    so that a dependency that was failing is not hammered by the new
//!    process.
//!    Then apply the operators' overrides of any named policy's settings
//!    ([`config::apply`](crate::config::apply), from a file and the
//!    environment with the feature `config`), checked with the attributes'
//!    own rules before anything changes.
//! 2. **Health checks**: start the probes of your dependencies
//!    ([`HealthCheck::start`](crate::health::HealthCheck::start), or
//!    [`health::start_checks()`](crate::health::start_checks) for the
//!    `#[health_check]` ones) and serve `/health/live` and `/health/ready`
//!    (feature `axum`: `health::axum::routes()`):
//!    a failing dependency takes the replica out of the load balancer, and
//!    can hold its breaker open, but never gets the process restarted.
//! 3. **While running**: `health()` and the events show every policy; the
//!    manual controls and `#[chaos]` (feature `chaos`, for game days) act by
//!    name.
//! 4. **On SIGTERM**: [`shutdown(deadline)`](crate::shutdown()) refuses new
//!    calls with `Rejected::ShuttingDown`, sends waiters away, ends retry
//!    delays, drains the calls in flight up to the deadline and reports;
//!    then save the breakers' state ([`snapshot::take`](crate::snapshot::take)).
//!
//! ```
//! use std::time::Duration;
//! use steadfast::health::HealthCheck;
//! use steadfast::{bulkhead, circuit_breaker};
//!
//! #[circuit_breaker(name = "orders-db")]
//! #[bulkhead(max_concurrent = 4, name = "orders-pool")]
//! async fn load_order(id: u64) -> std::io::Result<u64> {
//!     Ok(id)
//! }
//!
//! static ORDERS_DB: HealthCheck = HealthCheck::builder("orders-db-check")
//!     .breaker("orders-db")
//!     .build();
//!
//! async fn ping_orders_db() -> std::io::Result<()> {
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! // 1. The state the last process saved (read from disk; none here).
//! let saved: Option<String> = None;
//! if let Some(json) = saved {
//!     let snapshot: steadfast::snapshot::Snapshot = serde_json::from_str(&json).unwrap();
//!     let report = steadfast::snapshot::restore(&snapshot).unwrap();
//!     assert!(report.unknown.is_empty(), "breakers renamed since: {:?}", report.unknown);
//! }
//! // ... and the operators' overrides (from a file and the environment with
//! // the feature `config`: `Overrides::from_file`, `Overrides::from_env`).
//! let mut overrides = steadfast::config::Overrides::new();
//! overrides.set(steadfast::config::PolicyKind::Breakers, "orders-db", "failure_ratio", "0.3");
//! steadfast::config::apply(&overrides).expect("valid overrides");
//!
//! // 2. Health checks, and the endpoints (merge these routes into your router
//! //    and serve it with `.with_graceful_shutdown(steadfast::shutdown::begun())`).
//! let checks = ORDERS_DB.start(ping_orders_db);
//! let _routes: axum::Router = steadfast::health::axum::routes();
//! tokio::time::sleep(Duration::from_millis(10)).await;
//! assert!(steadfast::health().ready());
//!
//! // 3. Traffic.
//! assert_eq!(load_order(7).await.unwrap(), 7);
//!
//! // 4. On SIGTERM: drain, report, save.
//! let report = steadfast::shutdown(Duration::from_secs(10)).await;
//! assert_eq!(report.still_running, 0);
//! assert!(load_order(8).await.is_err(), "new calls are refused");
//! let json = serde_json::to_string(&steadfast::snapshot::take()).unwrap();
//! assert!(json.contains("orders-db"));
//! checks.abort();
//! # }
//! ```
//!
//! ## Events
//!
//! Every policy emits `tracing` events under a stable target; filter with
//! `RUST_LOG=steadfast=debug` (or `steadfast::circuit_breaker=info`). An
//! event whose level nobody listens to costs one relaxed load.
//!
//! | target | level | message | fields |
//! |---|---|---|---|
//! | `steadfast::retry` | DEBUG | `retrying after a failed attempt` | `policy`, `attempt` (the one that failed, from 1), `delay` (before the next), `error` |
//! | `steadfast::retry` | DEBUG | `not retrying` | `policy`, `attempts`, `reason` (`not_retryable`, `attempts_exhausted`, `budget_exhausted` (past `max_elapsed`), `hint_too_long`), `error` |
//! | `steadfast::retry` | DEBUG | `not retrying` (a spent [`RetryBudget`](crate::RetryBudget)) | `policy`, `attempts`, `reason` = `budget_spent`, `budget` (the budget's name), `error` |
//! | `steadfast::retry` | WARN | `two retry budgets share a name` | `policy` (the budgets' name) |
//! | `steadfast::hedge` | DEBUG | `retry budget spent: no further hedged copy` | `budget` (the budget's name), `copies` (started so far) |
//! | `steadfast::timeout` | DEBUG | `call timed out` | `policy`, `after` |
//! | `steadfast::circuit_breaker` | WARN | `circuit breaker opened` | `policy`, `from`, `to` |
//! | `steadfast::circuit_breaker` | INFO | `circuit breaker half-open`, `circuit breaker closed` | `policy`, `from`, `to` |
//! | `steadfast::circuit_breaker` | DEBUG | `call rejected` | `policy`, `rejection` = `circuit_open` |
//! | `steadfast::bulkhead` | DEBUG | `call rejected` | `policy`, `rejection` = `bulkhead_full` |
//! | `steadfast::rate_limit` | DEBUG | `call rejected` | `policy`, `rejection` = `rate_limited`, `retry_after` |
//! | `steadfast::circuit_breaker` | WARN | `two circuit breakers share a name` | `policy` |
//! | `steadfast::bulkhead` | WARN | `two bulkheads share a name` | `policy` |
//! | `steadfast::rate_limit` | WARN | `two rate limiters share a name` | `policy` |
//! | `steadfast::rate_limit` | WARN | `store failed` (a shared limiter's store failed, timed out or answered garbage) | `policy`, `error`, `then` (`local`, `open`, `closed`: its `on_store_error`) |
//! | `steadfast::rate_limit` | INFO | `store recovered` (a shared limiter's store answers again after failing) | `policy` |
//! | `steadfast::rate_limit` | DEBUG | `call rejected` | `policy`, `rejection` = `store_unavailable` (a shared limiter failing closed) |
//! | `steadfast::circuit_breaker` | WARN | `store failed` (a shared breaker's store failed, timed out or answered garbage; once per outage) | `policy`, `error`, `then` (`local`, `open`, `closed`: its `on_store_error`) |
//! | `steadfast::circuit_breaker` | INFO | `store recovered` (a shared breaker's store answers again) | `policy` |
//! | `steadfast::circuit_breaker` | DEBUG | `call rejected` | `policy`, `rejection` = `store_unavailable` (a shared breaker failing closed) |
//! | `steadfast::circuit_breaker` | WARN | `shared circuit breaker not registered: deciding locally (register it before its first call)` | `policy` |
//! | `steadfast::keyed` | WARN | `two keyed policies share a name` | `policy` |
//! | `steadfast::keyed` | WARN | `keyed policy is full of calls in flight: a key is served by the shared overflow state` (at the 1st, 2nd, 4th, 8th… overflow) | `policy`, `overflows`, `max_keys` |
//! | `steadfast::fallback` | DEBUG | `fallback applied` | `policy`, `error` |
//! | `steadfast::health` | DEBUG | `health check failed` (a probe, or a reported result) | `policy`, `error` |
//! | `steadfast::health` | WARN | `health check down` | `policy`, `failures`, `error` |
//! | `steadfast::health` | INFO | `health check up` (a down check recovered) | `policy` |
//! | `steadfast::health` | WARN | `health check cannot hold its breaker open: no registered breaker has that name` | `policy`, `breaker` |
//! | `steadfast::health` | WARN | `two health checks share a name` | `policy` |
//! | `steadfast::retry` | DEBUG | `retry delay ended by shutdown` | `policy`, `attempts`, `reason` = `shutting_down` |
//! | `steadfast::config` | INFO | `override applied` (one per key and policy [`config::apply`](crate::config::apply) changed) | `kind`, `policy`, `key`, `value` |
//! | `steadfast::config` | WARN | `overrides refused` (`config::apply` changed nothing) | `problems`, `error` |
//! | `steadfast::shutdown` | INFO | `shutdown started` | |
//! | `steadfast::shutdown` | INFO | `shutdown drained` | `finished`, `still_running`, `timed_out` |
//! | `steadfast::shutdown` | DEBUG | `call rejected` | `policy`, `rejection` = `shutting_down` |
//!
//! `policy` is the policy's name: for an attribute, `module::fn`, or
//! `module::Type::fn` for a method, unless `name = "…"` gives one. `error` is the error's `Display`
//! where its type implements it (in a generic function, where that bound is
//! visible), else its type name. States are `closed`, `open`, `half_open`.
//!
//! ## Metrics
//!
//! With the `metrics` feature, the policies record through the
//! [`metrics`](https://docs.rs/metrics) facade into whatever recorder the
//! application installs (Prometheus exporter, StatsD, …). Names follow
//! MicroProfile Fault Tolerance's `ft.*` metrics and resilience4j's, in
//! Prometheus style. The feature is not free: each recorded value goes
//! through the recorder and builds its key on the way, which allocates the
//! label list (handles are not cached, so that a recorder installed late, or
//! one set per thread in tests, still sees every value). Without the feature
//! nothing is compiled in, and a successful call allocates nothing.
//!
//! | name | type | labels | recorded |
//! |---|---|---|---|
//! | `steadfast_retry_calls_total` | counter | `policy`, `retried`, `result` (`success`, `not_retryable`, `attempts_exhausted`, `budget_exhausted` (past `max_elapsed`), `budget_spent` (a spent retry budget), `hint_too_long`) | once per call |
//! | `steadfast_retry_retries_total` | counter | `policy` | per retry |
//! | `steadfast_retry_budget_spent_total` | counter | `budget` (the retry budget's name) | per retry, or hedged copy (`#[hedge(budget = …)]`), a spent budget refused |
//! | `steadfast_timeout_calls_total` | counter | `policy`, `timed_out` | per call (per attempt under `#[retry]`) |
//! | `steadfast_timeout_duration_seconds` | histogram | `policy` | per call that waited |
//! | `steadfast_circuit_breaker_calls_total` | counter | `policy`, `result` (`success`, `failure`, `ignored`, `rejected`) | per call |
//! | `steadfast_circuit_breaker_state` | gauge | `policy`, `state`: 1 for the current state, 0 for the others | per transition |
//! | `steadfast_circuit_breaker_opened_total` | counter | `policy` | per transition to open |
//! | `steadfast_bulkhead_calls_total` | counter | `policy`, `result` (`accepted`, `rejected`) | per call |
//! | `steadfast_bulkhead_running`, `steadfast_bulkhead_waiting` | gauge | `policy` | as slots and places change |
//! | `steadfast_rate_limit_calls_total` | counter | `policy`, `result` (`admitted` at once, `waited` for a reserved turn, `rejected`) | per call |
//! | `steadfast_fallback_calls_total` | counter | `policy`, `applied` | per error reaching a `#[fallback]` |
//!
//! ## Health
//!
//! [`health()`](crate::health()) lists every circuit breaker, bulkhead and
//! rate limiter:
//! an attribute's own from the start of the process, before its first call;
//! a `static` named with `shared = …` from its first call (list it earlier
//! with its `register()`; a policy owned by an instance, `shared =
//! self.breaker`, is not listed, since it may be dropped); with state, state
//! changes, window counts, probes, time in state, running and waiting calls,
//! a limiter's settings and the calls it would admit at once. Keyed policies
//! (`key = …`) are listed once each under `keyed`, from startup: their kind,
//! key count, `max_keys`, overflows, and every key whose breaker is not
//! closed. Retry budgets named with `#[retry(budget = PATH)]` or
//! `#[hedge(budget = PATH)]` (or registered with their `register()`) are
//! listed under `budgets` from their first call, or from startup with
//! `register_retry_budget!`: settings, retries available now, first
//! attempts and retries in the window, retries (and hedged copies) refused
//! so far. With the `serde` feature it
//! serializes to the JSON documented on [`health()`](crate::health()) (stable
//! field names; durations are whole milliseconds, `in_state_for_ms`); here
//! is an axum handler serving it:
//!
//! ```
//! use axum::{Router, http::header, response::IntoResponse, routing::get};
//!
//! async fn health() -> impl IntoResponse {
//!     let body = serde_json::to_string(&steadfast::health()).expect("plain data");
//!     ([(header::CONTENT_TYPE, "application/json")], body)
//! }
//!
//! let app: Router = Router::new().route("/health/resilience", get(health));
//! # let _ = app;
//! ```
//!
//! ## Names
//!
//! One name is one policy. Two breakers (or two bulkheads, or two rate
//! limiters) registered under
//! one name — two `name = "payments"` attributes on different functions, say —
//! are reported, never silently merged: a WARN event names it when the second
//! one registers (at startup, or at the latest on its first call), both carry
//! `duplicate_name: true` in [`health()`](crate::health()), and the controls
//! below reach both. To share one breaker between functions, declare it once
//! and name it with `shared = …`.
//!
//! ## Manual control
//!
//! [`health::breaker(name)`](crate::health::breaker) finds the registered
//! breakers called `name` (one, unless the name is duplicated);
//! [`force_open`](crate::health::Breakers::force_open) holds them open
//! (maintenance, or shedding a dependency by hand),
//! [`force_closed`](crate::health::Breakers::force_closed) keeps them closed
//! whatever happens, and [`reset`](crate::health::Breakers::reset) returns
//! them to normal, closed with a fresh window;
//! [`only`](crate::health::Breakers::only) gives the one breaker to read. A
//! `static` breaker can be driven the same way directly.
//! [`health::reset_all()`](crate::health::reset_all) resets every registered
//! breaker, for tests that share them.
//!
//! ```
//! use steadfast::circuit_breaker;
//!
//! #[circuit_breaker(name = "payments")]
//! async fn charge(cents: u64) -> std::io::Result<u64> {
//!     Ok(cents)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! charge(1).await.unwrap();
//! let payments = steadfast::health::breaker("payments").unwrap();
//! payments.force_open();
//! assert!(charge(1).await.is_err());
//! payments.reset();
//! assert!(charge(1).await.is_ok());
//! # }
//! ```
//!
//! ## State that survives a restart
//!
//! [`snapshot::take()`](crate::snapshot::take) records every registered
//! breaker — state, an operator's hold, time left open, window counts, run of
//! failures — and [`snapshot::restore`](crate::snapshot::restore) puts it back
//! in the next process, before traffic: a dependency that was failing when a
//! deploy restarted the service is not hammered by the new one. No `Instant`
//! crosses processes: the snapshot carries durations and the wall-clock time
//! it was taken (`taken_at_unix_ms`), so the time left open shrinks by the
//! snapshot's age, and a snapshot older than `open_for` restores an open
//! breaker closed. Holds survive whatever the age. Names that no longer
//! exist are reported, not fatal; a breaker shared through a store is left
//! to it; a snapshot of another version, or with an entry that contradicts
//! itself, is refused whole and changes nothing. The rules and the JSON
//! format (`"version": 1`, with the `serde` feature) are in the
//! [`snapshot`](crate::snapshot) module.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::circuit_breaker;
//!
//! #[circuit_breaker(name = "ledger", window = 2, open_for = "30s")]
//! async fn post(ok: bool) -> std::io::Result<()> {
//!     if ok { Ok(()) } else { Err(std::io::Error::other("503")) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let _ = post(false).await;
//! let _ = post(false).await;
//! // On shutdown (after draining): write the snapshot somewhere that
//! // outlives the process.
//! let json = serde_json::to_string(&steadfast::snapshot::take()).expect("plain data");
//!
//! // At the next start, before serving: read it back, restore, log the report.
//! # steadfast::health::reset_all(); // stands for the new process
//! let saved: steadfast::snapshot::Snapshot = serde_json::from_str(&json).expect("version 1");
//! let report = steadfast::snapshot::restore(&saved).expect("consistent");
//! assert!(report.unknown.is_empty());
//! let ledger = report.restored.iter().find(|b| b.name == "ledger").unwrap();
//! assert_eq!(ledger.state.as_str(), "open");
//! assert!(ledger.open_left <= Duration::from_secs(30), "less the snapshot's age");
//! assert!(post(true).await.is_err(), "still open for the time it had left");
//! tokio::time::advance(Duration::from_secs(30)).await;
//! assert!(post(true).await.is_ok(), "then it probes");
//! # }
//! ```
//! ## Health checks, readiness and liveness
//!
//! A [`HealthCheck`](crate::health::HealthCheck) probes a dependency on a
//! period and keeps a verdict: `pending` until its first success (or
//! `failures_to_act` failures), `down` after `failures_to_act` consecutive
//! failures, `up` again after `successes_to_release` consecutive successes.
//! Build it with its `const` builder in a `static`, and
//! [`start`](crate::health::HealthCheck::start) its loop on the runtime
//! (abort the returned handle to stop it). A probe is any
//! `async fn() -> Result<(), E>` with `E: Display`; one that takes longer
//! than `timeout` is dropped and counts as a failure, and so does one that
//! panics. Results known elsewhere (a pool's own errors) can be
//! [`report`](crate::health::HealthCheck::report)ed instead. Or declare the
//! check on the probe itself with
//! [`#[health_check(every = "5s", timeout = "1s", …)]`](macro@crate::health_check),
//! and start every declared check with one call,
//! [`health::start_checks()`](crate::health::start_checks).
//!
//! - **It acts.** With `.breaker("name")`, the check holds every registered
//!   breaker of that name open while it is down ([`force_open`](crate::CircuitBreaker::force_open)),
//!   so calls fail fast without each one waiting for its own timeout, and
//!   resets them when it is up again. It releases only its own hold: a
//!   breaker an operator held before, or changed after, stays as the
//!   operator left it.
//! - **Readiness, not liveness.** A check gates
//!   [`Health::ready`](crate::health::Health::ready) (unless
//!   `.gates_readiness(false)`): not ready while any gating check is pending
//!   or down. [`Health::live`](crate::health::Health::live) never depends on
//!   a dependency: a failing database should take a replica out of the load
//!   balancer, never get it restarted.
//! - **Reported.** Each started check is in `health().checks`, with its
//!   verdict, last success and failure (milliseconds ago), last error and
//!   consecutive counts (JSON on [`health()`](crate::health())).
//! - **Served.** With the cargo feature `axum`,
//!   `steadfast::health::axum::{liveness, readiness}` are handlers answering
//!   200, or 503 for readiness while not ready, with the body
//!   `{"live": …, "ready": …, "checks": […]}`;
//!   `steadfast::health::axum::routes()` mounts them at `/health/live` and
//!   `/health/ready`.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::circuit_breaker;
//! use steadfast::health::HealthCheck;
//!
//! #[circuit_breaker(name = "orders-db")]
//! async fn load_order(id: u64) -> std::io::Result<u64> {
//!     Ok(id)
//! }
//!
//! static ORDERS_DB: HealthCheck = HealthCheck::builder("orders-db")
//!     .every(Duration::from_secs(5))
//!     .timeout(Duration::from_secs(1))
//!     .failures_to_act(3)
//!     .successes_to_release(2)
//!     .breaker("orders-db")
//!     .build();
//!
//! async fn ping_orders_db() -> std::io::Result<()> {
//!     Err(std::io::Error::other("connection refused"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let probes = ORDERS_DB.start(ping_orders_db);
//! tokio::time::sleep(Duration::from_millis(10_010)).await; // probes at 0, 5 and 10 s
//! assert!(load_order(7).await.is_err(), "held open: fails fast");
//! let health = steadfast::health();
//! assert!(!health.ready() && health.live());
//! # probes.abort();
//! # }
//! ```
//!
//! ## Chaos: injecting faults
//!
//! `#[chaos]` ([the attribute](macro@crate::chaos)) injects errors and
//! latency into a function, each with a rate, to prove in tests and game
//! days that the policies around it do their work: written below a
//! `#[retry]`, `#[circuit_breaker]` or `#[timeout]`, the injected faults
//! reach them exactly as real ones. It is **compiled to nothing unless the
//! cargo feature `chaos` is on**: build the game-day binary (or the test
//! run) with `--features steadfast/chaos`, and the production build carries
//! no trace of it.
//!
//! With the feature, the `steadfast::chaos` module steps in at run time, by
//! policy name (`name = "…"`, default `module::fn`): `set(name, Settings {
//! enabled, error_rate, latency, latency_rate })` retunes every policy of
//! that name, `enable(name)` / `disable(name)` switch them (an attribute
//! with `enabled = false` waits for the switch), `settings(name)` reads them
//! back, and `injected(name)` counts the faults injected so far (errors and
//! latencies), for the game day's report. A call made before the policy first ran applies when it does.
//! `health()` lists, under `chaos`, every name a `#[chaos]` policy has run
//! under, with its live settings and injected counts, so that a dashboard
//! shows when faults are being injected.
//! `seed(u64)` makes the faults reproducible: the same seed gives each name
//! the same sequence of faults (`seed_in_use()` tells the seed picked at
//! random otherwise, to replay a run). Injected latency is tokio time, so
//! a paused-clock test sees it exactly. Each injected fault is a `DEBUG`
//! event (target `steadfast::chaos`, message `fault injected`, fields
//! `policy`, `fault` = `error` or `latency`, `latency`).
//!
//! ```
//! use steadfast::{chaos, retry};
//!
//! #[derive(Debug, PartialEq)]
//! enum ApiError {
//!     Unavailable,
//! }
//!
//! fn unavailable() -> ApiError {
//!     ApiError::Unavailable
//! }
//!
//! // Off until a game day switches it on; the retry then sees 503s.
//! #[retry(attempts = 3, backoff = none)]
//! #[chaos(error = unavailable, error_rate = 0.3, latency = "200ms", latency_rate = 0.1, enabled = false, name = "inventory")]
//! async fn stock(item: u32) -> Result<u32, ApiError> {
//!     Ok(item)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! assert_eq!(stock(1).await, Ok(1));
//! #[cfg(feature = "chaos")]
//! if steadfast::chaos::ENABLED {
//!     steadfast::chaos::seed(2026);
//!     steadfast::chaos::enable("inventory");
//!     let mut settings = steadfast::chaos::settings("inventory").unwrap();
//!     settings.error_rate = 1.0;
//!     steadfast::chaos::set("inventory", settings).unwrap();
//!     assert_eq!(stock(1).await, Err(ApiError::Unavailable), "every attempt failed");
//!     steadfast::chaos::disable("inventory");
//!     assert_eq!(stock(1).await, Ok(1));
//! }
//! # }
//! ```
//!
//! ## Graceful shutdown
//!
//! [`steadfast::shutdown(deadline)`](crate::shutdown()) stops the policies
//! taking work, once for the whole process, and drains what is running:
//!
//! - a call reaching a circuit breaker, bulkhead, rate limiter or timeout
//!   from then on fails at once with
//!   [`Rejected::ShuttingDown`](crate::Rejected::ShuttingDown) (`shutting
//!   down: "db" takes no new calls`; `io::ErrorKind::ConnectionAborted`
//!   through `std::io::Error`), without running; an outer `#[retry]` does
//!   not retry it, an outer `#[circuit_breaker]` counts it as neither success
//!   nor failure;
//! - calls waiting in a bulkhead's queue or for a rate limiter's turn leave
//!   with `ShuttingDown`;
//! - a `#[retry]` sleeping between attempts returns its last error at once,
//!   and one whose attempt fails after shutdown began makes no other (for an
//!   error type that is not `Send` the delay ends too, but one more attempt
//!   is made: see [`shutdown`](mod@crate::shutdown));
//! - the future returned waits for the calls holding a bulkhead slot (and,
//!   after [`shutdown::track_calls()`](crate::shutdown::track_calls), the
//!   calls in flight in every registered circuit breaker) to finish, up to
//!   `deadline`, and returns a
//!   [`ShutdownReport`](crate::ShutdownReport): calls finished during the
//!   drain and still running at its end, in total and by policy (its
//!   `Display` is a few lines for the log; with `serde` it serializes).
//!
//! In the metrics, a refusal or a waiter sent away is a bulkhead's
//! `rejected`, a rate limiter's `shutting_down` and a circuit breaker's
//! nothing (the call never reached it); a retry ended by shutdown is
//! `shutting_down` (as is the `reason` of its event: `not retrying` when an
//! attempt failed after shutdown began, `retry delay ended by shutdown` when
//! shutdown cut its delay short).
//!
//! Calls under no bulkhead are not counted by default (counting them costs
//! every call two atomic writes and a fence). To drain them, either call
//! `steadfast::shutdown::track_calls()` once at startup, before traffic:
//! every circuit breaker then counts its calls in flight (its fast path is
//! unchanged without it), and the drain waits for the registered ones
//! (per-function and `register_breaker!` breakers, and `shared = …` ones
//! once called; not keyed breakers' per-key states), listing them as
//! `circuit_breaker` entries after the bulkheads; or put the work to drain
//! under a `#[bulkhead]`.
//! [`shutdown::begun()`](crate::shutdown::begun) resolves when shutdown
//! starts, for the HTTP server's own graceful shutdown, and with the
//! `tokio-util` feature `shutdown::shutdown_on(token, deadline)` starts it
//! when a `CancellationToken` is cancelled. A server stops on
//! Ctrl-C or SIGTERM like this:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! # async fn serve() {}
//! # #[tokio::main] async fn main() {
//! steadfast::shutdown::track_calls(); // optional: drain breaker calls too
//! let server = tokio::spawn(serve()); // stops when `shutdown::begun()` resolves
//! tokio::signal::ctrl_c().await.unwrap(); // or SIGTERM, with `tokio::signal::unix`
//! let report = steadfast::shutdown(Duration::from_secs(10)).await;
//! println!("{report}");
//! let _ = server.await;
//! # }
//! ```
//!
//! ```text
//! shutdown drained in 1.09s: 112 calls finished, 0 still running
//!   bulkhead "shutdown-pool": 100 finished, 0 still running
//!   circuit_breaker "payments": 12 finished, 0 still running
//! ```
//!
//! Shutdown has no way back; a test that shuts down runs in a test binary of
//! its own and calls the hidden `steadfast::shutdown::reset()` between tests
//! (see `tests/shutdown.rs`).
//!
//! ## Configuration overrides
//!
//! Operators change a named policy's settings without recompiling: an
//! [`Overrides`](crate::config::Overrides) holds, per kind
//! (`circuit_breaker`, `bulkhead`, `rate_limit`) and [name](#names), a value
//! per key, written as in the attributes; [`config::apply`](crate::config::apply)
//! checks every entry with the attributes' rules and messages, and changes
//! nothing unless all are valid. An unknown name lists the registered ones,
//! an unknown key the kind's keys. With the `config` feature they load from
//! a TOML file and from `STEADFAST__<KIND>__<POLICY>__<KEY>` environment
//! variables (the name upper-cased, `::` as `__`, other punctuation as `_`:
//! `STEADFAST__CIRCUIT_BREAKER__PAYMENTS__FAILURE_RATIO=0.2`), the
//! environment winning over the file. Load and apply them at startup,
//! before traffic:
//!
//! ```toml
//! [circuit_breaker."payments"]
//! failure_ratio = 0.2
//! open_for = "30s"
//!
//! [bulkhead."my_app::db::query"]
//! max_queue = 5
//! ```
//!
//! ```no_run
//! # fn main() -> Result<(), steadfast::config::ConfigError> {
//! use steadfast::config::{self, Overrides};
//!
//! let mut overrides = Overrides::from_file("/etc/my-app/resilience.toml")?;
//! overrides.merge(Overrides::from_env()?);
//! let applied = config::apply(&overrides)?;
//! for change in &applied.changes {
//!     println!("{} {}: {} = {}", change.kind.as_str(), change.policy, change.key, change.value);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Which keys change when (the reasons are in [`config`](crate::config)):
//!
//! | kind | keys | may change |
//! |---|---|---|
//! | `circuit_breaker` | `failure_ratio`, `min_calls`, `consecutive_failures`, `slow_call`, `slow_ratio`, `open_for`, `half_open_probes` | at any time, from the next decision |
//! | `circuit_breaker` | `window` | never (laid out when built) |
//! | `bulkhead` | `max_wait` | at any time, for calls that start waiting after |
//! | `bulkhead` | `max_concurrent`, `max_queue` | at startup: until a call first waits |
//! | `rate_limit` | `rate`, `per`, `burst`, `max_wait` | at startup: until the limiter's first call (its time unit is derived from them); a new `rate` alone moves a default `burst` with it |
//!
//! Every policy's effective configuration is in `health()`: a breaker's
//! under `config`, a bulkhead's `max_concurrent`, `max_queue` and
//! `max_wait_ms`, a rate limiter's settings. A keyed policy (`key = …`)
//! takes overrides by its name too: every key takes the running keys at
//! once, and the startup keys apply to keys first seen afterwards. `apply` logs
//! each change (`override applied`) or the refusal (`overrides refused`).
//!
//! ## Membership and heartbeats on etcd
//!
//! With the `etcd` feature (building it needs `protoc`; Debian:
//! `protobuf-compiler`), replicas register in a group under an etcd lease
//! kept alive in the background, and each one hears when another expires
//! (see [`membership`](crate::membership) for the rules and
//! `steadfast::etcd`, the `steadfast-etcd` crate, for the keys):
//!
//! ```ignore
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast::etcd::EtcdStore;
//! use steadfast::membership::{Membership, MembershipEvent};
//!
//! let store = Arc::new(EtcdStore::new(["http://etcd:2379"]));
//! let me = Membership::join(store, "billing-workers", &pod_name, Duration::from_secs(10)).await?;
//! let mut events = me.subscribe();
//! while let Ok(event) = events.recv().await {
//!     match event {
//!         MembershipEvent::Expired { member } => reassign_shards_of(&member).await,
//!         MembershipEvent::LeaseLost { .. } => stop_owned_work().await,
//!         _ => {}
//!     }
//! }
//! ```
//!
//! - **The TTL trades failover time against false failovers.** A member
//!   that dies is seen expired within TTL + etcd's expiry check (0.5 s) +
//!   the watch's latency: 2.3 s with a 2 s TTL in the tests. A member
//!   paused (GC, SIGSTOP, a saturated node) or cut from etcd for longer
//!   than the TTL is declared expired too, although it may resume: pick a
//!   TTL above the longest pause you tolerate. etcd grants whole seconds,
//!   2 s at least.
//! - **Its own lease.** The keep-alive runs every third of the TTL. No
//!   success for a whole TTL (counted from when the last successful
//!   refresh was *sent*) and the lease is lost: a `LeaseLost` event, a
//!   `tracing` warning (target `steadfast::membership`), `lease_alive:
//!   false` in `health()`'s `memberships`; the membership then revokes the
//!   old lease and rejoins under a new one as soon as etcd answers
//!   (`Rejoined`). An etcd restart shorter than the TTL loses nothing
//!   (etcd restores leases).
//! - **Leaving** on [`leave`](crate::membership::Membership::leave), drop or
//!   graceful shutdown marks the key as leaving and revokes the lease:
//!   others see `Left` at once instead of an expiry a TTL later.
//! - **What it is not.** Membership says who was alive recently, not who
//!   may write: a member declared expired may still be running. Work that
//!   must run on exactly one replica needs leader election with fencing
//!   tokens (`#[leader]`, next section).
//!
//! ## Hedging slow calls
//!
//! [`#[hedge(after = "50ms", max = 1)]`](macro@crate::hedge) starts a second copy
//! of a call that has not succeeded after `after`; the first success wins
//! and the other copy is dropped. It cuts tail latency for idempotent reads
//! against replicas whose slow answers are rare and independent.
//!
//! - **Pick `after` near the p95** of the call's latency: about one call in
//!   twenty then sends a second request (5 % more load) and the p99 falls to
//!   about `after` plus a typical answer. A smaller `after` buys little more
//!   and multiplies the load.
//! - **Bound the extra load** with `budget = RETRIES`, a
//!   [`RetryBudget`](crate::RetryBudget) that retries may share: extra copies
//!   then stay within `ratio` of the calls (plus `min_per_sec`), and when a
//!   backend is slow for everyone hedging stops instead of doubling its load.
//!   A copy the budget refuses is logged at `debug` (target
//!   `steadfast::hedge`) and counted in `steadfast_retry_budget_spent_total`
//!   and the budget's `spent` in `health()`, as a refused retry is.
//! - **Only idempotent calls**: a losing copy is dropped at its next
//!   `.await`, but the request it had sent may still be served.
//! - **Per copy below, once above**: a `#[bulkhead]` or `#[timeout]` written
//!   below `#[hedge]` applies to each copy (a hedged call can hold `1 + max`
//!   bulkhead slots); a `#[circuit_breaker]` written above counts the call
//!   once.
//! - **Shutdown**: once it has begun no new copy starts.
//!
//! ## Leader election on etcd
//!
//! For jobs that must run on exactly one replica at a time — a nightly
//! billing run, a queue consumer, a cache warmer — install the etcd store
//! once at startup and mark the job (see [`leader`](mod@crate::leader) for the
//! rules):
//!
//! ```ignore
//! steadfast::leader::install(steadfast::etcd::EtcdStore::new(["http://etcd:2379"]));
//!
//! #[steadfast::leader(election = "nightly-billing", lease = "10s", wait = "1m")]
//! async fn bill_everyone(db: &Db) -> Result<(), BillingError> {
//!     let token = steadfast::leader::fencing_token().expect("inside the body");
//!     db.write_invoices_fenced(token).await // refused if a newer leader wrote
//! }
//! ```
//!
//! - **One body at a time.** A call takes the election (the etcd key
//!   `steadfast/elections/{name}`, created under a fresh lease) or fails at
//!   once with `Rejected::NotLeader { name, leader }` naming the holder;
//!   with `wait` it asks every 100 ms. The body's end, however it ends,
//!   revokes the lease: another replica may lead at once.
//! - **Losing it.** The lease is refreshed every third of the TTL. No
//!   refresh for a whole TTL (etcd out of reach, the process paused) or a
//!   revoked lease, and the body is dropped at its next `.await` and the
//!   call returns `Rejected::LeadershipLost` (a `tracing` warning, target
//!   `steadfast::leader`). The deadline is counted from when the last
//!   successful refresh was *sent*, so this process gives up no later than
//!   etcd expires its key.
//! - **Fencing.** Pass [`fencing_token()`](crate::leader::fencing_token)
//!   with every write the job makes, and make the storage refuse a token
//!   lower than the highest it has seen (a conditional update, a column in
//!   the `WHERE`). That refuses a deposed leader's late writes: one paused
//!   past its TTL (GC, `SIGSTOP`, a VM migration) resumes with a write
//!   already under way before it can notice. Storage that does not check the
//!   token gets no such protection: there a paused leader can still write
//!   after it lost.
//! - **The TTL trades failover time against false failovers.** A leader
//!   that dies is replaced within the TTL plus etcd's expiry check (up to
//!   0.5 s) plus a waiting caller's 100 ms poll: 1.9–2.3 s with a 2 s TTL in
//!   the tests (`kill -9`). A leader paused, or cut from etcd, for longer
//!   than the TTL is deposed though alive, and its job cut off: pick a TTL
//!   above the longest pause you tolerate (short, 2–5 s, for cheap
//!   restartable jobs; 15–60 s for long ones). etcd grants whole seconds,
//!   2 s at least.
//! - **etcd restarts.** A restart shorter than the TTL loses nothing (etcd
//!   keeps leases on disk and extends them on restart). A longer one
//!   deposes the leader at its deadline; nobody leads until etcd is back
//!   and the old key has expired.
//! - **Shutdown.** Once graceful shutdown begins, new calls are refused and
//!   a running body is cancelled (`Rejected::ShuttingDown`) and its lease
//!   revoked: another replica takes over at once.
//! - **Health.** `health()`'s `elections` lists each election called in
//!   this process: holder as last seen, whether this process leads, token,
//!   lease, TTL.
//! - **A runnable demo:** `cargo run -p steadfast-etcd --example leader`
//!   (starts its own etcd and three processes, kills the leader).
