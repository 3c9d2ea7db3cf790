//! State that survives a restart: a [`Snapshot`] of every registered circuit
//! breaker ([`take`]), and its [`restore`] into a new process.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::CircuitBreaker;
//!
//! static PAYMENTS: CircuitBreaker = CircuitBreaker::builder()
//!     .name("snapshot-doc-payments")
//!     .window_calls(2)
//!     .open_for(Duration::from_secs(30))
//!     .build();
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! PAYMENTS.register(); // listed, so snapshots see it
//! for _ in 0..2 {
//!     let _ = PAYMENTS.call(|| Err::<(), _>("503"));
//! }
//! // At shutdown: save the breakers' states.
//! let saved = steadfast::snapshot::take();
//! # let mut saved = saved;
//! # saved.breakers.retain(|b| b.name == "snapshot-doc-payments");
//!
//! // In the next process, before traffic: put them back.
//! # PAYMENTS.reset();
//! let report = steadfast::snapshot::restore(&saved).expect("a snapshot of this version");
//! assert_eq!(report.restored.len(), 1);
//! assert_eq!(PAYMENTS.state().as_str(), "open");
//! # }
//! ```
//!
//! With the `serde` feature a [`Snapshot`] serializes (to JSON, say, with
//! `serde_json`) and deserializes; the format is below.
//!
//! # What a snapshot holds, and what a restore makes of it
//!
//! Per breaker: its name, state, the state an operator holds it in (if
//! any), how long it still stays open, its window counts (calls, failures,
//! slow calls) and its run of consecutive failures; for the snapshot, the
//! format's version and the wall-clock time it was taken. A restore puts
//! each breaker back as follows, `age` being how long ago the snapshot was
//! taken:
//!
//! - **Closed**: closed, with the window counts and the run of failures. A
//!   count window takes the counts as its oldest outcomes (failures and slow
//!   calls spread evenly among them: the ring's exact order is not kept, only
//!   its counts), scaled down proportionally if the window is now smaller. A
//!   time window keeps the part of its counts that `age` has not expired,
//!   reckoning them spread evenly over the window (`counts × (window − age)
//!   / window`, none once `age` reaches the window), in its current bucket,
//!   which they leave with it (so up to one window's duration later). The
//!   counts are judged under the breaker's present settings when its next
//!   failure or slow call is recorded (a restore itself opens nothing).
//! - **Open** (or half-open) and `age < open_for`: open, rejecting for the
//!   time it had left minus `age`, then probing as usual (at once when `age`
//!   exceeds the time left; a half-open breaker's probes died with its
//!   process, so its next call probes at once too).
//!   The window starts fresh, as after any opening.
//! - **Open** (or half-open) and `age ≥ open_for`: closed, with a fresh
//!   window. The verdict that opened it is older than the breaker itself
//!   would keep it.
//! - **Held** by an operator ([`force_open`](crate::CircuitBreaker::force_open),
//!   [`force_closed`](crate::CircuitBreaker::force_closed)): held again,
//!   whatever the age. A hold is a decision of a person, not of the
//!   breaker's clock, and lasts until a person releases it, across restarts
//!   too; held closed, the window counts are restored as for closed.
//!
//! `open_for`, the window and the other settings are the new process's
//! own (a snapshot holds no configuration). The generation and
//! [`transitions`](crate::CircuitBreaker::transitions) are not restored:
//! they count this process's state changes (the restore is one of them), and
//! fence this process's calls.
//!
//! # Time: no `Instant` crosses a process
//!
//! A `tokio::time::Instant` (or `std`'s) means nothing in another process:
//! it counts from an arbitrary origin, the machine's boot or the runtime's
//! start. So the snapshot holds durations (the time left open) and one
//! wall-clock timestamp, `taken_at_unix_ms`, milliseconds since the UNIX
//! epoch, which the new process compares with its own wall clock to know
//! the snapshot's `age`; the durations are then carried into the breaker's
//! own tokio clock. A wall clock can be wrong: a snapshot that seems taken
//! in the future has age zero (the breaker then rejects for all the time it
//! had left, the safe side), and a caller who knows the age better (a
//! monotonic reading of its own, a store's timestamp) passes it to
//! [`restore_aged`].
//!
//! # What is not restored, and what a restore reports
//!
//! Nothing fails a restore but the snapshot itself: a [`RestoreError`] (an
//! unknown [`VERSION`], an entry that contradicts itself) changes no
//! breaker. Otherwise every entry is accounted for in the [`RestoreReport`]:
//!
//! - `unknown`: no registered breaker has its name (renamed or removed since:
//!   reported, not fatal). Only registered breakers are restored, as only
//!   registered ones are taken: the attributes' from startup, a `static`
//!   once [`register`](crate::CircuitBreaker::register)ed or listed with
//!   [`register_breaker!`](crate::register_breaker) (restore before the first
//!   call, so list them from startup);
//! - `skipped`: a breaker shared across processes through a store (its state
//!   lives in the store, which outlives the process), a breaker an operator
//!   holds in this process (a command given here is newer than any
//!   snapshot), and a name that two entries or two registered breakers carry
//!   (which state goes where cannot be told);
//! - `not_in_snapshot`: registered breakers the snapshot does not name (new
//!   ones), left as they are.
//!
//! Keyed breakers (`key = …`) are not in snapshots: their keys are values of
//! the application's types, with no encoding of their own.
//!
//! A restore is meant for startup, before traffic. Run later, it replaces
//! each breaker's state as an operator's command does (a new generation: a
//! call admitted before it does not move the restored state); a call
//! recording at the same moment may land in the window before or after the
//! restored counts.
//!
//! # Concurrency
//!
//! [`take`] reads each breaker while its calls go on, without a lock on it:
//! state, hold and time left come from one `Acquire` load of its state word
//! and, when that says open, an `Acquire` load of when it may probe (stored
//! before the word changed, so the time left is that opening's); the window
//! counts and the run of failures are `Relaxed` statistics read next, so they
//! may include a call or two that finished after the state was read. A
//! [`restore`] writes a breaker's window, run and time left open first, then
//! moves its state word in one compare-and-swap (see `circuit_breaker/
//! restore.rs`); the registry's lock is held only to list the breakers.
//!
//! # Format (version 1)
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `version` | integer | `1`; another version is refused (deserializing fails, naming it) |
//! | `taken_at_unix_ms` | integer | when it was taken, milliseconds since the UNIX epoch |
//! | `breakers[].name` | string | the breaker's name |
//! | `breakers[].state` | `"closed"`, `"open"`, `"half_open"` | its state |
//! | `breakers[].forced` | `"open"`, `"closed"` or `null` | the state an operator held it in |
//! | `breakers[].open_left_ms` | integer | open, not held: milliseconds until its next call probes (rounded up); else 0 |
//! | `breakers[].window_calls` | integer | calls in its window |
//! | `breakers[].window_failures` | integer | failures among them |
//! | `breakers[].window_slow` | integer | slow calls among them |
//! | `breakers[].consecutive_failures` | integer | its current run of failures |
//! | `breakers[].shared` | bool | a store shares it across processes (not restored) |
//!
//! Fields added within version 1 will be optional; unknown fields are
//! ignored, so a snapshot of a later 1.x reads here.
//!
//! ```json
//! {
//!   "version": 1,
//!   "taken_at_unix_ms": 1796212800000,
//!   "breakers": [
//!     {
//!       "name": "payments",
//!       "state": "open",
//!       "forced": null,
//!       "open_left_ms": 20000,
//!       "window_calls": 2,
//!       "window_failures": 2,
//!       "window_slow": 0,
//!       "consecutive_failures": 0,
//!       "shared": false
//!     }
//!   ]
//! }
//! ```

