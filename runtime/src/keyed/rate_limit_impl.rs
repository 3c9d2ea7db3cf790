//! `KeyedPolicy` for the rate limiter. NOT declared as a module on the
//! `keyed` branch: `RateLimiter` is written on the `ratelimit` branch. At the
//! merge, declare it in `keyed/mod.rs` (`mod rate_limit_impl;`) and add
//! `pub(crate) const fn policy_name(&self) -> PolicyName { self.name }` to
//! `RateLimiterBuilder` (as the breaker's and bulkhead's builders have), if
//! its name field is called `name`.

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
