//! Which breakers, bulkheads and rate limiters the process has, and how they
//! are doing.
//!
//! [`health`] lists every circuit breaker, bulkhead and rate limiter in the
//! registry:
//!
//! - the attributes' per-function breakers, bulkheads and rate limiters, from
//!   the start of the process (before their first call);
//! - any other `static` (one named with `shared = …`, or used through the
//!   programmatic API) from its first call through an attribute, its
//!   [`register`](crate::CircuitBreaker::register), or from startup with
//!   [`register_breaker!`](crate::register_breaker) /
//!   [`register_bulkhead!`](crate::register_bulkhead) /
//!   [`register_rate_limiter!`](crate::register_rate_limiter).
//!
//! Retry budgets ([`RetryBudget`]) are listed in `budgets` from their first
//! call through `#[retry(budget = …)]` or `#[hedge(budget = …)]`, their
//! [`register`](crate::RetryBudget::register), or from startup with
//! [`register_retry_budget!`](crate::register_retry_budget).
//!
//! Keyed policies (`key = …`, [`Keyed`](crate::Keyed)) are listed apart, one
//! entry per policy (not per key) in `keyed`: kind, key count, `max_keys`,
//! overflows, and every key whose breaker is not closed. They join from
//! startup with [`register_keyed!`](crate::register_keyed), or on their first
//! call.
//!
//! Group memberships ([`Membership`](crate::membership::Membership)) are
//! listed in `memberships` while their handle is held: group, member id,
//! TTL, whether the lease is alive, live members, last keep-alive. A lost
//! lease does not make the service not [`ready`](Health::ready): what it
//! means is the application's call (see the `LeaseLost` event).
//!
//! Health checks ([`HealthCheck`]) are listed in `checks` from their start:
//! periodic probes of a dependency, each with its verdict, which gates
//! [`Health::ready`] and can hold a named breaker open (see
//! [`HealthCheck`]). With the `axum` feature, `health::axum` serves liveness
//! and readiness over HTTP. With the `chaos` feature, `chaos` lists every
//! `#[chaos]` name that has run, with its live settings and injected faults.
//!
//! Reading it takes the registry's lock and reads each policy's atomics
//! without stopping calls. [`breaker`], [`bulkhead`] and [`rate_limiter`] find policies by name
//! for manual control; [`reset_all`] starts every breaker afresh (between
//! tests).
//!
//! # One name, one policy
//!
//! Names identify policies to operators, so two breakers (or two bulkheads,
//! or two rate limiters) registered under one name are reported, never
//! silently confused: a `tracing` warning naming it (target
//! `steadfast::circuit_breaker`, `steadfast::bulkhead` or
//! `steadfast::rate_limit`, message `two circuit breakers share a name`,
//! `two bulkheads share a name` or `two rate limiters share a name`, field
//! `policy`) when the second one joins
//! the registry (at startup, at the latest on its first call), and
//! `duplicate_name: true` on both in the snapshot. [`breaker`] then reaches
//! every breaker of that name.

#[cfg(feature = "axum")]
pub mod axum;
mod check;
mod control;
mod declared;
mod run;

use std::collections::BTreeMap;
use std::time::Duration;

pub use control::{
    Breakers, Bulkheads, Named, RateLimiters, breaker, bulkhead, rate_limiter, reset_all,
};

use crate::circuit_breaker::State;
pub use crate::keyed::{KeyedHealth, NotClosed};
pub use crate::leader::ElectionHealth;
pub use crate::membership::MembershipHealth;
use crate::registry::{self, Member};
use crate::{Bulkhead, CircuitBreaker, RateLimiter, RetryBudget};
pub use check::{CheckHealth, CheckStatus, HealthCheck, HealthCheckBuilder};
#[doc(hidden)]
pub use declared::Declared;
pub use declared::{declared_checks, start_checks};

