//! Implementation detail of the [`steadfast`](https://docs.rs/steadfast) crate:
//! the attribute macros. Depend on `steadfast` and use them from there; their
//! documentation lives in that crate.
//!
//! Layout, in the order an expansion goes through it: `item` reads the
//! annotated function, `stack` collects the toolkit attributes on it, `args`
//! parses and checks each attribute's arguments, `expand` writes the new body.

#![forbid(unsafe_code)]

mod args;
mod expand;
mod health_check;
mod item;
mod kind;
#[cfg(test)]
mod robustness;
mod stack;

use proc_macro::TokenStream;

use kind::Kind;

/// Re-runs an `async fn` that returned an error, with a delay between attempts.
///
/// The body runs again until it succeeds, returns an error that is not retried,
/// or runs out of attempts (or of its `max_elapsed` budget); the function then
/// returns the last attempt's result. The function keeps its signature and must
/// return `Result<T, E>` (an alias such as `std::io::Result<T>` works). On its
/// own, `#[retry]` puts no bound on `E`.
///
/// ```
/// use steadfast::retry;
///
/// #[derive(Debug, PartialEq)]
/// enum ApiError {
///     Unavailable,
///     NotFound,
/// }
///
/// impl ApiError {
///     fn is_transient(&self) -> bool {
///         *self == ApiError::Unavailable
///     }
/// }
///
/// /// Fails twice, then answers.
/// #[retry(attempts = 4, backoff = exponential("50ms", factor = 2.0, max = "2s"), when = ApiError::is_transient)]
/// async fn fetch(calls: &mut u32, id: u32) -> Result<u32, ApiError> {
///     *calls += 1;
///     if id == 0 {
///         return Err(ApiError::NotFound);
///     }
///     if *calls < 3 { Err(ApiError::Unavailable) } else { Ok(id) }
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let mut calls = 0;
///     assert_eq!(fetch(&mut calls, 7).await, Ok(7));
///     assert_eq!(calls, 3);
///
///     // `NotFound` is not transient: no second attempt.
///     let mut calls = 0;
///     assert_eq!(fetch(&mut calls, 0).await, Err(ApiError::NotFound));
///     assert_eq!(calls, 1);
/// }
/// ```
///
/// Every key is optional; `#[retry]` alone means three attempts with the
/// default backoff:
///
/// | key | meaning | default |
/// |---|---|---|
/// | `attempts = N` | total attempts, the first included (N ≥ 1) | `3` |
/// | `backoff = …` | `none`, `fixed(d)`, `exponential(d, factor = f, max = d)`, `fibonacci(d, max = d)` | `exponential("100ms", factor = 2.0, max = "10s")` |
/// | `jitter = …` | `none`, `full`, `equal`, `decorrelated` | `full` |
/// | `max_elapsed = d` | time budget from the call's start | none |
/// | `when = f` | `fn(&E) -> bool`: which errors are retried | every error |
/// | `delay_from = f` | `fn(&E) -> Option<Duration>`: a server's hint for the delay | none |
/// | `max_hint = d` | the longest `delay_from` hint honoured; a longer one ends the retries (needs `delay_from`) | `"60s"` |
/// | `budget = B` | a `RetryBudget` every retry draws from (a `static`'s path, or an expression of one) | none |
/// | `crate = "path"` | where to find the `steadfast` crate | `::steadfast` |
///
/// Durations (`d`) are string literals checked at compile time (`"250ms"`,
/// `"2s"`, `"1m30s"`; units `us`, `ms`, `s`, `m`, `h`) or const expressions of
/// type `Duration`. Invalid values (zero attempts, an unparsable duration, an
/// initial delay above `max`, a `factor` below 1, an unknown or repeated key)
/// are compile errors that point at the offending tokens.
///
/// The body re-runs as it is written: it borrows the arguments afresh on each
/// attempt (`&mut self` works), and `?` and `return` end the current attempt. A
/// body that moves an owned argument cannot run twice, so the compiler reports
/// the move; clone the value, or take it by reference. A panic is not retried,
/// and dropping the call's future stops it at once, mid-sleep included. Each
/// retry emits a `tracing` event at `DEBUG` level (target `steadfast::retry`).
///
/// # `attempts`
///
/// `attempts = N` counts every run of the body, the first included: `attempts
/// = 1` never retries, `attempts = 3` (the default) retries at most twice. When
/// they are used up, the function returns the last attempt's error.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast::retry;
///
/// static CALLS: AtomicU32 = AtomicU32::new(0);
///
/// #[retry(attempts = 5, backoff = none)]
/// async fn always_down() -> Result<(), String> {
///     let n = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
///     Err(format!("attempt {n} failed"))
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     assert_eq!(always_down().await, Err("attempt 5 failed".to_string()));
///     assert_eq!(CALLS.load(Ordering::Relaxed), 5);
/// }
/// ```
///
/// # `backoff`
///
/// The delay before each retry, before [jitter](#jitter):
///
/// - `none`: retry at once;
/// - `fixed("100ms")`: the same delay every time;
/// - `exponential("100ms", factor = 2.0, max = "10s")`: `initial · factorⁿ` before
///   retry `n` (from 0), so 100 ms, 200 ms, 400 ms, …; `factor` (≥ 1, default
///   `2.0`) and `max` (default `"10s"`) may be left out;
/// - `fibonacci("100ms", max = "10s")`: 100 ms, 100 ms, 200 ms, 300 ms, 500 ms,
///   …; `max` defaults to `"10s"`.
///
/// Exponential and Fibonacci delays stop growing at `max`; they never overflow,
/// however many attempts are allowed.
///
/// ```
/// use std::time::Duration;
/// use steadfast::retry;
/// use tokio::time::Instant;
///
/// #[retry(attempts = 3, backoff = fixed("100ms"), jitter = none)]
/// async fn fixed() -> Result<(), &'static str> {
///     Err("down")
/// }
///
/// // Waits 100 ms, 300 ms, then 500 ms (900 ms would pass `max`).
/// #[retry(attempts = 4, backoff = exponential("100ms", factor = 3.0, max = "500ms"), jitter = none)]
/// async fn exponential() -> Result<(), &'static str> {
///     Err("down")
/// }
///
/// // Waits 100 ms, 100 ms, 200 ms, then 300 ms.
/// #[retry(attempts = 5, backoff = fibonacci("100ms"), jitter = none)]
/// async fn fibonacci() -> Result<(), &'static str> {
///     Err("down")
/// }
///
/// #[retry(attempts = 3, backoff = none)]
/// async fn at_once() -> Result<(), &'static str> {
///     Err("down")
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let ms = Duration::from_millis;
///     let start = Instant::now();
///     assert!(fixed().await.is_err());
///     assert_eq!(start.elapsed(), ms(200));
///
///     let start = Instant::now();
///     assert!(exponential().await.is_err());
///     assert_eq!(start.elapsed(), ms(100 + 300 + 500));
///
///     let start = Instant::now();
///     assert!(fibonacci().await.is_err());
///     assert_eq!(start.elapsed(), ms(100 + 100 + 200 + 300));
///
///     let start = Instant::now();
///     assert!(at_once().await.is_err());
///     assert_eq!(start.elapsed(), Duration::ZERO);
/// }
/// ```
///
/// # `jitter`
///
/// Randomises each computed delay `d`, so that many clients that failed together
/// do not retry together:
///
/// - `full` (the default): uniform in `[0, d]`;
/// - `equal`: `d/2` plus uniform in `[0, d/2]`;
/// - `decorrelated`: uniform in `[initial, 3 × previous delay]` (AWS's
///   "decorrelated jitter"), which replaces the schedule's own growth; it needs a
///   backoff with a `max` (`exponential` or `fibonacci`);
/// - `none`: sleep exactly `d`.
///
/// A jittered delay never exceeds the backoff's `max`. `jitter` with `backoff =
/// none` is a compile error (there is no delay to randomise), and so is
/// `decorrelated` with `fixed`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::retry;
/// use tokio::time::Instant;
///
/// #[retry(attempts = 2, backoff = fixed("100ms"), jitter = equal)]
/// async fn call() -> Result<(), &'static str> {
///     Err("down")
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let start = Instant::now();
///     assert!(call().await.is_err());
///     let waited = start.elapsed();
///     assert!(waited >= Duration::from_millis(50) && waited <= Duration::from_millis(100));
/// }
/// ```
///
/// # `max_elapsed`
///
/// A time budget for the whole call, counted from its start, attempts and
/// delays included. A retry whose delay would end past the budget is not made:
/// the last error returns at once instead of after a useless sleep. A running
/// attempt is not cut short; to bound it too, stack a
/// [`#[timeout]`](macro@timeout) above `#[retry]`.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use steadfast::retry;
/// use tokio::time::Instant;
///
/// static CALLS: AtomicU32 = AtomicU32::new(0);
///
/// #[retry(attempts = 10, backoff = fixed("400ms"), jitter = none, max_elapsed = "1s")]
/// async fn call() -> Result<(), &'static str> {
///     CALLS.fetch_add(1, Ordering::Relaxed);
///     Err("down")
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let start = Instant::now();
///     assert!(call().await.is_err());
///     // Attempts at 0, 400 and 800 ms; a fourth would start at 1.2 s.
///     assert_eq!(CALLS.load(Ordering::Relaxed), 3);
///     assert_eq!(start.elapsed(), Duration::from_millis(800));
/// }
/// ```
///
/// # `when`
///
/// A path to a `fn(&E) -> bool`, or a closure, that decides which errors are
/// worth another attempt; the others return at once. By default every error is
/// retried.
///
/// `when` judges the body's own errors. Rejections from attributes stacked below
/// `#[retry]` follow fixed rules whatever `when` says: a timeout
/// (`Rejected::Timeout`) is always retried.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast::retry;
///
/// static CALLS: AtomicU32 = AtomicU32::new(0);
///
/// #[retry(backoff = none, when = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionReset)]
/// async fn read() -> std::io::Result<Vec<u8>> {
///     CALLS.fetch_add(1, Ordering::Relaxed);
///     Err(std::io::ErrorKind::PermissionDenied.into())
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     assert!(read().await.is_err());
///     assert_eq!(CALLS.load(Ordering::Relaxed), 1); // not retried
/// }
/// ```
///
/// # `delay_from`
///
/// A path to a `fn(&E) -> Option<Duration>`, or a closure, that reads a delay
/// from the error, such as an HTTP `Retry-After` header. When it returns
/// `Some(delay)`, that delay replaces the computed one for this retry: it is
/// waited as given, without jitter, and never shortened to the backoff's `max`
/// (retrying before the server asked is pointless); it still uses up an
/// attempt. A hint longer than `max_hint` (60 s unless set), or one that would
/// end past `max_elapsed`, is not waited: the retries end at once and that
/// error returns. `None` falls back to the backoff. Only errors that `when`
/// accepts are asked. With the `http` feature, `steadfast::http::retry_after_hint`
/// reads `Retry-After` (delta-seconds or an HTTP date) for any error type that
/// implements `steadfast::http::HttpError`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::retry;
/// use tokio::time::Instant;
///
/// #[derive(Debug)]
/// enum ApiError {
///     TooManyRequests { retry_after: Duration },
/// }
///
/// impl ApiError {
///     fn retry_after(&self) -> Option<Duration> {
///         match self {
///             ApiError::TooManyRequests { retry_after } => Some(*retry_after),
///         }
///     }
/// }
///
/// #[retry(attempts = 2, backoff = exponential("10ms", max = "5s"), delay_from = ApiError::retry_after)]
/// async fn call() -> Result<(), ApiError> {
///     Err(ApiError::TooManyRequests { retry_after: Duration::from_secs(2) })
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let start = Instant::now();
///     assert!(call().await.is_err());
///     assert_eq!(start.elapsed(), Duration::from_secs(2));
/// }
/// ```
///
/// # `budget`
///
/// A `steadfast::RetryBudget` shared by every call that names it: over its
/// sliding window, retries ≤ `ratio` × first attempts + `min_per_sec` ×
/// window (in seconds), so that an outage does not multiply the traffic by
/// `attempts` (a retry storm). Each call counts its first attempt there
/// when it starts (before any of its retries draws); each retry that would
/// otherwise be made draws one first (errors not retried draw nothing). A
/// retry that finds the budget spent is not made: the call returns its last
/// error at once, with the `not retrying` event (reason `budget_spent`,
/// field `budget`) and, with the `metrics` feature, the metrics'
/// `result = "budget_spent"`. `health()` lists the budget's level.
///
/// `budget = RETRIES` names a `static` built with the `const` builder (a
/// `const` is refused: it would be a fresh budget at every use), listed in
/// `health()` from its first call. Any other expression (`budget =
/// self.budget`, `budget = &*FROM_CONFIG`) is evaluated on each call and
/// borrowed, never moved; it must be a `RetryBudget` or a reference to one
/// (a wrong type is a compile error on the expression). Such a budget joins
/// `health()` with its `register()`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{RetryBudget, retry};
///
/// static BACKEND: RetryBudget = RetryBudget::builder()
///     .name("backend")
///     .ratio(0.2)
///     .min_per_sec(0)
///     .window("10s")
///     .build();
///
/// #[retry(attempts = 3, backoff = none, budget = BACKEND)]
/// async fn call(made: &mut u32) -> Result<(), &'static str> {
///     *made += 1;
///     Err("down")
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     // During an outage, 100 calls may retry 20 times (0.2 each), not 200.
///     let mut made = 0;
///     for _ in 0..100 {
///         let _ = call(&mut made).await;
///     }
///     assert_eq!(made, 100 + 20);
/// }
/// ```
///
/// # `crate`
///
/// The expansion names the runtime as `::steadfast`. If your crate reaches
/// steadfast under another path (re-exported by another crate, or renamed in
/// `Cargo.toml`), give that path as a string. On a stack of attributes, give it
/// on any one of them.
///
/// ```
/// // Stands for a crate that re-exports steadfast: `pub use steadfast;`.
/// mod toolkit {
///     pub use steadfast;
/// }
///
/// use toolkit::steadfast::retry;
///
/// #[retry(attempts = 2, backoff = none, crate = "toolkit::steadfast")]
/// async fn call() -> Result<u8, String> {
///     Ok(1)
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     assert_eq!(call().await, Ok(1));
/// }
/// ```
///
/// # Equivalent code without `#[retry]`
///
/// The attribute builds a [`Retry`](https://docs.rs/steadfast/latest/steadfast/struct.Retry.html)
/// policy in a `static` and drives it around the body. The same, written by
/// hand with the programmatic API:
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, Jitter, Retry};
///
/// #[derive(Debug)]
/// struct ApiError(u16);
///
/// impl ApiError {
///     fn is_transient(&self) -> bool {
///         self.0 >= 500
///     }
///     fn retry_after(&self) -> Option<Duration> {
///         None
///     }
/// }
///
/// // #[retry(attempts = 4, backoff = exponential("50ms", factor = 2.0, max = "2s"),
/// //         when = ApiError::is_transient, delay_from = ApiError::retry_after)]
/// async fn fetch(id: u32) -> Result<u32, ApiError> {
///     static POLICY: Retry = Retry::builder()
///         .attempts(4)
///         .backoff(Backoff::exponential(Duration::from_millis(50), 2.0, Duration::from_secs(2)))
///         .jitter(Jitter::Full)
///         .build();
///     POLICY
///         .run_with(
///             || async move { if id == 0 { Err(ApiError(503)) } else { Ok(id) } },
///             ApiError::is_transient,
///             ApiError::retry_after,
///         )
///         .await
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     assert_eq!(fetch(7).await.unwrap(), 7);
///     assert_eq!(fetch(0).await.unwrap_err().0, 503);
/// }
/// ```
///
/// `Retry::run_with` takes a closure that makes a fresh future for each attempt.
/// For a body that needs `&mut` access across attempts, drive the per-call
/// state (`Retry::start`, `Attempts::next`) in a loop, as the expansion does:
///
/// ```
/// use std::convert::Infallible;
/// use std::ops::ControlFlow;
/// use steadfast::{Failure, Retry};
///
/// static POLICY: Retry = Retry::builder().attempts(3).build();
///
/// async fn bump(counter: &mut u32) -> Result<u32, String> {
///     let mut attempts = POLICY.start();
///     loop {
///         let outcome = async {
///             *counter += 1;
///             if *counter < 2 { Err("not yet".to_string()) } else { Ok(*counter) }
///         }
///         .await
///         .map_err(Failure::<String, Infallible>::Error);
///         if let ControlFlow::Break(result) = attempts.next(outcome, |_: &String| true, |_: &String| None).await {
///             break result.map_err(Failure::into_inner);
///         }
///     }
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let mut counter = 0;
///     assert_eq!(bump(&mut counter).await, Ok(2));
/// }
/// ```
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Retry, args.into(), item.into()).into()
}

