//! Failing fast when a dependency keeps failing: the [`CircuitBreaker`].
//!
//! # States
//!
//! - **Closed**: calls run and their outcomes go into a sliding window. The
//!   breaker opens when, with at least `min_calls` in the window,
//!   `failures ≥ ceil(failure_ratio × calls)`, or `slow ≥ ceil(slow_ratio ×
//!   calls)`, or after `consecutive_failures` failures in a row.
//! - **Open**: calls fail at once with [`Rejected::CircuitOpen`] and the body
//!   does not run, until `open_for` has passed.
//! - **Half-open**: exactly `half_open_probes` calls are admitted at once;
//!   callers beyond them are rejected without running. Every probe must
//!   succeed to close the breaker (with a fresh window); any failure reopens
//!   it. A probe that is dropped, or ends with an error that `failure_if`
//!   does not count, gives its slot back.
//!
//! # Concurrency
//!
//! State, probe counts and a generation number share one atomic word
//! (`state.rs`), so admission and every transition is one compare-and-swap:
//! half-open admits exactly `half_open_probes` callers however many arrive
//! together. Each admitted call carries its generation, and its result is
//! applied only if the breaker is still in that generation, so a call
//! admitted before a state change cannot move the new state. An operator's
//! command (`force_open`, `force_closed`, `reset`) is one compare-and-swap
//! too, and the hold it sets is a bit of the same word, which every other
//! transition refuses: once the command has returned, no failure, probe
//! result or admission racing it can undo it (`state.rs` writes the
//! invariant down). The closed path is one atomic load to admit and a few
//! relaxed atomic operations to record; no lock, no allocation, and no clock
//! read unless a time window or `slow_call` needs one. (After
//! [`track_calls`](crate::shutdown::track_calls), each call is also counted
//! in flight, for the shutdown drain: two read-modify-writes and a fence
//! more, on the breaker's own counter; see [`shutdown`](mod@crate::shutdown).)
//!
//! # Shared across processes
//!
//! With a [`store`](CircuitBreakerBuilder::store) (a
//! [`BreakerStore`](crate::store::BreakerStore) such as `steadfast-redis`'s),
//! replicas share one window and one state, and exactly one half-open probe
//! runs cluster-wide per lease, fenced by a generation. Calls are still
//! admitted on the breaker's own word, without a round trip: a background
//! task per breaker reports outcomes in batches every
//! [`sync_interval`](CircuitBreakerBuilder::sync_interval) and mirrors the
//! store's state into the word. **Staleness bound**: a call is admitted on a
//! view the store answered at most `sync_interval + store_timeout` earlier
//! (a process's first calls excepted, admitted closed until the first answer,
//! at most `store_timeout` later). A store that fails is handled as
//! [`on_store_error`](CircuitBreakerBuilder::on_store_error) says. The
//! details, and what operator commands do there, are in `shared/mod.rs`.
//!
//! # Memory ordering
//!
//! The state word is read with `Acquire` and changed with `AcqRel`
//! compare-and-swaps, which orders the window reset and the `open_until`
//! store that precede a transition before any caller that observes it.
//! Window counters are `Relaxed`: they are statistics, reset only by the
//! thread that wins the transition to closed. A record that races with that
//! reset (a call admitted while closed, finishing exactly as the breaker
//! closes again after a full open/half-open cycle) may land in the fresh
//! window; it cannot change the state it did not see.

mod call;
mod permit;
mod restore;
mod shared;
pub(crate) mod state;
mod window;

use core::future::Future;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;
use std::sync::OnceLock;

use tokio::time::Instant;

pub use call::Guarded;
pub use permit::Permit;
pub(crate) use restore::Restore;
pub use state::State;

use crate::name::PolicyName;
use crate::registry::{Kind, Registration};
use crate::store::BreakerWindow;
use crate::{Failure, Lift, Rejected};
use shared::{Link, Shared};
pub(crate) use state::Outcome;
use state::{Admission, MAX_PROBES, Word};
use window::{BUCKETS, MAX_COUNT, Tally, Window};