/// A snapshot of every registered breaker, bulkhead and rate limiter, in
/// registration order.
///
/// With the `serde` feature it serializes to the JSON shown in [`health`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Health {
    /// The circuit breakers.
    pub breakers: Vec<BreakerHealth>,
    /// The bulkheads.
    pub bulkheads: Vec<BulkheadHealth>,
    /// The rate limiters.
    pub rate_limiters: Vec<RateLimiterHealth>,
    /// The keyed policies (`key = …`): one entry per policy, with its key
    /// count and every key whose breaker is not closed.
    pub keyed: Vec<KeyedHealth>,
    /// The retry budgets ([`RetryBudget`]s), with their
    /// level.
    pub budgets: Vec<BudgetHealth>,
    /// The started health checks ([`HealthCheck`]), in the order they
    /// started.
    pub checks: Vec<CheckHealth>,
    /// With the feature `chaos`: every name a `#[chaos]` policy has run
    /// under, with its live settings and the faults it injected.
    #[cfg(feature = "chaos")]
    pub chaos: Vec<crate::chaos::ChaosHealth>,
    /// The group memberships this process holds
    /// ([`Membership`](crate::membership::Membership)), in the order they
    /// joined.
    pub memberships: Vec<MembershipHealth>,
    /// The elections called in this process (`#[leader]`,
    /// [`Leader`](crate::leader::Leader)), in the order of their first
    /// calls.
    pub elections: Vec<ElectionHealth>,
}

impl Health {
    /// Whether the service is ready for traffic: every check that gates
    /// readiness is [`Up`](CheckStatus::Up) (true with no such check). A
    /// check that is pending or down makes it false.
    #[must_use]
    pub fn ready(&self) -> bool {
        self.checks
            .iter()
            .all(|check| !check.gates_readiness || check.status == CheckStatus::Up)
    }

    /// Whether the service is alive: always true, since no check, breaker
    /// or store makes a process worth restarting. A failing dependency makes
    /// the service not [`ready`](Health::ready), never not live; a process
    /// that cannot answer at all is what a liveness probe's own timeout
    /// catches.
    #[must_use]
    pub fn live(&self) -> bool {
        true
    }
}

/// One circuit breaker in a [`Health`] snapshot.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BreakerHealth {
    /// Its name (`module::fn`, or `module::Type::fn` for a method, unless
    /// `name = "…"`).
    pub name: &'static str,
    /// Whether another registered breaker carries the same name.
    pub duplicate_name: bool,
    /// Its state.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serialize_state"))]
    pub state: State,
    /// A state an operator forced, if any.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serialize_forced"))]
    pub forced: Option<State>,
    /// Calls recorded in the window.
    pub window_calls: u64,
    /// Failures among them.
    pub window_failures: u64,
    /// Slow calls among them.
    pub window_slow: u64,
    /// Half-open probes running.
    pub probes_in_flight: u32,
    /// How long it has been in its state (`None` if it never changed state).
    /// In JSON: `in_state_for_ms`, whole milliseconds, or `null`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "in_state_for_ms", serialize_with = "crate::millis::optional")
    )]
    pub in_state_for: Option<Duration>,
    /// State changes so far (see [`CircuitBreaker::transitions`]).
    pub transitions: u32,
    /// Whether a store (Redis, …) shares its window and state across
    /// processes.
    pub shared: bool,
    /// Store calls that failed, timed out or answered garbage (each handled
    /// as the breaker's `on_store_error` says); 0 without a store.
    pub store_failures: u64,
    /// Whether the store answered the last call made to it (true without a
    /// store).
    pub store_healthy: bool,
    /// Its effective configuration, overrides included
    /// ([`config::apply`](crate::config::apply)).
    pub config: crate::config::BreakerSettings,
}

/// One bulkhead in a [`Health`] snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BulkheadHealth {
    /// Its name (`module::fn`, or `module::Type::fn` for a method, unless
    /// `name = "…"`).
    pub name: &'static str,
    /// Whether another registered bulkhead carries the same name.
    pub duplicate_name: bool,
    /// Calls running.
    pub running: u32,
    /// Calls waiting for a slot.
    pub waiting: u32,
    /// Its `max_concurrent`.
    pub max_concurrent: u32,
    /// Its `max_queue`.
    pub max_queue: u32,
    /// Its `max_wait` (`None`: unbounded). In JSON: `max_wait_ms`, whole
    /// milliseconds, or `null`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "max_wait_ms", serialize_with = "crate::millis::optional")
    )]
    pub max_wait: Option<Duration>,
}

