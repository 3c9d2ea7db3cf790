//! What a keyed state needs from its policy: [`KeyedPolicy`], implemented for
//! [`CircuitBreaker`], [`Bulkhead`] and [`RateLimiter`].

use core::fmt;

use crate::bulkhead::BulkheadBuilder;
use crate::circuit_breaker::{CircuitBreakerBuilder, State};
use crate::name::PolicyName;
use crate::rate_limit::RateLimiterBuilder;
use crate::{Bulkhead, CircuitBreaker, RateLimiter};

/// A policy that [`Keyed`](super::Keyed) can keep one state of per key:
/// how to build a fresh state, and what eviction and `health()` read from
/// one. Implemented for the runtime's policies.
pub trait KeyedPolicy: Send + Sync + Sized + 'static {
    /// The `const` builder a fresh state is built from (kept by the `Keyed`).
    type Builder: Copy + Send + Sync + fmt::Debug + 'static;

    /// The kind, in `health()`: `"circuit_breaker"`, `"bulkhead"` or
    /// `"rate_limit"`.
    const KIND: &'static str;

    /// A fresh state (a new key, or one evicted and seen again).
    fn build_from(builder: &Self::Builder) -> Self;

    /// The name every state of the policy carries.
    fn name_of(builder: &Self::Builder) -> PolicyName;

    /// Whether a call is using the state even though no [`Held`](super::Held)
    /// says so (a bulkhead's running or waiting calls): it is not evicted.
    fn busy(&self) -> bool;

    /// Whether the state is worth more than a fresh one (an open or
    /// half-open breaker; a limiter that has spent turns): evicted only when
    /// no other state can be.
    fn keep(&self) -> bool;

    /// A breaker's state when it is not closed, for `health()`.
    fn not_closed(&self) -> Option<State>;

    /// What [`health::reset_all`](crate::health::reset_all) does to a state:
    /// a breaker is [`reset`](CircuitBreaker::reset); other policies have
    /// nothing to reset.
    fn reset_state(&self);

    /// Takes `template`'s [overridable](crate::config) settings: all of them
    /// on a `fresh` state (before its first call), the running ones on a
    /// state in use.
    fn adopt(&self, template: &Self, fresh: bool);
}

impl KeyedPolicy for CircuitBreaker {
    type Builder = CircuitBreakerBuilder;

    const KIND: &'static str = "circuit_breaker";

    fn build_from(builder: &CircuitBreakerBuilder) -> Self {
        builder.build()
    }

    fn name_of(builder: &CircuitBreakerBuilder) -> PolicyName {
        builder.policy_name()
    }

    #[inline]
    fn busy(&self) -> bool {
        // A call in flight holds the state (its `Held`); a half-open probe is
        // one of them.
        false
    }

    #[inline]
    fn keep(&self) -> bool {
        self.state() != State::Closed
    }

    fn not_closed(&self) -> Option<State> {
        let state = self.state();
        (state != State::Closed).then_some(state)
    }

    fn reset_state(&self) {
        self.reset();
    }

    fn adopt(&self, template: &Self, _fresh: bool) {
        // Every overridable key of a breaker changes at any time.
        self.set_settings(&template.settings());
    }
}

impl KeyedPolicy for Bulkhead {
    type Builder = BulkheadBuilder;

    const KIND: &'static str = "bulkhead";

    fn build_from(builder: &BulkheadBuilder) -> Self {
        builder.build()
    }

    fn name_of(builder: &BulkheadBuilder) -> PolicyName {
        builder.policy_name()
    }

    #[inline]
    fn busy(&self) -> bool {
        // Counted as in flight even where the `Held` protocol already covers
        // it (a permit outliving its call's `Held` through the programmatic
        // API).
        self.running() > 0 || self.waiting() > 0
    }

    #[inline]
    fn keep(&self) -> bool {
        false
    }

    fn not_closed(&self) -> Option<State> {
        None
    }

    fn reset_state(&self) {
        // A bulkhead's only state is its calls, which leave as they end.
    }

    fn adopt(&self, template: &Self, fresh: bool) {
        if fresh {
            // A fresh state's line is not allocated yet: accepted.
            let _ = self.set_limits(template.max_concurrent(), template.max_queue());
        }
        self.set_max_wait(template.max_wait());
    }
}

impl KeyedPolicy for RateLimiter {
    type Builder = RateLimiterBuilder;

    const KIND: &'static str = "rate_limit";

    fn build_from(builder: &RateLimiterBuilder) -> Self {
        builder.build()
    }

    fn name_of(builder: &RateLimiterBuilder) -> PolicyName {
        builder.policy_name()
    }

    #[inline]
    fn busy(&self) -> bool {
        // A waiting call holds the state (its `Held`) while it sleeps to its
        // turn.
        false
    }

    #[inline]
    fn keep(&self) -> bool {
        // A limiter that has spent turns is kept over idle ones: evicting it
        // would hand its key a fresh, full burst.
        !self.is_idle()
    }

    fn not_closed(&self) -> Option<State> {
        None
    }

    fn reset_state(&self) {
        // `health::reset_all` resets breakers only.
    }

    fn adopt(&self, template: &Self, fresh: bool) {
        if fresh {
            // A fresh state has taken no call: accepted.
            let _ = self.set_limits(template.effective());
        }
    }
}
