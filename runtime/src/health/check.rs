//! Health checks: what a periodic probe of a dependency found, the verdict it
//! keeps, and the breaker it acts on.
//!
//! A [`HealthCheck`] is configuration built with a `const` builder (so it
//! lives in a `static`) plus the record of its probes. Results reach it from
//! its own probe loop ([`HealthCheck::start`], in `run.rs`) or from code that
//! learns of the dependency's health some other way ([`HealthCheck::report`]).
//!
//! The verdict, readiness and breaker rules are on [`HealthCheck`].
//!
//! # Locking
//!
//! A check's record sits behind one mutex, taken briefly to record a result
//! or read a snapshot; the started checks' list behind another. Neither is
//! held while the check commands a breaker or emits an event, so a
//! subscriber may read [`health`](crate::health()). No call through a policy
//! touches either: checks cost nothing to calls.

use core::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::CircuitBreaker;

/// A periodic probe of a dependency, with the verdict it keeps.
///
/// Results reach it from its own probe loop ([`start`](HealthCheck::start))
/// or from code that learns of the dependency's health some other way
/// ([`report`](HealthCheck::report)).
///
/// # Verdict
///
/// A check is [`Pending`](CheckStatus::Pending) until its first success or
/// its `failures_to_act`-th consecutive failure, then
/// [`Up`](CheckStatus::Up) or [`Down`](CheckStatus::Down). It goes down after
/// `failures_to_act` consecutive failures, and back up after
/// `successes_to_release` consecutive successes: one odd probe does not flip
/// it.
///
/// - **Readiness**: a check that gates readiness (the default) makes
///   [`Health::ready`](crate::health::Health::ready) false while it is not
///   up. Liveness never depends on a check: a failing dependency makes the
///   service not ready, never restarts it.
/// - **Breaker**: a check with [`breaker`](HealthCheckBuilder::breaker)
///   force-opens every registered breaker of that name when it goes down
///   ([`health::breaker`](crate::health::breaker)), and resets them when it
///   comes back up. It releases only what it holds itself: a breaker an
///   operator already held (forced open or closed) when the check went down
///   is left alone, and a hold an operator changed after the check took it
///   (`force_open` again, `force_closed`, `reset`: each one a state change,
///   seen in [`transitions`](crate::CircuitBreaker::transitions)) is the
///   operator's and is not released. Each is a check then a command, so an
///   operator's command landing between the two may be overridden once.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast::health::HealthCheck;
///
/// static DATABASE: HealthCheck = HealthCheck::builder("database")
///     .every(Duration::from_secs(5))
///     .timeout(Duration::from_secs(1))
///     .failures_to_act(3)
///     .successes_to_release(2)
///     .breaker("orders-db")
///     .build();
///
/// async fn ping() -> Result<(), std::io::Error> {
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let probes = DATABASE.start(ping);
/// tokio::time::sleep(Duration::from_millis(1)).await;
/// assert!(steadfast::health().ready());
/// probes.abort();
/// # }
/// ```
#[derive(Debug)]
pub struct HealthCheck {
    config: Config,
    record: Mutex<Record>,
}

/// A check's settings, from its builder.
#[derive(Debug, Clone, Copy)]
struct Config {
    name: &'static str,
    every: Duration,
    timeout: Duration,
    failures_to_act: u32,
    successes_to_release: u32,
    breaker: Option<&'static str>,
    gates_readiness: bool,
}

/// What a check's probes found so far.
#[derive(Debug)]
struct Record {
    /// Bumped by each [`HealthCheck::start`]: a loop whose epoch is stale
    /// has been replaced and ends.
    epoch: u64,
    listed: bool,
    status: CheckStatus,
    last_success: Option<Instant>,
    last_failure: Option<Instant>,
    last_error: Option<String>,
    consecutive_failures: u32,
    consecutive_successes: u32,
    /// The breakers this check holds open, each with its transition count
    /// right after the check forced it.
    held: Vec<(&'static CircuitBreaker, u32)>,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckStatus {
    /// No verdict yet: no success, and fewer than `failures_to_act`
    /// consecutive failures since the check started.
    Pending,
    /// The dependency answers.
    Up,
    /// `failures_to_act` consecutive failures, and not yet
    /// `successes_to_release` consecutive successes since.
    Down,
}

impl CheckStatus {
    /// `"pending"`, `"up"` or `"down"`, as in the JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pending => "pending",
            CheckStatus::Up => "up",
            CheckStatus::Down => "down",
        }
    }
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds a [`HealthCheck`]; every method is `const`.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct HealthCheckBuilder {
    config: Config,
}

