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
//!   when it is dropped. On a plain `fn` (the policies' blocking `call`s) the
//!   waiting thread is woken the same way.
//! - **Retry delays end early with the last error.** A retry sleeping
//!   between attempts wakes up and returns the error of its last attempt; a
//!   retry that fails after shutdown began makes no further attempt. (For
//!   an attribute whose error type is not `Send`, the attribute cannot keep
//!   the error across the sleep without making the future `!Send`: the
//!   delay still ends early, and the attempt that follows is made — refused
//!   with `ShuttingDown` by any policy below the retry.)
//! - **Calls in flight drain.** The returned future waits until every
//!   bulkhead is empty (and, after [`track_calls`], every registered circuit
//!   breaker has no call in flight), or until the deadline, and reports, by
//!   policy, the calls that finished during the drain and those still
//!   running at its end ([`ShutdownReport`]).
//!
//! Shutdown is process-wide and one-way: there is no "resume". Tests that
//! shut down call [`reset`] (hidden from the docs) afterwards, and live in a
//! test binary of their own, since a test binary's tests share the process.
//!
//! # What is drained
//!
//! Bulkheads count the calls they run (that count is what they are for), so
//! calls holding a bulkhead slot are always waited for and reported.
//!
//! Circuit breakers count their calls only when asked: [`track_calls`],
//! called once at startup, before traffic, turns it on for every breaker
//! (idempotent; the hidden [`reset`] turns it off again, for tests). From
//! then on each breaker counts its calls in flight — a call enters the
//! count when the breaker admits it and leaves it when its permit is
//! reported or dropped: success, failure, an ignored error, a permit
//! dropped unused, a call cancelled (its future dropped), a panic — and the
//! drain waits for the registered breakers too. They are listed after the
//! bulkheads (`kind: "circuit_breaker"`), each kind in registration order.
//! A call under both a bulkhead and a breaker is counted by each, so it
//! appears in both entries (and twice in the totals). Counting is not the
//! default because it is not free (see below), where a closed breaker's
//! call is otherwise loads only; without it, breaker calls are not waited
//! for, and a service can instead put them under a `#[bulkhead]` (one with
//! a large `max_concurrent` costs one compare-and-swap per call).
//!
//! Keyed policies' per-key states count too (they are the same types), but
//! they are not listed in the registry, so they are neither waited for nor
//! reported. Rate limiters, timeouts and retries count nothing. A breaker
//! [`Permit`](crate::circuit_breaker::Permit) that is forgotten
//! (`mem::forget`) never leaves the count: the drain then waits for its
//! deadline.
//!
//! # Cost and memory ordering
//!
//! One word holds the process's mode: whether shutdown has begun, and
//! whether calls are tracked. A policy's entry reads it with one `Relaxed`
//! load; the circuit breaker's fast path compares it to 0 (anything set
//! sends the call down its cold path), so without [`track_calls`] nothing
//! is added to a call that does not wait, breaker calls included.
//!
//! A call that is about to wait (a bulkhead queue, a rate limiter's turn, a
//! retry delay) first subscribes to the shutdown signal (a
//! `tokio::sync::Notify`; one small allocation per wait), then reads the
//! flag with `SeqCst`: [`begin`] sets the flag (`SeqCst`) before it
//! notifies, and `Notify` orders subscriptions and notifications, so a
//! waiter either sees the flag or is woken. A call that read the flag as
//! clear just as shutdown began is admitted, and is then a call in flight
//! (the drain counts it if it holds a bulkhead slot).
//!
//! **Tracked breaker calls** (after [`track_calls`]) follow a Dekker
//! protocol (`track.rs`), so that a call is either refused or counted by
//! the drain, never admitted and missed:
//!
//! - the call, once the breaker has admitted it, increments the breaker's
//!   count, issues a `SeqCst` fence, then reads the flag; if shutdown has
//!   begun it leaves the count and is refused with `ShuttingDown` (its
//!   permit dropped unused: nothing recorded, a probe slot given back);
//! - the drain sets the flag, issues a `SeqCst` fence, then reads the
//!   counts.
//!
//! The two fences are totally ordered. If the call's fence comes first, the
//! drain's reads, after its own fence, see the increment (or a later value):
//! the call is counted. If the drain's comes first, the call's read of the
//! flag, after its fence, sees it set: the call is refused. (The fences,
//! not `SeqCst` accesses alone, because the model checker, `loom`, models
//! `SeqCst` fences but treats `SeqCst` loads and read-modify-writes as
//! `AcqRel`; `shutdown/loom.rs` checks the protocol on the very functions
//! the breaker and the drain run, and fails without either fence.) A call
//! leaves the count with a `Release` decrement after its outcome is
//! recorded, and the drain reads counts with `Acquire`, so a drain that
//! sees a call gone sees its outcome too. A call refused in the instant
//! shutdown began may be counted at the drain's start and so reported among
//! the finished. The cost of a tracked call: two read-modify-writes on its
//! breaker's counter, a `SeqCst` fence, and the breaker's cold admission
//! path; it touches no shared word but its breaker's.
//!
//! A bulkhead releasing a slot, or a tracked breaker's last call in flight
//! leaving the count, while shutdown is under way wakes the drain (one more
//! `Relaxed` load of the mode word per release), so the drain returns as
//! soon as the last call finishes, not on a polling tick. That load may
//! still read the flag as clear for a release that races the start of
//! shutdown (the release's count update and the drain's flag store form a
//! store-buffering pattern, which only `SeqCst` fences on both sides would
//! rule out, and the release side does not pay for one), so the drain also
//! looks every 10 ms: a missed wake-up delays it by at most that, and never
//! past its deadline.

mod drain;
#[cfg(test)]
mod loom;
mod mode;
mod report;
mod signal;
mod track;

pub use drain::shutdown;
#[cfg(feature = "tokio-util")]
pub use drain::shutdown_on;
pub use mode::is_shutting_down;
pub(crate) use mode::{mode, quiet};
pub use report::{PolicyDrain, ShutdownReport};
pub(crate) use signal::{Stop, stopped_before, stopped_before_blocking};
pub use signal::{begin, begun, reset};
pub use track::track_calls;
pub(crate) use track::{call_entered, call_left, in_flight, released};
