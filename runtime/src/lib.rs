//! The state machines behind the [`steadfast`](https://docs.rs/steadfast)
//! attributes, usable without macros.
//!
//! Each policy is plain configuration built with a `const` builder, so it can
//! live in a `static`; the per-call state lives on the caller's stack. Time is
//! tokio time: `tokio::time::pause()` makes every policy deterministic.
//!
//! Most users depend on `steadfast` and use the attributes; this crate's items
//! are re-exported there.

#![forbid(unsafe_code)]

mod blocking;
pub mod bulkhead;
pub mod chaos;
pub mod circuit_breaker;
pub mod config;
mod duration_text;
mod events;
mod failure;
pub mod fallback;
#[doc(hidden)]
pub mod glue;
pub mod health;
pub mod hedge;
#[cfg(feature = "http")]
pub mod http;
pub mod keyed;
pub mod leader;
pub mod membership;
mod meter;
#[cfg(feature = "serde")]
mod millis;
pub mod name;
pub mod rate_limit;
mod registry;
mod rejected;
pub mod retry;
pub mod shutdown;
pub mod snapshot;
pub mod store;
mod sync;
pub mod timeout;

pub use bulkhead::{Bulkhead, Slotted};
pub use circuit_breaker::{CircuitBreaker, Guarded};
pub use failure::{AsError, Failure, FromRejected, Lift, Rejection};
pub use health::health;
pub use hedge::Hedge;
pub use keyed::Keyed;
pub use rate_limit::{Limited, RateLimiter};
pub use rejected::Rejected;
pub use retry::{Attempts, Backoff, Jitter, Retry, RetryBudget, RetryBuilder};
pub use shutdown::{ShutdownReport, shutdown};
pub use timeout::{Limit, Timed, TimedWrap, Timeout};