/// Cancels an `async fn` that has not finished within a time limit.
///
/// When the limit passes first, the body's future is dropped (cancelled) and the
/// function returns `Rejected::Timeout { after }` converted into its error type,
/// `after` being the configured limit. So the function must return `Result<T,
/// E>` with `E: From<steadfast::Rejected>`; `std::io::Error` (kind `TimedOut`),
/// `anyhow::Error` and `Box<dyn Error + Send + Sync>` qualify as they are, and the
/// compile error for any other `E` says what to add.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Rejected, timeout};
///
/// #[timeout("500ms")]
/// async fn lookup(delay: Duration) -> std::io::Result<&'static str> {
///     tokio::time::sleep(delay).await;
///     Ok("found")
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     assert_eq!(lookup(Duration::from_millis(100)).await.unwrap(), "found");
///
///     let error = lookup(Duration::from_secs(3)).await.unwrap_err();
///     assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
///     let rejected = error.get_ref().and_then(|e| e.downcast_ref::<Rejected>());
///     assert_eq!(rejected, Some(&Rejected::timeout(Duration::from_millis(500))));
/// }
/// ```
///
/// The deadline counts from the first time the body has to wait (its first
/// `.await` that is not ready at once). A body that finishes without waiting
/// neither arms a timer nor reads the clock. Like every async timeout, it acts
/// at the body's `.await` points: code that blocks the thread without awaiting
/// cannot be interrupted (nor is the time it spends before its first wait
/// counted).
///
/// Stacked under [`#[retry]`](macro@retry) the limit applies to each attempt,
/// and the timeout is retried whatever `when` says; stacked above, it bounds
/// all attempts together. Under [`#[fallback]`](macro@fallback), the handler
/// receives the timeout as `E`.
///
/// # Duration forms
///
/// The one positional argument is the limit:
///
/// - a string literal, parsed at compile time: digits followed by a unit (`us`,
///   `ms`, `s`, `m`, `h`), several parts from the largest unit to the smallest:
///   `"250ms"`, `"2s"`, `"1m30s"`, `"1h"`. A typo or a zero limit is a compile
///   error on the literal.
/// - a const expression of type `Duration`: `#[timeout(ATTEMPT_TIMEOUT)]`,
///   `#[timeout(Duration::from_millis(250))]`. It initialises a `static`, so it
///   is evaluated at compile time too (a zero const fails the build).
///
/// ```
/// use std::time::Duration;
/// use steadfast::timeout;
///
/// const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);
///
/// #[timeout("1m30s")]
/// async fn report() -> std::io::Result<()> {
///     Ok(())
/// }
///
/// #[timeout(ATTEMPT_TIMEOUT)]
/// async fn ping() -> std::io::Result<()> {
///     Ok(())
/// }
///
/// #[timeout(Duration::from_secs(2))]
/// async fn upload() -> anyhow::Result<()> {
///     Ok(())
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     report().await.unwrap();
///     ping().await.unwrap();
///     upload().await.unwrap();
/// }
/// ```
///
/// # `crate`
///
/// `#[timeout("2s", crate = "path::to::steadfast")]` when steadfast is reached
/// under another path than `::steadfast`; see [`#[retry]`](macro@retry#crate).
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Timeout, args.into(), item.into()).into()
}

