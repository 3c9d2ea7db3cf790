//! Limiting the rate of calls: the [`RateLimiter`].
//!
//! A limiter admits `rate` calls per `per`, up to `burst` of them back to
//! back after a quiet period. A call over the limit waits for its turn when
//! that turn comes within `max_wait`, and otherwise fails at once (without
//! waiting first) with [`Rejected::RateLimited`], whose `retry_after` is the
//! time until the next free turn.
//!
//! # Guarantees
//!
//! - **The bound.** In any interval of length `t`, at most `burst +
//!   floor(rate × t / per)` turns are taken, exactly, even when `per / rate`
//!   is not a whole number of nanoseconds (3 per second). A new limiter
//!   starts with its full burst.
//! - **Turns.** A call admitted at once takes its turn when it asks. A call
//!   that waits reserves the next free turn when it asks (so waiters take
//!   turns in arrival order, each its own) and sleeps until it (a tokio
//!   sleep, so paused time moves it). Tokio's timer fires at whole
//!   milliseconds at or after a deadline, so a waiter starts its call at
//!   the first timer tick at or after its turn: waiters whose turns are less
//!   than a millisecond apart may start together. The bound holds for the
//!   turns; start times can only be later.
//! - **Rejections.** A call whose turn would come after `max_wait` is
//!   rejected at once and changes nothing. Its `retry_after` is the time from
//!   the rejection to the next free turn (the moment a call would be admitted
//!   without waiting, turns reserved by waiters included), rounded up to the
//!   nanosecond: a call made exactly then is admitted.
//! - **A dropped waiter** does not run. Its turn is given back if it is
//!   still the last one reserved (nobody asked after it): the limiter is
//!   then as if it had never asked. Otherwise the turn is lost: the calls
//!   behind it keep the turns they were promised (none moves earlier), and
//!   the turn passes unused.
//!
//! # Shared across processes
//!
//! With a [`store`](RateLimiterBuilder::store) (a `RateStore` such as
//! `steadfast-redis`'s), a call's turn is decided by the store, on the
//! store's clock, so that every process naming the limiter shares one
//! limit; a store that fails or is slow is handled by
//! [`on_store_error`](RateLimiterBuilder::on_store_error) within
//! [`store_timeout`](RateLimiterBuilder::store_timeout), and
//! [`batch`](RateLimiterBuilder::batch) trades a bounded over-admission for
//! fewer round trips.
//!
//! # Implementation and memory ordering
//!
//! The state is one `AtomicU64`, the theoretical arrival time of GCRA (the
//! moment the bucket is full again), in a scaled integer time unit that
//! makes every turn a whole number of units; admission is a load, one clock
//! read and a compare-and-swap loop. No lock, no allocation, no timer unless
//! the call waits. The arithmetic, its range (the units wrap after `2^64 /
//! scale` nanoseconds; a limiter idle for about that long may admit fewer
//! calls, never more, for at most one horizon) and the memory ordering are
//! in `gcra.rs`, generic over the atomic so that the loom checks (`loom.rs`)
//! explore its interleavings.

mod gcra;
mod wait;

use core::future::Future;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use core::time::Duration;
use std::sync::{Mutex, OnceLock, PoisonError};

use tokio::time::Instant;

pub use wait::Limited;

use crate::name::PolicyName;
use crate::registry::{Kind, Registration};
use crate::store::{
    OnStoreError, RateBatch, RateDecision, RateSpec, RateStore, StoreError, StoreErrorKind,
};
use crate::{Failure, Lift, Rejected};
use gcra::{Decision, Gcra};
use wait::Reservation;