/// A circuit breaker. Build it in `const` context with
/// [`CircuitBreaker::builder`]; share it through a `static`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{CircuitBreaker, Failure, Rejected};
///
/// static PAYMENTS: CircuitBreaker = CircuitBreaker::builder()
///     .name("payments")
///     .window_calls(4)
///     .failure_ratio(0.5)
///     .open_for(Duration::from_secs(5))
///     .build();
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// for _ in 0..4 {
///     let _ = PAYMENTS.run(async { Err::<(), _>("503") }).await;
/// }
/// let rejected = PAYMENTS.run(async { Ok::<_, &str>(()) }).await;
/// assert_eq!(rejected, Err(Failure::Rejected(Rejected::circuit_open("payments"))));
/// # }
/// ```
#[derive(Debug)]
pub struct CircuitBreaker {
    /// Its name, resolved on first read.
    name: PolicyName,
    config: Config,
    word: AtomicU64,
    window: Window,
    consecutive: AtomicU32,
    /// When an open breaker may admit probes, in nanoseconds since `anchor`.
    open_until: AtomicU64,
    /// The clock's origin for the nanosecond counts above, set on first use.
    anchor: OnceLock<Instant>,
    /// When the state last changed, in nanoseconds since `anchor`, plus one
    /// (0: never).
    changed_at: AtomicU64,
    /// Whether the breaker is in the registry that `health()` reads.
    registered: Registration,
    /// Its store and store settings, when shared across processes.
    shared: Option<Shared>,
    /// The link to the store (unused without one).
    link: Link,
    /// Calls in flight, counted only while
    /// [`track_calls`](crate::shutdown::track_calls) is on (see
    /// `shutdown/track.rs`).
    in_flight: AtomicU64,
}

/// The breaker's settings. The window's shape is fixed when the breaker is
/// built; every other setting is an atomic that
/// [`config::apply`](crate::config::apply) may change at run time, read with
/// `Relaxed` loads where a plain field was read before (each value stands
/// alone: no other memory is published through it).
#[derive(Debug)]
struct Config {
    /// The window, as a store keeps it.
    window: BreakerWindow,
    failure_ratio_ppm: AtomicU64,
    min_calls: AtomicU32,
    consecutive_failures: AtomicU32,
    /// `slow_call` in nanoseconds; 0 for none (a `slow_call` is never zero).
    slow_call_nanos: AtomicU64,
    slow_ratio_ppm: AtomicU64,
    /// `open_for` in nanoseconds (saturated at `u64::MAX`).
    open_for_nanos: AtomicU64,
    half_open_probes: AtomicU32,
}

impl Config {
    fn failure_ratio_ppm(&self) -> u64 {
        self.failure_ratio_ppm.load(Ordering::Relaxed)
    }

    fn min_calls(&self) -> u32 {
        self.min_calls.load(Ordering::Relaxed)
    }

    fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    #[inline]
    fn slow_call(&self) -> Option<Duration> {
        match self.slow_call_nanos.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    fn slow_ratio_ppm(&self) -> u64 {
        self.slow_ratio_ppm.load(Ordering::Relaxed)
    }

    fn open_for(&self) -> Duration {
        Duration::from_nanos(self.open_for_nanos.load(Ordering::Relaxed))
    }

    fn half_open_probes(&self) -> u32 {
        self.half_open_probes.load(Ordering::Relaxed)
    }
}

/// Nanoseconds of `duration`, saturated at `u64::MAX`.
pub(crate) const fn saturating_nanos(duration: Duration) -> u64 {
    let nanos = duration.as_nanos();
    if nanos > u64::MAX as u128 {
        u64::MAX
    } else {
        nanos as u64
    }
}

impl CircuitBreaker {
    /// The largest count window (`window = N`, [`window_calls`](CircuitBreakerBuilder::window_calls)):
    /// the breaker's fixed ring holds this many outcomes. The one place this
    /// limit is written; the attribute checks against it.
    pub const MAX_WINDOW_CALLS: u32 = MAX_COUNT;

    /// The most half-open probes at once (`half_open_probes = N`).
    pub const MAX_HALF_OPEN_PROBES: u32 = MAX_PROBES;

    /// The defaults: `failure_ratio = 0.5`, `window = 100` calls, `min_calls =
    /// 20`, no `consecutive_failures`, no `slow_call`, `open_for = 5s`,
    /// `half_open_probes = 1`.
    pub const fn builder() -> CircuitBreakerBuilder {
        CircuitBreakerBuilder {
            name: PolicyName::fixed("circuit_breaker"),
            failure_ratio: 0.5,
            window: WindowSpec::Calls(100),
            min_calls: None,
            consecutive_failures: 0,
            slow_call: None,
            slow_ratio: None,
            open_for: Duration::from_secs(5),
            half_open_probes: 1,
            shared: None,
        }
    }

    /// The name used in rejections, events, metrics and
    /// [`health`](crate::health()). A located name
    /// ([`CircuitBreakerBuilder::name_located`]) is worked out on the first
    /// read, which no successful call makes.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name.get()
    }

    /// The current state (it may change right after).
    #[must_use]
    pub fn state(&self) -> State {
        Word(self.word.load(Ordering::Acquire)).state()
    }