/// Replaces an `async fn`'s error with the answer of a handler.
///
/// `#[fallback(handler)]` runs `handler` on every error that reaches it (from the
/// body or from the attributes stacked below, rejections included, as `E`), and
/// returns what the handler returns. The handler takes the error by value and
/// returns the function's own `Result<T, E>`, or a future of it; its own error
/// propagates. It never runs on success, and not on a panic (the panic
/// propagates). On its own, `#[fallback]` puts no bound on `E`.
///
/// ```
/// use steadfast::fallback;
///
/// fn stale_price(_error: String) -> Result<u32, String> {
///     Ok(100)
/// }
///
/// #[fallback(stale_price)]
/// async fn price(live: bool) -> Result<u32, String> {
///     if live { Ok(120) } else { Err("pricing service down".into()) }
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     assert_eq!(price(true).await, Ok(120));
///     assert_eq!(price(false).await, Ok(100));
/// }
/// ```
///
/// # Handler forms
///
/// - a path to a fn, sync or `async`: `#[fallback(stale_price)]`,
///   `#[fallback(Self::from_cache)]`;
/// - a closure returning the `Result`: `#[fallback(|e| Ok(0))]`;
/// - an async closure, or a closure returning a future:
///   `#[fallback(async |e| cache.get(id).await.ok_or(e))]`.
///
/// A closure is written inside the function, so it sees the function's
/// arguments (`self` included). It runs after the body has finished, so it can
/// use any argument that the body did not move.
///
/// ```
/// use std::collections::HashMap;
/// use steadfast::fallback;
///
/// struct Prices {
///     cache: HashMap<&'static str, u32>,
/// }
///
/// impl Prices {
///     #[fallback(|e| self.cache.get(sku).copied().ok_or(e))]
///     async fn price(&self, sku: &str) -> Result<u32, String> {
///         Err(format!("no live price for {sku}"))
///     }
///
///     #[fallback(async |e| self.from_disk(sku).await.ok_or(e))]
///     async fn price_or_disk(&self, sku: &str) -> Result<u32, String> {
///         Err(format!("no live price for {sku}"))
///     }
///
///     async fn from_disk(&self, sku: &str) -> Option<u32> {
///         (sku == "tea").then_some(3)
///     }
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     let prices = Prices { cache: HashMap::from([("coffee", 4)]) };
///     assert_eq!(prices.price("coffee").await, Ok(4));
///     assert_eq!(prices.price("milk").await, Err("no live price for milk".into()));
///     assert_eq!(prices.price_or_disk("tea").await, Ok(3));
/// }
/// ```
///
/// # `when`
///
/// `#[fallback(handler, when = path)]` runs the handler only for the errors that
/// the `fn(&E) -> bool` (a path or a closure) accepts; the others are returned
/// unchanged.
///
/// ```
/// use steadfast::fallback;
///
/// #[derive(Debug, PartialEq)]
/// enum ApiError {
///     Unavailable,
///     NotFound,
/// }
///
/// impl ApiError {
///     fn is_transient(&self) -> bool {
///         *self == ApiError::Unavailable
///     }
/// }
///
/// #[fallback(|_e| Ok("cached"), when = ApiError::is_transient)]
/// async fn profile(error: ApiError) -> Result<&'static str, ApiError> {
///     Err(error)
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     assert_eq!(profile(ApiError::Unavailable).await, Ok("cached"));
///     assert_eq!(profile(ApiError::NotFound).await, Err(ApiError::NotFound));
/// }
/// ```
///
/// # `crate`
///
/// `#[fallback(handler, crate = "path::to::steadfast")]` when steadfast is
/// reached under another path than `::steadfast`; see
/// [`#[retry]`](macro@retry#crate).
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Fallback, args.into(), item.into()).into()
}