/// A rate limit (GCRA, on one atomic word). Build it in `const` context;
/// share it through a `static`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Failure, RateLimiter, Rejected};
///
/// static UPSTREAM: RateLimiter = RateLimiter::builder()
///     .name("upstream")
///     .rate(2)
///     .per(Duration::from_secs(1))
///     .build();
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// assert!(UPSTREAM.try_acquire().is_ok());
/// assert!(UPSTREAM.run(async { Ok::<_, ()>(()) }).await.is_ok());
/// // Over the limit: the next turn is half a second away.
/// let rejected = UPSTREAM.try_acquire().unwrap_err();
/// assert_eq!(
///     rejected,
///     Rejected::rate_limited("upstream", Duration::from_millis(500))
/// );
/// tokio::time::sleep(Duration::from_millis(500)).await;
/// assert!(UPSTREAM.try_acquire().is_ok());
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    /// Its name, resolved on first read.
    name: PolicyName,
    /// The limits it was built with.
    built: Limits,
    /// Limits [applied](crate::config::apply) before the first call, and
    /// whether that call has fixed them.
    pending: Mutex<Pending>,
    /// The first call's clock reading (the clock's origin) and the limits
    /// it fixed: set once, by the first call.
    start: OnceLock<Start>,
    /// The theoretical arrival time, in scaled units since the origin.
    tat: AtomicU64,
    /// Whether the limiter is in the registry that `health()` reads.
    registered: Registration,
    /// Where its turns are decided when shared across processes.
    shared: Option<Shared>,
    /// Calls whose store failed (for `health()`).
    store_failures: AtomicU64,
    /// Whether the last call that asked the store got no answer.
    store_down: AtomicBool,
    /// Batched mode: turns the store granted this process and no call used
    /// yet.
    leased: AtomicU32,
    /// Batched mode: until when (nanoseconds since `anchor`) the store said
    /// no turn is free; 0 when it did not.
    refused_until: AtomicU64,
}

/// A limiter's four settings, and their form in the scaled unit of
/// `gcra.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) rate: u32,
    pub(crate) per: Duration,
    pub(crate) burst: u32,
    pub(crate) max_wait: Duration,
    /// Whether `burst` was left to its default, `rate` (so that a new
    /// `rate` alone moves it too).
    pub(crate) burst_is_rate: bool,
    gcra: Gcra,
}

impl Limits {
    /// The limits of these settings, or `None` if their horizon is too long
    /// to count exactly (see `gcra.rs`). `rate`, `burst` and `per` must be
    /// positive.
    pub(crate) const fn new(
        rate: u32,
        per: Duration,
        burst: u32,
        max_wait: Duration,
    ) -> Option<Self> {
        let per_ns = per.as_nanos();
        if per_ns > u64::MAX as u128 || rate == 0 || burst == 0 || per_ns == 0 {
            return None;
        }
        let max_wait_ns = max_wait.as_nanos();
        let max_wait_ns = if max_wait_ns > u64::MAX as u128 {
            u64::MAX
        } else {
            max_wait_ns as u64
        };
        match Gcra::checked(rate, per_ns as u64, burst, max_wait_ns) {
            Some(gcra) => Some(Limits {
                rate,
                per,
                burst,
                max_wait,
                burst_is_rate: false,
                gcra,
            }),
            None => None,
        }
    }
}

/// Overrides waiting for the first call.
#[derive(Debug)]
struct Pending {
    /// The limits [`apply`](crate::config::apply) set, if any.
    limits: Option<Limits>,
    /// Whether the first call has fixed the limits (after which this is
    /// never written again).
    fixed: bool,
}

/// What the first call fixes.
#[derive(Debug, Clone, Copy)]
struct Start {
    /// The clock's origin.
    anchor: Instant,
    limits: Limits,
}

/// A limiter's store, and what to do when it fails.
#[derive(Debug, Clone, Copy)]
struct Shared {
    store: &'static dyn RateStore,
    on_error: OnStoreError,
    timeout: Duration,
    /// Turns asked per round trip (1: one per call).
    batch: u32,
}

/// The error of a store call that took longer than `store_timeout`.
fn timed_out(shared: Shared) -> StoreError {
    StoreError::new(
        StoreErrorKind::Timeout,
        format!("no decision within {:?}", shared.timeout),
    )
}

/// How a call is admitted.
#[derive(Debug)]
enum Admission<'a> {
    /// At once.
    Now,
    /// At its turn, `after` from now (`until`); the reservation gives the
    /// turn back if dropped.
    Wait {
        until: Instant,
        after: Duration,
        reservation: Reservation<'a>,
    },
    /// Not within `max_wait`.
    Rejected(Rejected),
}

