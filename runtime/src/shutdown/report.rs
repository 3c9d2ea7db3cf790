//! [`ShutdownReport`]: what a drain finished and what it left running.

use core::fmt;
use core::time::Duration;

use super::drain::Drained;

/// What [`shutdown`](super::shutdown()) drained: totals, and one entry per
/// registered bulkhead (and, after [`track_calls`](super::track_calls),
/// registered circuit breaker) that was running calls when shutdown began
/// or still is at the end.
///
/// Its `Display` is a few lines fit for a log or a terminal:
///
/// ```text
/// shutdown drained in 1.2s: 112 calls finished, 0 still running
///   bulkhead "db": 100 finished, 0 still running
///   circuit_breaker "payments": 12 finished, 0 still running
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ShutdownReport {
    /// The calls that finished (or were dropped) during the drain.
    pub finished: u64,
    /// The calls still running when the drain ended (zero unless it timed
    /// out).
    pub still_running: u64,
    /// How long the drain took (tokio time).
    pub elapsed: Duration,
    /// Whether the drain ended at its deadline with calls still running.
    pub timed_out: bool,
    /// By policy: the bulkheads, then the circuit breakers, each kind in
    /// registration order.
    pub policies: Vec<PolicyDrain>,
}

/// One policy's part of a [`ShutdownReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct PolicyDrain {
    /// The policy's name.
    pub name: &'static str,
    /// Its kind: `"bulkhead"`, or `"circuit_breaker"` (listed only after
    /// [`track_calls`](super::track_calls): breakers count their calls only
    /// then).
    pub kind: &'static str,
    /// Calls running when shutdown began.
    pub running_at_start: u32,
    /// Calls that finished during the drain.
    pub finished: u32,
    /// Calls still running when the drain ended.
    pub still_running: u32,
}

impl ShutdownReport {
    /// The report for `policies`, which ran `at_start` calls each.
    pub(super) fn new(
        policies: &[Drained],
        at_start: &[u32],
        elapsed: Duration,
        timed_out: bool,
    ) -> Self {
        let policies: Vec<PolicyDrain> = policies
            .iter()
            .zip(at_start)
            .filter_map(|(&policy, &running_at_start)| {
                let still_running = policy.running();
                // No call takes a bulkhead slot after shutdown began (a
                // waiter already handed one was counted at the start), and
                // no call enters a breaker's count then (see the module
                // docs), so the difference is the calls that finished. A
                // bulkhead call admitted in the instant shutdown began may
                // make it negative: none finished then. A breaker call
                // refused in that instant may be counted at the start, and
                // then among the finished.
                let finished = running_at_start.saturating_sub(still_running);
                (running_at_start > 0 || still_running > 0).then(|| PolicyDrain {
                    name: policy.name(),
                    kind: policy.kind(),
                    running_at_start,
                    finished,
                    still_running,
                })
            })
            .collect();
        ShutdownReport {
            finished: policies.iter().map(|p| u64::from(p.finished)).sum(),
            still_running: policies.iter().map(|p| u64::from(p.still_running)).sum(),
            elapsed,
            timed_out,
            policies,
        }
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.timed_out {
            "stopped at its deadline"
        } else {
            "drained"
        };
        let calls = if self.finished == 1 { "call" } else { "calls" };
        write!(
            f,
            "shutdown {how} in {:?}: {} {calls} finished, {} still running",
            self.elapsed, self.finished, self.still_running
        )?;
        for policy in &self.policies {
            write!(
                f,
                "\n  {} \"{}\": {} finished, {} still running",
                policy.kind, policy.name, policy.finished, policy.still_running
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_calls_in_good_grammar() {
        let report = |finished| ShutdownReport {
            finished,
            still_running: 0,
            elapsed: Duration::from_millis(5),
            timed_out: false,
            policies: Vec::new(),
        };
        assert_eq!(
            report(1).to_string(),
            "shutdown drained in 5ms: 1 call finished, 0 still running"
        );
        assert_eq!(
            report(2).to_string(),
            "shutdown drained in 5ms: 2 calls finished, 0 still running"
        );
    }
}