    /// What the window holds now: recorded calls, failures and slow calls
    /// (after a time window's expired buckets are left out).
    #[must_use]
    pub fn window_counts(&self) -> WindowCounts {
        let tally = self.window.tally(|| self.now());
        WindowCounts {
            calls: tally.calls,
            failures: tally.failures,
            slow: tally.slow,
        }
    }

    /// Asks to run one call. On success the [`Permit`] must be told how the
    /// call ended; dropping it unused records nothing (and gives a half-open
    /// probe slot back), and dropping it while panicking records a failure.
    ///
    /// # Errors
    ///
    /// [`Rejected::CircuitOpen`] while open, or half-open with every probe slot
    /// taken; [`Rejected::ShuttingDown`] once [shutdown](crate::shutdown())
    /// has begun.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let word = Word(self.word.load(Ordering::Acquire));
        // One relaxed load of the shutdown mode, compared to 0: shutdown
        // has begun, or calls are tracked, takes the cold path.
        if word.admits_at_once() && crate::shutdown::quiet() {
            return Ok(Permit::new(self, word.generation(), false));
        }
        self.acquire_slow(word)
    }

    #[cold]
    fn acquire_slow(&self, word: Word) -> Result<Permit<'_>, Rejected> {
        let mode = crate::shutdown::mode();
        if mode.begun() {
            return Err(self.shutting_down());
        }
        let permit = if let Some(shared) = &self.shared {
            self.acquire_shared(shared, word)
        } else {
            let waited_out = || self.now() >= self.open_until.load(Ordering::Acquire);
            self.permit(state::admit(
                &self.word,
                word,
                self.config.half_open_probes(),
                waited_out,
            ))
        }?;
        if mode.tracking() {
            self.track(permit)
        } else {
            Ok(permit)
        }
    }

    /// Counts an admitted call in flight ([`track_calls`](crate::shutdown::track_calls)),
    /// unless shutdown began meanwhile: then the call is refused, its
    /// permit dropped unused (nothing recorded, a probe slot given back).
    /// After admission, so that a call the breaker rejects is never counted.
    #[cold]
    fn track<'a>(&'a self, permit: Permit<'a>) -> Result<Permit<'a>, Rejected> {
        if crate::shutdown::call_entered(&self.in_flight) {
            return Ok(permit.tracked());
        }
        crate::shutdown::call_left(&self.in_flight);
        drop(permit);
        Err(self.shutting_down())
    }

    /// Calls in flight: counted only while [`track_calls`](crate::shutdown::track_calls)
    /// is on (0 otherwise), for the drain.
    pub(crate) fn in_flight(&self) -> u64 {
        crate::shutdown::in_flight(&self.in_flight)
    }

    /// The rejection of a call made after shutdown began, reported.
    #[cold]
    fn shutting_down(&self) -> Rejected {
        let rejected = Rejected::shutting_down(self.name());
        crate::events::rejected(&rejected);
        rejected
    }

    /// The permit an admission gives (a probe that moved the breaker to
    /// half-open reports the transition), or the rejection, reported.
    fn permit(&self, admission: Admission) -> Result<Permit<'_>, Rejected> {
        match admission {
            Admission::Call(generation) => Ok(Permit::new(self, generation, false)),
            Admission::Probe { generation, first } => {
                if first {
                    self.transitioned(State::Open, State::HalfOpen);
                }
                Ok(Permit::new(self, generation, true))
            }
            Admission::Rejected => Err(self.reject()),
        }
    }

    /// Runs a synchronous `call` through the breaker; every error counts as a
    /// failure. A panic in `call` is recorded as a failure and propagates.
    ///
    /// # Errors
    ///
    /// `call`'s own error as [`Failure::Error`], or [`Rejected::CircuitOpen`]
    /// (without running `call`) as [`Failure::Rejected`].
    #[inline]
    pub fn call<T, E>(
        &self,
        call: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, Failure<E, Rejected>> {
        self.wrap_call(|| call().map_err(Failure::Error), |_: &E| true)
    }

    /// [`call`](CircuitBreaker::call) for a call whose error already travels
    /// as a [`Failure`], with `failure_if` judging its own errors, as
    /// [`wrap`](CircuitBreaker::wrap) does for a future: the attributes'
    /// path on a plain `fn`.
    #[inline]
    pub fn wrap_call<T, E>(
        &self,
        call: impl FnOnce() -> Result<T, Failure<E, Rejected>>,
        failure_if: impl Fn(&E) -> bool,
    ) -> Result<T, Failure<E, Rejected>> {
        let mut slot = permit::Slot::pending(self);
        slot.hold(self.try_acquire().map_err(Failure::Rejected)?);
        // A panic in `call` records a failure as it unwinds through here.
        let on_unwind = permit::FailOnUnwind::arm(&mut slot);
        let result = call();
        on_unwind.disarm();
        if let Some(permit) = slot.take() {
            call::settle(permit, &result, failure_if);
        }
        result
    }

    /// Runs `future` through the breaker; every error counts as a failure.
    pub fn run<T, E, F>(
        &self,
        future: F,
    ) -> Guarded<'_, Lift<F, Rejected>, impl Fn(&E) -> bool + use<T, E, F>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.run_if(future, |_: &E| true)
    }

    /// Runs `future` through the breaker; errors that `failure_if` rejects are
    /// neither successes nor failures.
    pub fn run_if<T, E, F, P>(&self, future: F, failure_if: P) -> Guarded<'_, Lift<F, Rejected>, P>
    where
        F: Future<Output = Result<T, E>>,
        P: Fn(&E) -> bool,
    {
        self.wrap(Lift::new(future), failure_if)
    }

    /// [`run_if`](CircuitBreaker::run_if) for a call whose error already
    /// travels as a [`Failure`]: inner rejections count as failures.
    pub fn wrap<T, E, F, P>(&self, future: F, failure_if: P) -> Guarded<'_, F, P>
    where
        F: Future<Output = Result<T, Failure<E, Rejected>>>,
        P: Fn(&E) -> bool,
    {
        Guarded::new(self, future, failure_if)
    }

    fn rejection(&self) -> Rejected {
        Rejected::circuit_open(self.name())
    }

    /// Nanoseconds since the breaker first read the clock.
    fn now(&self) -> u64 {
        let now = Instant::now();
        let anchor = *self.anchor.get_or_init(|| now);
        u64::try_from(now.saturating_duration_since(anchor).as_nanos()).unwrap_or(u64::MAX)
    }

    #[inline]
    fn tracks_time(&self) -> bool {
        self.config.slow_call_nanos.load(Ordering::Relaxed) != 0
    }

    /// Applies a finished call's outcome, if the breaker is still in the
    /// generation that admitted it (the permit's `ticket`: see
    /// `permit.rs`), and takes a tracked call out of the calls in flight.
    /// The healthy steady state — a quick success while closed, not a
    /// probe nor tracked, with a count window already full of quick
    /// successes and no failure run to reset — is decided here, inline,
    /// with loads only (the probe and tracked bits are one test of the
    /// ticket, already in a register).
    #[inline]
    pub(crate) fn complete(&self, ticket: u64, outcome: Outcome, started: Option<u64>) {
        if crate::meter::ENABLED {
            crate::meter::breaker_call(
                self.name(),
                match outcome {
                    Outcome::Success => "success",
                    Outcome::Failure => "failure",
                    Outcome::Ignored => "ignored",
                },
            );
        }
        // `started` is `None` exactly when the breaker has no `slow_call`
        // (see `start_time`): the permit's own word, already in a register,
        // instead of another load of the configuration.
        if permit::is_plain(ticket)
            && outcome == Outcome::Success
            && started.is_none()
            && self.consecutive.load(Ordering::Relaxed) == 0
            && self.window.success_changes_nothing()
        {
            return;
        }
        self.complete_slow(ticket, outcome, started);
    }

    #[cold]
    fn complete_slow(&self, ticket: u64, outcome: Outcome, started: Option<u64>) {
        let slow = match (self.config.slow_call(), started) {
            (Some(limit), Some(started)) => {
                u128::from(self.now().saturating_sub(started)) > limit.as_nanos()
            }
            _ => false,
        };
        let generation = permit::generation(ticket);
        if permit::is_probe(ticket) {
            self.complete_probe(generation, outcome, slow);
        } else {
            self.complete_closed(generation, outcome, slow);
        }
        // After the outcome is recorded: a drain that sees the call gone
        // sees its outcome too.
        if permit::is_tracked(ticket) {
            crate::shutdown::call_left(&self.in_flight);
        }
    }

    fn complete_closed(&self, generation: u32, outcome: Outcome, slow: bool) {
        let word = Word(self.word.load(Ordering::Acquire));
        if word.state() != State::Closed || word.generation() != generation {
            return;
        }
        let failure = match outcome {
            Outcome::Ignored => return,
            Outcome::Success => {
                if self.consecutive.load(Ordering::Relaxed) != 0 {
                    self.consecutive.store(0, Ordering::Relaxed);
                }
                // The healthy steady state: a full count window of quick
                // successes stays the same when one more comes in, so there
                // is nothing to write (and nothing for threads to contend on).
                if !slow && self.window.success_changes_nothing() {
                    return;
                }
                false
            }
            Outcome::Failure => true,
        };
        if self.shared.is_some() {
            self.record_shared(failure, slow);
        }
        let tally = self.window.record(failure, slow, || self.now());
        let consecutive_failures = self.config.consecutive_failures();
        let consecutive_trip = failure
            && consecutive_failures != 0
            && self.consecutive.fetch_add(1, Ordering::Relaxed) + 1 >= consecutive_failures;
        let min_calls = u64::from(self.config.min_calls());
        let evaluate = failure || slow || self.window.success_can_trip(&tally, min_calls);
        if consecutive_trip || (evaluate && self.trips(&tally)) {
            match &self.shared {
                None => self.open(word),
                Some(shared) => self.trip_shared(shared, word),
            }
        }
    }

    fn trips(&self, tally: &Tally) -> bool {
        let config = &self.config;
        if tally.calls < u64::from(config.min_calls()) {
            return false;
        }
        let at_least = |ppm: u64| (ppm * tally.calls).div_ceil(1_000_000);
        tally.failures >= at_least(config.failure_ratio_ppm())
            || (config.slow_call().is_some() && tally.slow >= at_least(config.slow_ratio_ppm()))
    }

    fn complete_probe(&self, generation: u32, outcome: Outcome, slow: bool) {
        if self.shared.is_some() && self.lease_probe_done(generation, outcome, slow) {
            return;
        }
        self.complete_probe_local(generation, outcome, slow);
    }

    /// Applies a probe's outcome to the word (a shared breaker's lease
    /// probe goes to its store instead).
    fn complete_probe_local(&self, generation: u32, outcome: Outcome, slow: bool) {
        let reset = || {
            self.window.reset();
            self.consecutive.store(0, Ordering::Relaxed);
        };
        let moved = state::complete_probe(
            &self.word,
            generation,
            outcome,
            slow,
            self.config.half_open_probes(),
            reset,
            || self.arm_open(),
        );
        if let Some(to) = moved {
            self.transitioned(State::HalfOpen, to);
        }
    }

    /// Moves the breaker from `from`'s state and generation to open (see
    /// [`state::open`]).
    fn open(&self, from: Word) {
        if state::open(&self.word, from, || self.arm_open()) {
            self.transitioned(from.state(), State::Open);
        }
    }

    /// Readies a move to open: stores when probes may start. (A held word is
    /// never opened, whatever this stores: see `state.rs`.)
    fn arm_open(&self) {
        let until = self
            .now()
            .saturating_add(self.config.open_for_nanos.load(Ordering::Relaxed));
        self.open_until.store(until, Ordering::Release);
    }

    /// Moves the breaker to `to` from whatever state it is in, held there or
    /// released (an operator's command): a new generation, so calls admitted
    /// before it do not count, and no transition racing it lands after it.
    fn set_state(&self, to: State, hold: bool) {
        let from = state::force(&self.word, to, hold);
        self.transitioned(from, to);
    }

    /// Records a state change: its time, and an event.
    #[cold]
    fn transitioned(&self, from: State, to: State) {
        // Stored plus one: zero means "never changed".
        self.changed_at
            .store(self.now().saturating_add(1), Ordering::Relaxed);
        crate::events::breaker_transition(self.name(), from.as_str(), to.as_str());
        let all = [State::Closed, State::Open, State::HalfOpen].map(State::as_str);
        crate::meter::breaker_state(self.name(), to.as_str(), all);
    }

    /// A rejection, reported.
    #[cold]
    fn reject(&self) -> Rejected {
        let rejected = self.rejection();
        crate::events::rejected(&rejected);
        crate::meter::breaker_call(self.name(), "rejected");
        rejected
    }

    /// Holds the breaker open until [`reset`](CircuitBreaker::reset) (or
    /// [`force_closed`](CircuitBreaker::force_closed)): every call is
    /// rejected, whatever the window says (for maintenance, or to shed a
    /// dependency by hand). It outranks every racing transition: once it has
    /// returned, no call is admitted until the breaker is released, however
    /// many calls were failing, probing or being admitted meanwhile.
    pub fn force_open(&self) {
        self.set_state(State::Open, true);
    }

    /// Holds the breaker closed until [`reset`](CircuitBreaker::reset) (or
    /// [`force_open`](CircuitBreaker::force_open)): calls run and are
    /// recorded, in a fresh window, but the breaker does not open. Once it has
    /// returned, no call is rejected until the breaker is released, whatever
    /// transition was racing it.
    pub fn force_closed(&self) {
        self.window.reset();
        self.consecutive.store(0, Ordering::Relaxed);
        self.set_state(State::Closed, true);
    }

    /// Back to normal operation: closed, with a fresh window, and no forced
    /// state. Like the forcing commands, it outranks every racing transition:
    /// a call admitted before it cannot move the breaker after it.
    ///
    /// A shared breaker's commands act on this process's view only (the
    /// store is not written): a hold outranks the store's state, and after
    /// `reset` the next sync mirrors the store's state again.
    pub fn reset(&self) {
        self.window.reset();
        self.consecutive.store(0, Ordering::Relaxed);
        if self.shared.is_some() && self.link.status() == shared::Status::Detached {
            // No syncer: back to detached, so that the next call starts one.
            let from = state::force_with(&self.word, Word::advance_detached);
            self.transitioned(from, State::Closed);
            return;
        }
        self.set_state(State::Closed, false);
    }

    /// The state an operator forced with [`force_open`](CircuitBreaker::force_open)
    /// or [`force_closed`](CircuitBreaker::force_closed), if any.
    #[must_use]
    pub fn forced(&self) -> Option<State> {
        let word = Word(self.word.load(Ordering::Acquire));
        word.held().then(|| word.state())
    }

    /// How long the breaker has been in its current state, if it has ever
    /// changed state.
    #[must_use]
    pub fn in_state_for(&self) -> Option<Duration> {
        match self.changed_at.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_nanos(self.now().saturating_sub(at - 1))),
        }
    }

    /// State changes since the breaker was built (forced ones included),
    /// wrapping at 2^29: a poller that compares two readings sees every
    /// open/half-open/closed cycle in between, however short.
    #[must_use]
    pub fn transitions(&self) -> u32 {
        Word(self.word.load(Ordering::Acquire)).generation()
    }

    /// Probes running now (half-open only).
    #[must_use]
    pub fn probes_in_flight(&self) -> u32 {
        let word = Word(self.word.load(Ordering::Acquire));
        if word.state() == State::HalfOpen {
            word.in_flight()
        } else {
            0
        }
    }

    /// Adds the breaker to [`health`](crate::health()) (once; later calls
    /// are a single relaxed load). The attributes list their per-function
    /// breakers from startup, and register a `shared = …` one on its first
    /// call; [`register_breaker!`](crate::register_breaker) lists a `static`
    /// from startup. A breaker whose name another registered breaker already
    /// carries is reported (a `tracing` warning, and `duplicate_name` in
    /// `health()`).
    #[inline]
    pub fn register(&'static self) {
        crate::registry::register(self);
    }

    /// The clock reading a permit keeps, when the outcome needs a duration.
    #[inline]
    pub(crate) fn start_time(&self) -> Option<u64> {
        self.tracks_time().then(|| self.now())
    }
}