impl RateLimiter {
    /// The defaults: `per = 1s`, `burst = rate`, `max_wait = 0` (never
    /// wait); `rate` has none and must be set.
    pub const fn builder() -> RateLimiterBuilder {
        RateLimiterBuilder {
            name: PolicyName::fixed("rate_limiter"),
            rate: 0,
            per: Duration::from_secs(1),
            burst: None,
            max_wait: Duration::ZERO,
            shared: None,
        }
    }

    /// The name used in rejections, events, metrics and
    /// [`health`](crate::health()). A located name
    /// ([`RateLimiterBuilder::name_located`]) is worked out on the first
    /// read, which no call makes unless it is rejected (or metrics are on).
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name.get()
    }

    /// Its `rate`: calls admitted per [`per`](RateLimiter::per) (as
    /// built, or as [overridden](crate::config) before the first call).
    #[must_use]
    pub fn rate(&self) -> u32 {
        self.effective().rate
    }

    /// Its `per`.
    #[must_use]
    pub fn per(&self) -> Duration {
        self.effective().per
    }

    /// Its `burst`: calls admitted back to back after a quiet period.
    #[must_use]
    pub fn burst(&self) -> u32 {
        self.effective().burst
    }

    /// Its `max_wait`.
    #[must_use]
    pub fn max_wait(&self) -> Duration {
        self.effective().max_wait
    }

    /// Calls that would be admitted at once if they came now (0 to `burst`;
    /// 0 while waiters hold reserved turns). It does not fix the limits: a
    /// limiter that has taken no call has its whole burst.
    #[must_use]
    pub fn available(&self) -> u32 {
        let Some(start) = self.start.get() else {
            return self.effective().burst;
        };
        let tat = self.tat.load(Ordering::Acquire);
        let now = start
            .limits
            .gcra
            .scaled(nanos_since(start.anchor, Instant::now()));
        // At most `burst`, a `u32`.
        u32::try_from(start.limits.gcra.available(tat, now)).unwrap_or(u32::MAX)
    }

    /// Whether the bucket is full again: no turn taken or reserved is still
    /// ahead (a limiter in this state is as good as a new one). One load and
    /// one clock read.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        let Some(start) = self.start.get() else {
            return true;
        };
        let tat = self.tat.load(Ordering::Acquire);
        let now = start
            .limits
            .gcra
            .scaled(nanos_since(start.anchor, Instant::now()));
        start.limits.gcra.is_full(tat, now)
    }

    /// The limits in force: fixed by the first call, or, before it, the
    /// ones it would fix.
    pub(crate) fn effective(&self) -> Limits {
        match self.start.get() {
            Some(start) => start.limits,
            None => self.lock_pending().limits.unwrap_or(self.built),
        }
    }

    /// Sets the limits the first call will fix; `false` (nothing changed)
    /// if it has come.
    pub(crate) fn set_limits(&self, limits: Limits) -> bool {
        let mut pending = self.lock_pending();
        if pending.fixed {
            return false;
        }
        pending.limits = Some(limits);
        true
    }

    /// Whether [`set_limits`](Self::set_limits) would still take effect.
    pub(crate) fn limits_open(&self) -> bool {
        !self.lock_pending().fixed
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Nothing panics while holding it; a poisoned lock holds valid data.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the first call fixed (fixing it on the first call: the only
    /// call that takes the lock, which `set_limits` holds while it checks
    /// `fixed`, so an override is either fixed by that call or refused).
    #[inline]
    fn started(&self) -> &Start {
        self.start.get_or_init(|| {
            let mut pending = self.lock_pending();
            pending.fixed = true;
            Start {
                anchor: Instant::now(),
                limits: pending.limits.unwrap_or(self.built),
            }
        })
    }

    /// The limits in force, fixing them if no call has yet.
    #[inline]
    fn limits(&self) -> &Limits {
        &self.started().limits
    }

    /// Takes a turn now, without waiting.
    ///
    /// # Errors
    ///
    /// [`Rejected::RateLimited`] when no turn is free now (whatever
    /// `max_wait` says); nothing is reserved.
    #[inline]
    pub fn try_acquire(&self) -> Result<(), Rejected> {
        match self.admit(false) {
            Admission::Now => Ok(()),
            Admission::Rejected(rejected) => Err(rejected),
            Admission::Wait { .. } => unreachable!("a wait limit of 0 reserves no turn"),
        }
    }

    /// Takes a turn: at once if one is free, else the next free turn if it
    /// comes within `max_wait`, sleeping until then. Nothing happens until
    /// the future is first polled. Dropped while it sleeps, it gives the turn
    /// back only if no call reserved one after it (see the [module
    /// docs](self)).
    ///
    /// # Errors
    ///
    /// [`Rejected::RateLimited`], at once, when the next free turn comes after
    /// `max_wait`.
    pub async fn acquire(&self) -> Result<(), Rejected> {
        if let Some(shared) = self.shared {
            return self.acquire_shared(shared).await;
        }
        self.acquire_local().await
    }

    /// [`acquire`](RateLimiter::acquire) on the limiter's own state.
    async fn acquire_local(&self) -> Result<(), Rejected> {
        match self.admit(true) {
            Admission::Now => Ok(()),
            Admission::Wait {
                until, reservation, ..
            } => reservation.end_wait(crate::shutdown::stopped_before(until).await),
            Admission::Rejected(rejected) => Err(rejected),
        }
    }

    /// [`acquire`](RateLimiter::acquire) through the store: its decision
    /// within `store_timeout`, else what `on_store_error` says.
    async fn acquire_shared(&self, shared: Shared) -> Result<(), Rejected> {
        if crate::shutdown::is_shutting_down() {
            return Err(self.shutting_down());
        }
        if shared.batch > 1 {
            if let Some(decided) = self.decided_locally() {
                return decided;
            }
            let asked = shared
                .store
                .take_many(self.name(), self.spec(), shared.batch);
            match self.ask(shared, asked).await {
                Ok(RateBatch { granted, .. }) if granted > 0 => {
                    self.leased.fetch_add(granted - 1, Ordering::Relaxed);
                    crate::meter::rate_limit_call(self.name(), "admitted");
                    return Ok(());
                }
                Ok(RateBatch { retry_after, .. }) if self.limits().max_wait.is_zero() => {
                    self.refuse_until(retry_after);
                    return Err(self.rejection(retry_after));
                }
                // None free now, but the call may wait: ask for a reserved
                // turn below.
                Ok(_) => {}
                Err(error) => return self.store_failed(shared, error).await,
            }
        }
        let asked = shared.store.take(self.name(), self.spec());
        let error = match self.ask(shared, asked).await {
            Ok(RateDecision::Admitted) => {
                crate::meter::rate_limit_call(self.name(), "admitted");
                return Ok(());
            }
            Ok(RateDecision::Wait(after)) => {
                crate::meter::rate_limit_call(self.name(), "waited");
                // The store reserved the turn: a call dropped while it
                // sleeps loses it (the store is not asked again), and so
                // does one sent away by shutdown.
                let Some(until) = Instant::now().checked_add(after) else {
                    return Err(self.rejection(after));
                };
                if crate::shutdown::stopped_before(until).await {
                    return Err(self.shutting_down());
                }
                return Ok(());
            }
            Ok(RateDecision::Rejected { retry_after }) => {
                return Err(self.rejection(retry_after));
            }
            Err(error) => error,
        };
        self.store_failed(shared, error).await
    }

    /// The store's answer to `asked` within `store_timeout`. An answer after
    /// failures marks the store healthy again (reported once).
    async fn ask<T>(
        &self,
        shared: Shared,
        asked: crate::store::StoreFuture<'_, Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let answer = tokio::time::timeout(shared.timeout, asked)
            .await
            .unwrap_or_else(|_| Err(timed_out(shared)));
        if answer.is_ok() && self.store_down.load(Ordering::Relaxed) {
            self.store_down.store(false, Ordering::Relaxed);
            crate::events::store_recovered(crate::events::StoreUser::RateLimiter, self.name());
        }
        answer
    }

    /// The store failed: counted, reported, and what `on_store_error` says.
    #[cold]
    async fn store_failed(&self, shared: Shared, error: StoreError) -> Result<(), Rejected> {
        self.store_failures.fetch_add(1, Ordering::Relaxed);
        self.store_down.store(true, Ordering::Relaxed);
        crate::events::store_failed(
            crate::events::StoreUser::RateLimiter,
            self.name(),
            &error,
            shared.on_error,
        );
        match shared.on_error {
            OnStoreError::Local => self.acquire_local().await,
            OnStoreError::Open => Ok(()),
            OnStoreError::Closed => {
                let rejected = Rejected::store_unavailable(self.name());
                crate::events::rejected(&rejected);
                crate::meter::rate_limit_call(self.name(), "rejected");
                Err(rejected)
            }
        }
    }

    /// Batched mode, without a round trip: a turn from the lease, or a
    /// refusal the store already gave (while its next free turn is ahead and
    /// the call may not wait); `None` when the store must be asked.
    fn decided_locally(&self) -> Option<Result<(), Rejected>> {
        let mut leased = self.leased.load(Ordering::Relaxed);
        while leased > 0 {
            match self.leased.compare_exchange_weak(
                leased,
                leased - 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    crate::meter::rate_limit_call(self.name(), "admitted");
                    return Some(Ok(()));
                }
                Err(now) => leased = now,
            }
        }
        let until = self.refused_until.load(Ordering::Relaxed);
        if until == 0 || !self.limits().max_wait.is_zero() {
            return None;
        }
        let now = self.nanos();
        (now < until).then(|| Err(self.rejection(Duration::from_nanos(until - now))))
    }

    /// Remembers that no turn is free for `retry_after`.
    fn refuse_until(&self, retry_after: Duration) {
        let until = self
            .nanos()
            .saturating_add(u64::try_from(retry_after.as_nanos()).unwrap_or(u64::MAX));
        self.refused_until.store(until.max(1), Ordering::Relaxed);
    }

    /// Nanoseconds since the limiter's clock origin.
    fn nanos(&self) -> u64 {
        self.read_clock().1
    }

    /// The settings a store applies.
    fn spec(&self) -> RateSpec {
        let limits = self.limits();
        RateSpec {
            rate: limits.rate,
            per: limits.per,
            burst: limits.burst,
            max_wait: limits.max_wait,
        }
    }

    /// Calls whose store failed, timed out or answered garbage so far.
    #[must_use]
    pub fn store_failures(&self) -> u64 {
        self.store_failures.load(Ordering::Relaxed)
    }

    /// Whether the store answered the last call that asked it (true without
    /// a store, and before the first call).
    #[must_use]
    pub fn store_healthy(&self) -> bool {
        !self.store_down.load(Ordering::Relaxed)
    }

    /// Whether its turns are decided by a store.
    #[must_use]
    pub const fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Runs a synchronous `call` at its turn, blocking the thread (parked,
    /// on the `std` clock) for at most `max_wait` until then;
    /// [shutdown](crate::shutdown()) wakes a waiting thread, which gives its
    /// turn back as a dropped waiting call does. A limiter with a
    /// [store](RateLimiterBuilder::store) decides a blocking call on its own
    /// state, as `OnStoreError::Local` does (a plain `fn` has no runtime to
    /// make the store's round trip on): the limit then holds per process.
    ///
    /// # Errors
    ///
    /// `call`'s own error as [`Failure::Error`], or [`Rejected::RateLimited`]
    /// (without running `call`, and at once) as [`Failure::Rejected`].
    pub fn call<T, E>(
        &self,
        call: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, Failure<E, Rejected>> {
        self.wrap_call(|| call().map_err(Failure::Error))
    }

    /// [`call`](RateLimiter::call) for a call whose error already travels as
    /// a [`Failure`].
    #[inline]
    pub fn wrap_call<T, E>(
        &self,
        call: impl FnOnce() -> Result<T, Failure<E, Rejected>>,
    ) -> Result<T, Failure<E, Rejected>> {
        self.acquire_blocking().map_err(Failure::Rejected)?;
        call()
    }

    /// Takes a turn for a call on a plain `fn` (see
    /// [`call`](RateLimiter::call)).
    ///
    /// # Errors
    ///
    /// As [`acquire`](RateLimiter::acquire).
    #[inline]
    pub fn acquire_blocking(&self) -> Result<(), Rejected> {
        match self.admit(true) {
            Admission::Now => Ok(()),
            Admission::Wait {
                after, reservation, ..
            } => {
                let deadline = crate::blocking::deadline_after(after);
                reservation.end_wait(crate::shutdown::stopped_before_blocking(deadline))
            }
            Admission::Rejected(rejected) => Err(rejected),
        }
    }

    /// Runs `future` at its turn (see [`acquire`](RateLimiter::acquire));
    /// [`Rejected::RateLimited`] if it does not come within `max_wait`.
    pub fn run<T, E, F>(&self, future: F) -> Limited<'_, Lift<F, Rejected>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.wrap(Lift::new(future))
    }

    /// [`run`](RateLimiter::run) for a call whose error already travels as a
    /// [`Failure`].
    pub fn wrap<T, E, F>(&self, future: F) -> Limited<'_, F>
    where
        F: Future<Output = Result<T, Failure<E, Rejected>>>,
    {
        Limited::new(self, future)
    }

    /// A refusal during shutdown, reported.
    #[cold]
    pub(crate) fn shutting_down(&self) -> Rejected {
        let rejected = Rejected::shutting_down(self.name());
        crate::events::rejected(&rejected);
        crate::meter::rate_limit_call(self.name(), "shutting_down");
        rejected
    }

    /// Asks for a turn, waiting at most `max_wait` if `may_wait`.
    #[inline]
    fn admit(&self, may_wait: bool) -> Admission<'_> {
        if crate::shutdown::is_shutting_down() {
            return Admission::Rejected(self.shutting_down());
        }
        let start = self.started();
        let gcra = &start.limits.gcra;
        let wait_limit = if may_wait { gcra.max_wait() } else { 0 };
        let mut at = None;
        // Read after the word is loaded (see `gcra.rs`).
        let clock = || {
            let now = Instant::now();
            at = Some(now);
            gcra.scaled(nanos_since(start.anchor, now))
        };
        match gcra.admit(&self.tat, clock, wait_limit) {
            Decision::Now { .. } => {
                if crate::meter::ENABLED {
                    crate::meter::rate_limit_call(self.name(), "admitted");
                }
                Admission::Now
            }
            Decision::Wait { wait, reserved } => {
                let after = Duration::from_nanos(gcra.nanos_ceil(wait));
                let now = at.expect("the clock is read before a turn is taken");
                self.waiting(now + after, after, reserved)
            }
            Decision::Rejected { wait } => {
                Admission::Rejected(self.rejection(Duration::from_nanos(gcra.nanos_ceil(wait))))
            }
        }
    }

    #[cold]
    fn waiting(&self, until: Instant, after: Duration, reserved: u64) -> Admission<'_> {
        crate::meter::rate_limit_call(self.name(), "waited");
        Admission::Wait {
            until,
            after,
            reservation: Reservation::new(self, reserved),
        }
    }

    /// A rejection, reported.
    #[cold]
    fn rejection(&self, retry_after: Duration) -> Rejected {
        let rejected = Rejected::rate_limited(self.name(), retry_after);
        crate::events::rejected(&rejected);
        crate::meter::rate_limit_call(self.name(), "rejected");
        rejected
    }

    /// Gives a reserved turn back if it is still the last one (`gcra.rs`).
    fn give_back(&self, reserved: u64) -> bool {
        self.limits().gcra.give_back(&self.tat, reserved)
    }

    /// The clock, and its reading in nanoseconds since the origin (set by
    /// the first call).
    #[inline]
    fn read_clock(&self) -> (Instant, u64) {
        let start = self.started();
        let now = Instant::now();
        (now, nanos_since(start.anchor, now))
    }

    /// Adds the limiter to [`health`](crate::health()) (once; later calls
    /// are a single relaxed load). The attributes list their per-function
    /// limiters from startup, and register a `shared = …` one on its first
    /// call; [`register_rate_limiter!`](crate::register_rate_limiter) lists a
    /// `static` from startup. A limiter whose name another registered limiter
    /// already carries is reported (a `tracing` warning, and `duplicate_name`
    /// in `health()`).
    #[inline]
    pub fn register(&'static self) {
        crate::registry::register(self);
    }
}

