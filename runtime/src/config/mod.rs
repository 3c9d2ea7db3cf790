//! Configuration overrides by name: operators change a named policy's
//! settings without recompiling.
//!
//! An [`Overrides`] holds, per policy kind and [name](crate::name), a value
//! per key — `circuit_breaker` / `payments::charge` / `failure_ratio` =
//! `0.2`, as MicroProfile Config's `<class>/<method>/<Annotation>/<param>`
//! — written as in the attributes (numbers, and durations such as
//! `"30s"`). [`apply`] checks every entry first, with the attributes'
//! rules and messages, and changes nothing unless all are valid; then it
//! stores them. With the `config` feature, `Overrides::from_toml_str`,
//! `from_file`, `from_env` and `from_vars` load them (the file's layout and
//! the environment's names are in `load.rs`, and in the operating guide).
//!
//! # Which keys change, and when
//!
//! | kind | key | changes |
//! |---|---|---|
//! | `circuit_breaker` | `failure_ratio`, `min_calls`, `consecutive_failures`, `slow_call`, `slow_ratio`, `open_for`, `half_open_probes` | at any time |
//! | `circuit_breaker` | `window` | never: its ring or buckets are laid out when the breaker is built |
//! | `bulkhead` | `max_wait` | at any time (for calls that start waiting after) |
//! | `bulkhead` | `max_concurrent`, `max_queue` | at startup: until a call first waits |
//! | `rate_limit` | `rate`, `per`, `burst`, `max_wait` | at startup: until the limiter's first call |
//!
//! A breaker's thresholds are read afresh by every decision, so a change
//! applies from the next call that records or is admitted; the state, the
//! window's contents and the probes in flight are kept (a lowered
//! `half_open_probes` with more probes running closes on the next success;
//! a raised one admits more). A bulkhead's line is allocated, at
//! `max_queue` entries, when a call first waits, and a slot released while
//! calls wait goes straight to the first of them (so a lowered
//! `max_concurrent` would not be reached while the line stays busy): those
//! two limits are startup settings, refused with
//! [`Problem::StartupOnly`] once a call has waited. A rate limiter counts
//! time in a unit derived from `rate` and `per` (so that every turn is a
//! whole number of units, exactly), in one atomic word that its calls
//! update without a lock: changing the unit under running calls would need
//! that word and the settings swapped as one, which the word cannot hold.
//! So its four keys are startup settings: the first call fixes them (the
//! only call that takes a lock, which [`apply`] holds while it checks), and
//! later overrides are refused with [`Problem::StartupOnly`]. A new `rate`
//! alone moves `burst` with it when `burst` was left to its default
//! (`rate`). Reading a limiter ([`health`](crate::health()),
//! `available()`) does not fix its limits.
//!
//! A keyed policy (`key = …`) takes overrides by its name like the others,
//! checked against a template state it keeps for them: every key's state
//! adopts the running keys at once (a breaker's thresholds, a bulkhead's
//! `max_wait`), stored keys included; the startup keys (a bulkhead's
//! limits, a limiter's four) apply to the keys first seen afterwards, each
//! key's state having fixed its own at its first call.
//!
//! # Invariants and memory ordering
//!
//! - Nothing changes unless every entry is valid and every named policy
//!   exists; the error lists every problem. (One race is left: a bulkhead
//!   whose first call waits between the check and the change refuses its
//!   limits then; the error says so, and the entries before it are
//!   applied.)
//! - Each value is one atomic, stored and loaded `Relaxed`: no other memory
//!   is published through it. A call deciding while [`apply`] runs sees each
//!   key before or after, independently; apply before traffic to change
//!   several keys as one. A bulkhead's two limits are stored under its
//!   line's lock, where a joiner reads them.
//! - Every policy of a name (duplicates included) gets the overrides.
//! - The hot paths read the changeable values with the same relaxed loads
//!   as before (a plain field became an atomic of the same width).

mod apply;
mod duration;
mod error;
#[cfg(feature = "config")]
mod load;
pub(crate) mod settings;
mod validate;

use std::collections::BTreeMap;

pub use apply::{Applied, Change, apply};
pub use error::{ConfigError, Problem};
pub use settings::BreakerSettings;