impl HealthCheck {
    /// A check called `name` (its name in [`health`](crate::health()) and in
    /// events). Defaults: a probe every 5 s, a 1 s timeout, down after 3
    /// consecutive failures, up again after 2 consecutive successes, no
    /// breaker, gating readiness.
    pub const fn builder(name: &'static str) -> HealthCheckBuilder {
        HealthCheckBuilder {
            config: Config {
                name,
                every: Duration::from_secs(5),
                timeout: Duration::from_secs(1),
                failures_to_act: 3,
                successes_to_release: 2,
                breaker: None,
                gates_readiness: true,
            },
        }
    }

    /// Its name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.config.name
    }

    /// How often its loop probes (start to start).
    #[must_use]
    pub fn every(&self) -> Duration {
        self.config.every
    }

    /// How long a probe may take before it counts as a failure.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// Its verdict now.
    #[must_use]
    pub fn status(&self) -> CheckStatus {
        self.lock().status
    }

    /// Records one result from outside the probe loop (a connection pool's
    /// own events, a client that saw the dependency fail), exactly as a probe
    /// result: the check is listed in [`health`](crate::health()) from its
    /// first result, and acts on its breaker as its verdict changes.
    ///
    /// ```
    /// use steadfast::health::{CheckStatus, HealthCheck};
    ///
    /// static QUEUE: HealthCheck = HealthCheck::builder("queue").failures_to_act(1).build();
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// QUEUE.report(Err::<(), _>("connection refused"));
    /// assert_eq!(QUEUE.status(), CheckStatus::Down);
    /// assert!(!steadfast::health().ready());
    /// QUEUE.report(Ok::<(), &str>(()));
    /// QUEUE.report(Ok::<(), &str>(()));
    /// assert_eq!(QUEUE.status(), CheckStatus::Up);
    /// # }
    /// ```
    pub fn report<E: fmt::Display>(&'static self, outcome: Result<(), E>) {
        self.record(None, outcome.map_err(|e| e.to_string()));
    }

    /// A snapshot of the check, for [`health`](crate::health()).
    pub(crate) fn snapshot(&self, duplicate_name: bool) -> CheckHealth {
        let now = Instant::now();
        let record = self.lock();
        CheckHealth {
            name: self.config.name,
            duplicate_name,
            gates_readiness: self.config.gates_readiness,
            status: record.status,
            breaker: self.config.breaker,
            holds_breaker: !record.held.is_empty(),
            every: self.config.every,
            timeout: self.config.timeout,
            last_success: record
                .last_success
                .map(|at| now.saturating_duration_since(at)),
            last_failure: record
                .last_failure
                .map(|at| now.saturating_duration_since(at)),
            last_error: record.last_error.clone(),
            consecutive_failures: record.consecutive_failures,
            consecutive_successes: record.consecutive_successes,
        }
    }

    /// Starts a new epoch (a new probe loop): a fresh record, listed in
    /// [`health`](crate::health()); breakers the previous loop held are
    /// released. Returns the epoch.
    pub(crate) fn begin(&'static self) -> u64 {
        let (epoch, held) = {
            let mut record = self.lock();
            record.epoch += 1;
            record.status = CheckStatus::Pending;
            record.last_success = None;
            record.last_failure = None;
            record.last_error = None;
            record.consecutive_failures = 0;
            record.consecutive_successes = 0;
            (record.epoch, core::mem::take(&mut record.held))
        };
        release(held);
        self.list();
        epoch
    }

    /// Records one result, then acts on the breaker if the verdict changed.
    /// A result from a loop of an older epoch is dropped; `false` tells that
    /// loop to end.
    pub(crate) fn record(&'static self, epoch: Option<u64>, outcome: Result<(), String>) -> bool {
        self.list();
        let now = Instant::now();
        let config = &self.config;
        let (change, failures, held) = {
            let mut record = self.lock();
            if epoch.is_some_and(|epoch| epoch != record.epoch) {
                return false;
            }
            let before = record.status;
            match &outcome {
                Ok(()) => {
                    record.last_success = Some(now);
                    record.consecutive_failures = 0;
                    record.consecutive_successes = record.consecutive_successes.saturating_add(1);
                    let enough = record.consecutive_successes >= config.successes_to_release;
                    if before == CheckStatus::Pending || (before == CheckStatus::Down && enough) {
                        record.status = CheckStatus::Up;
                    }
                }
                Err(error) => {
                    record.last_failure = Some(now);
                    record.last_error = Some(error.clone());
                    record.consecutive_successes = 0;
                    record.consecutive_failures = record.consecutive_failures.saturating_add(1);
                    if record.consecutive_failures >= config.failures_to_act {
                        record.status = CheckStatus::Down;
                    }
                }
            }
            // Pending to up is a first verdict, not a change worth an event;
            // pending to down is (the check acts).
            let change = (before != record.status).then_some((before, record.status));
            let held = if record.status == CheckStatus::Up {
                core::mem::take(&mut record.held)
            } else {
                Vec::new()
            };
            (change, record.consecutive_failures, held)
        };
        if let Err(error) = &outcome {
            crate::events::check_failed(config.name, error);
        }
        match change {
            Some((_, CheckStatus::Down)) => {
                crate::events::check_down(config.name, failures, outcome.as_ref().err());
                self.hold(epoch);
            }
            Some((CheckStatus::Down, CheckStatus::Up)) => {
                crate::events::check_up(config.name);
                release(held);
            }
            _ => release(held),
        }
        true
    }

    /// Force-opens the check's breakers that no one holds, and remembers
    /// them (unless a newer epoch started meanwhile: then they are released
    /// at once).
    fn hold(&'static self, epoch: Option<u64>) {
        let Some(name) = self.config.breaker else {
            return;
        };
        let Some(breakers) = crate::health::breaker(name) else {
            crate::events::check_breaker_missing(self.config.name, name);
            return;
        };
        let mut taken = Vec::new();
        for breaker in &breakers {
            if breaker.forced().is_none() {
                breaker.force_open();
                taken.push((breaker, breaker.transitions()));
            }
        }
        let mut record = self.lock();
        if epoch.is_none_or(|epoch| epoch == record.epoch) && record.status == CheckStatus::Down {
            record.held.extend(taken);
        } else {
            drop(record);
            release(taken);
        }
    }

    /// Adds the check to the started checks' list, once.
    fn list(&'static self) {
        let first = {
            let mut record = self.lock();
            !core::mem::replace(&mut record.listed, true)
        };
        if first && list::add(self) {
            crate::events::check_duplicate(self.config.name);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Resets each breaker still in the hold the check took (held open, and no
/// state change since).
fn release(held: Vec<(&'static CircuitBreaker, u32)>) {
    for (breaker, transitions) in held {
        if breaker.forced() == Some(crate::circuit_breaker::State::Open)
            && breaker.transitions() == transitions
        {
            breaker.reset();
        }
    }
}

impl HealthCheckBuilder {
    /// How often the loop probes, start to start (default 5 s; zero counts
    /// as 1 ms). A probe still running when the next is due delays it
    /// (probes never overlap).
    pub const fn every(mut self, every: Duration) -> Self {
        self.config.every = if every.is_zero() {
            Duration::from_millis(1)
        } else {
            every
        };
        self
    }

    /// How long a probe may take (default 1 s); one that takes longer is
    /// dropped and counts as a failure (`last_error`: `timed out after …`).
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Consecutive failures that take the check down (default 3; 0 counts
    /// as 1).
    pub const fn failures_to_act(mut self, failures: u32) -> Self {
        self.config.failures_to_act = if failures == 0 { 1 } else { failures };
        self
    }

    /// Consecutive successes that bring a down check back up (default 2; 0
    /// counts as 1).
    pub const fn successes_to_release(mut self, successes: u32) -> Self {
        self.config.successes_to_release = if successes == 0 { 1 } else { successes };
        self
    }

    /// The circuit breakers (every registered one called `name`) the check
    /// force-opens while it is down, and resets when it comes back up
    /// (default: none). See [`HealthCheck`] for which holds it
    /// releases.
    pub const fn breaker(mut self, name: &'static str) -> Self {
        self.config.breaker = Some(name);
        self
    }

    /// Whether the check's verdict gates [`Health::ready`](crate::health::Health::ready)
    /// (default `true`). A check that does not still reports and acts on its
    /// breaker.
    pub const fn gates_readiness(mut self, gates: bool) -> Self {
        self.config.gates_readiness = gates;
        self
    }

    /// The check.
    pub const fn build(self) -> HealthCheck {
        HealthCheck {
            config: self.config,
            record: Mutex::new(Record {
                epoch: 0,
                listed: false,
                status: CheckStatus::Pending,
                last_success: None,
                last_failure: None,
                last_error: None,
                consecutive_failures: 0,
                consecutive_successes: 0,
                held: Vec::new(),
            }),
        }
    }
}

/// One health check in a [`Health`](crate::health::Health) snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CheckHealth {
    /// Its name.
    pub name: &'static str,
    /// Whether another started check carries the same name.
    pub duplicate_name: bool,
    /// Whether its verdict gates readiness.
    pub gates_readiness: bool,
    /// Its verdict.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serialize_status"))]
    pub status: CheckStatus,
    /// The breakers' name it acts on, if any.
    pub breaker: Option<&'static str>,
    /// Whether it holds those breakers open now.
    pub holds_breaker: bool,
    /// How often it probes. In JSON: `every_ms`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "every_ms", serialize_with = "crate::millis::whole")
    )]
    pub every: Duration,
    /// How long a probe may take. In JSON: `timeout_ms`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "timeout_ms", serialize_with = "crate::millis::whole")
    )]
    pub timeout: Duration,
    /// How long ago the last success was recorded, if any. In JSON:
    /// `last_success_ms_ago`.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "last_success_ms_ago",
            serialize_with = "crate::millis::optional"
        )
    )]
    pub last_success: Option<Duration>,
    /// How long ago the last failure was recorded, if any. In JSON:
    /// `last_failure_ms_ago`.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "last_failure_ms_ago",
            serialize_with = "crate::millis::optional"
        )
    )]
    pub last_failure: Option<Duration>,
    /// The last failure's error (its `Display`), if any.
    pub last_error: Option<String>,
    /// Failures in a row, up to now.
    pub consecutive_failures: u32,
    /// Successes in a row, up to now.
    pub consecutive_successes: u32,
}

#[cfg(feature = "serde")]
fn serialize_status<S: serde::Serializer>(
    status: &CheckStatus,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(status.as_str())
}

/// The started checks, in the order they started.
pub(crate) mod list {
    use std::sync::{Mutex, PoisonError};

    use super::HealthCheck;

    static CHECKS: Mutex<Vec<&'static HealthCheck>> = Mutex::new(Vec::new());

    /// Adds `check`; `true` if another check already carries its name.
    pub(super) fn add(check: &'static HealthCheck) -> bool {
        let mut checks = CHECKS.lock().unwrap_or_else(PoisonError::into_inner);
        let duplicate = checks.iter().any(|other| other.name() == check.name());
        checks.push(check);
        duplicate
    }

    /// Every started check.
    pub(crate) fn all() -> Vec<&'static HealthCheck> {
        CHECKS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The snapshot of every started check, for [`health`](crate::health()).
pub(crate) fn report_snapshot() -> Vec<CheckHealth> {
    let checks = list::all();
    checks
        .iter()
        .map(|check| {
            let duplicate = checks
                .iter()
                .filter(|other| other.name() == check.name())
                .count()
                > 1;
            check.snapshot(duplicate)
        })
        .collect()
}
