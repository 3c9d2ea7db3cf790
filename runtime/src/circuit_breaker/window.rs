//! Sliding windows of call outcomes: the last N calls, or the last duration.
//!
//! Both are fixed-size and lock-free, so a breaker can live in a `static` and
//! record from any number of threads. A count window is a ring of bits (one
//! per call for "failed", one for "slow"): recording swaps the slot's bits and
//! adjusts the counters by the difference, so the counts always describe
//! exactly the last N outcomes (`recloser`-style rings; unlike cumulative
//! counters, old calls really leave). A time window is ten buckets of a tenth
//! of the duration each, tagged with their epoch; a stale bucket is reset by
//! the first writer of its new epoch. Memory is independent of the call rate
//! and each record is O(1).

use core::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// The most calls a count window can hold.
pub(crate) const MAX_COUNT: u32 = 1024;
const WORDS: usize = (MAX_COUNT / 64) as usize;
/// Buckets in a time window.
pub(crate) const BUCKETS: u64 = 10;

/// What the window holds after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tally {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    pub(crate) const fn count(size: u32) -> Window {
        Window::Count(CountWindow::new(size))
    }

    pub(crate) const fn time(bucket_nanos: u64) -> Window {
        Window::Time(TimeWindow::new(bucket_nanos))
    }

    /// Records one outcome; `now` is read only by time windows.
    pub(crate) fn record(&self, failure: bool, slow: bool, now: impl FnOnce() -> u64) -> Tally {
        match self {
            Window::Count(w) => w.record(failure, slow),
            Window::Time(w) => w.record(failure, slow, now()),
        }
    }

    /// Whether a success that is not slow can change the verdict: only when
    /// it makes the window reach `min_calls` (count), always (time, since
    /// successes may have expired).
    pub(crate) fn success_can_trip(&self, tally: &Tally, min_calls: u64) -> bool {
        match self {
            Window::Count(_) => tally.calls == min_calls,
            Window::Time(_) => true,
        }
    }

    /// Whether recording a quick success would leave the window as it is: a
    /// count window already full of quick successes (it would replace the
    /// oldest of them with another). A time window always records, since its
    /// successes expire.
    #[inline]
    pub(crate) fn success_changes_nothing(&self) -> bool {
        match self {
            Window::Count(w) => {
                w.failures.load(Relaxed) <= 0
                    && w.slow_calls.load(Relaxed) <= 0
                    && w.seq.load(Relaxed) >= u64::from(w.size)
            }
            Window::Time(_) => false,
        }
    }

    pub(crate) fn tally(&self, now: impl FnOnce() -> u64) -> Tally {
        match self {
            Window::Count(w) => w.tally(),
            Window::Time(w) => w.tally(now()),
        }
    }

    pub(crate) fn reset(&self) {
        match self {
            Window::Count(w) => w.reset(),
            Window::Time(w) => w.reset(),
        }
    }
}

/// The last `size` outcomes.
#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u32,
    /// Outcomes recorded since the last reset.
    seq: AtomicU64,
    failed: [AtomicU64; WORDS],
    slow: [AtomicU64; WORDS],
    /// Set bits in `failed` / `slow`. Signed: another thread's decrement can
    /// land before the matching increment, so reads clamp at zero.
    failures: AtomicI64,
    slow_calls: AtomicI64,
}

impl CountWindow {
    const fn new(size: u32) -> Self {
        assert!(
            size >= 1 && size <= MAX_COUNT,
            "circuit breaker: a count window holds 1 to 1024 calls"
        );
        CountWindow {
            size,
            seq: AtomicU64::new(0),
            failed: [const { AtomicU64::new(0) }; WORDS],
            slow: [const { AtomicU64::new(0) }; WORDS],
            failures: AtomicI64::new(0),
            slow_calls: AtomicI64::new(0),
        }
    }

