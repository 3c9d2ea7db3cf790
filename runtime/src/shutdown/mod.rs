//! Graceful shutdown: one call stops new work, releases every waiting call,
//! and drains the calls in flight up to a deadline.
//!
//! [`shutdown`] (or `shutdown_on`, with the `tokio-util` feature, when a
//! `CancellationToken` is cancelled) starts it, once per process:
//!
//! - **New calls are refused.** A call that reaches a circuit breaker, a
//!   bulkhead, a rate limiter or a timeout after shutdown began fails at once
//!   with [`Rejected::ShuttingDown`](crate::Rejected::ShuttingDown), without
//!   running (keyed policies too: their per-key states are the same types).
//! - **Waiting calls leave.** A call waiting in a bulkhead's queue, or for a
//!   rate limiter's turn (a shared limiter's too), stops waiting and fails
//!   with `ShuttingDown` (a bulkhead waiter that had already been handed a
//!   slot runs: it was in flight). The turn it had reserved is given back as
//!   when it is dropped. The blocking [`RateLimiter::call`](crate::RateLimiter::call)
//!   sleeps its thread and cannot be woken: it runs at its turn.
//! - **Retry delays end early with the last error.** A retry sleeping
//!   between attempts wakes up and returns the error of its last attempt; a
//!   retry that fails after shutdown began makes no further attempt. (For
//!   an attribute whose error type is not `Send`, the attribute cannot keep
//!   the error across the sleep without making the future `!Send`: the
//!   delay still ends early, and the attempt that follows is made — refused
//!   with `ShuttingDown` by any policy below the retry.)
//! - **Calls in flight drain.** The returned future waits until every
//!   bulkhead is empty, or until the deadline, and reports, by bulkhead, the
//!   calls that finished during the drain and those still running at its end
//!   ([`ShutdownReport`]).
//!
//! Shutdown is process-wide and one-way: there is no "resume". Tests that
//! shut down call [`reset`] (hidden from the docs) afterwards, and live in a
//! test binary of their own, since a test binary's tests share the process.
//!
//! # What is drained
//!
//! Only bulkheads count the calls they run (that count is what they are
//! for), so only calls holding a bulkhead slot are waited for and reported.
//! Counting every call of every breaker and rate limiter would add two
//! read-modify-write operations on a shared counter to each call, where a
//! closed breaker's call today is loads only: a service that wants its
//! other calls drained puts them under a `#[bulkhead]` (one with a large
//! `max_concurrent` costs one compare-and-swap per call). Keyed bulkheads'
//! per-key states are not listed in the registry, so they are not waited
//! for either.
//!
//! # Cost and memory ordering
//!
//! A policy's entry reads the shutdown flag with one `Relaxed` load; nothing
//! else is added to a call that does not wait. A call that is about to wait
//! (a bulkhead queue, a rate limiter's turn, a retry delay) first subscribes
//! to the shutdown signal (a `tokio::sync::Notify`; one small allocation
//! per wait), then reads the flag with `SeqCst`: [`begin`] stores the flag
//! (`SeqCst`) before it notifies, and `Notify` orders subscriptions and
//! notifications, so a waiter either sees the flag or is woken. A call that
//! read the flag as clear just as shutdown began is admitted, and is then a
//! call in flight (the drain counts it if it holds a bulkhead slot). A
//! bulkhead releasing a slot while shutdown is under way wakes the drain
//! (one more `Relaxed` load per release), so the drain returns as soon as
//! the last call finishes, not on a polling tick. That load may still read
//! the flag as clear for a release that races the start of shutdown (the
//! release's count update and the drain's flag store form a store-buffering
//! pattern, which only `SeqCst` fences on both sides would rule out), so
//! the drain also looks every 10 ms: a missed wake-up delays it by at most
//! that, and never past its deadline.

mod drain;
#[cfg(test)]
mod loom;
mod report;
mod signal;
mod track;

pub(crate) use drain::released;
pub use drain::shutdown;
#[cfg(feature = "tokio-util")]
pub use drain::shutdown_on;
pub use report::{PolicyDrain, ShutdownReport};
pub(crate) use signal::{Stop, stopped_before};
pub use signal::{begin, begun, is_shutting_down, reset};
pub(crate) use signal::{mode, quiet};
pub use track::track_calls;
pub(crate) use track::{call_entered, call_left, in_flight};
