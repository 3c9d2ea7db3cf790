//! # Operating steadfast
//!
//! What the policies report while they work, and the handles to step in: the
//! `tracing` events, the `metrics` (cargo feature `metrics`), the
//! [`health()`](crate::health()) snapshot and manual control of breakers.
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
//! | `steadfast::retry` | DEBUG | `not retrying` | `policy`, `attempts`, `reason` (`not_retryable`, `attempts_exhausted`, `budget_exhausted`, `hint_too_long`), `error` |
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
//! | `steadfast::retry` | DEBUG | `retry delay ended by shutdown` | `policy`, `attempts`, `reason` = `shutting_down` |
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
//! | `steadfast_retry_calls_total` | counter | `policy`, `retried`, `result` (`success`, `not_retryable`, `attempts_exhausted`, `budget_exhausted`, `hint_too_long`) | once per call |
//! | `steadfast_retry_retries_total` | counter | `policy` | per retry |
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
//! closed. With the `serde` feature it
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
//! - the future returned waits for the calls holding a bulkhead slot to
//!   finish, up to `deadline`, and returns a
//!   [`ShutdownReport`](crate::ShutdownReport): calls finished during the
//!   drain and still running at its end, in total and by bulkhead (its
//!   `Display` is a few lines for the log; with `serde` it serializes).
//!
//! In the metrics, a refusal or a waiter sent away is a bulkhead's
//! `rejected`, a rate limiter's `shutting_down` and a circuit breaker's
//! nothing (the call never reached it); a retry ended by shutdown is
//! `shutting_down` (as is the `reason` of its event: `not retrying` when an
//! attempt failed after shutdown began, `retry delay ended by shutdown` when
//! shutdown cut its delay short).
//!
//! Calls under no bulkhead are not counted (counting them would cost every
//! call two atomic writes): put the work to drain under a `#[bulkhead]`.
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
//! let server = tokio::spawn(serve()); // stops when `shutdown::begun()` resolves
//! tokio::signal::ctrl_c().await.unwrap(); // or SIGTERM, with `tokio::signal::unix`
//! let report = steadfast::shutdown(Duration::from_secs(10)).await;
//! println!("{report}");
//! let _ = server.await;
//! # }
//! ```
//!
//! ```text
//! shutdown drained in 1.09s: 100 calls finished, 0 still running
//!   bulkhead "shutdown-pool": 100 finished, 0 still running
//! ```
//!
//! Shutdown has no way back; a test that shuts down runs in a test binary of
//! its own and calls the hidden `steadfast::shutdown::reset()` between tests
//! (see `tests/shutdown.rs`).