impl CircuitBreaker {
    /// Its effective configuration (for `health()` and the overrides).
    #[must_use]
    pub fn settings(&self) -> crate::config::BreakerSettings {
        let config = &self.config;
        let (window_calls, window_duration) = match config.window {
            BreakerWindow::Calls(calls) => (Some(calls), None),
            BreakerWindow::Time(duration) => (None, Some(duration)),
        };
        #[allow(clippy::cast_precision_loss)]
        let ratio = |ppm: u64| ppm as f64 / 1_000_000.0;
        crate::config::BreakerSettings {
            failure_ratio: ratio(config.failure_ratio_ppm()),
            window_calls,
            window_duration,
            min_calls: config.min_calls(),
            consecutive_failures: config.consecutive_failures(),
            slow_call: config.slow_call(),
            slow_ratio: ratio(config.slow_ratio_ppm()),
            open_for: config.open_for(),
            half_open_probes: config.half_open_probes(),
        }
    }

    /// Stores `settings` (validated by the caller; the window is fixed and
    /// left as it is). Each value is one relaxed store: calls deciding
    /// meanwhile see each key either before or after, independently.
    pub(crate) fn set_settings(&self, settings: &crate::config::BreakerSettings) {
        let config = &self.config;
        let store = |cell: &AtomicU64, value: u64| cell.store(value, Ordering::Relaxed);
        store(&config.failure_ratio_ppm, ratio_ppm(settings.failure_ratio));
        config
            .min_calls
            .store(settings.min_calls, Ordering::Relaxed);
        config
            .consecutive_failures
            .store(settings.consecutive_failures, Ordering::Relaxed);
        store(&config.slow_ratio_ppm, ratio_ppm(settings.slow_ratio));
        store(
            &config.slow_call_nanos,
            settings
                .slow_call
                .map_or(0, |limit| saturating_nanos(limit).max(1)),
        );
        store(&config.open_for_nanos, saturating_nanos(settings.open_for));
        config
            .half_open_probes
            .store(settings.half_open_probes, Ordering::Relaxed);
    }
}