/// Fails fast while a dependency keeps failing, and probes it before trusting it
/// again.
///
/// The breaker watches the outcomes of recent calls. While **closed**, calls run
/// and their outcomes go into a sliding window; once `min_calls` are in it and
/// `failures ≥ ceil(failure_ratio × calls)` (or slow calls reach `slow_ratio`, or
/// `consecutive_failures` failed in a row), it **opens**: calls then fail at once
/// with `steadfast::Rejected::CircuitOpen` and the body does not run.
/// After `open_for` it turns **half-open** and admits exactly
/// `half_open_probes` calls at once (others are rejected without running):
/// if all succeed it closes with a fresh window, and any failure reopens it.
/// The function's `E` must implement `From<steadfast::Rejected>`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Rejected, circuit_breaker};
///
/// #[circuit_breaker(window = 4, failure_ratio = 0.5, open_for = "5s")]
/// async fn quote(up: bool) -> std::io::Result<u32> {
///     if up { Ok(42) } else { Err(std::io::Error::other("503")) }
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     // Two failures in a full window of four calls: the breaker opens.
///     for up in [true, false, true, false] {
///         let _ = quote(up).await;
///     }
///     let error = quote(true).await.unwrap_err();
///     assert_eq!(error.kind(), std::io::ErrorKind::ResourceBusy);
///     assert!(matches!(
///         error.get_ref().and_then(|e| e.downcast_ref::<Rejected>()),
///         Some(Rejected::CircuitOpen { .. })
///     ));
///
///     // After `open_for`, one probe runs; its success closes the breaker.
///     tokio::time::advance(Duration::from_secs(5)).await;
///     assert_eq!(quote(true).await.unwrap(), 42);
///     assert_eq!(quote(true).await.unwrap(), 42);
/// }
/// ```
///
/// | key | meaning | default |
/// |---|---|---|
/// | `failure_ratio = r` | open when failures / calls ≥ r (0 < r ≤ 1) | `0.5` |
/// | `window = N` or `window = "60s"` | the last N calls (N ≤ 1024), or the last duration | `100` |
/// | `min_calls = N` | no decision before N calls are in the window | `20`, or N for a count window below 20 |
/// | `consecutive_failures = N` | also open after N failures in a row | off |
/// | `slow_call = d`, `slow_ratio = r` | calls slower than `d` are slow; open when slow / calls ≥ r | off; `slow_ratio` defaults to `1.0` |
/// | `open_for = d` | time open before half-open | `"5s"` |
/// | `half_open_probes = N` | probes admitted at once while half-open; all must succeed | `1` |
/// | `failure_if = f` | `fn(&E) -> bool`: which errors count as failures | every error |
/// | `shared = EXPR` | use the breaker `EXPR` names, evaluated on each call: a `static`, `self.breaker`, `&*FROM_CONFIG` (see State scope) | one per function |
/// | `key = EXPR`, `max_keys = N` | one breaker per distinct key value, at most N kept (see Keyed state) | off; `1024` |
/// | `name = "…"` | the name in rejections, events, metrics and `health()` | `module::Type::fn` for methods, `module::fn` otherwise |
/// | `crate = "path"` | where to find the `steadfast` crate | `::steadfast` |
///
/// # State scope
///
/// Without `shared` or `key`, the function has one breaker, in a `static`
/// inside it: it is shared by every caller, every instance (`&self`) and every
/// generic instantiation of the function.
///
/// `shared = EXPR` uses the breaker `EXPR` names instead. `EXPR` is evaluated
/// on each call, in the function's body, so it may use `self` and the
/// arguments; it is borrowed (a place such as `self.breaker` is not moved) and
/// may be the breaker itself or anything that dereferences to it (`&T`,
/// `Arc<T>`, `LazyLock<T>` through `&*`). The shared breaker's own settings
/// apply: only `failure_if` may be added. A path (`shared = PAYMENTS`) must
/// name a `static` (a `const` would be a fresh breaker at every use, and is
/// refused); such a breaker is listed in `health()` from its first call, while
/// one reached through any other expression is listed once it is registered
/// (`CircuitBreaker::register` or `register_breaker!` for a `static`; a breaker
/// owned by an instance is not listed, since it may be dropped).
///
/// - one breaker for several functions: a `static` built with
///   `CircuitBreaker::builder()`, `shared = PAYMENTS`;
/// - one per client instance: a field, `shared = self.breaker`;
/// - one built at startup from configuration: a `LazyLock`, `shared =
///   &*FROM_CONFIG`;
/// - a lookup in a registry of your own: `shared = registry.breaker("db")`.
///
/// The expression's type is checked where it is written: anything that does
/// not dereference to a `CircuitBreaker` is a compile error naming the
/// expected type.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{CircuitBreaker, circuit_breaker};
///
/// static PAYMENTS: CircuitBreaker = CircuitBreaker::builder()
///     .name("payments")
///     .window_calls(50)
///     .open_for(Duration::from_secs(10))
///     .build();
///
/// #[circuit_breaker(shared = PAYMENTS)]
/// async fn charge(cents: u64) -> std::io::Result<u64> {
///     Ok(cents)
/// }
///
/// #[circuit_breaker(shared = PAYMENTS)]
/// async fn refund(cents: u64) -> std::io::Result<u64> {
///     Ok(cents)
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # charge(1).await.unwrap(); refund(1).await.unwrap();
/// # }
/// ```
///
/// ```
/// use std::sync::LazyLock;
/// use std::time::Duration;
/// use steadfast::{CircuitBreaker, circuit_breaker};
///
/// struct Client {
///     breaker: CircuitBreaker,
/// }
///
/// impl Client {
///     fn new() -> Self {
///         Client { breaker: CircuitBreaker::builder().name("client").window_calls(10).build() }
///     }
///
///     // One breaker per `Client`.
///     #[circuit_breaker(shared = self.breaker)]
///     async fn get(&self, id: u32) -> std::io::Result<u32> {
///         Ok(id)
///     }
/// }
///
/// // Built once, at first use, from settings read at run time.
/// static FROM_CONFIG: LazyLock<CircuitBreaker> = LazyLock::new(|| {
///     let open_for = Duration::from_secs(std::env::var("OPEN_FOR_S").map_or(5, |s| s.parse().unwrap()));
///     CircuitBreaker::builder().name("configured").open_for(open_for).build()
/// });
///
/// #[circuit_breaker(shared = &*FROM_CONFIG)]
/// async fn configured() -> std::io::Result<()> {
///     Ok(())
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # Client::new().get(1).await.unwrap(); configured().await.unwrap();
/// # }
/// ```
///
/// # Keyed state
///
/// `key = EXPR` keeps one breaker per distinct value of `EXPR` (a host, a
/// tenant), each configured by the attribute's other keys: one host failing
/// opens only its own breaker. `EXPR` is evaluated on each call from the
/// arguments and borrowed, never moved; its value must be `Hash + Eq`, and it
/// is stored owned (a `&str` key is stored as a `String`; looking up a key
/// already stored allocates nothing). `max_keys = N` (default 1024) bounds the
/// memory: when a new key finds the map full, the state idle longest with no
/// call in flight is evicted (closed breakers before open ones, so that an
/// open breaker is not forgotten while healthy keys remain) and the evicted
/// key starts afresh when it comes back. See `steadfast::keyed` for the rule
/// when every stored key has a call in flight. `health()` lists the keyed
/// breaker with its key count and every key whose breaker is not closed.
///
/// ```
/// use steadfast::circuit_breaker;
///
/// #[circuit_breaker(key = host, window = 4, open_for = "30s", max_keys = 100)]
/// async fn fetch(host: &str, path: &str) -> std::io::Result<String> {
///     if host == "down.example" {
///         return Err(std::io::Error::other("503"));
///     }
///     Ok(format!("{host}{path}"))
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     for _ in 0..4 {
///         let _ = fetch("down.example", "/").await;
///     }
///     // The failing host's breaker is open; the other host's is not.
///     assert_eq!(
///         fetch("down.example", "/").await.unwrap_err().kind(),
///         std::io::ErrorKind::ResourceBusy
///     );
///     assert_eq!(fetch("up.example", "/").await.unwrap(), "up.example/");
/// }
/// ```
///
/// # What counts
///
/// An `Ok` is a success; an `Err` is a failure unless `failure_if` says
/// otherwise, in which case it is neither (it does not count toward the window,
/// and a half-open probe that ends that way gives its slot back). Rejections
/// from attributes stacked below (`#[timeout]`, `#[bulkhead]`) always count as
/// failures, except `RateLimited` from a `#[rate_limit]` below, which counts as
/// neither (a busy limiter says nothing about the dependency's health). A panic counts as a failure and still propagates. A call that is
/// dropped before it finishes records nothing (and gives a probe slot back). A
/// call that finishes after the breaker changed state (admitted while closed,
/// finishing after it opened) does not move the new state. A slow probe
/// (with `slow_call`) reopens the breaker: slowness is what opened it.
///
/// ```
/// use steadfast::circuit_breaker;
///
/// #[derive(Debug)]
/// enum ApiError {
///     NotFound,
///     Unavailable,
///     Rejected(steadfast::Rejected),
/// }
///
/// impl From<steadfast::Rejected> for ApiError {
///     fn from(rejected: steadfast::Rejected) -> Self {
///         ApiError::Rejected(rejected)
///     }
/// }
///
/// impl ApiError {
///     /// A missing record says nothing about the service's health.
///     fn is_outage(&self) -> bool {
///         !matches!(self, ApiError::NotFound)
///     }
/// }
///
/// #[circuit_breaker(window = 2, failure_if = ApiError::is_outage)]
/// async fn get(id: u32) -> Result<u32, ApiError> {
///     match id {
///         0 => Err(ApiError::NotFound),
///         1 => Err(ApiError::Unavailable),
///         id => Ok(id),
///     }
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     for _ in 0..10 {
///         assert!(matches!(get(0).await, Err(ApiError::NotFound)));
///     }
///     assert_eq!(get(7).await.unwrap(), 7, "not-found errors never opened it");
///     let _ = get(1).await;
///     let _ = get(1).await;
///     assert!(matches!(get(7).await, Err(ApiError::Rejected(_))));
/// }
/// ```
///
/// # Choosing a window
///
/// A count window (`window = 100`) judges the last N calls whatever their
/// timing: simple, and right for steady traffic. A time window (`window =
/// "60s"`, ten buckets of a tenth each) judges what happened recently whatever
/// the traffic: at low volume old outcomes still leave, and at high volume it
/// still costs fixed memory and O(1) per call; pair it with a `min_calls` that
/// means something for your traffic. Either way the window really slides: old
/// calls leave it, so a long healthy history does not hide a fresh outage.
///
/// # Cost
///
/// Closed, a call costs one atomic load to admit and a few atomic operations to
/// record: no lock, no allocation, and a clock read only with a time window or
/// `slow_call`.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::CircuitBreaker, args.into(), item.into()).into()
}

/// Limits how many calls run at once, with a bounded queue for the rest.
///
/// At most `max_concurrent` calls run the body at once; up to `max_queue` more
/// wait for a slot, served in FIFO order, each for at most `max_wait`. A call
/// that finds the queue full, or waits too long, fails with
/// `steadfast::Rejected::BulkheadFull` without running. The slot is released when the call
/// ends: success, error, panic or cancellation. The function's `E` must
/// implement `From<steadfast::Rejected>`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::bulkhead;
///
/// #[bulkhead(max_concurrent = 2, max_queue = 1, max_wait = "100ms")]
/// async fn render(page: u32) -> std::io::Result<u32> {
///     tokio::time::sleep(Duration::from_secs(1)).await;
///     Ok(page)
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let (a, b, c, d) = tokio::join!(render(1), render(2), render(3), render(4));
///     assert!(a.is_ok() && b.is_ok(), "two run at once");
///     // The third waits 100ms for a slot and gives up; the fourth finds the
///     // queue full and is rejected at once.
///     assert!(c.is_err() && d.is_err());
/// }
/// ```
///
/// | key | meaning | default |
/// |---|---|---|
/// | `max_concurrent = N` | calls running at once (N ≥ 1) | `10` |
/// | `max_queue = N` | calls waiting for a slot; `0` = never wait | `10` |
/// | `max_wait = d` | how long a call may wait for a slot | unbounded |
/// | `shared = EXPR` | use the bulkhead `EXPR` names, evaluated on each call | one per function |
/// | `key = EXPR`, `max_keys = N` | one bulkhead per distinct key value, at most N kept | off; `1024` |
/// | `name = "…"` | the name in rejections, events, metrics and `health()` | `module::Type::fn` for methods, `module::fn` otherwise |
/// | `crate = "path"` | where to find the `steadfast` crate | `::steadfast` |
///
/// # State scope
///
/// As for [`#[circuit_breaker]`](macro@circuit_breaker#state-scope): one
/// bulkhead per function (shared by every caller, instance and generic
/// instantiation); `shared = EXPR` for the bulkhead `EXPR` names (a `static`
/// built with `Bulkhead::builder()` to limit several functions together,
/// `self.pool` for one per instance, `&*FROM_CONFIG`); or `key = EXPR` for one
/// per key (`key = tenant`: each tenant gets `max_concurrent` slots of its
/// own), at most `max_keys` kept, evicted as
/// [for the breaker](macro@circuit_breaker#keyed-state). A key's bulkhead with
/// calls running or waiting is never evicted.
///
/// # Stacking
///
/// Below `#[timeout]`, the time spent waiting for a slot counts toward the
/// timeout; below `#[retry]`, each attempt takes its own slot (and gives it
/// back before the retry delay); a `BulkheadFull` is never retried. Below a
/// `#[circuit_breaker]`, rejections count as the breaker's failures, so a
/// saturated dependency opens the breaker and callers then fail before they
/// queue.
///
/// # Cost
///
/// While nobody waits, taking and releasing a slot is one atomic
/// compare-and-swap each: no lock and no allocation. Waiting takes a lock on
/// the queue, which is allocated once, at `max_queue` entries.
#[proc_macro_attribute]
pub fn bulkhead(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Bulkhead, args.into(), item.into()).into()
}

