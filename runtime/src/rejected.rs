//! [`Rejected`]: why a policy refused or abandoned a call.

use core::fmt;
use core::time::Duration;

/// A call that a policy refused to run, or abandoned before it finished.
///
/// Rejections come from the policies that can refuse work: `#[timeout]`,
/// `#[circuit_breaker]`, `#[bulkhead]` and `#[rate_limit]`. A function that carries one of them
/// returns its own error type `E`, so `E` must implement `From<Rejected>`; the
/// conversion happens once, at the outermost attribute, and stacked policies in
/// between still see the typed rejection (an outer `#[retry]` retries a
/// [`Timeout`](Rejected::Timeout) but never a
/// [`CircuitOpen`](Rejected::CircuitOpen)).
///
/// `anyhow::Error`, `Box<dyn Error + Send + Sync>` and [`std::io::Error`]
/// convert out of the box. For your own error enum, add a variant:
///
/// ```
/// #[derive(Debug)]
/// enum ApiError {
///     Rejected(steadfast::Rejected),
///     Http(u16),
/// }
///
/// impl From<steadfast::Rejected> for ApiError {
///     fn from(rejected: steadfast::Rejected) -> Self {
///         ApiError::Rejected(rejected)
///     }
/// }
/// ```
///
/// The enum and its variants are `#[non_exhaustive]`: match with `..` and a
/// wildcard arm so that new policies and fields are not breaking changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejected {
    /// The call did not finish within its `#[timeout]`; it was cancelled (dropped)
    /// at the deadline.
    ///
    /// Displayed as `timed out after 800ms`. If it happens often, raise the
    /// limit or make the call faster; an outer `#[retry]` retries it.
    #[non_exhaustive]
    Timeout {
        /// The configured limit that was reached.
        after: Duration,
    },
    /// A circuit breaker is open (or half-open with every probe slot taken), so the
    /// call was not made.
    ///
    /// Displayed as `circuit breaker "payments" is open`. Recent calls failed
    /// too often; the breaker lets a probe through after its `open_for`
    /// period. Serve a `#[fallback]` meanwhile; an outer `#[retry]` does not
    /// retry it.
    #[non_exhaustive]
    CircuitOpen {
        /// The breaker's name (`module::fn` unless `name = "…"` was given).
        name: &'static str,
    },
    /// A bulkhead had no free slot and no room (or time) left to wait for one, so
    /// the call was not made.
    ///
    /// Displayed as `bulkhead "db" is full`. Too many calls were running or
    /// waiting: try again later, or raise `max_concurrent`, `max_queue` or
    /// `max_wait` if the load is expected; an outer `#[retry]` does not retry it.
    #[non_exhaustive]
    BulkheadFull {
        /// The bulkhead's name (`module::fn` unless `name = "…"` was given).
        name: &'static str,
    },
    /// A rate limiter had no free turn within the call's `max_wait`, so the
    /// call was not made (it was rejected at once, without waiting).
    ///
    /// Displayed as `rate limiter "upstream" is over its limit (retry after
    /// 120ms)`. Calls came faster than the limit allows: try again after
    /// `retry_after` (an HTTP server can send it as `Retry-After`), raise
    /// `max_wait` to queue them instead, or the limit itself if the load is
    /// expected. An outer `#[retry]` does not retry it; an outer
    /// `#[circuit_breaker]` counts it as neither a success nor a failure.
    #[non_exhaustive]
    RateLimited {
        /// The limiter's name (`module::fn` unless `name = "…"` was given).
        name: &'static str,
        /// The time from the rejection to the next free turn (turns reserved
        /// by waiting calls included), rounded up to the nanosecond: a call
        /// made then is admitted at once, unless others took the turn first.
        retry_after: core::time::Duration,
    },
    /// A shared rate limiter's store (Redis, …) failed, timed out or answered
    /// garbage, and the limiter is set to fail closed
    /// (`OnStoreError::Closed`), so the call was not made.
    ///
    /// Displayed as `rate limiter "upstream" could not reach its store`. The
    /// store's own error is in the `steadfast::rate_limit` `store failed`
    /// event. An outer `#[retry]` does not retry it; an outer
    /// `#[circuit_breaker]` counts it as neither a success nor a failure (the
    /// protected dependency did nothing wrong).
    #[non_exhaustive]
    StoreUnavailable {
        /// The limiter's name.
        name: &'static str,
    },
    /// The process is shutting down ([`shutdown`](crate::shutdown())): the
    /// call reached a policy after shutdown began, or was waiting (in a
    /// bulkhead's queue, for a rate limiter's turn) when it began, so it was
    /// not made.
    ///
    /// Displayed as `shutting down: "db" takes no new calls`. Nothing to
    /// fix: answer it as a server does a request arriving while it stops
    /// (HTTP 503 with `Connection: close`). An outer `#[retry]` does not
    /// retry it; an outer `#[circuit_breaker]` counts it as neither a success
    /// nor a failure.
    #[non_exhaustive]
    ShuttingDown {
        /// The name of the policy that refused the call.
        name: &'static str,
    },
    /// Another process holds the `#[leader]` election (or, with `wait`, held
    /// it for the whole wait), or the election store could not be reached,
    /// so the body was not run.
    ///
    /// Displayed as `not the leader of "billing" (held by "host-b/4242")`,
    /// or `… (leader unknown)`. Nothing is wrong: another replica does the
    /// job. An outer `#[retry]` does not retry it (use `wait`); an outer
    /// `#[circuit_breaker]` counts it as neither a success nor a failure.
    #[non_exhaustive]
    NotLeader {
        /// The election's name.
        name: &'static str,
        /// The holder's candidate id, when known.
        leader: Option<String>,
    },
    /// This process lost the `#[leader]` election while the body ran (its
    /// lease expired: the store was out of reach, or the process paused,
    /// for longer than the TTL; or the lease was revoked), so the body was
    /// cancelled (dropped).
    ///
    /// Displayed as `lost the leadership of "billing"`. Another process may
    /// be leading already: writes the body made may race the new leader's,
    /// which is what the fencing token is for. An outer `#[retry]` does not
    /// retry it; an outer `#[circuit_breaker]` counts it as neither a
    /// success nor a failure.
    #[non_exhaustive]
    LeadershipLost {
        /// The election's name.
        name: &'static str,
    },
}