#[cfg(feature = "serde")]
mod encoding;
mod restore;

use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::CircuitBreaker;
use crate::circuit_breaker::State;
use crate::registry;

pub use restore::{
    RestoreError, RestoreReport, RestoredBreaker, Skip, SkippedBreaker, restore, restore_aged,
};

/// The snapshot format's version, which [`restore`] requires.
pub const VERSION: u32 = 1;

/// The state of every registered circuit breaker at one moment, from
/// [`take`]; [`restore`] puts it back. See the [module docs](self) for what
/// it holds and its JSON form (feature `serde`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Snapshot {
    /// The format's version: [`VERSION`].
    #[cfg_attr(feature = "serde", serde(deserialize_with = "encoding::version"))]
    pub version: u32,
    /// When it was taken, in milliseconds since the UNIX epoch (wall clock).
    pub taken_at_unix_ms: u64,
    /// The breakers, in registration order.
    pub breakers: Vec<BreakerSnapshot>,
}

/// One breaker in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// Its name.
    pub name: String,
    /// Its state.
    #[cfg_attr(feature = "serde", serde(with = "encoding::state"))]
    pub state: State,
    /// The state an operator held it in, if any (then `state` is the same).
    #[cfg_attr(feature = "serde", serde(with = "encoding::forced"))]
    pub forced: Option<State>,
    /// Open and not held: how long it still rejected before its next call
    /// would probe (zero once `open_for` had passed). Zero in any other
    /// state. In JSON: `open_left_ms`, whole milliseconds rounded up.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "open_left_ms", with = "encoding::millis_up")
    )]
    pub open_left: Duration,
    /// Calls in its window.
    pub window_calls: u64,
    /// Failures among them.
    pub window_failures: u64,
    /// Slow calls among them.
    pub window_slow: u64,
    /// Its run of consecutive failures.
    pub consecutive_failures: u32,
    /// Whether a store shares it across processes (such a breaker is not
    /// restored: its state lives in the store).
    pub shared: bool,
}

impl Snapshot {
    /// How long ago it was taken, by this machine's wall clock (zero if that
    /// is in the future).
    #[must_use]
    pub fn age(&self) -> Duration {
        Duration::from_millis(unix_ms().saturating_sub(self.taken_at_unix_ms))
    }
}

/// The wall clock, in milliseconds since the UNIX epoch (0 before it).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A snapshot of every registered circuit breaker (see the [module
/// docs](self) for which are registered), at this moment. Each breaker is
/// read without stopping its calls; its state, hold and time left come from
/// one reading of its state word, so they agree.
#[must_use]
pub fn take() -> Snapshot {
    let breakers = registry::members::<CircuitBreaker>()
        .into_iter()
        .map(|breaker| {
            let (state, forced, open_left) = breaker.reading();
            let counts = breaker.window_counts();
            BreakerSnapshot {
                name: breaker.name().to_owned(),
                state,
                forced,
                open_left,
                window_calls: counts.calls,
                window_failures: counts.failures,
                window_slow: counts.slow,
                consecutive_failures: breaker.failure_run(),
                shared: breaker.is_shared(),
            }
        })
        .collect();
    Snapshot {
        version: VERSION,
        taken_at_unix_ms: unix_ms(),
        breakers,
    }
}

#[cfg(test)]
mod tests;