crate::registry::policy_member!(RateLimiter, Kind::RateLimiter);

/// Nanoseconds from `anchor` to `now` (0 if `now` is earlier).
#[inline]
fn nanos_since(anchor: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(anchor).as_nanos()).unwrap_or(u64::MAX)
}

/// Builds a [`RateLimiter`] in `const` context. Invalid settings panic, which
/// in a `const` or `static` is a compile error.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct RateLimiterBuilder {
    name: PolicyName,
    /// 0: not set.
    rate: u32,
    per: Duration,
    /// `None`: `rate`.
    burst: Option<u32>,
    max_wait: Duration,
    shared: Option<Shared>,
}

impl RateLimiterBuilder {
    /// The name in rejections, events, metrics and `health()` (default
    /// `rate_limiter`). One name is one limiter: another registered limiter
    /// of the same name is reported.
    pub const fn name(mut self, name: &'static str) -> Self {
        self.name = PolicyName::fixed(name);
        self
    }

    /// The name of a limiter declared in `function` of `module`
    /// (`module_path!()`), worked out on first read from `here`: as
    /// [`CircuitBreakerBuilder::name_located`](crate::circuit_breaker::CircuitBreakerBuilder::name_located).
    pub const fn name_located(mut self, location: &'static crate::name::Location) -> Self {
        self.name = PolicyName::located(location);
        self
    }