impl Rejected {
    /// A [`Rejected::Timeout`] for a call cut off after `after`.
    #[must_use]
    pub const fn timeout(after: Duration) -> Self {
        Rejected::Timeout { after }
    }

    /// A [`Rejected::CircuitOpen`] from the breaker called `name`.
    #[must_use]
    pub const fn circuit_open(name: &'static str) -> Self {
        Rejected::CircuitOpen { name }
    }

    /// A [`Rejected::BulkheadFull`] from the bulkhead called `name`.
    #[must_use]
    pub const fn bulkhead_full(name: &'static str) -> Self {
        Rejected::BulkheadFull { name }
    }

    /// A [`Rejected::RateLimited`] from the rate limiter called `name`, whose
    /// next free turn is `retry_after` away.
    #[must_use]
    pub const fn rate_limited(name: &'static str, retry_after: Duration) -> Self {
        Rejected::RateLimited { name, retry_after }
    }

    /// A [`Rejected::StoreUnavailable`] from the rate limiter called `name`.
    #[must_use]
    pub const fn store_unavailable(name: &'static str) -> Self {
        Rejected::StoreUnavailable { name }
    }

    /// A [`Rejected::ShuttingDown`] from the policy called `name`.
    #[must_use]
    pub const fn shutting_down(name: &'static str) -> Self {
        Rejected::ShuttingDown { name }
    }

    /// A [`Rejected::NotLeader`] from the election `name`, held by `leader`
    /// when known.
    #[must_use]
    pub const fn not_leader(name: &'static str, leader: Option<String>) -> Self {
        Rejected::NotLeader { name, leader }
    }

