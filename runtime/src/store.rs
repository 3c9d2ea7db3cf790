//! State shared across processes: what a backend implements.
//!
//! The in-process state is the default and needs no server. A backend crate
//! (`steadfast-redis`) implements [`RateStore`] so that limiters in several
//! processes share one limit, and [`BreakerStore`] so that circuit breakers
//! share one window and one state; the runtime never depends on a backend.
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

/// The window of a shared circuit breaker, as its store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerWindow {
    /// The last N calls recorded by the store, from every process.
    Calls(u32),
    /// The calls recorded by the store in the last `Duration` of its clock,
    /// in ten buckets.
    Time(Duration),
}

/// A circuit breaker's settings, as its store applies them. Every process
/// sharing a breaker (by name) should build it with the same settings: each
/// store call is decided with the settings of the process that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerSpec {
    /// The sliding window.
    pub window: BreakerWindow,
    /// No decision before this many calls are in the window.
    pub min_calls: u32,
    /// Open when `failures ≥ ceil(failure_ratio_ppm × calls / 10⁶)`
    /// (1 to 1,000,000).
    pub failure_ratio_ppm: u32,
    /// With `slow_call`: open when `slow ≥ ceil(slow_ratio_ppm × calls /
    /// 10⁶)`; `None` without it.
    pub slow_ratio_ppm: Option<u32>,
    /// Also open after this many failures in a row (in the order the store
    /// receives them); 0: off.
    pub consecutive_failures: u32,
    /// Time open before half-open, on the store's clock.
    pub open_for: Duration,
    /// Probe leases granted at once in half-open, cluster-wide; that many
    /// successes in one half-open generation close the breaker.
    pub half_open_probes: u32,
    /// How long a probe lease stays valid after it is granted: a result
    /// reported later moves nothing, and the slot is free for another probe
    /// (a process that died holding a lease blocks the others this long).
    pub probe_lease: Duration,
}

impl BreakerSpec {
    /// A spec (the struct is `#[non_exhaustive]`: a backend's tests build
    /// specs with this).
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        window: BreakerWindow,
        min_calls: u32,
        failure_ratio_ppm: u32,
        slow_ratio_ppm: Option<u32>,
        consecutive_failures: u32,
        open_for: Duration,
        half_open_probes: u32,
        probe_lease: Duration,
    ) -> Self {
        BreakerSpec {
            window,
            min_calls,
            failure_ratio_ppm,
            slow_ratio_ppm,
            consecutive_failures,
            open_for,
            half_open_probes,
            probe_lease,
        }
    }
}

/// The outcomes of calls one process ran while the shared breaker was
/// closed, since its last report: what a report adds to the store's window.
///
/// A report does not keep the order its calls ended in: the store spreads
/// each kind evenly through the batch, so that a count window smaller than
/// a batch keeps the batch's mix (10 % failing calls are 10 % of the window,
/// not all of it). The failure run is kept: `failure_run` failures ended the
/// batch, and `ended_run` says whether a success came before them in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Outcomes {
    /// Successes no slower than `slow_call` (all of them without it).
    pub successes: u32,
    /// Failures no slower than `slow_call` (all of them without it).
    pub failures: u32,
    /// Successes slower than `slow_call`.
    pub slow_successes: u32,
    /// Failures slower than `slow_call`.
    pub slow_failures: u32,
    /// Failures in a row at the end of the batch.
    pub failure_run: u32,
    /// A success came in the batch: the store's run of failures restarts at
    /// `failure_run` (otherwise it grows by it).
    pub ended_run: bool,
}

impl Outcomes {
    /// Whether the report carries no outcome (a read of the state).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.successes == 0
            && self.failures == 0
            && self.slow_successes == 0
            && self.slow_failures == 0
    }

    /// Calls in the batch.
    #[must_use]
    pub const fn calls(&self) -> u64 {
        self.successes as u64
            + self.failures as u64
            + self.slow_successes as u64
            + self.slow_failures as u64
    }
}

/// A shared breaker's state as the store saw it when it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerView {
    /// Closed, open or half-open.
    pub state: crate::circuit_breaker::state::State,
    /// The store's generation: one more on every state change.
    pub generation: u64,
    /// Open: the time left before probes may start, on the store's clock
    /// (zero: probes are due); zero otherwise.
    pub open_remaining: Duration,
}

impl BreakerView {
    /// A view.
    #[must_use]
    pub const fn new(
        state: crate::circuit_breaker::state::State,
        generation: u64,
        open_remaining: Duration,
    ) -> Self {
        BreakerView {
            state,
            generation,
            open_remaining,
        }
    }
}

/// How a probe that held a lease ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// It succeeded (and was not slow).
    Success,
    /// It failed, or succeeded slower than `slow_call`: the breaker reopens.
    Failure,
    /// It did not run, or ended in a way that says nothing about the
    /// dependency: the lease is given back for another probe.
    Released,
}

/// The store's answer to a request for a probe lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeGrant {
    /// A lease: the caller may run one probe. `generation` and `lease` are
    /// its fencing token, sent back with the result.
    Granted {
        /// The half-open generation the lease belongs to.
        generation: u64,
        /// The lease's number within it.
        lease: u64,
    },
    /// No lease: the breaker is closed, still open, or every probe slot is
    /// held.
    Refused(BreakerView),
}

/// Where a shared circuit breaker's window and state live.
///
/// Each method is one atomic decision on the store, with the store's own
/// clock, for the breaker called `key` (its name). The futures must be
/// cancel-safe in the sense of [`RateStore`]: a dropped call has applied
/// entirely or not at all.
pub trait BreakerStore: Send + Sync + fmt::Debug + 'static {
    /// Adds `outcomes` (of calls admitted while the store's breaker was
    /// closed in `generation`) to the window, unless it has moved to another
    /// generation since (they are then dropped: they say nothing of the new
    /// state); opens the breaker if the window, or the failure run, now
    /// trips it; answers the state. Empty outcomes read the state.
    fn report<'a>(
        &'a self,
        key: &'a str,
        spec: BreakerSpec,
        generation: u64,
        outcomes: Outcomes,
    ) -> StoreFuture<'a, Result<BreakerView, StoreError>>;

    /// Asks for a half-open probe lease: an open breaker whose `open_for`
    /// has passed (on the store's clock) becomes half-open, one generation
    /// on; a half-open one grants a lease while its valid leases plus its
    /// successes are fewer than `half_open_probes`.
    fn acquire_probe<'a>(
        &'a self,
        key: &'a str,
        spec: BreakerSpec,
    ) -> StoreFuture<'a, Result<ProbeGrant, StoreError>>;

    /// Ends the lease `lease` of `generation` with `outcome`: a failure
    /// reopens (one generation on); the success that makes
    /// `half_open_probes` closes (one generation on, with a fresh window); a
    /// release frees the slot. Moves nothing unless the store is still
    /// half-open in `generation` and the lease is still valid (granted less
    /// than `probe_lease` ago, and not ended): a late result is fenced off.
    /// Answers the state.
    fn complete_probe<'a>(
        &'a self,
        key: &'a str,
        spec: BreakerSpec,
        generation: u64,
        lease: u64,
        outcome: ProbeOutcome,
    ) -> StoreFuture<'a, Result<BreakerView, StoreError>>;
}