    /// The name every state built from this builder carries (keyed state).
    pub(crate) const fn policy_name(&self) -> PolicyName {
        self.name
    }

    /// Calls admitted per [`per`](RateLimiterBuilder::per) (required).
    ///
    /// # Panics
    ///
    /// On 0 (a compile error in `const` context, and so for the attribute's
    /// `rate = 0`).
    pub const fn rate(mut self, calls: u32) -> Self {
        assert!(calls >= 1, "rate limiter: `rate` must be at least 1");
        self.rate = calls;
        self
    }

    /// The period of [`rate`](RateLimiterBuilder::rate) (default 1 s).
    ///
    /// # Panics
    ///
    /// On a zero duration.
    pub const fn per(mut self, period: Duration) -> Self {
        assert!(
            !period.is_zero(),
            "rate limiter: `per` must be longer than 0"
        );
        self.per = period;
        self
    }

    /// Calls admitted back to back after a quiet period (default: `rate`).
    ///
    /// # Panics
    ///
    /// On 0.
    pub const fn burst(mut self, calls: u32) -> Self {
        assert!(calls >= 1, "rate limiter: `burst` must be at least 1");
        self.burst = Some(calls);
        self
    }

    /// How long a call over the limit may wait for its turn (default 0:
    /// never wait). A call whose turn comes later is rejected at once.
    ///
    /// A waiting call reserves its turn when it asks. Dropped before its turn
    /// (cancelled, or its task aborted), it does not run, and it gives the
    /// turn back only if no call reserved one after it; otherwise the turn
    /// passes unused, so that the calls behind it keep theirs.
    pub const fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Shares the limit across processes: every call's turn is decided by
    /// `store` (one round trip, on the store's clock), under this limiter's
    /// name as its key, so that all replicas naming the same limiter share
    /// one `rate`. A store call that fails, answers garbage or takes longer
    /// than [`store_timeout`](RateLimiterBuilder::store_timeout) is handled
    /// as [`on_store_error`](RateLimiterBuilder::on_store_error) says.
    ///
    /// The store lives as long as the program (a `static`, a `LazyLock`, or
    /// `Box::leak`), so a shared limiter is usually built at startup in a
    /// `LazyLock` and named with `#[rate_limit(shared = &*LIMIT)]`.
    ///
    /// With a store, `try_acquire` and the blocking `call` still decide in
    /// process (they cannot wait for a round trip); `acquire`, `run`,
    /// `wrap` and the attribute ask the store.
    pub const fn store(mut self, store: &'static dyn RateStore) -> Self {
        self.shared = Some(match self.shared {
            Some(shared) => Shared { store, ..shared },
            None => Shared {
                store,
                on_error: OnStoreError::Local,
                timeout: Self::DEFAULT_STORE_TIMEOUT,
                batch: 1,
            },
        });
        self
    }