crate::registry::policy_member!(CircuitBreaker, Kind::CircuitBreaker);

/// The contents of a breaker's window, from [`CircuitBreaker::window_counts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WindowCounts {
    /// Calls recorded (successes and failures; ignored outcomes are not).
    pub calls: u64,
    /// Failures among them.
    pub failures: u64,
    /// Slow calls among them.
    pub slow: u64,
}

/// The window a builder asked for.
#[derive(Debug, Clone, Copy)]
enum WindowSpec {
    Calls(u32),
    Duration(Duration),
}

/// Builds a [`CircuitBreaker`] in `const` context. Invalid settings panic,
/// which in a `const` or `static` is a compile error.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct CircuitBreakerBuilder {
    name: PolicyName,
    failure_ratio: f64,
    window: WindowSpec,
    min_calls: Option<u32>,
    consecutive_failures: u32,
    slow_call: Option<Duration>,
    slow_ratio: Option<f64>,
    open_for: Duration,
    half_open_probes: u32,
    shared: Option<Shared>,
}

impl CircuitBreakerBuilder {
    /// The name it gives (for a keyed state, which carries its policy's name).
    pub(crate) const fn policy_name(&self) -> PolicyName {
        self.name
    }

    /// The name in rejections, events, metrics and `health()` (default
    /// `circuit_breaker`). One name is one breaker: another registered
    /// breaker of the same name is reported.
    pub const fn name(mut self, name: &'static str) -> Self {
        self.name = PolicyName::fixed(name);
        self
    }

