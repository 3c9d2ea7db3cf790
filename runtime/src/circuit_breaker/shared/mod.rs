//! A circuit breaker shared across processes through a [`BreakerStore`]:
//! its settings, its link to the store, and the builder methods and
//! accessors that go with them.
//!
//! # How it works
//!
//! Replicas naming the same breaker share the store's window and state: the
//! store records outcomes and decides to open in one atomic step, grants the
//! half-open probes as leases fenced by a generation, and answers its view of
//! the state. The call path stays what it is without a store — synchronous,
//! lock-free, without a round trip: calls are admitted on a *local view* of
//! the shared state, the breaker's own state word, which one background task
//! per breaker (the *syncer*, `syncer.rs`) keeps in step with the store:
//!
//! - every `sync_interval` (sooner when poked) it sends the outcomes recorded
//!   since its last report (`pending.rs`; an empty report reads the state)
//!   and mirrors the answer into the word (`mirror.rs`);
//! - a caller that finds the local view open and `open_for` waited out is
//!   rejected, records demand and pokes the syncer, which asks the store for
//!   a probe lease; a granted lease makes the local word half-open with room
//!   for exactly one probe, whose result the syncer sends back with the
//!   lease's fencing token (`lease.rs`). A lease no call used within one
//!   sync interval is given back.
//!
//! No lock is held across the user's call: the lease's mutex is taken by the
//! syncer and by a probe's completion, each for a few instructions.
//!
//! # Staleness bound
//!
//! The local view a call is admitted on reflects a store answer received at
//! most `sync_interval + store_timeout` earlier: the syncer asks again
//! `sync_interval` after each answer, and that call either answers within
//! `store_timeout` or fails, and then `on_store_error` applies. Exception: a
//! process's first calls are admitted on the default closed view until the
//! syncer's first read answers (at most `store_timeout` after the first
//! call). So a breaker that the store opened (from the outcomes of any
//! process) rejects in every process within `sync_interval + store_timeout`,
//! and a store that closed admits again within the same bound.
//!
//! # When the store fails
//!
//! A store call that errs or takes longer than `store_timeout` puts the
//! breaker in the mode [`OnStoreError`] names until the store answers
//! again (the syncer keeps asking every `sync_interval`): `Local` runs the
//! breaker exactly as a non-shared one (its own window, which kept recording
//! all along, its own trips and half-open with `half_open_probes`); `Open`
//! keeps the local view closed and nothing opens it; `Closed` keeps it open,
//! rejecting with [`Rejected::StoreUnavailable`](crate::Rejected::StoreUnavailable).
//! The next answer is mirrored as usual.
//!
//! # Scope
//!
//! - The syncer runs on the tokio runtime of the call that started it (the
//!   first call made in one, through the breaker's slow path). When that
//!   runtime shuts down, the word goes back to detached (unless an operator
//!   holds it) and the next call, in another runtime, starts a new syncer.
//!   A call made outside any runtime (a plain `fn` on a plain thread) while
//!   no syncer runs is decided on the local view, like a non-shared
//!   breaker's.
//! - The syncer needs the breaker for the life of the program: a shared
//!   breaker must be a registered `'static`. The attribute registers the
//!   `static` that `shared = PATH` names; a breaker named by an expression
//!   (`shared = &*BREAKER` over a `LazyLock`, a leaked `Box`) cannot be
//!   known to be `'static` by the attribute, so the program registers it
//!   ([`register`](super::CircuitBreaker::register), or
//!   [`register_breaker!`](crate::register_breaker)) before its first call.
//!   An unregistered one (also a keyed breaker's per-key state) decides
//!   locally, with a warning (`shared circuit breaker not registered`).
//! - Operator commands (`force_open`, `force_closed`, `reset`) act on this
//!   process's view only: a hold outranks what the store says, and the
//!   store is not written (outcomes of calls admitted while held closed are
//!   still reported: they are real calls). `reset` releases the hold and
//!   the next sync mirrors the store's view again.
//!
//! # Memory ordering
//!
//! The word is changed by the syncer with the same `AcqRel`
//! compare-and-swaps as every other transition (`state::shift`, which never
//! moves a held word); `open_until` is stored (`Release`) before the
//! compare-and-swap that publishes it. The link's status and counters are
//! `Relaxed`, except the status, written `Release` and read `Acquire`, so a
//! caller that sees the syncer attached sees it spawned. Pending outcomes
//! are relaxed counters swapped to zero one by one: a record racing a
//! report lands in it or in the next one, never in both, never lost.

mod admit;
mod lease;
mod mirror;
mod pending;
mod syncer;

use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use core::time::Duration;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::{CircuitBreaker, CircuitBreakerBuilder};
use crate::store::{BreakerSpec, BreakerStore, OnStoreError};
use lease::Lease;
use pending::Pending;

