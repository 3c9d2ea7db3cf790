//! Fault injection: the [`Chaos`] policy behind `#[chaos]`.
//!
//! A chaos policy injects two kinds of fault into the calls it wraps, each
//! with its own rate: **latency** (the call sleeps on tokio's clock before it
//! runs) and **errors** (the call does not run; a function of the user's
//! builds its `E`, which every policy stacked above sees as the body's own
//! error). Both can strike the same call: the latency first, then the error.
//!
//! # Compiled to nothing without the feature
//!
//! Without the cargo feature `chaos`, [`Chaos`] is a zero-sized type and
//! [`Chaos::wrap`] returns the call's future itself: `#[chaos]` adds no
//! code, no state and no per-call cost, and its arguments are still checked
//! exactly as with the feature (its builder runs the same `const` checks, the
//! error function must be the same `fn() -> E`; `tests/ui` passes in both
//! builds). [`ENABLED`] tells which build this is. With the feature, the
//! run-time controls appear: switch a policy on and off and retune it by
//! name (`set`, `enable`, `disable`, `settings`), count what they injected
//! (`injected`) and seed the random draws (`seed`).
//!
//! # Invariants (feature `chaos`)
//!
//! - Every policy carrying one name shares one set of settings (the first to
//!   run brings its attribute's values; a control call made before any of
//!   them ran is applied on top when the first one does) and one random
//!   stream. A policy that joins a name whose first policy had other
//!   attribute values is reported with a `tracing` warning (target
//!   `steadfast::chaos`), once, at its first call.
//! - Each call makes exactly two draws from its name's stream when the
//!   policy is enabled (one for the error, one for the latency), whatever the
//!   rates, and none when it is disabled; so with a `seed`, the sequence of
//!   faults of a name depends only on the seed, the name and the number of
//!   enabled calls before it, not on other names' calls nor on retuned rates.
//!   A rate of `0.0` never strikes, `1.0` always does.
//! - A disabled policy costs one relaxed load per call (plus the acquire load
//!   that finds its settings).
//!
//! # Memory ordering
//!
//! The settings are four independent atomics written under the registry's
//! mutex and read with `Relaxed` loads: a call that starts on another thread
//! while they are being retuned may see some fields old and some new (a new
//! rate with the old latency); a call that starts after `set` returned on
//! the same thread sees all of them. The random stream is behind a mutex
//! held only for the two draws, never across an `.await`.

#[cfg(feature = "chaos")]
mod control;
#[cfg(feature = "chaos")]
mod knobs;
mod policy;

#[cfg(feature = "chaos")]
pub(crate) use control::report_snapshot;
#[cfg(feature = "chaos")]
pub use control::{ChaosHealth, seed, seed_in_use};
#[cfg(feature = "chaos")]
pub use control::{Injected, InvalidSettings, disable, enable, injected, set, settings};
#[cfg(feature = "chaos")]
pub use knobs::Settings;
pub use policy::{Chaos, ChaosBuilder};

/// Whether this build has the feature `chaos`: whether `#[chaos]` injects
/// anything (and the run-time controls exist).
pub const ENABLED: bool = cfg!(feature = "chaos");