    /// A [`Rejected::LeadershipLost`] from the election `name`.
    #[must_use]
    pub const fn leadership_lost(name: &'static str) -> Self {
        Rejected::LeadershipLost { name }
    }

    /// Whether an outer `#[retry]` makes another attempt after this rejection.
    ///
    /// A timeout is transient by nature, so it is retried; an open circuit, a
    /// full bulkhead or a rate limit is load shedding, and retrying it would
    /// defeat its purpose (a rate limiter's `max_wait` is the way to wait for
    /// a turn).
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Rejected::Timeout { .. })
    }
}

/// A short statement of what happened, fit for a log line or an HTTP error
/// body: `timed out after 800ms`, `circuit breaker "payments" is open`,
/// `bulkhead "db" is full`, `rate limiter "upstream" is over its limit (retry
/// after 120ms)`. It gives no advice; what to do about each
/// rejection is on its variant.
impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Timeout { after } => write!(f, "timed out after {after:?}"),
            Rejected::CircuitOpen { name } => write!(f, "circuit breaker \"{name}\" is open"),
            Rejected::BulkheadFull { name } => write!(f, "bulkhead \"{name}\" is full"),
            Rejected::RateLimited { name, retry_after } => write!(
                f,
                "rate limiter \"{name}\" is over its limit (retry after {retry_after:?})"
            ),
            Rejected::StoreUnavailable { name } => {
                write!(f, "rate limiter \"{name}\" could not reach its store")
            }
            Rejected::ShuttingDown { name } => {
                write!(f, "shutting down: \"{name}\" takes no new calls")
            }
            Rejected::NotLeader {
                name,
                leader: Some(leader),
            } => write!(f, "not the leader of \"{name}\" (held by \"{leader}\")"),
            Rejected::NotLeader { name, leader: None } => {
                write!(f, "not the leader of \"{name}\" (leader unknown)")
            }
            Rejected::LeadershipLost { name } => {
                write!(f, "lost the leadership of \"{name}\"")
            }
        }
    }
}

impl std::error::Error for Rejected {}