/// A shared breaker's store and settings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shared {
    pub(super) store: &'static dyn BreakerStore,
    pub(super) on_error: OnStoreError,
    pub(super) timeout: Duration,
    pub(super) sync_interval: Duration,
    pub(super) probe_lease: Duration,
}

/// Where the link to the store stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// No syncer runs: calls decide locally, and the word is detached (or
    /// was moved by a call made outside any runtime).
    Detached,
    /// A syncer runs and the store answers (or has not failed yet).
    Syncing,
    /// A syncer runs and the store's last call failed: `on_store_error`
    /// applies.
    Failed,
}

/// A shared breaker's link to its store, as the calls and the syncer see
/// it. Every breaker has one (all-zero, unused without a store).
#[derive(Debug)]
pub(super) struct Link {
    /// A [`Status`], as `u8`.
    status: AtomicU8,
    /// Whether the last store call answered (true before the first).
    healthy: AtomicBool,
    /// Store calls that failed, timed out or answered garbage.
    failures: AtomicU64,
    /// The store generation the local view was last mirrored from.
    store_generation: AtomicU64,
    /// A caller found the local view open and waited out: ask for a lease.
    demand: AtomicBool,
    /// Wakes the syncer before its interval is up.
    poke: Notify,
    /// Outcomes not reported yet.
    pending: Pending,
    /// The probe lease this process holds, if any.
    lease: Mutex<Option<Lease>>,
    /// An unregistered breaker was warned about.
    warned: AtomicBool,
}

impl Link {
    pub(super) const fn new() -> Self {
        Link {
            status: AtomicU8::new(0),
            healthy: AtomicBool::new(true),
            failures: AtomicU64::new(0),
            store_generation: AtomicU64::new(0),
            demand: AtomicBool::new(false),
            poke: Notify::const_new(),
            pending: Pending::new(),
            lease: Mutex::new(None),
            warned: AtomicBool::new(false),
        }
    }

    pub(super) fn status(&self) -> Status {
        match self.status.load(Ordering::Acquire) {
            0 => Status::Detached,
            1 => Status::Syncing,
            _ => Status::Failed,
        }
    }

    /// Sets the status, returning the one it replaced.
    fn set_status(&self, status: Status) -> Status {
        let new = match status {
            Status::Detached => 0,
            Status::Syncing => 1,
            Status::Failed => 2,
        };
        match self.status.swap(new, Ordering::AcqRel) {
            0 => Status::Detached,
            1 => Status::Syncing,
            _ => Status::Failed,
        }
    }

    /// Wakes the syncer (at once if it waits, else its next wait ends at once).
    fn poke(&self) {
        self.poke.notify_one();
    }

