//! Outcomes recorded while the shared breaker is closed, until the syncer
//! reports them: relaxed counters beside the window, so recording costs a
//! few uncontended atomic adds and no round trip.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use crate::store::Outcomes;

/// The outcomes since the last report (see [`Outcomes`] for what each
/// counts). Each counter is swapped to zero on its own when the syncer takes
/// them: a record racing [`take`](Pending::take) lands in this report or the
/// next, never in both, and is never lost; the failure run is a best effort
/// under such a race (its order against the counts is not kept).
#[derive(Debug)]
pub(super) struct Pending {
    successes: AtomicU32,
    failures: AtomicU32,
    slow_successes: AtomicU32,
    slow_failures: AtomicU32,
    /// Failures since the last success (reset to 0 by a success).
    failure_run: AtomicU32,
    /// A success came since the last report.
    ended_run: AtomicBool,
}

impl Pending {
    pub(super) const fn new() -> Self {
        Pending {
            successes: AtomicU32::new(0),
            failures: AtomicU32::new(0),
            slow_successes: AtomicU32::new(0),
            slow_failures: AtomicU32::new(0),
            failure_run: AtomicU32::new(0),
            ended_run: AtomicBool::new(false),
        }
    }

    /// Records one outcome.
    pub(super) fn record(&self, failure: bool, slow: bool) {
        let counter = match (failure, slow) {
            (false, false) => &self.successes,
            (true, false) => &self.failures,
            (false, true) => &self.slow_successes,
            (true, true) => &self.slow_failures,
        };
        counter.fetch_add(1, Relaxed);
        if failure {
            self.failure_run.fetch_add(1, Relaxed);
        } else {
            if self.failure_run.load(Relaxed) != 0 {
                self.failure_run.store(0, Relaxed);
            }
            if !self.ended_run.load(Relaxed) {
                self.ended_run.store(true, Relaxed);
            }
        }
    }

    /// The outcomes since the last call, leaving none.
    pub(super) fn take(&self) -> Outcomes {
        let failures = self.failures.swap(0, Relaxed);
        let slow_failures = self.slow_failures.swap(0, Relaxed);
        Outcomes {
            successes: self.successes.swap(0, Relaxed),
            failures,
            slow_successes: self.slow_successes.swap(0, Relaxed),
            slow_failures,
            // A run longer than the batch's failures (a racing record) is
            // cut to them.
            failure_run: self
                .failure_run
                .swap(0, Relaxed)
                .min(failures.saturating_add(slow_failures)),
            ended_run: self.ended_run.swap(false, Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sort_and_the_run_restarts_on_a_success() {
        let p = Pending::new();
        for (failure, slow) in [(true, false), (false, false), (true, true), (true, false)] {
            p.record(failure, slow);
        }
        p.record(false, true);
        p.record(true, false);
        let o = p.take();
        assert_eq!(
            (o.successes, o.failures, o.slow_successes, o.slow_failures),
            (1, 3, 1, 1)
        );
        assert_eq!((o.failure_run, o.ended_run), (1, true));
        assert_eq!(p.take(), Outcomes::default(), "taken: nothing left");
        p.record(true, false);
        p.record(true, false);
        let o = p.take();
        assert_eq!((o.failure_run, o.ended_run), (2, false), "the run goes on");
    }
}
