//! Putting a [`Snapshot`] back: checking it whole first, then deciding each
//! breaker's state from its entry and the snapshot's age (the rules are in
//! the module docs), and reporting every entry.

use core::fmt;
use core::time::Duration;
use std::collections::BTreeMap;

use super::{BreakerSnapshot, Snapshot, VERSION};
use crate::CircuitBreaker;
use crate::circuit_breaker::{Restore, State, WindowCounts};
use crate::registry;

/// What [`restore`] did with each entry of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct RestoreReport {
    /// The snapshot's age that the restore reckoned with. In JSON: `age_ms`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "age_ms", serialize_with = "super::encoding::millis")
    )]
    pub age: Duration,
    /// The breakers restored, with the state each was given, in the
    /// snapshot's order.
    pub restored: Vec<RestoredBreaker>,
    /// Names in the snapshot that no registered breaker carries.
    pub unknown: Vec<String>,
    /// Entries left out, and why.
    pub skipped: Vec<SkippedBreaker>,
    /// Registered breakers the snapshot does not name, left as they were.
    pub not_in_snapshot: Vec<&'static str>,
}

/// A breaker a restore put back, in a [`RestoreReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct RestoredBreaker {
    /// Its name.
    pub name: String,
    /// The state it was given (closed or open).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "super::encoding::state::serialize")
    )]
    pub state: State,
    /// The hold it was given, if any.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "super::encoding::forced::serialize")
    )]
    pub forced: Option<State>,
    /// Open and not held: how long it rejects before its next call probes.
    /// In JSON: `open_left_ms`, rounded up.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "open_left_ms",
            serialize_with = "super::encoding::millis_up::serialize"
        )
    )]
    pub open_left: Duration,
}

/// An entry a restore left out, in a [`RestoreReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct SkippedBreaker {
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: Skip,
}

/// Why a restore left an entry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Skip {
    /// The breaker is shared across processes through a store, which holds
    /// its state.
    Shared,
    /// An operator holds the breaker in this process (a command given here
    /// is newer than the snapshot).
    Held,
    /// Two entries of the snapshot, or two registered breakers, carry the
    /// name.
    DuplicateName,
}

/// Why a snapshot was refused; no breaker was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// The snapshot is of a format version this crate does not read.
    Version {
        /// Its version.
        found: u32,
    },
    /// An entry contradicts itself.
    Invalid {
        /// The entry's name.
        breaker: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Version { found } => write!(
                f,
                "snapshot version {found} is not supported (this steadfast reads version {VERSION})"
            ),
            RestoreError::Invalid { breaker, reason } => {
                write!(f, "snapshot entry `{breaker}` is invalid: {reason}")
            }
        }
    }
}

impl std::error::Error for RestoreError {}

/// Puts every breaker of `snapshot` back (see the [module docs](super) for
/// the rules), its age reckoned by this machine's wall clock
/// ([`Snapshot::age`]). Call it at startup, before traffic.
///
/// # Errors
///
/// A snapshot of another [`VERSION`], or with an entry that contradicts
/// itself (held half-open, held in a state other than its own, more
/// failures or slow calls than calls, time left open when not open): no
/// breaker is changed.
pub fn restore(snapshot: &Snapshot) -> Result<RestoreReport, RestoreError> {
    restore_aged(snapshot, snapshot.age())
}

