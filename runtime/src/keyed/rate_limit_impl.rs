//! `KeyedPolicy` for the rate limiter.

use crate::circuit_breaker::State;
use crate::name::PolicyName;
use crate::rate_limit::{RateLimiter, RateLimiterBuilder};

use super::KeyedPolicy;

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
}