    /// The default [`store_timeout`](RateLimiterBuilder::store_timeout).
    pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(100);

    /// What a call does when the store fails (default
    /// [`OnStoreError::Local`]). Set after [`store`](RateLimiterBuilder::store).
    ///
    /// # Panics
    ///
    /// Without a store.
    pub const fn on_store_error(mut self, on_error: OnStoreError) -> Self {
        match &mut self.shared {
            Some(shared) => shared.on_error = on_error,
            None => panic!("rate limiter: `on_store_error` needs a `store`"),
        }
        self
    }

    /// Batched mode: asks the store for up to `turns` free turns per round
    /// trip (with [`RateStore::take_many`]) and admits the calls that follow
    /// from them without a round trip, until they are used up. A refusal
    /// is remembered until the next free turn the store named, so calls over
    /// the limit cost no round trip either (when `max_wait` is 0; a call
    /// that may wait asks the store for a reserved turn as usual).
    ///
    /// The price is a bounded over-admission: turns a process holds were
    /// taken from the shared bucket when granted, and may be used later, so
    /// with N processes, in any interval of length t at most
    /// `burst + floor(rate × t / per) + N × (turns − 1)` calls are admitted
    /// (each process holds at most `turns − 1` unused turns at any moment).
    /// Set after [`store`](RateLimiterBuilder::store).
    ///
    /// # Panics
    ///
    /// Without a store, or when `turns` is not within 1 to 1024.
    pub const fn batch(mut self, turns: u32) -> Self {
        assert!(
            turns >= 1 && turns <= 1024,
            "rate limiter: `batch` must be within 1 to 1024 turns"
        );
        match &mut self.shared {
            Some(shared) => shared.batch = turns,
            None => panic!("rate limiter: `batch` needs a `store`"),
        }
        self
    }