impl From<Rejected> for std::io::Error {
    /// Wraps the rejection (recoverable with [`std::io::Error::get_ref`] and a
    /// downcast); the kind is [`TimedOut`](std::io::ErrorKind::TimedOut) for a
    /// timeout, [`ResourceBusy`](std::io::ErrorKind::ResourceBusy) for an open
    /// circuit or a full bulkhead, and
    /// [`QuotaExceeded`](std::io::ErrorKind::QuotaExceeded) for a rate limit
    /// (the caller used up its allowance, as with a quota; nothing is busy),
    /// [`NotConnected`](std::io::ErrorKind::NotConnected) for a shared
    /// limiter whose store could not be reached, and
    /// [`ConnectionAborted`](std::io::ErrorKind::ConnectionAborted) for a
    /// call refused during shutdown (the process abandons the call, as a
    /// closing peer aborts a connection; not
    /// [`Interrupted`](std::io::ErrorKind::Interrupted), which `std`'s own
    /// I/O loops such as `read_exact` and `write_all` retry at once);
    /// [`ResourceBusy`](std::io::ErrorKind::ResourceBusy) for an election
    /// another process holds (as for a full bulkhead: someone else has the
    /// resource), and
    /// [`ConnectionAborted`](std::io::ErrorKind::ConnectionAborted) for a
    /// lost leadership (the call was abandoned mid-way, as in shutdown).
    ///
    /// This allocates, on the rejection path only: `std` keeps a custom
    /// error in two boxes (the error, and the record holding it with its
    /// kind), about 16 ns per rejection on the machine of `BENCHMARKS.md`.
    /// It is kept because it is the only form of `io::Error` that carries a
    /// value: those that allocate nothing (`From<ErrorKind>`, and the
    /// unstable `const_error!` with a fixed message) keep the kind but lose
    /// the `Rejected` (no downcast, no breaker name in the message). A
    /// function whose rejections must not allocate returns an error type
    /// with a `Rejected` variant (see [`Rejected`]).
    fn from(rejected: Rejected) -> Self {
        let kind = match &rejected {
            Rejected::Timeout { .. } => std::io::ErrorKind::TimedOut,
            Rejected::CircuitOpen { .. } | Rejected::BulkheadFull { .. } => {
                std::io::ErrorKind::ResourceBusy
            }
            Rejected::RateLimited { .. } => std::io::ErrorKind::QuotaExceeded,
            Rejected::StoreUnavailable { .. } => std::io::ErrorKind::NotConnected,
            Rejected::ShuttingDown { .. } | Rejected::LeadershipLost { .. } => {
                std::io::ErrorKind::ConnectionAborted
            }
            Rejected::NotLeader { .. } => std::io::ErrorKind::ResourceBusy,
        };
        std::io::Error::new(kind, rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_short_statement_without_advice() {
        assert_eq!(
            Rejected::timeout(Duration::from_millis(800)).to_string(),
            "timed out after 800ms"
        );
        assert_eq!(
            Rejected::timeout(Duration::from_millis(1500)).to_string(),
            "timed out after 1.5s"
        );
        assert_eq!(
            Rejected::circuit_open("payments").to_string(),
            "circuit breaker \"payments\" is open"
        );
        assert_eq!(
            Rejected::bulkhead_full("db").to_string(),
            "bulkhead \"db\" is full"
        );
        assert_eq!(
            Rejected::rate_limited("upstream", Duration::from_millis(120)).to_string(),
            "rate limiter \"upstream\" is over its limit (retry after 120ms)"
        );
        assert_eq!(
            Rejected::shutting_down("db").to_string(),
            "shutting down: \"db\" takes no new calls"
        );
        assert_eq!(
            Rejected::not_leader("billing", Some("host-b/4242".into())).to_string(),
            "not the leader of \"billing\" (held by \"host-b/4242\")"
        );
        assert_eq!(
            Rejected::not_leader("billing", None).to_string(),
            "not the leader of \"billing\" (leader unknown)"
        );
        assert_eq!(
            Rejected::leadership_lost("billing").to_string(),
            "lost the leadership of \"billing\""
        );
    }

    #[test]
    fn only_timeouts_are_retryable() {
        assert!(Rejected::timeout(Duration::from_secs(1)).is_retryable());
        assert!(!Rejected::circuit_open("x").is_retryable());
        assert!(!Rejected::bulkhead_full("x").is_retryable());
        assert!(!Rejected::rate_limited("x", Duration::from_millis(1)).is_retryable());
        assert!(!Rejected::shutting_down("x").is_retryable());
        assert!(!Rejected::not_leader("x", None).is_retryable());
        assert!(!Rejected::leadership_lost("x").is_retryable());
    }

    #[test]
    fn io_error_keeps_kind_and_source() {
        let e: std::io::Error = Rejected::timeout(Duration::from_secs(2)).into();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<Rejected>());
        assert_eq!(inner, Some(&Rejected::timeout(Duration::from_secs(2))));
        let e: std::io::Error = Rejected::bulkhead_full("b").into();
        assert_eq!(e.kind(), std::io::ErrorKind::ResourceBusy);
        let e: std::io::Error = Rejected::rate_limited("r", Duration::from_secs(1)).into();
        assert_eq!(e.kind(), std::io::ErrorKind::QuotaExceeded);
        let e: std::io::Error = Rejected::shutting_down("s").into();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionAborted);
        let e: std::io::Error = Rejected::not_leader("l", None).into();
        assert_eq!(e.kind(), std::io::ErrorKind::ResourceBusy);
        let e: std::io::Error = Rejected::leadership_lost("l").into();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionAborted);
    }

    #[test]
    fn rejected_is_a_well_behaved_error() {
        fn assert_traits<T: std::error::Error + Clone + Send + Sync + 'static>() {}
        assert_traits::<Rejected>();
    }
}