    fn record(&self, failure: bool, slow: bool) -> Tally {
        let seq = self.seq.fetch_add(1, Relaxed);
        let slot = seq % u64::from(self.size);
        let (word, bit) = ((slot / 64) as usize, 1u64 << (slot % 64));
        let failures = swap_bit(&self.failed[word], bit, failure, &self.failures);
        let slow_calls = swap_bit(&self.slow[word], bit, slow, &self.slow_calls);
        Tally {
            calls: (seq + 1).min(u64::from(self.size)),
            failures,
            slow: slow_calls,
        }
    }

    fn tally(&self) -> Tally {
        Tally {
            calls: self.seq.load(Relaxed).min(u64::from(self.size)),
            failures: clamp(self.failures.load(Relaxed)),
            slow: clamp(self.slow_calls.load(Relaxed)),
        }
    }

    /// Set bits in the failure ring (what `failures` must agree with).
    #[cfg(test)]
    pub(crate) fn failed_bits(&self) -> u64 {
        self.failed
            .iter()
            .map(|w| u64::from(w.load(Relaxed).count_ones()))
            .sum()
    }

    fn reset(&self) {
        for word in self.failed.iter().chain(&self.slow) {
            word.store(0, Relaxed);
        }
        self.failures.store(0, Relaxed);
        self.slow_calls.store(0, Relaxed);
        self.seq.store(0, Relaxed);
    }
}

/// Sets `bit` in `word` to `value`, adjusts `count` by the change, and
/// returns the count afterwards. Writes nothing when a clear bit stays clear
/// (the common success path).
fn swap_bit(word: &AtomicU64, bit: u64, value: bool, count: &AtomicI64) -> u64 {
    let delta = if value {
        i64::from(word.fetch_or(bit, Relaxed) & bit == 0)
    } else if word.load(Relaxed) & bit != 0 {
        -i64::from(word.fetch_and(!bit, Relaxed) & bit != 0)
    } else {
        0
    };
    if delta == 0 {
        clamp(count.load(Relaxed))
    } else {
        clamp(count.fetch_add(delta, Relaxed) + delta)
    }
}

fn clamp(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The outcomes of the last `BUCKETS × bucket_nanos`.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    bucket_nanos: u64,
    /// Per bucket: calls, failures, slow; each `epoch tag << 40 | count`.
    buckets: [[AtomicU64; 3]; BUCKETS as usize],
}

const TAG_SHIFT: u32 = 40;
const COUNT_MASK: u64 = (1 << TAG_SHIFT) - 1;
const TAG_MASK: u64 = (1 << (64 - TAG_SHIFT)) - 1;

impl TimeWindow {
    const fn new(bucket_nanos: u64) -> Self {
        assert!(
            bucket_nanos >= 1,
            "circuit breaker: a time window must be at least 10ns"
        );
        TimeWindow {
            bucket_nanos,
            buckets: [const { [const { AtomicU64::new(0) }; 3] }; BUCKETS as usize],
        }
    }

    fn record(&self, failure: bool, slow: bool, now: u64) -> Tally {
        // Epoch 0 is reserved for "never written", so a reset bucket (all
        // zero) cannot be mistaken for a live one.
        let epoch = now / self.bucket_nanos + 1;
        let bucket = &self.buckets[(epoch % BUCKETS) as usize];
        for (cell, add) in bucket.iter().zip([true, failure, slow]) {
            add_tagged(cell, epoch, u64::from(add));
        }
        self.tally_at(epoch)
    }

    fn tally(&self, now: u64) -> Tally {
        self.tally_at(now / self.bucket_nanos + 1)
    }

    fn tally_at(&self, epoch: u64) -> Tally {
        let mut sums = [0u64; 3];
        for back in 0..BUCKETS.min(epoch) {
            let e = epoch - back;
            let bucket = &self.buckets[(e % BUCKETS) as usize];
            for (sum, cell) in sums.iter_mut().zip(bucket) {
                let value = cell.load(Relaxed);
                if value >> TAG_SHIFT == e & TAG_MASK {
                    *sum += value & COUNT_MASK;
                }
            }
        }
        Tally {
            calls: sums[0],
            failures: sums[1],
            slow: sums[2],
        }
    }