/// One rate limiter in a [`Health`] snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct RateLimiterHealth {
    /// Its name (`module::fn`, or `module::Type::fn` for a method, unless
    /// `name = "…"`).
    pub name: &'static str,
    /// Whether another registered rate limiter carries the same name.
    pub duplicate_name: bool,
    /// Its `rate`: calls admitted per `per`.
    pub rate: u32,
    /// Its `per`. In JSON: `per_ms`, whole milliseconds.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "per_ms", serialize_with = "crate::millis::whole")
    )]
    pub per: Duration,
    /// Its `burst`.
    pub burst: u32,
    /// Its `max_wait`. In JSON: `max_wait_ms`, whole milliseconds.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "max_wait_ms", serialize_with = "crate::millis::whole")
    )]
    pub max_wait: Duration,
    /// Calls that would be admitted at once now (0 to `burst`; 0 while calls
    /// wait for reserved turns).
    pub available: u32,
    /// Whether a store (Redis, …) decides its turns, shared across
    /// processes.
    pub shared: bool,
    /// Calls whose store failed, timed out or answered garbage (each handled
    /// as the limiter's `on_store_error` says); 0 without a store.
    pub store_failures: u64,
    /// Whether the store answered the last call that asked it (true without
    /// a store).
    pub store_healthy: bool,
}

/// One retry budget in a [`Health`] snapshot.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BudgetHealth {
    /// Its name.
    pub name: &'static str,
    /// Whether another registered budget carries the same name.
    pub duplicate_name: bool,
    /// Its `ratio`: retries allowed per first attempt.
    pub ratio: f64,
    /// Its `min_per_sec`: retries allowed per second of the window anyway.
    pub min_per_sec: u32,
    /// Its window. In JSON: `window_ms`, whole milliseconds.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "window_ms", serialize_with = "crate::millis::whole")
    )]
    pub window: Duration,
    /// Retries that may be drawn now.
    pub available: u64,
    /// First attempts counted in the window.
    pub deposits: u64,
    /// Retries counted in the window.
    pub withdrawals: u64,
    /// Retries (and hedged copies) refused because it was spent, since the
    /// start.
    pub spent: u64,
}

#[cfg(feature = "serde")]
fn serialize_state<S: serde::Serializer>(state: &State, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state.as_str())
}

#[cfg(feature = "serde")]
fn serialize_forced<S: serde::Serializer>(
    forced: &Option<State>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match forced {
        Some(state) => serializer.serialize_some(state.as_str()),
        None => serializer.serialize_none(),
    }
}

