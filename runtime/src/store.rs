//! State shared across processes: what a backend implements.
//!
//! The in-process state is the default and needs no server. A backend crate
//! (`steadfast-redis`) implements [`RateStore`] so that limiters in several
//! processes share one limit; the runtime never depends on a backend.
//!
//! A store call is a network round trip (about 100 µs on loopback, 10⁴ × an
//! in-process admission), so its future is boxed: one allocation per call
//! in shared mode only, small next to the round trip. Every store call is
//! bounded by the policy's `store_timeout`; a store that fails, times out or
//! answers garbage is handled by the policy's [`OnStoreError`].

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::time::Duration;

/// The future a store returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A rate limiter's settings, as its store applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateSpec {
    /// Calls admitted per `per`.
    pub rate: u32,
    /// The period of `rate`.
    pub per: Duration,
    /// Calls that may pass back to back after a quiet period.
    pub burst: u32,
    /// How far ahead a call may reserve its turn.
    pub max_wait: Duration,
}

impl RateSpec {
    /// `rate` calls per `per`, `burst` back to back, waiting up to
    /// `max_wait` (the struct is `#[non_exhaustive]`: a backend's tests build
    /// specs with this).
    #[must_use]
    pub const fn new(rate: u32, per: Duration, burst: u32, max_wait: Duration) -> Self {
        RateSpec {
            rate,
            per,
            burst,
            max_wait,
        }
    }
}

/// A store's answer for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Admitted now.
    Admitted,
    /// A turn reserved this long after the store's decision: the caller
    /// sleeps that long, then runs.
    Wait(Duration),
    /// No turn within `max_wait`; the next free one is `retry_after` away.
    Rejected {
        /// Time from the decision to the next free turn.
        retry_after: Duration,
    },
}

/// A store's answer to a request for several turns at once
/// ([`RateStore::take_many`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateBatch {
    /// Turns taken now (none reserved for later), from 0 to the number asked.
    pub granted: u32,
    /// When none was granted: the time to the next free turn.
    pub retry_after: Duration,
}

impl RateBatch {
    /// `granted` turns, and when none, the next free one `retry_after` away.
    #[must_use]
    pub const fn new(granted: u32, retry_after: Duration) -> Self {
        RateBatch {
            granted,
            retry_after,
        }
    }
}

/// Why a store could not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store could not be reached (connection refused or lost).
    Unavailable,
    /// No answer within the policy's `store_timeout`.
    Timeout,
    /// An answer the backend could not read.
    InvalidReply,
}

/// A store failure, with what the backend said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    detail: String,
}

impl StoreError {
    /// A failure of `kind`, with the backend's `detail`.
    #[must_use]
    pub fn new(kind: StoreErrorKind, detail: impl Into<String>) -> Self {
        StoreError {
            kind,
            detail: detail.into(),
        }
    }

    /// What went wrong.
    #[must_use]
    pub const fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What the backend said.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            StoreErrorKind::Unavailable => "store unavailable",
            StoreErrorKind::Timeout => "store timed out",
            StoreErrorKind::InvalidReply => "store answered garbage",
        };
        write!(f, "{what}: {}", self.detail)
    }
}

impl std::error::Error for StoreError {}

/// Where a shared rate limiter's turns are decided.
///
/// `take` makes one atomic decision for the limiter called `key` (its name)
/// under `spec`, with the store's own clock (never the caller's: replicas'
/// clocks disagree). It must be cancel-safe: a dropped future takes no turn,
/// or takes one that is simply lost.
pub trait RateStore: Send + Sync + fmt::Debug + 'static {
    /// Takes a turn, reserves one within `spec.max_wait`, or refuses.
    fn take<'a>(
        &'a self,
        key: &'a str,
        spec: RateSpec,
    ) -> StoreFuture<'a, Result<RateDecision, StoreError>>;

    /// Takes up to `n` turns that are free now, in one decision (none is
    /// reserved for later): the batched mode of
    /// [`RateLimiterBuilder::batch`](crate::rate_limit::RateLimiterBuilder::batch).
    /// The default asks [`take`](RateStore::take) for one turn without
    /// waiting; a backend overrides it to grant several per round trip.
    fn take_many<'a>(
        &'a self,
        key: &'a str,
        spec: RateSpec,
        n: u32,
    ) -> StoreFuture<'a, Result<RateBatch, StoreError>> {
        let _ = n;
        let spec = RateSpec {
            max_wait: Duration::ZERO,
            ..spec
        };
        Box::pin(async move {
            Ok(match self.take(key, spec).await? {
                RateDecision::Admitted => RateBatch::new(1, Duration::ZERO),
                RateDecision::Rejected { retry_after } => RateBatch::new(0, retry_after),
                // Not within a wait of zero: as refused, with no hint.
                RateDecision::Wait(after) => RateBatch::new(0, after),
            })
        })
    }
}

/// What a shared policy does when its store fails, times out or answers
/// garbage (within one `store_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStoreError {
    /// Decide in process, with the policy's own state: the limit then holds
    /// per process, so N replicas admit up to N times the shared limit until
    /// the store is back. The default: calls keep flowing, still limited.
    #[default]
    Local,
    /// Admit the call (fail open).
    Open,
    /// Refuse the call with [`Rejected::StoreUnavailable`](crate::Rejected::StoreUnavailable)
    /// (fail closed).
    Closed,
}
