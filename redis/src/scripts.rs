//! The Lua scripts the store runs, each decided on the server in one call:
//! `rate.lua` for the rate limiter (`rate.rs` builds its arguments and reads
//! its reply) and `breaker.lua` for the circuit breaker (`breaker.rs`).

use redis::Script;

/// The rate limiter's script, with its SHA-1 computed (once per store).
pub(crate) fn rate() -> Script {
    Script::new(include_str!("rate.lua"))
}

/// The circuit breaker's script, with its SHA-1 computed (once per store).
pub(crate) fn breaker() -> Script {
    Script::new(include_str!("breaker.lua"))
}