/// The kinds of policy that take overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PolicyKind {
    /// Circuit breakers ([`CircuitBreaker`](crate::CircuitBreaker)),
    /// `circuit_breaker`. (The variants are plural so that no public item
    /// shares a policy type's name: rustc then writes the types unqualified
    /// in users' errors.)
    Breakers,
    /// Bulkheads ([`Bulkhead`](crate::Bulkhead)), `bulkhead`.
    Bulkheads,
    /// Rate limiters ([`RateLimiter`](crate::RateLimiter)), `rate_limit`.
    RateLimiters,
}

impl PolicyKind {
    /// Every kind.
    pub const ALL: [PolicyKind; 3] = [
        PolicyKind::Breakers,
        PolicyKind::Bulkheads,
        PolicyKind::RateLimiters,
    ];

    /// Its name in files and the environment: the attribute's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Breakers => "circuit_breaker",
            PolicyKind::Bulkheads => "bulkhead",
            PolicyKind::RateLimiters => "rate_limit",
        }
    }

    /// The kind named `name` (`circuit_breaker`, `bulkhead`, `rate_limit`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<PolicyKind> {
        PolicyKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The keys an override may name (some are refused: see the module
    /// docs' table).
    #[must_use]
    pub const fn keys(self) -> &'static [&'static str] {
        match self {
            PolicyKind::Breakers => &[
                "failure_ratio",
                "min_calls",
                "consecutive_failures",
                "slow_call",
                "slow_ratio",
                "open_for",
                "half_open_probes",
                "window",
            ],
            PolicyKind::Bulkheads => &["max_concurrent", "max_queue", "max_wait"],
            PolicyKind::RateLimiters => &["rate", "per", "burst", "max_wait"],
        }
    }

    /// In messages.
    pub(crate) const fn noun(self) -> &'static str {
        match self {
            PolicyKind::Breakers => "circuit breaker",
            PolicyKind::Bulkheads => "bulkhead",
            PolicyKind::RateLimiters => "rate limiter",
        }
    }
}

/// Overrides: per kind and policy name, a value per key, written as in the
/// attributes (`0.2`, `10`, `"30s"`). Setting a key twice keeps the last
/// value. Nothing is checked until [`apply`].
///
/// ```
/// use steadfast_runtime::config::{Overrides, PolicyKind};
///
/// let mut overrides = Overrides::new();
/// overrides
///     .set(PolicyKind::Breakers, "payments::charge", "failure_ratio", "0.2")
///     .set(PolicyKind::Breakers, "payments::charge", "open_for", "30s");
/// assert_eq!(overrides.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    entries: BTreeMap<(PolicyKind, String), BTreeMap<String, String>>,
}

impl Overrides {
    /// No overrides.
    #[must_use]
    pub fn new() -> Self {
        Overrides::default()
    }

    /// Sets `key` of the `kind` policy named `policy` to `value`.
    pub fn set(
        &mut self,
        kind: PolicyKind,
        policy: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        self.entries
            .entry((kind, policy.into()))
            .or_default()
            .insert(key.into(), value.into());
        self
    }

    /// Adds `other`'s entries; where both set a key, `other`'s value wins
    /// (so `file.merge(env)` lets the environment override the file).
    pub fn merge(&mut self, other: Overrides) -> &mut Self {
        for ((kind, policy), keys) in other.entries {
            self.entries.entry((kind, policy)).or_default().extend(keys);
        }
        self
    }

    /// The number of keys set.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.values().map(BTreeMap::len).sum()
    }

    /// Whether no key is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry: kind, policy name, key, value.
    pub fn iter(&self) -> impl Iterator<Item = (PolicyKind, &str, &str, &str)> {
        self.entries.iter().flat_map(|((kind, policy), keys)| {
            keys.iter()
                .map(move |(key, value)| (*kind, policy.as_str(), key.as_str(), value.as_str()))
        })
    }

    /// Per policy, its keys.
    pub(crate) fn policies(
        &self,
    ) -> impl Iterator<Item = (PolicyKind, &str, &BTreeMap<String, String>)> {
        self.entries
            .iter()
            .map(|((kind, policy), keys)| (*kind, policy.as_str(), keys))
    }
}
