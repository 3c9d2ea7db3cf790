//! Resilience attributes for `async fn`s: retries, circuit breakers, timeouts,
//! bulkheads, rate limits and fallbacks written on the function they protect.
//!
//! A call to another service can fail for a moment, hang, or be refused. The
//! usual answer is a loop written around each call: a counter, a sleep, a
//! `tokio::time::timeout`, a `match` on the error to decide what is worth
//! another try, repeated with small differences at every call site, and easy to
//! get subtly wrong (no jitter, delays that overflow, one timeout around all the
//! attempts when one per attempt was meant). steadfast turns each policy into
//! an attribute. The function keeps its signature; the attribute rewrites its
//! body into calls on a small runtime, checks its arguments at compile time, and
//! adds no heap allocation, lock or unneeded clock read to a call that succeeds.
//!
//! - [`#[retry]`](macro@retry) re-runs the body after an error, with backoff,
//!   jitter, a time budget, a predicate for what to retry and server hints
//!   (`Retry-After`; the cargo feature `http` adds `steadfast::http`, ready-made
//!   helpers for HTTP statuses and headers);
//! - [`#[circuit_breaker]`](macro@circuit_breaker) fails fast while a
//!   dependency keeps failing, and probes it before trusting it again;
//! - [`#[timeout]`](macro@timeout) cancels a call that takes too long;
//! - [`#[bulkhead]`](macro@bulkhead) limits how many calls run at once, with a
//!   bounded queue for the rest;
//! - [`#[rate_limit]`](macro@rate_limit) admits at most `rate` calls per
//!   period, with bursts, waiting for a turn up to `max_wait`;
//! - [`#[fallback]`](macro@fallback) replaces an error with a handler's answer;
//! - [`#[chaos]`](macro@chaos) injects errors and latency, each with a rate,
//!   to prove the others work (compiled to nothing unless the cargo feature
//!   `chaos` is on; `steadfast::chaos` retunes it by name at run time).
//!
//! # Example
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use steadfast::{Rejected, fallback, retry, timeout};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum ApiError {
//!     #[error("service unavailable")]
//!     Unavailable,
//!     #[error("no such product")]
//!     NotFound,
//!     #[error(transparent)]
//!     Rejected(#[from] Rejected),
//! }
//!
//! impl ApiError {
//!     fn is_transient(&self) -> bool {
//!         matches!(self, ApiError::Unavailable | ApiError::Rejected(_))
//!     }
//! }
//!
//! struct Client {
//!     /// How many calls fail before the (simulated) service recovers.
//!     outage: AtomicU32,
//! }
//!
//! impl Client {
//!     #[fallback(|e| self.cached_price(sku).ok_or(e), when = ApiError::is_transient)]
//!     #[retry(attempts = 4, backoff = exponential("50ms", factor = 2.0, max = "2s"), when = ApiError::is_transient)]
//!     #[timeout("800ms")]
//!     async fn price(&self, sku: &str) -> Result<u64, ApiError> {
//!         if sku != "tea" {
//!             return Err(ApiError::NotFound);
//!         }
//!         if self.outage.load(Ordering::Relaxed) > 0 {
//!             self.outage.fetch_sub(1, Ordering::Relaxed);
//!             return Err(ApiError::Unavailable);
//!         }
//!         Ok(120)
//!     }
//!
//!     fn cached_price(&self, sku: &str) -> Option<u64> {
//!         (sku == "tea").then_some(100)
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), ApiError> {
//!     let client = Client { outage: AtomicU32::new(2) };
//!     assert_eq!(client.price("tea").await?, 120); // third attempt
//!
//!     client.outage.store(10, Ordering::Relaxed);
//!     assert_eq!(client.price("tea").await?, 100); // four failures: cached
//!
//!     let error = client.price("coffee").await.unwrap_err(); // not retried
//!     assert!(matches!(error, ApiError::NotFound));
//!     Ok(())
//! }
//! ```
//!
//! The annotated function takes the same arguments as before (`&self`, `&mut
//! self`, references, generics, `impl Trait`), and `?` and `return` in its body
//! behave as they did. Its future is `Send` whenever the un-annotated one is, so
//! `tokio::spawn` keeps working. Each attribute needs an `async fn` returning
//! `Result<T, E>` (or an alias of it, such as `std::io::Result<T>`); anything
//! else is a compile error that names the attribute.
//!
//! # Stacking
//!
//! Attributes compose in the order they are written: **the top one is the
//! outermost**. So `#[retry]` above `#[timeout("1s")]` gives each attempt its
//! own second, while `#[timeout("1s")]` above `#[retry]` bounds all the attempts
//! together. A `#[fallback]` on top sees every error that the layers below it let
//! through, timeouts included. The same attribute twice on one function is a
//! compile error.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use steadfast::{retry, timeout};
//! use tokio::time::{Instant, sleep};
//!
//! /// The first two calls take 2 s; later ones take 500 ms.
//! async fn slow_service(calls: &AtomicU32) -> std::io::Result<u32> {
//!     let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
//!     sleep(Duration::from_millis(if n <= 2 { 2000 } else { 500 })).await;
//!     Ok(n)
//! }
//!
//! // One second per attempt: two attempts time out, the third answers.
//! #[retry(attempts = 3, backoff = none)]
//! #[timeout("1s")]
//! async fn per_attempt(calls: &AtomicU32) -> std::io::Result<u32> {
//!     slow_service(calls).await
//! }
//!
//! // One second for everything: the first attempt is cut off, and so is the call.
//! #[timeout("1s")]
//! #[retry(attempts = 3, backoff = none)]
//! async fn overall(calls: &AtomicU32) -> std::io::Result<u32> {
//!     slow_service(calls).await
//! }
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() {
//!     let start = Instant::now();
//!     assert_eq!(per_attempt(&AtomicU32::new(0)).await.unwrap(), 3);
//!     assert_eq!(start.elapsed(), Duration::from_millis(1000 + 1000 + 500));
//!
//!     let start = Instant::now();
//!     let error = overall(&AtomicU32::new(0)).await.unwrap_err();
//!     assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
//!     assert_eq!(start.elapsed(), Duration::from_secs(1));
//! }
//! ```
//!
//! The compiler expands the top attribute first; that expansion takes the
//! attributes below it off the function and composes them itself. Import them
//! as usual: their `use` lines are not reported unused.
//!
//! ## Paths and other crates' attributes
//!
//! Written order holds whatever the paths and whatever else is on the
//! function. The rules, in one place:
//!
//! - **Paths.** `retry`, `steadfast::retry`, `::steadfast::retry`, a renamed
//!   import (`use steadfast as sf;` then `#[sf::retry]`) and a re-export
//!   (`#[toolkit::steadfast::retry(crate = "toolkit::steadfast")]`) all
//!   compose in written order, and the same attribute twice under two paths
//!   is a compile error. A path steadfast cannot recognise as its own (such as
//!   `sf::timeout`) is treated like another crate's attribute below (next
//!   rule), which keeps the order right whether or not it is steadfast's.
//! - **Another crate's attribute macro below** a toolkit attribute is inside
//!   it: `#[retry] #[tracing::instrument(err)]` opens a span per attempt and
//!   records each failed attempt. The toolkit attributes above it wait (they
//!   re-emit the function so that it expands first) and then wrap its output.
//! - **`#[tracing::instrument]` above** the toolkit attributes is the
//!   outermost: one span for the whole call, and `err` / `ret` see the call's
//!   final outcome, on an `async fn` and on a plain `fn` alike. (The
//!   compiler expands it first; steadfast recognises its output and puts its
//!   layers inside the span's future, or after the span's guard.)
//! - **`#[async_trait]`** on an `impl` or trait whose methods carry toolkit
//!   attributes works as on an `async fn`: steadfast recognises its
//!   expansion; the arguments are moved into the future once and borrowed by
//!   every attempt.
//! - **`#[tokio::test]`, `#[tokio::main]` and `#[test]`** are entry points: write
//!   them *below* the toolkit attributes (they always wrap the whole call, so
//!   `#[retry] #[tokio::test]` retries a flaky test as a whole). Written above,
//!   they make the function synchronous before steadfast sees it, and the
//!   compile error says to move them.
//! - **`doc`, lint (`allow`, `deny`, …), `inline`, `must_use`, `cfg`,
//!   `cfg_attr` and tool (`clippy::…`, `rustfmt::…`) attributes** stay on the
//!   function wherever they are written.
//!
//! These are pinned by `tests/paths.rs`, `compat/tests/other_attributes.rs`,
//! `tests/hygiene.rs` and `tests/lints.rs`.
//!
//! # Errors and `Rejected`
//!
//! A policy that refuses or abandons a call reports it as a [`Rejected`]
//! (`Timeout { after }`, `CircuitOpen { name }`, `BulkheadFull { name }`,
//! `RateLimited { name, retry_after }`; the
//! enum is `#[non_exhaustive]`, so match it with a wildcard arm). The function
//! still returns its own `E`, so a function carrying `#[timeout]`,
//! `#[circuit_breaker]` or `#[bulkhead]` needs `E: From<Rejected>`; the compile
//! error for a missing impl says exactly that. `std::io::Error` (kind `TimedOut`
//! for a timeout, `QuotaExceeded` for a rate limit, `ResourceBusy` for the others),
//! `anyhow::Error` and `Box<dyn Error + Send + Sync>` work as they are. For your
//! own error type, add a variant:
//!
//! ```
//! #[derive(Debug, thiserror::Error)]
//! enum ApiError {
//!     #[error("HTTP {0}")]
//!     Http(u16),
//!     #[error(transparent)]
//!     Rejected(#[from] steadfast::Rejected),
//! }
//! # let _ = ApiError::Http(500);
//! ```
//!
//! `#[retry]` and `#[fallback]` alone never need the conversion. Between stacked
//! attributes, a rejection travels typed and is converted once, at the
//! outermost, so an outer `#[retry]` always retries an inner timeout (and never
//! an open circuit or a full bulkhead), whatever its `when` predicate says about
//! `E`, and an outer `#[circuit_breaker]` counts inner rejections as failures. A
//! `#[fallback]` receives rejections already converted into `E`.
//!
//! # Time and testing
//!
//! Every delay and deadline is tokio time, so the policies need a tokio runtime
//! with its time driver (as `#[tokio::main]` and `#[tokio::test]` build), and
//! tests can pause the clock: with `#[tokio::test(start_paused = true)]` (or
//! `tokio::time::pause()`, from tokio's `test-util` feature), an idle runtime
//! jumps straight to the next timer. Minutes of backoff then run in
//! microseconds, and elapsed times are exact. Write `jitter = none` where a test
//! asserts exact delays: jitter is random.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::retry;
//! use tokio::time::Instant;
//!
//! #[retry(attempts = 5, backoff = fixed("10s"), jitter = none)]
//! async fn down() -> Result<(), String> {
//!     Err("down".into())
//! }
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() {
//!     let start = Instant::now();
//!     assert!(down().await.is_err());
//!     assert_eq!(start.elapsed(), Duration::from_secs(40)); // of virtual time
//! }
//! ```
//!
//! Breakers keep their state for the whole process, and the tests of one
//! binary share it. To start every breaker afresh (closed, empty window, not
//! forced) between tests, call [`health::reset_all()`](health::reset_all);
//! it reaches every annotated policy (they are registered from startup) and
//! every `static` one already used. It does not end calls still running in a
//! bulkhead. Tests that run in parallel threads of one binary share the
//! policies too: give each test its own function (or its own `name`), or run
//! such tests one at a time.
//!
//! # State scope
//!
//! Each attribute's configuration is built at compile time (a `static`, or a
//! promoted constant that may use `Self` and the function's generics: a
//! duration such as `#[timeout(Self::LIMIT)]` works). The state of a retry or
//! timeout (attempts made, when it started, its deadline) lives in that call's
//! own future, so calls never affect one another. A circuit breaker, a
//! bulkhead and a rate limiter keep state across calls, in one of three
//! scopes:
//!
//! - **per function** (the default): one state per function item, shared by
//!   every caller, every instance (`&self`) and every generic instantiation
//!   (one whose duration is an expression is built on the function's first
//!   call, so a duration that depends on the generics takes the first
//!   instantiation's value);
//! - **`shared = EXPR`**: the policy `EXPR` names, evaluated on each call:
//!   a `static` built with the `const` builder (`shared = PAYMENTS`, to share
//!   one between functions), a field (`shared = self.breaker`, one per
//!   instance), a policy built at startup from configuration
//!   (`shared = &*FROM_CONFIG`, a `LazyLock`), or a lookup in a registry of
//!   your own (`shared = pools.get(name)`);
//! - **`key = EXPR`**: one state per distinct key value (`key = host`,
//!   `key = req.tenant`), at most `max_keys` (default 1024) kept; when a new
//!   key finds the map full, the state idle longest with no call in flight is
//!   evicted, closed breakers before open ones. See [`keyed`] for the rules.
//!
//! ```
//! use std::sync::LazyLock;
//! use steadfast::{Bulkhead, CircuitBreaker, RateLimiter, bulkhead, circuit_breaker, rate_limit};
//!
//! static PAYMENTS: CircuitBreaker = CircuitBreaker::builder().name("payments").build();
//! static PAYMENTS_POOL: Bulkhead = Bulkhead::builder().name("payments").max_concurrent(8).build();
//! static QUOTA: LazyLock<RateLimiter> = LazyLock::new(|| {
//!     // From configuration, at run time.
//!     let rate = std::env::var("PAYMENTS_RATE").map_or(100, |r| r.parse().unwrap());
//!     RateLimiter::builder().name("payments").rate(rate).build()
//! });
//!
//! #[rate_limit(shared = &*QUOTA)]
//! #[circuit_breaker(shared = PAYMENTS)]
//! #[bulkhead(shared = PAYMENTS_POOL)]
//! async fn charge(cents: u64) -> std::io::Result<u64> {
//!     Ok(cents)
//! }
//!
//! #[rate_limit(shared = &*QUOTA)]
//! #[circuit_breaker(shared = PAYMENTS)]
//! #[bulkhead(shared = PAYMENTS_POOL)]
//! async fn refund(cents: u64) -> std::io::Result<u64> {
//!     Ok(cents)
//! }
//!
//! /// One breaker per host: one host's outage does not reject calls to others.
//! #[circuit_breaker(key = host, open_for = "10s")]
//! async fn fetch(host: &str, path: &str) -> std::io::Result<String> {
//!     Ok(format!("https://{host}{path}"))
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! # assert_eq!(charge(5).await.unwrap() + refund(5).await.unwrap(), 10);
//! # assert_eq!(fetch("a", "/").await.unwrap(), "https://a/");
//! # }
//! ```
//!
//! # Plain functions
//!
//! `#[retry]`, `#[circuit_breaker]`, `#[bulkhead]`, `#[rate_limit]` and
//! `#[fallback]` also work on a plain `fn`, for blocking clients (database
//! drivers, CLIs), with the same keys, defaults and rules. The waits block
//! the thread with `std` primitives: a retry delay, a place in a bulkhead's
//! line (at most `max_wait`), a rate limiter's turn (at most `max_wait`)
//! park the thread on the `std` clock, and [`shutdown()`] wakes it. A `static`
//! policy serves sync and async callers alike. A fallback handler there is
//! synchronous. `#[timeout]` and `#[hedge]` need an `async fn` (a blocking
//! call cannot be cancelled), as do `#[leader]` and `#[chaos]`.
//!
//! ```
//! use steadfast::{bulkhead, circuit_breaker, retry};
//!
//! // `std::io::Error` takes the policies' rejections as they are.
//! #[retry(attempts = 3, backoff = fixed("10ms"))]
//! #[circuit_breaker(consecutive_failures = 5)]
//! #[bulkhead(max_concurrent = 4, max_wait = "100ms")]
//! fn query(tries: &mut u32) -> std::io::Result<u32> {
//!     *tries += 1;
//!     if *tries < 2 {
//!         return Err(std::io::Error::other("busy"));
//!     }
//!     Ok(*tries)
//! }
//!
//! let mut tries = 0;
//! assert_eq!(query(&mut tries).unwrap(), 2);
//! ```
//!
//! Policies whose state an `async` caller may share (a breaker's window and
//! open time, a limiter's turns, a budget's window) read tokio's clock,
//! which is the `std` clock except inside a tokio runtime whose time is
//! paused (a test): a plain `fn` called there sees paused time for that
//! state, while its own waits are real. A rate limiter with a store decides
//! a plain `fn`'s calls on its own state (no runtime to make the round trip
//! on; see [`RateLimiter::call`]).
//!
//! # Programmatic API
//!
//! The attributes are thin: they call the same policies that you can use
//! directly, for a closure or for a future built at run time. [`Retry`] (with
//! [`Backoff`] and [`Jitter`]), [`CircuitBreaker`], [`Timeout`] and
//! [`Bulkhead`] have `const` builders, so they can live in a `static`;
//! [`fallback::recover`] is the fallback step.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::{Backoff, Jitter, Rejected, Retry, Timeout};
//!
//! static RETRY: Retry = Retry::builder()
//!     .attempts(4)
//!     .backoff(Backoff::exponential(Duration::from_millis(50), 2.0, Duration::from_secs(2)))
//!     .jitter(Jitter::Full)
//!     .build();
//!
//! const LIMIT: Timeout = Timeout::new(Duration::from_millis(800));
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() {
//!     let mut calls = 0;
//!     let result: Result<u32, String> = RETRY
//!         .run(|| {
//!             calls += 1;
//!             let n = calls;
//!             async move { if n < 3 { Err(format!("attempt {n} failed")) } else { Ok(n) } }
//!         })
//!         .await;
//!     assert_eq!(result, Ok(3));
//!
//!     let slow = tokio::time::sleep(Duration::from_secs(5));
//!     assert_eq!(LIMIT.run(slow).await, Err(Rejected::timeout(Duration::from_millis(800))));
//!
//!     let cached = steadfast::fallback::recover(result, |_: &String| true, |_e| Ok(0)).await;
//!     assert_eq!(cached, Ok(3));
//! }
//! ```

#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]

pub mod guarantees;
pub mod operating;

pub use steadfast_macros::{
    bulkhead, chaos, circuit_breaker, fallback, hedge, leader, rate_limit, retry, timeout,
};
pub use steadfast_runtime::{
    Attempts, Backoff, Bulkhead, CircuitBreaker, Failure, FromRejected, Jitter, Keyed, Rejected,
    Rejection, Retry, RetryBudget, RetryBuilder, Timeout, bulkhead, circuit_breaker, fallback,
    health, keyed, name, retry, timeout,
};

pub use steadfast_runtime::{RateLimiter, rate_limit, store};

/// List a `static` policy in [`health()`] from the start of the process
/// (`steadfast::register_breaker!(PAYMENTS);` at module level), not only
/// from its first call.
pub use steadfast_runtime::{
    register_breaker, register_bulkhead, register_rate_limiter, register_retry_budget,
};

pub use steadfast_macros::health_check;
pub use steadfast_runtime::snapshot;
pub use steadfast_runtime::{ShutdownReport, shutdown};

#[cfg(feature = "http")]
pub use steadfast_runtime::http;

pub use steadfast_runtime::chaos;

pub use steadfast_runtime::config;

pub use steadfast_runtime::membership;

pub use steadfast_runtime::leader;

pub use steadfast_runtime::hedge;
pub use steadfast_runtime::hedge::Hedge;

/// State shared across processes through Redis (feature `redis`): the
/// `steadfast-redis` crate.
#[cfg(feature = "redis")]
pub use steadfast_redis as redis;

/// Group membership and leader election under leases kept alive on etcd
/// (feature `etcd`): the `steadfast-etcd` crate, a
/// [`membership::MembershipStore`] and a [`leader::ElectionStore`].
#[cfg(feature = "etcd")]
pub use steadfast_etcd as etcd;

/// What the attribute expansions call. **Not a stable API**: it changes
/// without notice between any two versions.
#[doc(hidden)]
pub mod __private {
    pub use std::sync::OnceLock;
    pub use steadfast_macros::__steadfast_deferred;
    pub use steadfast_runtime::chaos::Chaos;
    pub use steadfast_runtime::fallback::{Handled, recover};
    pub use steadfast_runtime::glue::rate_limiter;
    pub use steadfast_runtime::glue::retry_budget;
    pub use steadfast_runtime::glue::{
        Describe, DescribeDisplay, DescribeOther, ResultType, Returns, always, attempt, breaker,
        bulkhead, delay_from, describer, fake_return, fallback, finish, finish_plain, keyed,
        no_hint, relift, returns, when,
    };
    pub use steadfast_runtime::glue::{KeepOther, KeepProbe, KeepSend, keeper};
    pub use steadfast_runtime::glue::{attempt_blocking, fallback_blocking};
    pub use steadfast_runtime::glue::{chaos_error, chaos_no_error};
    pub use steadfast_runtime::hedge::Hedge;
    pub use steadfast_runtime::keyed::{KeyByDeref, KeyByRef, Keyed};
    pub use steadfast_runtime::leader::Leader;
    pub use steadfast_runtime::name::Location;
    pub use steadfast_runtime::register_health_check;
    pub use steadfast_runtime::retry::pause;
    pub use steadfast_runtime::{
        Backoff, Bulkhead, CircuitBreaker, Jitter, Retry, RetryBudget, Timeout,
    };
    pub use steadfast_runtime::{RateLimiter, register_rate_limiter};
    pub use steadfast_runtime::{
        register_breaker, register_bulkhead, register_keyed, register_retry_budget,
    };
}