/// Admits at most `rate` calls per `per`, with bursts up to `burst`.
///
/// In any interval of length t, at most `burst + floor(rate × t / per)` calls
/// are admitted (a token bucket, kept as GCRA on one atomic word: exact on
/// tokio's paused clock). A new limiter starts full, so `burst` calls may pass
/// back to back after a quiet period. A call over the limit whose turn comes
/// within `max_wait` waits for it (waiting calls are admitted in arrival
/// order, each at its turn); any other fails at once, without waiting first,
/// with `steadfast::Rejected::RateLimited { name, retry_after }`, where
/// `retry_after` is the time from the rejection to the next free turn (the
/// moment a call would be admitted without waiting, counting the turns that
/// waiting calls already hold). The function's `E` must implement
/// `From<steadfast::Rejected>`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Rejected, rate_limit};
///
/// #[rate_limit(rate = 2, per = "1s")]
/// async fn send(n: u32) -> Result<u32, Rejected> {
///     Ok(n)
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     // A full bucket: two calls pass back to back, the third is refused
///     // and told when the next turn is.
///     assert_eq!(send(1).await, Ok(1));
///     assert_eq!(send(2).await, Ok(2));
///     let Err(Rejected::RateLimited { retry_after, .. }) = send(3).await else { panic!() };
///     assert_eq!(retry_after, Duration::from_millis(500));
///     tokio::time::advance(retry_after).await;
///     assert_eq!(send(4).await, Ok(4));
/// }
/// ```
///
/// | key | meaning | default |
/// |---|---|---|
/// | `rate = N` | calls admitted per `per` (N ≥ 1) | required |
/// | `per = d` | the period of `rate` | `"1s"` |
/// | `burst = N` | calls that may pass back to back after a quiet period (N ≥ 1) | `rate` |
/// | `max_wait = d` | a call over the limit waits for its turn if it comes within `d`; otherwise it is rejected at once | `"0s"` (never wait) |
/// | `shared = EXPR` | use the limiter `EXPR` names, evaluated on each call (see State scope) | one per function |
/// | `key = EXPR`, `max_keys = N` | one limiter per distinct key value, at most N kept (see Keyed state) | off; `1024` |
/// | `name = "…"` | the name in rejections, events, metrics and `health()` | `module::Type::fn` for methods, `module::fn` otherwise |
/// | `crate = "path"` | where to find the `steadfast` crate | `::steadfast` |
///
/// # `rate` and `per`
///
/// The limiter admits one call every `per / rate` on average; `per / rate`
/// need not be a whole number of nanoseconds (`rate = 3, per = "1s"` admits
/// exactly 3 calls in any second after the burst is spent, never 4).
///
/// # `burst`
///
/// How many calls may pass at once after a quiet period: the bucket's size.
/// `burst = 1` spaces calls at least `per / rate` apart; a larger burst absorbs
/// spikes while keeping the long-run rate.
///
/// # `max_wait`
///
/// A call whose turn is at most `max_wait` away reserves that turn and sleeps
/// until it, so that short spikes are smoothed instead of refused. A call
/// that is dropped while it waits does not run, and its turn is lost (the
/// limiter then admits one call fewer in that period: it stays within its
/// bound, never above; see `steadfast::RateLimiter` for the exact rule).
///
/// # State scope
///
/// As for [`#[circuit_breaker]`](macro@circuit_breaker#state-scope): one
/// limiter per function; `shared = EXPR` for the limiter `EXPR` names (a
/// `static` built with `RateLimiter::builder()` for a quota several functions
/// share, `self.quota` for one per client, `&*FROM_CONFIG`); or `key = EXPR`
/// for one per key (`key = tenant`: every tenant gets `rate` of its own), at
/// most `max_keys` kept, evicted as
/// [for the breaker](macro@circuit_breaker#keyed-state). An evicted key starts
/// again with a full bucket.
///
/// ```
/// use steadfast::{Rejected, rate_limit};
///
/// #[rate_limit(rate = 1, per = "1m", key = tenant)]
/// async fn export(tenant: &str) -> Result<(), Rejected> {
///     Ok(())
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     assert!(export("acme").await.is_ok());
///     assert!(export("acme").await.is_err(), "acme spent its minute");
///     assert!(export("globex").await.is_ok(), "globex has a limit of its own");
/// }
/// ```
///
/// # Stacking
///
/// An outer `#[retry]` never retries `RateLimited` (waiting is what
/// `max_wait` is for); an outer `#[circuit_breaker]` counts it as neither a
/// success nor a failure, so a busy limiter never opens a breaker. Below
/// `#[timeout]`, the time spent waiting for a turn counts toward the timeout,
/// and a call cut off while it waits does not run.
///
/// # Cost
///
/// An admitted call costs one clock read and one compare-and-swap on the
/// limiter's word: no lock, no allocation, no timer. Only a call that waits
/// for its turn arms a timer.
#[proc_macro_attribute]
pub fn rate_limit(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::RateLimit, args.into(), item.into()).into()
}