    /// The lease, locked for a few instructions (never across a call or an
    /// await).
    fn lease(&self) -> std::sync::MutexGuard<'_, Option<Lease>> {
        self.lease
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CircuitBreaker {
    /// Whether a store shares the breaker's window and state across
    /// processes (see [`CircuitBreakerBuilder::store`]).
    #[must_use]
    pub const fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Store calls (the syncer's) that failed, timed out or answered garbage
    /// so far; 0 without a store.
    #[must_use]
    pub fn store_failures(&self) -> u64 {
        self.link.failures.load(Ordering::Relaxed)
    }

    /// Whether the store answered the last call made to it (true without a
    /// store, and before the first call).
    #[must_use]
    pub fn store_healthy(&self) -> bool {
        self.link.healthy.load(Ordering::Relaxed)
    }

    /// The settings the breaker sends its store, from its configuration
    /// (`slow_ratio_ppm` is `None` without `slow_call`; `probe_lease` is the
    /// default without a store).
    #[must_use]
    pub fn store_spec(&self) -> BreakerSpec {
        let config = &self.config;
        BreakerSpec::new(
            config.window,
            config.min_calls(),
            ppm_u32(config.failure_ratio_ppm()),
            config
                .slow_call()
                .is_some()
                .then(|| ppm_u32(config.slow_ratio_ppm())),
            config.consecutive_failures(),
            config.open_for(),
            config.half_open_probes(),
            self.shared.map_or(DEFAULT_PROBE_LEASE, |s| s.probe_lease),
        )
    }
}

/// Parts per million, at most 10⁶: always a `u32`.
fn ppm_u32(ppm: u64) -> u32 {
    u32::try_from(ppm).unwrap_or(1_000_000)
}

/// The default [`probe_lease`](CircuitBreakerBuilder::probe_lease).
const DEFAULT_PROBE_LEASE: Duration = Duration::from_secs(10);

impl CircuitBreakerBuilder {
    /// The default [`store_timeout`](CircuitBreakerBuilder::store_timeout).
    pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(100);

    /// The default [`sync_interval`](CircuitBreakerBuilder::sync_interval).
    pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_millis(100);

    /// The default [`probe_lease`](CircuitBreakerBuilder::probe_lease).
    pub const DEFAULT_PROBE_LEASE: Duration = DEFAULT_PROBE_LEASE;

    /// Shares the breaker's window and state across processes: every process
    /// building a breaker of this name with this `store` (and the same
    /// settings) sees one window, one state, and one half-open probe
    /// cluster-wide. Calls still decide on the breaker's own state word, in
    /// process and without a round trip; a background task keeps that word
    /// in step with the store (see the [`shared` module docs](crate::circuit_breaker#shared-across-processes)):
    /// a change of the shared state reaches every process within
    /// [`sync_interval`](CircuitBreakerBuilder::sync_interval) `+`
    /// [`store_timeout`](CircuitBreakerBuilder::store_timeout).
    ///
    /// The breaker must be a registered `'static`: the attribute registers
    /// the `static` that `shared = PATH` names; register one built at run
    /// time (`static BREAKER: LazyLock<CircuitBreaker>` named with
    /// `shared = &*BREAKER`) with [`register`](CircuitBreaker::register)
    /// before its first call. Its calls must be made inside a tokio runtime
    /// for the task to run. Without either it decides locally, with a
    /// warning.
    pub const fn store(mut self, store: &'static dyn BreakerStore) -> Self {
        self.shared = Some(match self.shared {
            Some(shared) => Shared { store, ..shared },
            None => Shared {
                store,
                on_error: OnStoreError::Local,
                timeout: Self::DEFAULT_STORE_TIMEOUT,
                sync_interval: Self::DEFAULT_SYNC_INTERVAL,
                probe_lease: DEFAULT_PROBE_LEASE,
            },
        });
        self
    }

    /// What the breaker does while its store fails, times out or answers
    /// garbage (default [`OnStoreError::Local`]): `Local` runs it as a
    /// non-shared breaker on its own window, `Open` admits every call,
    /// `Closed` rejects every call with
    /// [`Rejected::StoreUnavailable`](crate::Rejected::StoreUnavailable).
    /// It applies within one `store_timeout` of the failing call, and ends
    /// with the store's next answer. Set after
    /// [`store`](CircuitBreakerBuilder::store).
    ///
    /// # Panics
    ///
    /// Without a store.
    pub const fn on_store_error(mut self, on_error: OnStoreError) -> Self {
        match &mut self.shared {
            Some(shared) => shared.on_error = on_error,
            None => panic!("circuit breaker: `on_store_error` needs a `store`"),
        }
        self
    }

    /// How long a store call may take before it counts as failed (default
    /// 100 ms). Set after [`store`](CircuitBreakerBuilder::store).
    ///
    /// # Panics
    ///
    /// Without a store, or on a zero duration.
    pub const fn store_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "circuit breaker: `store_timeout` must be longer than 0"
        );
        match &mut self.shared {
            Some(shared) => shared.timeout = timeout,
            None => panic!("circuit breaker: `store_timeout` needs a `store`"),
        }
        self
    }

    /// How often the local view is brought in step with the store (default
    /// 100 ms): outcomes are sent in one report per interval, and the state
    /// read back. **Staleness bound**: a call is admitted on a view the
    /// store answered at most `sync_interval + store_timeout` earlier
    /// (beyond that the store has failed and `on_store_error` applies); a
    /// process's first calls are admitted on the closed view until the first
    /// answer, at most `store_timeout` later. Shorter intervals see changes
    /// sooner at one round trip per interval per process. Set after
    /// [`store`](CircuitBreakerBuilder::store).
    ///
    /// # Panics
    ///
    /// Without a store, or on a zero duration.
    pub const fn sync_interval(mut self, interval: Duration) -> Self {
        assert!(
            !interval.is_zero(),
            "circuit breaker: `sync_interval` must be longer than 0"
        );
        match &mut self.shared {
            Some(shared) => shared.sync_interval = interval,
            None => panic!("circuit breaker: `sync_interval` needs a `store`"),
        }
        self
    }

    /// How long a half-open probe's lease stays valid (default 10 s). The
    /// trade-off: a probe slower than this has its result fenced off (it
    /// moves nothing, and another process may probe meanwhile), and a
    /// process that crashed holding a lease blocks the cluster's probe this
    /// long. Set it above the slowest call you expect to count. Set after
    /// [`store`](CircuitBreakerBuilder::store).
    ///
    /// # Panics
    ///
    /// Without a store, or on a zero duration.
    pub const fn probe_lease(mut self, lease: Duration) -> Self {
        assert!(
            !lease.is_zero(),
            "circuit breaker: `probe_lease` must be longer than 0"
        );
        match &mut self.shared {
            Some(shared) => shared.probe_lease = lease,
            None => panic!("circuit breaker: `probe_lease` needs a `store`"),
        }
        self
    }
}