    /// The name of a breaker declared in `function` of `module`
    /// (`module_path!()`): `module::Type::function` for a method,
    /// `module::function` otherwise, worked out on first read from `here`, a
    /// function declared in `function`'s body that returns its own type name
    /// (see [`PolicyName::located`]).
    ///
    /// ```
    /// use steadfast::CircuitBreaker;
    /// use steadfast::name::Location;
    ///
    /// struct Stock;
    ///
    /// impl Stock {
    ///     fn breaker() -> &'static CircuitBreaker {
    ///         fn here() -> &'static str {
    ///             core::any::type_name_of_val(&here)
    ///         }
    ///         static AT: Location = Location::new(module_path!(), "breaker", here);
    ///         static BREAKER: CircuitBreaker = CircuitBreaker::builder()
    ///             .name_located(&AT)
    ///             .build();
    ///         &BREAKER
    ///     }
    /// }
    ///
    /// fn main() {
    ///     // `my_crate::Stock::breaker`, in a crate named `my_crate`.
    ///     assert_eq!(Stock::breaker().name(), concat!(module_path!(), "::Stock::breaker"));
    /// }
    /// ```
    pub const fn name_located(mut self, location: &'static crate::name::Location) -> Self {
        self.name = PolicyName::located(location);
        self
    }