    fn reset(&self) {
        for cell in self.buckets.iter().flatten() {
            cell.store(0, Relaxed);
        }
    }
}

/// Adds `add` to the count in `cell` if it is tagged `epoch`, or restarts it
/// at `add` under that tag if it holds an older epoch.
fn add_tagged(cell: &AtomicU64, epoch: u64, add: u64) {
    let tag = epoch & TAG_MASK;
    let mut current = cell.load(Relaxed);
    loop {
        let next = if current >> TAG_SHIFT == tag {
            if add == 0 {
                return;
            }
            (current & !COUNT_MASK) | ((current & COUNT_MASK) + add).min(COUNT_MASK)
        } else {
            tag << TAG_SHIFT | add
        };
        match cell.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(w: &Window, outcomes: &str) -> Tally {
        let mut last = Tally::default();
        for c in outcomes.chars() {
            last = w.record(c == 'F', c == 'L', || 0);
        }
        last
    }

    #[test]
    fn count_window_slides() {
        let w = Window::count(4);
        assert_eq!(
            count(&w, "FFFF"),
            Tally {
                calls: 4,
                failures: 4,
                slow: 0
            }
        );
        // Four successes push every failure out.
        assert_eq!(
            count(&w, "SSS"),
            Tally {
                calls: 4,
                failures: 1,
                slow: 0
            }
        );
        assert_eq!(
            count(&w, "S"),
            Tally {
                calls: 4,
                failures: 0,
                slow: 0
            }
        );
        assert_eq!(
            count(&w, "L"),
            Tally {
                calls: 4,
                failures: 0,
                slow: 1
            }
        );
    }

    #[test]
    fn a_long_healthy_history_does_not_hide_a_fresh_outage() {
        let w = Window::count(10);
        count(&w, &"S".repeat(10_000));
        assert_eq!(
            count(&w, "FFFFF"),
            Tally {
                calls: 10,
                failures: 5,
                slow: 0
            }
        );
    }

    #[test]
    fn count_window_reset_starts_fresh() {
        let w = Window::count(3);
        count(&w, "FFF");
        w.reset();
        assert_eq!(w.tally(|| 0), Tally::default());
        assert_eq!(
            count(&w, "S"),
            Tally {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    }

    #[test]
    fn large_count_windows_use_every_word() {
        let w = Window::count(MAX_COUNT);
        let t = count(&w, &"F".repeat(MAX_COUNT as usize));
        assert_eq!(
            (t.calls, t.failures),
            (u64::from(MAX_COUNT), u64::from(MAX_COUNT))
        );
        let t = count(&w, &"S".repeat(MAX_COUNT as usize - 1));
        assert_eq!(t.failures, 1);
    }

    #[test]
    fn time_window_forgets_old_buckets() {
        // 10 buckets of 100 → a window of 1000.
        let w = Window::time(100);
        for t in [0, 50, 150] {
            w.record(true, false, || t);
        }
        assert_eq!(
            w.tally(|| 150),
            Tally {
                calls: 3,
                failures: 3,
                slow: 0
            }
        );
        w.record(false, true, || 950);
        assert_eq!(
            w.tally(|| 999),
            Tally {
                calls: 4,
                failures: 3,
                slow: 1
            }
        );
        // At 1000 the first bucket [0, 100) has left the window.
        assert_eq!(
            w.tally(|| 1000),
            Tally {
                calls: 2,
                failures: 1,
                slow: 1
            }
        );
        // A write in a reused bucket restarts it.
        assert_eq!(w.record(false, false, || 1010).calls, 3);
        assert_eq!(w.tally(|| 5000), Tally::default());
    }

    #[test]
    fn time_window_memory_is_independent_of_the_rate() {
        let w = Window::time(1_000);
        for i in 0..100_000u64 {
            w.record(i % 2 == 0, false, || i / 100);
        }
        let t = w.tally(|| 999);
        assert_eq!((t.calls, t.failures), (100_000, 50_000));
    }
}