/// A marker that [`stack`]'s deferral leaves on a function: it composes
/// exactly the layers it carries. Not for direct use.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn __steadfast_deferred(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::deferred(args.into(), item.into()).into()
}

/// Declares a health check: the `async fn() -> Result<(), E>` it annotates
/// (`E: Display`) is the probe, run every `every` within `timeout` once
/// `steadfast::health::start_checks()` has started the program's checks.
///
/// The function is left as written (call it yourself too, if useful); next
/// to it, the attribute declares a `static` `steadfast::health::HealthCheck`
/// built from its arguments, and lists it for `start_checks()`. The check
/// shows in `health()` (as `checks[]`) from its start, gates
/// `Health::ready()`, and with `breaker = "…"` holds the breakers of that
/// name open while it is down (see `HealthCheck` for the rules).
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
/// use steadfast::{circuit_breaker, health_check};
///
/// static DATABASE_UP: AtomicBool = AtomicBool::new(false);
///
/// #[health_check(every = "5s", timeout = "1s", failures_to_act = 2, breaker = "orders-db")]
/// async fn ping_database() -> Result<(), std::io::Error> {
///     if DATABASE_UP.load(Ordering::Relaxed) { Ok(()) } else { Err(std::io::Error::other("refused")) }
/// }
///
/// #[circuit_breaker(name = "orders-db")]
/// async fn load_order(id: u64) -> std::io::Result<u64> {
///     Ok(id)
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let _checks = steadfast::health::start_checks();
///     tokio::time::sleep(Duration::from_millis(5_010)).await; // probes at 0 and 5 s
///     assert!(load_order(1).await.is_err(), "held open while the database is down");
///     assert!(!steadfast::health().ready());
///     assert!(steadfast::health().live());
/// }
/// ```
///
/// Every key is optional:
///
/// | key | meaning | default |
/// |---|---|---|
/// | `every = d` | the probe period, start to start | `"5s"` |
/// | `timeout = d` | how long a probe may take; longer is a failure | `"1s"` |
/// | `failures_to_act = N` | consecutive failures that take the check down | `3` |
/// | `successes_to_release = N` | consecutive successes that bring it back up | `2` |
/// | `breaker = "name"` | the breakers it holds open while down | none |
/// | `gates_readiness = bool` | whether it gates `Health::ready()` | `true` |
/// | `name = "…"` | its name in `health()` and events | `module::fn` |
/// | `crate = "path"` | where to find the `steadfast` crate | `::steadfast` |
///
/// Durations are string literals checked at compile time (`"250ms"`, `"2s"`)
/// or const `Duration` expressions; zero durations, a zero count, a probe that
/// takes arguments, is generic or is not `async` are compile errors. Write
/// it on a free function (a module item), above any other attribute: those
/// below it (`#[retry]`, `#[timeout]`, …) apply to each probe.
#[proc_macro_attribute]
pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    health_check::entry(args.into(), item.into()).into()
}