    /// How long a call waits for the store's decision before
    /// [`on_store_error`](RateLimiterBuilder::on_store_error) applies
    /// (default 100 ms). Set after [`store`](RateLimiterBuilder::store).
    ///
    /// # Panics
    ///
    /// Without a store, or on a zero duration.
    pub const fn store_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "rate limiter: `store_timeout` must be longer than 0"
        );
        match &mut self.shared {
            Some(shared) => shared.timeout = timeout,
            None => panic!("rate limiter: `store_timeout` needs a `store`"),
        }
        self
    }

    /// The finished limiter.
    ///
    /// # Panics
    ///
    /// If `rate` was not set, `per` is above 584 years, or `burst × per /
    /// rate + max_wait` is too long to count exactly in the limiter's
    /// 64-bit word: at most `2^62 / (rate / gcd(rate, per in ns))`
    /// nanoseconds (146 years when `rate` divides `per` in nanoseconds,
    /// 48 years for a rate of 3 per second).
    pub const fn build(self) -> RateLimiter {
        assert!(
            self.rate >= 1,
            "rate limiter: set `rate`, the calls admitted per `per` (at least 1)"
        );
        let burst = match self.burst {
            Some(burst) => burst,
            None => self.rate,
        };
        assert!(
            self.per.as_nanos() <= u64::MAX as u128,
            "rate limiter: `per` must be at most 584 years"
        );
        assert!(
            !self.per.is_zero(),
            "rate limiter: `per` must be longer than 0"
        );
        assert!(burst >= 1, "rate limiter: `burst` must be at least 1");
        let Some(mut built) = Limits::new(self.rate, self.per, burst, self.max_wait) else {
            panic!(
                "rate limiter: `burst × per / rate + max_wait` is too long to count exactly \
                 (at most 2^62 / (rate / gcd(rate, per in ns)) nanoseconds: 146 years when \
                 `rate` divides `per` in nanoseconds)"
            )
        };
        built.burst_is_rate = self.burst.is_none();
        RateLimiter {
            name: self.name,
            built,
            pending: Mutex::new(Pending {
                limits: None,
                fixed: false,
            }),
            start: OnceLock::new(),
            tat: AtomicU64::new(0),
            registered: Registration::new(),
            shared: self.shared,
            store_failures: AtomicU64::new(0),
            store_down: AtomicBool::new(false),
            leased: AtomicU32::new(0),
            refused_until: AtomicU64::new(0),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod shared_tests;

#[cfg(test)]
mod model;

#[cfg(test)]
mod loom;