    /// Open when failures / calls ≥ `ratio` (0 < ratio ≤ 1).
    pub const fn failure_ratio(mut self, ratio: f64) -> Self {
        self.failure_ratio = ratio;
        self
    }

    /// A window of the last `calls` outcomes (1 to 1024).
    ///
    /// # Panics
    ///
    /// Outside 1..=[`CircuitBreaker::MAX_WINDOW_CALLS`] (a compile error in
    /// `const` context, and so for the attribute's `window = N`).
    pub const fn window_calls(mut self, calls: u32) -> Self {
        assert!(
            calls >= 1 && calls <= MAX_COUNT,
            "circuit breaker: a count window holds 1 to 1024 calls; for more, use a time window \
             (`window = \"60s\"`, `window_duration`)"
        );
        self.window = WindowSpec::Calls(calls);
        self
    }

    /// A window of the outcomes of the last `duration` (ten buckets).
    pub const fn window_duration(mut self, duration: Duration) -> Self {
        self.window = WindowSpec::Duration(duration);
        self
    }

    /// No decision before this many calls are in the window (default 20, or
    /// the window's size for a smaller count window).
    pub const fn min_calls(mut self, calls: u32) -> Self {
        self.min_calls = Some(calls);
        self
    }

    /// Also open after `failures` failures in a row.
    pub const fn consecutive_failures(mut self, failures: u32) -> Self {
        self.consecutive_failures = failures;
        self
    }

    /// Calls slower than `limit` count as slow.
    pub const fn slow_call(mut self, limit: Duration) -> Self {
        self.slow_call = Some(limit);
        self
    }

    /// Open when slow calls / calls ≥ `ratio` (needs `slow_call`; default 1.0).
    pub const fn slow_ratio(mut self, ratio: f64) -> Self {
        self.slow_ratio = Some(ratio);
        self
    }

    /// How long the breaker stays open before admitting probes.
    pub const fn open_for(mut self, duration: Duration) -> Self {
        self.open_for = duration;
        self
    }