/// The state of every registered circuit breaker, bulkhead and rate limiter (see the
/// [module docs](self) for which are registered).
///
/// ```
/// use steadfast::{health, circuit_breaker};
///
/// #[circuit_breaker(name = "inventory")]
/// async fn stock(sku: u32) -> std::io::Result<u32> {
///     Ok(sku)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// stock(7).await.unwrap();
/// let snapshot = health();
/// let inventory = snapshot.breakers.iter().find(|b| b.name == "inventory").unwrap();
/// assert_eq!(inventory.state.as_str(), "closed");
/// # }
/// ```
///
/// # JSON
///
/// With the `serde` feature, [`Health`] serializes to one object of arrays,
/// in registration order. The field names are stable; a duration is
/// a number whose unit ends its name.
///
/// | field | type | meaning |
/// |---|---|---|
/// | `breakers[].name` | string | the breaker's name |
/// | `breakers[].duplicate_name` | bool | another breaker carries the same name |
/// | `breakers[].state` | `"closed"`, `"open"`, `"half_open"` | its state |
/// | `breakers[].forced` | `"open"`, `"closed"` or `null` | a state forced by an operator |
/// | `breakers[].window_calls` | integer | calls recorded in the window |
/// | `breakers[].window_failures` | integer | failures among them |
/// | `breakers[].window_slow` | integer | slow calls among them |
/// | `breakers[].probes_in_flight` | integer | half-open probes running |
/// | `breakers[].in_state_for_ms` | integer or `null` | whole milliseconds in its state; `null` if it never changed state |
/// | `breakers[].transitions` | integer | state changes so far (wraps at 2^30) |
/// | `breakers[].shared` | bool | a store shares its window and state across processes |
/// | `breakers[].store_failures` | integer | store calls that failed, timed out or answered garbage |
/// | `breakers[].store_healthy` | bool | the store answered its last call (true without a store) |
/// | `breakers[].config.failure_ratio` | number | its effective `failure_ratio` (with [overrides](crate::config)) |
/// | `breakers[].config.window_calls` | integer or `null` | a count window's size; `null` for a time window |
/// | `breakers[].config.window_ms` | integer or `null` | a time window, whole milliseconds; `null` for a count window |
/// | `breakers[].config.min_calls` | integer | its effective `min_calls` |
/// | `breakers[].config.consecutive_failures` | integer | its effective `consecutive_failures` (0: off) |
/// | `breakers[].config.slow_call_ms` | integer or `null` | its effective `slow_call`, whole milliseconds |
/// | `breakers[].config.slow_ratio` | number | its effective `slow_ratio` (used only with `slow_call`) |
/// | `breakers[].config.open_for_ms` | integer | its effective `open_for`, whole milliseconds |
/// | `breakers[].config.half_open_probes` | integer | its effective `half_open_probes` |
/// | `bulkheads[].name` | string | the bulkhead's name |
/// | `bulkheads[].duplicate_name` | bool | another bulkhead carries the same name |
/// | `bulkheads[].running` | integer | calls running |
/// | `bulkheads[].waiting` | integer | calls waiting for a slot |
/// | `bulkheads[].max_concurrent` | integer | its `max_concurrent` |
/// | `bulkheads[].max_queue` | integer | its `max_queue` |
/// | `bulkheads[].max_wait_ms` | integer or `null` | its `max_wait`, whole milliseconds; `null`: unbounded |
/// | `rate_limiters[].name` | string | the rate limiter's name |
/// | `rate_limiters[].duplicate_name` | bool | another rate limiter carries the same name |
/// | `rate_limiters[].rate` | integer | its `rate`: calls admitted per `per` |
/// | `rate_limiters[].per_ms` | integer | its `per`, whole milliseconds |
/// | `rate_limiters[].burst` | integer | its `burst` |
/// | `rate_limiters[].max_wait_ms` | integer | its `max_wait`, whole milliseconds |
/// | `rate_limiters[].available` | integer | calls that would be admitted at once now (in process: a shared limiter's own bucket) |
/// | `rate_limiters[].shared` | bool | a store decides its turns, shared across processes |
/// | `rate_limiters[].store_failures` | integer | calls whose store failed, timed out or answered garbage |
/// | `rate_limiters[].store_healthy` | bool | the store answered the last call that asked it (true without a store) |
/// | `keyed[].name` | string | the keyed policy's name (each key's state carries it) |
/// | `keyed[].duplicate_name` | bool | another keyed policy carries the same name |
/// | `keyed[].kind` | `"circuit_breaker"`, `"bulkhead"`, `"rate_limit"` | the policy kept per key |
/// | `keyed[].keys` | integer | keys with a state now |
/// | `keyed[].max_keys` | integer | its `max_keys` |
/// | `keyed[].overflows` | integer | calls served by the shared overflow state so far |
/// | `keyed[].not_closed[].key` | string | a key whose breaker is not closed (`Debug`, or type name and hash) |
/// | `keyed[].not_closed[].state` | `"open"`, `"half_open"` | that breaker's state |
/// | `budgets[].name` | string | the retry budget's name |
/// | `budgets[].duplicate_name` | bool | another budget carries the same name |
/// | `budgets[].ratio` | number | its `ratio` |
/// | `budgets[].min_per_sec` | integer | its `min_per_sec` |
/// | `budgets[].window_ms` | integer | its window, whole milliseconds |
/// | `budgets[].available` | integer | retries that may be drawn now |
/// | `budgets[].deposits` | integer | first attempts counted in the window |
/// | `budgets[].withdrawals` | integer | retries counted in the window |
/// | `budgets[].spent` | integer | retries (and hedged copies) refused because it was spent, so far |
/// | `checks[].name` | string | the health check's name |
/// | `checks[].duplicate_name` | bool | another started check carries the same name |
/// | `checks[].gates_readiness` | bool | its verdict gates [`Health::ready`] |
/// | `checks[].status` | `"pending"`, `"up"`, `"down"` | its verdict |
/// | `checks[].breaker` | string or `null` | the breakers' name it force-opens while down |
/// | `checks[].holds_breaker` | bool | it holds those breakers open now |
/// | `checks[].every_ms` | integer | its probe period, whole milliseconds |
/// | `checks[].timeout_ms` | integer | its probe timeout, whole milliseconds |
/// | `checks[].last_success_ms_ago` | integer or `null` | whole milliseconds since its last success; `null` if none |
/// | `checks[].last_failure_ms_ago` | integer or `null` | whole milliseconds since its last failure; `null` if none |
/// | `checks[].last_error` | string or `null` | the last failure's error |
/// | `checks[].consecutive_failures` | integer | failures in a row, up to now |
/// | `checks[].consecutive_successes` | integer | successes in a row, up to now |
/// | `memberships[].group` | string | the group ([`Membership`](crate::membership::Membership)) |
/// | `memberships[].member` | string | this process's member id |
/// | `memberships[].ttl_ms` | integer | the lease's TTL as the store granted it, whole milliseconds |
/// | `memberships[].lease` | integer | the lease's id on the store |
/// | `memberships[].lease_alive` | bool | the lease is alive (false from its loss until a rejoin) |
/// | `memberships[].live_members` | integer | members of the group as last seen, this process included |
/// | `memberships[].last_keep_alive_ms_ago` | integer or `null` | whole milliseconds since the last keep-alive that succeeded (or the registration) |
/// | `elections[].name` | string | the election (`#[leader]`) |
/// | `elections[].holder` | string or `null` | the holder's candidate id as last seen |
/// | `elections[].is_leader` | bool | this process holds it now (a body is running) |
/// | `elections[].token` | integer or `null` | the holder's fencing token as last seen |
/// | `elections[].lease` | integer or `null` | this process's lease while it leads |
/// | `elections[].ttl_ms` | integer | the lease TTL asked for, whole milliseconds |
///
/// ```json
/// {
///   "breakers": [
///     {
///       "name": "payments",
///       "duplicate_name": false,
///       "state": "open",
///       "forced": null,
///       "window_calls": 20,
///       "window_failures": 12,
///       "window_slow": 0,
///       "probes_in_flight": 0,
///       "in_state_for_ms": 1250,
///       "transitions": 1,
///       "shared": false,
///       "store_failures": 0,
///       "store_healthy": true
///     }
///   ],
///   "bulkheads": [
///     {
///       "name": "shop::Db::query",
///       "duplicate_name": false,
///       "running": 3,
///       "waiting": 0,
///       "max_concurrent": 16,
///       "max_queue": 64
///     }
///   ],
///   "rate_limiters": [
///     {
///       "name": "upstream",
///       "duplicate_name": false,
///       "rate": 100,
///       "per_ms": 1000,
///       "burst": 100,
///       "max_wait_ms": 50,
///       "available": 97,
///       "shared": false,
///       "store_failures": 0,
///       "store_healthy": true
///     }
///   ],
///   "keyed": [
///     {
///       "name": "shop::Upstream::fetch",
///       "duplicate_name": false,
///       "kind": "circuit_breaker",
///       "keys": 37,
///       "max_keys": 1024,
///       "overflows": 0,
///       "not_closed": [{ "key": "\"eu.example\"", "state": "open" }]
///     }
///   ],
///   "checks": [
///     {
///       "name": "database",
///       "duplicate_name": false,
///       "gates_readiness": true,
///       "status": "down",
///       "breaker": "orders-db",
///       "holds_breaker": true,
///       "every_ms": 5000,
///       "timeout_ms": 1000,
///       "last_success_ms_ago": 16020,
///       "last_failure_ms_ago": 1010,
///       "last_error": "timed out after 1s",
///       "consecutive_failures": 3,
///       "consecutive_successes": 0
///     }
///   ],
///   "memberships": [
///     {
///       "group": "billing-workers",
///       "member": "pod-7",
///       "ttl_ms": 10000,
///       "lease": 7587869521148231687,
///       "lease_alive": true,
///       "live_members": 3,
///       "last_keep_alive_ms_ago": 1204
///     }
///   ],
///   "elections": [
///     {
///       "name": "nightly-billing",
///       "holder": "pod-7/4242",
///       "is_leader": true,
///       "token": 1093,
///       "lease": 7587869521148231702,
///       "ttl_ms": 10000
///     }
///   ]
/// }
/// ```
#[must_use]
pub fn health() -> Health {
    let breakers = registry::members::<CircuitBreaker>();
    let breaker_names = name_counts(&breakers);
    let breakers = breakers
        .iter()
        .map(|b| {
            let counts = b.window_counts();
            BreakerHealth {
                name: b.name(),
                duplicate_name: breaker_names[b.name()] > 1,
                state: b.state(),
                forced: b.forced(),
                window_calls: counts.calls,
                window_failures: counts.failures,
                window_slow: counts.slow,
                probes_in_flight: b.probes_in_flight(),
                in_state_for: b.in_state_for(),
                transitions: b.transitions(),
                shared: b.is_shared(),
                store_failures: b.store_failures(),
                store_healthy: b.store_healthy(),
                config: b.settings(),
            }
        })
        .collect();
    let bulkheads = registry::members::<Bulkhead>();
    let bulkhead_names = name_counts(&bulkheads);
    let bulkheads = bulkheads
        .iter()
        .map(|b| BulkheadHealth {
            name: b.name(),
            duplicate_name: bulkhead_names[b.name()] > 1,
            running: b.running(),
            waiting: b.waiting(),
            max_concurrent: b.max_concurrent(),
            max_queue: b.max_queue(),
            max_wait: b.max_wait(),
        })
        .collect();
    let rate_limiters = registry::members::<RateLimiter>();
    let rate_limiter_names = name_counts(&rate_limiters);
    let rate_limiters = rate_limiters
        .iter()
        .map(|r| RateLimiterHealth {
            name: r.name(),
            duplicate_name: rate_limiter_names[r.name()] > 1,
            rate: r.rate(),
            per: r.per(),
            burst: r.burst(),
            max_wait: r.max_wait(),
            available: r.available(),
            shared: r.is_shared(),
            store_failures: r.store_failures(),
            store_healthy: r.store_healthy(),
        })
        .collect();
    let budgets = registry::members::<RetryBudget>();
    let budget_names = name_counts(&budgets);
    let budgets = budgets
        .iter()
        .map(|b| {
            let level = b.level();
            BudgetHealth {
                name: b.name(),
                duplicate_name: budget_names[b.name()] > 1,
                ratio: b.ratio(),
                min_per_sec: b.min_per_sec(),
                window: b.window(),
                available: level.available,
                deposits: level.deposits,
                withdrawals: level.withdrawals,
                spent: b.spent(),
            }
        })
        .collect();
    Health {
        breakers,
        bulkheads,
        rate_limiters,
        keyed: crate::keyed::report_snapshot(),
        budgets,
        checks: check::report_snapshot(),
        #[cfg(feature = "chaos")]
        chaos: crate::chaos::report_snapshot(),
        memberships: crate::membership::report_snapshot(),
        elections: crate::leader::report_snapshot(),
    }
}

/// How many members carry each name.
fn name_counts<T: Member + ?Sized>(members: &[&'static T]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for member in members {
        *counts.entry(member.name()).or_insert(0) += 1;
    }
    counts
}