/// Injects faults into an `async fn`: errors and latency, each with a rate,
/// for tests and game days. **Compiled to nothing unless the cargo feature
/// `chaos` of `steadfast` is on.**
///
/// With the feature, each call of the function may first wait `latency`
/// (with probability `latency_rate`), then fail with the error that `error`
/// builds (with probability `error_rate`) instead of running the body. The
/// attributes stacked above see these faults exactly as real ones: a
/// `#[retry]` above retries the injected error, a `#[circuit_breaker]` above
/// counts it and opens, a `#[timeout]` above fires on the injected latency.
/// Written above them, `#[chaos]` injects once around all of them. Without
/// the feature, the function is emitted as if the attribute were not there
/// (no code, no state, no cost), and its arguments are still checked the
/// same way, so a build with and without the feature has the same errors.
///
/// ```
/// use steadfast::{chaos, retry};
///
/// #[derive(Debug, PartialEq)]
/// enum ApiError {
///     Unavailable,
/// }
///
/// fn unavailable() -> ApiError {
///     ApiError::Unavailable
/// }
///
/// // Every attempt fails with the injected error (with the feature).
/// #[retry(attempts = 3, backoff = none)]
/// #[chaos(error = unavailable, error_rate = 1.0, latency = "200ms", latency_rate = 0.5)]
/// async fn fetch(id: u32) -> Result<u32, ApiError> {
///     Ok(id)
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     if steadfast::chaos::ENABLED {
///         assert_eq!(fetch(7).await, Err(ApiError::Unavailable));
///     } else {
///         assert_eq!(fetch(7).await, Ok(7), "compiled to nothing");
///     }
/// }
/// ```
///
/// | key | meaning | default |
/// |---|---|---|
/// | `error = f` | a `fn() -> E` (a function, or a closure that captures nothing): builds the injected error | no error injected |
/// | `error_rate = r` | the share of calls that fail with it, in `[0, 1]` (needs `error`) | `1.0` |
/// | `latency = d` | the latency injected before the call | no latency injected |
/// | `latency_rate = r` | the share of calls that wait it, in `[0, 1]` (needs `latency`) | `1.0` |
/// | `enabled = b` | whether it injects anything until switched at run time | `true` |
/// | `name = "…"` | the name the run-time controls (`steadfast::chaos::set`, `enable`, `disable`) and events know it by | `module::Type::fn` for methods, `module::fn` otherwise |
/// | `crate = "path"` | where to find the `steadfast` crate | `::steadfast` |
///
/// At least one of `error` and `latency` is required. Rates are number
/// literals; `latency` is a duration literal (`"200ms"`) or a constant a
/// `static` can use. A rate outside `[0, 1]`, a rate without its fault, an
/// `error` that is not a `fn() -> E` for the function's `E`, and an unknown
/// or repeated key are compile errors. `#[chaos]` never rejects a call, so it
/// needs no `E: From<Rejected>`.
///
/// # Run-time control (feature `chaos`)
///
/// The attribute's values are where each policy starts.
/// `steadfast::chaos::set(name, Settings { … })` retunes every policy of a
/// name (rates, latency, on/off), `enable(name)` and `disable(name)` switch
/// them, and `steadfast::chaos::seed(u64)` makes the random draws
/// reproducible: the same seed gives every name the same sequence of faults.
/// A control call for a name that has not run yet applies when it first does.
///
/// # Cost
///
/// None without the feature: the function's future is the one it would have
/// without the attribute. With it, a disabled policy costs an acquire and a
/// relaxed load per call, inside a future of its own (about 8 ns a call in a
/// release build, against 2 ns for the bare call); an enabled one adds a
/// short lock on its name's random stream for two draws (about 20–30 ns),
/// and a timer only when latency strikes. No allocation either way.
#[proc_macro_attribute]
pub fn chaos(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Chaos, args.into(), item.into()).into()
}