/// [`restore`], for a snapshot taken `age` ago, when the caller knows the age
/// better than the wall clock of the two processes does.
///
/// # Errors
///
/// As [`restore`].
pub fn restore_aged(snapshot: &Snapshot, age: Duration) -> Result<RestoreReport, RestoreError> {
    check(snapshot)?;
    let live = registry::members::<CircuitBreaker>();
    let mut entries = BTreeMap::<&str, usize>::new();
    for entry in &snapshot.breakers {
        *entries.entry(entry.name.as_str()).or_default() += 1;
    }
    let mut report = RestoreReport {
        age,
        ..RestoreReport::default()
    };
    for entry in &snapshot.breakers {
        let mut named = live.iter().filter(|b| b.name() == entry.name);
        let skip = |reason| SkippedBreaker {
            name: entry.name.clone(),
            reason,
        };
        let breaker = match (named.next(), named.next()) {
            (None, _) => {
                report.unknown.push(entry.name.clone());
                continue;
            }
            (Some(_), Some(_)) => {
                report.skipped.push(skip(Skip::DuplicateName));
                continue;
            }
            (Some(_), None) if entries[entry.name.as_str()] > 1 => {
                report.skipped.push(skip(Skip::DuplicateName));
                continue;
            }
            (Some(breaker), None) => breaker,
        };
        if breaker.is_shared() {
            report.skipped.push(skip(Skip::Shared));
        } else if breaker.forced().is_some() {
            report.skipped.push(skip(Skip::Held));
        } else {
            let (to, hold) = plan(entry, breaker, age);
            breaker.restore(to, hold);
            let (state, open_left) = match to {
                Restore::Closed { .. } => (State::Closed, Duration::ZERO),
                Restore::Open { left } => (State::Open, if hold { Duration::ZERO } else { left }),
            };
            report.restored.push(RestoredBreaker {
                name: entry.name.clone(),
                state,
                forced: hold.then_some(state),
                open_left,
            });
        }
    }
    report.not_in_snapshot = live
        .iter()
        .map(|b| b.name())
        .filter(|name| !entries.contains_key(name))
        .collect();
    Ok(report)
}

/// Refuses a snapshot of another version or with an entry that contradicts
/// itself, before anything is changed.
fn check(snapshot: &Snapshot) -> Result<(), RestoreError> {
    if snapshot.version != VERSION {
        return Err(RestoreError::Version {
            found: snapshot.version,
        });
    }
    for entry in &snapshot.breakers {
        let invalid = |reason| {
            Err(RestoreError::Invalid {
                breaker: entry.name.clone(),
                reason,
            })
        };
        match entry.forced {
            Some(State::HalfOpen) => {
                return invalid("a breaker is held closed or open, never half-open");
            }
            Some(forced) if forced != entry.state => {
                return invalid("`forced` differs from `state`");
            }
            _ => {}
        }
        if entry.window_failures > entry.window_calls || entry.window_slow > entry.window_calls {
            return invalid("more failures or slow calls than calls in the window");
        }
        if !entry.open_left.is_zero() && (entry.state != State::Open || entry.forced.is_some()) {
            return invalid("time left open on a breaker that is not open, or held");
        }
    }
    Ok(())
}

/// The state `entry` restores `breaker` to, `age` after it was taken, and
/// whether it is held there (the rules are in the module docs).
fn plan(entry: &BreakerSnapshot, breaker: &CircuitBreaker, age: Duration) -> (Restore, bool) {
    let hold = entry.forced.is_some();
    let closed = |counts| Restore::Closed {
        counts,
        consecutive: entry.consecutive_failures,
    };
    let to = match entry.state {
        State::Closed => closed(aged_counts(entry, breaker, age)),
        State::Open if hold => Restore::Open {
            left: Duration::ZERO,
        },
        State::Open | State::HalfOpen if age >= breaker.open_for() => Restore::Closed {
            counts: WindowCounts::default(),
            consecutive: 0,
        },
        State::Open | State::HalfOpen => Restore::Open {
            left: entry.open_left.saturating_sub(age),
        },
    };
    (to, hold)
}

/// `entry`'s window counts, less what `age` has expired from a time window
/// (reckoning them spread evenly over it); a count window's do not age.
fn aged_counts(entry: &BreakerSnapshot, breaker: &CircuitBreaker, age: Duration) -> WindowCounts {
    let counts = WindowCounts {
        calls: entry.window_calls,
        failures: entry.window_failures,
        slow: entry.window_slow,
    };
    let Some(window) = breaker.window_duration() else {
        return counts;
    };
    if age >= window {
        return WindowCounts::default();
    }
    let (kept, whole) = ((window - age).as_nanos(), window.as_nanos());
    let keep = |n: u64| u64::try_from(u128::from(n) * kept / whole).unwrap_or(n);
    WindowCounts {
        calls: keep(counts.calls),
        failures: keep(counts.failures),
        slow: keep(counts.slow),
    }
}