    /// Probe calls admitted at once while half-open; all must succeed to close.
    ///
    /// # Panics
    ///
    /// Outside 1..=[`CircuitBreaker::MAX_HALF_OPEN_PROBES`] (a compile error
    /// in `const` context, and so for the attribute's `half_open_probes = N`).
    pub const fn half_open_probes(mut self, probes: u32) -> Self {
        assert!(
            probes >= 1 && probes <= MAX_PROBES,
            "circuit breaker: `half_open_probes` must be between 1 and 65535"
        );
        self.half_open_probes = probes;
        self
    }

    /// The finished breaker.
    ///
    /// # Panics
    ///
    /// On a ratio outside (0, 1], a count window outside 1..=1024, a time
    /// window under 10ns, `min_calls` of 0 or above a count window,
    /// `half_open_probes` of 0 or above 65535, or `slow_ratio` without
    /// `slow_call`.
    pub const fn build(self) -> CircuitBreaker {
        let failure_ratio_ppm = ratio_ppm(self.failure_ratio);
        let slow_ratio_ppm = match self.slow_ratio {
            Some(ratio) => {
                assert!(
                    self.slow_call.is_some(),
                    "circuit breaker: `slow_ratio` needs `slow_call`"
                );
                ratio_ppm(ratio)
            }
            None => 1_000_000,
        };
        let (window, default_min) = match self.window {
            WindowSpec::Calls(calls) => {
                assert!(
                    calls >= 1 && calls <= MAX_COUNT,
                    "circuit breaker: a count window holds 1 to 1024 calls"
                );
                let window = if self.shared.is_some() {
                    Window::count_reporting(calls)
                } else {
                    Window::count(calls)
                };
                (window, if calls < 20 { calls } else { 20 })
            }
            WindowSpec::Duration(duration) => {
                let nanos = duration.as_nanos() / BUCKETS as u128;
                assert!(
                    nanos >= 1,
                    "circuit breaker: a time window must be at least 10ns"
                );
                let nanos = if nanos > u64::MAX as u128 {
                    u64::MAX
                } else {
                    nanos as u64
                };
                (Window::time(nanos), 20)
            }
        };
        let min_calls = match self.min_calls {
            Some(calls) => calls,
            None => default_min,
        };
        assert!(
            min_calls >= 1,
            "circuit breaker: `min_calls` must be at least 1"
        );
        if let WindowSpec::Calls(calls) = self.window {
            assert!(
                min_calls <= calls,
                "circuit breaker: `min_calls` cannot exceed a count window's size"
            );
        }
        assert!(
            self.half_open_probes >= 1 && self.half_open_probes <= MAX_PROBES,
            "circuit breaker: `half_open_probes` must be between 1 and 65535"
        );
        CircuitBreaker {
            name: self.name,
            config: Config {
                window: match self.window {
                    WindowSpec::Calls(calls) => BreakerWindow::Calls(calls),
                    WindowSpec::Duration(duration) => BreakerWindow::Time(duration),
                },
                failure_ratio_ppm: AtomicU64::new(failure_ratio_ppm),
                min_calls: AtomicU32::new(min_calls),
                consecutive_failures: AtomicU32::new(self.consecutive_failures),
                slow_call_nanos: AtomicU64::new(match self.slow_call {
                    // At least one nanosecond: 0 is "none".
                    Some(limit) => {
                        let nanos = saturating_nanos(limit);
                        if nanos == 0 { 1 } else { nanos }
                    }
                    None => 0,
                }),
                slow_ratio_ppm: AtomicU64::new(slow_ratio_ppm),
                open_for_nanos: AtomicU64::new(saturating_nanos(self.open_for)),
                half_open_probes: AtomicU32::new(self.half_open_probes),
            },
            word: AtomicU64::new(if self.shared.is_some() {
                Word::DETACHED.0
            } else {
                Word::INITIAL.0
            }),
            window,
            consecutive: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            anchor: OnceLock::new(),
            changed_at: AtomicU64::new(0),
            registered: Registration::new(),
            shared: self.shared,
            link: Link::new(),
            in_flight: AtomicU64::new(0),
        }
    }
}

/// A ratio in (0, 1] as parts per million, so that thresholds are exact
/// integer arithmetic (`ceil(0.1 × 30)` is 3, not 4).
const fn ratio_ppm(ratio: f64) -> u64 {
    assert!(
        ratio > 0.0 && ratio <= 1.0,
        "circuit breaker: ratios must be in (0, 1]"
    );
    let ppm = (ratio * 1_000_000.0 + 0.5) as u64;
    if ppm == 0 { 1 } else { ppm }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "tests/loom.rs"]
mod loom;