/// Runs the body only while this process holds an election, with a fencing
/// token: for jobs that must run on exactly one replica.
///
/// ```no_run
/// use steadfast::leader;
///
/// #[leader(election = "nightly-billing", lease = "10s")]
/// async fn bill_everyone(db: &Db) -> Result<(), std::io::Error> {
///     // The store's revision at which this process won: greater than any
///     // earlier leader's. Storage that refuses lower tokens than it has
///     // seen refuses a deposed leader's writes.
///     let token = steadfast::leader::fencing_token().expect("inside the body");
///     db.write_invoices(token).await
/// }
///
/// # struct Db;
/// # impl Db { async fn write_invoices(&self, _token: u64) -> Result<(), std::io::Error> { Ok(()) } }
/// async fn start(store: impl steadfast::leader::ElectionStore, db: Db) {
///     // Once at startup; with etcd (feature `etcd`):
///     // steadfast::leader::install(steadfast::etcd::EtcdStore::new(["http://127.0.0.1:2379"]));
///     steadfast::leader::install(store);
///     match bill_everyone(&db).await {
///         Ok(()) => {}
///         // Another replica holds the election (`Rejected::NotLeader`),
///         // or it was lost mid-way (`Rejected::LeadershipLost`).
///         Err(error) => eprintln!("{error}"),
///     }
/// }
/// ```
///
/// A call campaigns once: if no process holds the election it takes it
/// under a fresh lease of `lease`, keeps the lease alive (every third of
/// it) while the body runs, and resigns (revokes the lease) when the body
/// ends, however it ends, a dropped call included. If another process (or
/// another call of this one) holds it, the call fails at once with
/// `Rejected::NotLeader { name, leader }`, or with `wait`, asks again every
/// 100 ms until it wins or the wait is spent. When the lease is lost while
/// the body runs (no refresh succeeded for a whole TTL: etcd out of reach,
/// the process paused; or the lease was revoked) the body is dropped at once
/// and the call returns `Rejected::LeadershipLost { name }`. Once graceful
/// shutdown has begun, a new call is refused and a running body is
/// cancelled, with `Rejected::ShuttingDown`, and the election is resigned.
///
/// The election's store is the process's, installed once at startup with
/// `steadfast::leader::install(store)` (etcd: `steadfast::etcd::EtcdStore`,
/// feature `etcd`); with none installed every call is refused with
/// `NotLeader` and a warning. See the `steadfast::leader` module for
/// fencing (what it protects and what it cannot), choosing the TTL, and
/// `health()`.
///
/// # Keys
///
/// ## `election = "name"` (required)
///
/// The election's name, a non-empty string literal: one election per name
/// across every process that shares the store (the etcd key
/// `steadfast/elections/{name}`). Functions with the same name exclude each
/// other.
///
/// ## `lease = "10s"`
///
/// The lease's TTL (default `"10s"`): a duration literal or a `const`
/// `Duration`. It trades failover time (another process leads within about
/// the TTL after this one dies) against false failovers (a pause or an
/// outage of the store longer than the TTL cuts the body off). etcd grants
/// whole seconds, 2 s at least.
///
/// ## `wait = "30s"`
///
/// A call that does not win waits up to this long for the election,
/// asking every 100 ms, instead of failing at once (default: no wait).
///
/// ## `crate = "path"`
///
/// Where to find the `steadfast` crate (default `::steadfast`).
///
/// # Stacking
///
/// `#[leader]` rejects calls, so the function's `E` must implement
/// `From<Rejected>`. Written above other attributes it holds the election
/// across all of them (`#[leader] #[retry]`: every attempt under one
/// leadership); written below `#[retry]`, each attempt campaigns anew (an
/// outer `#[retry]` never retries `NotLeader` or `LeadershipLost`). An outer
/// `#[circuit_breaker]` counts both as neither success nor failure.
///
/// Misuse is a compile error: a missing `election`, an unparsable or zero
/// duration, an unknown or repeated key, a non-`async` function.
#[proc_macro_attribute]
pub fn leader(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Leader, args.into(), item.into()).into()
}

/// Starts extra copies of a slow call; the first success wins.
///
/// If no copy of the call has succeeded after `after`, another copy of the
/// body starts, up to `max` extra copies, one more every `after`. The first
/// `Ok` wins and every other copy is dropped at once. An `Err` from one copy
/// waits for the others while any runs; an `Err` while no other copy runs
/// ends the call (a hedge is not a retry: a failure does not start the next
/// copy early). When every copy has failed, the error of the copy that
/// failed last returns. Hedging cuts tail latency for idempotent reads:
/// the slow answers of a few backends stop setting the caller's p99.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use steadfast::hedge;
///
/// static CALLS: AtomicU32 = AtomicU32::new(0);
///
/// #[hedge(after = "50ms", max = 1)]
/// async fn lookup(key: &str) -> Result<String, std::io::Error> {
///     // The first copy is stuck for a second; the second answers at once.
///     if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
///         tokio::time::sleep(Duration::from_secs(1)).await;
///     }
///     Ok(format!("value of {key}"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let started = tokio::time::Instant::now();
/// assert_eq!(lookup("a").await.unwrap(), "value of a");
/// assert_eq!(started.elapsed(), Duration::from_millis(50));
/// # }
/// ```
///
/// The body must be re-runnable concurrently: it may use shared borrows
/// (`&self`, `&str`) and `Copy` arguments. `&mut self` or a `&mut` argument
/// is a compile error on it (one exclusive borrow cannot serve two copies),
/// and so is a body that moves an owned argument (the compiler reports the
/// closure as `FnOnce` and points at the move). On a plain `fn` it is a
/// compile error: a blocking call cannot be cancelled, so the losing copies
/// could not be stopped.
///
/// The error of a failed copy is kept while the others run, so the hedged
/// future is `Send` when the body's future and `E` are (an `E` that is not
/// `Send` makes it `!Send`, unlike `#[retry]`).
///
/// A call whose first copy is ready on its first poll reads no clock, arms
/// no timer and allocates nothing: the copies live inline in the call's
/// future (which is about `1 + max` times the size of one copy). Dropping
/// the call drops every copy. Once graceful shutdown has begun
/// (`steadfast::shutdown`), no new copy starts; the running ones finish.
///
/// # Keys
///
/// ## `after = "50ms"` (required)
///
/// How long the call waits for a success before it starts another copy,
/// and then between copies: a duration literal or a `const` `Duration`,
/// above zero. Set it near the p95 of the call's latency, so that about one
/// call in twenty sends a second request.
///
/// ## `max = 1`
///
/// The most extra copies one call starts, 1 to 8 (default 1).
///
/// ## `budget = EXPR`
///
/// Draws each extra copy from a [`RetryBudget`](https://docs.rs/steadfast/latest/steadfast/struct.RetryBudget.html)
/// (a `static`, or an expression of a `&RetryBudget`, as for `#[retry]`).
/// Each call deposits once, as a retried call's first attempt does; an extra
/// copy the budget refuses is not started, nor is any later one of that call
/// (a `tracing` debug event says so). One budget can serve retries and
/// hedges together, bounding the extra load of both.
///
/// ```
/// use steadfast::{RetryBudget, hedge};
///
/// static EXTRA: RetryBudget = RetryBudget::builder().ratio(0.1).min_per_sec(5).window("10s").build();
///
/// #[hedge(after = "20ms", max = 2, budget = EXTRA)]
/// async fn read(id: u64) -> Result<u64, std::io::Error> {
///     Ok(id)
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() { assert_eq!(read(3).await.unwrap(), 3); }
/// ```
///
/// ## `crate = "path"`
///
/// Where to find the `steadfast` crate (default `::steadfast`).
///
/// # Stacking
///
/// In written order, like the other attributes. The layers written below
/// `#[hedge]` run once per copy: `#[hedge] #[bulkhead]` takes a slot per
/// copy, `#[hedge] #[timeout("1s")]` bounds each copy. Written below
/// `#[retry]`, each attempt is hedged; written above it, each copy retries.
/// `#[hedge]` rejects nothing itself, so on its own it puts no bound on `E`.
///
/// # Cost
///
/// With the first copy ready at once: one poll of it, no clock read, no
/// timer, no allocation (`tests/alloc.rs`).
#[proc_macro_attribute]
pub fn hedge(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Hedge, args.into(), item.into()).into()
}
