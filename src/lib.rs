//! steadfast: resilience attributes for `async fn`s.
#![forbid(unsafe_code)]

pub use steadfast_macros::{bulkhead, circuit_breaker, fallback, retry, timeout};
pub use steadfast_runtime::{
    Attempts, Backoff, Failure, FromRejected, Jitter, Rejected, Rejection, Retry, RetryBuilder,
    Timeout, fallback, retry, timeout,
};

/// What the attribute expansions call. **Not a stable API**: it changes
/// without notice between any two versions.
#[doc(hidden)]
pub mod __private {
    pub use steadfast_runtime::fallback::recover;
    pub use steadfast_runtime::glue::{
        ResultType, always, attempt, delay_from, expect, finish, finish_plain, no_hint, relift, when,
    };
    pub use steadfast_runtime::{Backoff, Jitter, Retry, Timeout};
}
