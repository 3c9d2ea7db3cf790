//! Sliding windows of call outcomes: the last N calls, or the last duration.
//!
//! Both are fixed-size and lock-free, so a breaker can live in a `static` and
//! record from any number of threads. A count window is a ring of bits (one
//! per call for "failed", one for "slow"): recording swaps the slot's bits and
//! adjusts the counters by the difference, so the counts always describe
//! exactly the last N outcomes (`recloser`-style rings; unlike cumulative
//! counters, old calls really leave). A time window is ten buckets of a tenth
//! of the duration each; each bucket knows the full round it counts for, and
//! the first writer of a new round restarts it (see [`TimeWindow`] for why old
//! counts never come back, however long the window stays idle). Memory is
//! independent of the call rate and each record is O(1).

use core::cmp::Ordering;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicI64, AtomicU64};

use crate::sync::AtomicWord;

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
        Window::Count(CountWindow::new(size, false))
    }

    /// A count window whose successes always take the recording path (see
    /// [`success_changes_nothing`](Window::success_changes_nothing)): a
    /// shared breaker's, which counts every outcome for its store.
    pub(crate) const fn count_reporting(size: u32) -> Window {
        Window::Count(CountWindow::new(size, true))
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
    /// successes expire, and so does a [reporting](Window::count_reporting)
    /// count window (its `full_at` is never reached: the same instructions as
    /// a local window's test, so the local fast path pays nothing for it).
    #[inline]
    pub(crate) fn success_changes_nothing(&self) -> bool {
        match self {
            Window::Count(w) => {
                w.failures.load(Relaxed) <= 0
                    && w.slow_calls.load(Relaxed) <= 0
                    && w.seq.load(Relaxed) >= w.full_at
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

    /// Empties the window, then puts `counts` in it (a restored snapshot's:
    /// `snapshot/`). A count window takes them as its oldest outcomes, failures
    /// and slow calls spread evenly among them, scaled down proportionally if
    /// they exceed its size; a time window takes them in the bucket of `now`.
    /// Meant for startup: a call recording meanwhile may land before or after.
    pub(crate) fn restore(&self, counts: Tally, now: impl FnOnce() -> u64) {
        let counts = Tally {
            calls: counts.calls,
            failures: counts.failures.min(counts.calls),
            slow: counts.slow.min(counts.calls),
        };
        match self {
            Window::Count(w) => w.restore(counts),
            Window::Time(w) => w.restore(counts, now()),
        }
    }
}

/// The last `size` outcomes.
#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u32,
    /// `size`, or `u64::MAX` for a reporting window (see
    /// `Window::success_changes_nothing`).
    full_at: u64,
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
    const fn new(size: u32, reporting: bool) -> Self {
        assert!(
            size >= 1 && size <= MAX_COUNT,
            "circuit breaker: a count window holds 1 to 1024 calls"
        );
        CountWindow {
            size,
            full_at: if reporting { u64::MAX } else { size as u64 },
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

    /// [`Window::restore`] for a count window: `counts` (with failures and
    /// slow calls at most its calls) become the ring's first slots.
    fn restore(&self, counts: Tally) {
        self.reset();
        let size = u64::from(self.size);
        let calls = counts.calls.min(size);
        // More calls than the ring holds (a smaller window than the
        // snapshot's): keep the proportions, rounded to the nearest.
        let fit = |n: u64| {
            if counts.calls <= size {
                n
            } else {
                let scaled = (u128::from(n) * u128::from(size) + u128::from(counts.calls) / 2)
                    / u128::from(counts.calls);
                u64::try_from(scaled).unwrap_or(size).min(calls)
            }
        };
        let (failures, slow) = (fit(counts.failures), fit(counts.slow));
        for slot in 0..calls {
            let (word, bit) = ((slot / 64) as usize, 1u64 << (slot % 64));
            if spread(slot, failures, calls) {
                self.failed[word].fetch_or(bit, Relaxed);
            }
            if spread(slot, slow, calls) {
                self.slow[word].fetch_or(bit, Relaxed);
            }
        }
        self.failures.store(failures as i64, Relaxed);
        self.slow_calls.store(slow as i64, Relaxed);
        self.seq.store(calls, Relaxed);
    }
}

/// Whether slot `i` of `n` is one of `k` spread evenly among them (exactly
/// `k` of the slots `0..n` are).
fn spread(i: u64, k: u64, n: u64) -> bool {
    (i + 1) * k / n > i * k / n
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
///
/// Time is cut into epochs of `bucket_nanos` (`epoch = now / bucket_nanos`);
/// epoch `e` lives in bucket `e % BUCKETS`, in that bucket's round
/// `e / BUCKETS`. The window at epoch `e` is the epochs `e - 9 ..= e`, one
/// per bucket.
///
/// Each bucket has an *identity* word, `round << 1 | parity`, holding the
/// full round (below 2⁶¹, so it never wraps), and three cells (calls,
/// failures, slow), each `tag << 40 | count`. A cell counts for its bucket's
/// identity only when its tag is that identity's `tag` (the identity's low 24
/// bits: its parity and 23 bits of its round). The parity flips at every
/// change of identity (a move to a later round, or a reset), so two
/// successive identities of a bucket never share a tag.
///
/// **Invariant**: before a bucket's identity changes from `w`, every cell
/// holds `w`'s tag (the thread that changes it restarts at zero any cell that
/// still holds an older one, and checks the identity has not changed under
/// it). A cell's count tagged with the current identity was therefore added
/// under that identity: counts never outlive the identity they were recorded
/// under, and a reader compares full rounds, so whatever the time between two
/// calls, an old one is never counted again. (The tags are finite, so one
/// exception remains, a record of a thread stalled inside [`record`] while its
/// bucket changes identity 2²³ times: it counts that one record late.)
///
/// Records are O(1): a load of the identity and a compare-and-swap per
/// changed cell; moving a bucket to its new round costs one more
/// compare-and-swap. A record for a round older than its bucket's is
/// dropped: it is out of the window of whoever moved the bucket on.
///
/// Orderings: the identity is read with `Acquire` and changed with `AcqRel`;
/// the thread that changes it has seen (or made) every cell hold the old
/// identity's tag, so a reader that sees the new identity sees those cell
/// values or later ones, never the counts of an identity before them. Cells
/// are written with `Release` and read with `Acquire` by writers, which
/// decide from a cell's tag whether to check the identity again: a writer
/// that sees a cell restarted under a newer identity then sees that identity
/// too, and does not restart the cell back under its own (the loom model
/// `loom_a_late_record_does_not_land_in_the_next_round` fails with `Relaxed`
/// there). Readers load cells `Relaxed`: their tags say what they count.
///
/// [`record`]: TimeWindow::record
#[derive(Debug)]
pub(crate) struct TimeWindow<W = AtomicU64> {
    bucket_nanos: u64,
    buckets: [Bucket<W>; BUCKETS as usize],
}

/// One bucket of a [`TimeWindow`].
#[derive(Debug)]
struct Bucket<W> {
    /// `round << 1 | parity`.
    identity: W,
    /// Calls, failures, slow calls: each `tag << TAG_SHIFT | count`.
    cells: [W; 3],
}

const TAG_SHIFT: u32 = 40;
const COUNT_MASK: u64 = (1 << TAG_SHIFT) - 1;
const TAG_MASK: u64 = (1 << (64 - TAG_SHIFT)) - 1;

/// The tag that a cell counting for `identity` carries.
const fn tag(identity: u64) -> u64 {
    identity & TAG_MASK
}

const fn round(identity: u64) -> u64 {
    identity >> 1
}

impl TimeWindow {
    const fn new(bucket_nanos: u64) -> Self {
        assert!(
            bucket_nanos >= 1,
            "circuit breaker: a time window must be at least 10ns"
        );
        // All zero: every bucket in round 0 with parity 0 (tag 0), and every
        // cell tag 0 with a count of 0: round 0 with no calls.
        TimeWindow {
            bucket_nanos,
            buckets: [const {
                Bucket {
                    identity: AtomicU64::new(0),
                    cells: [const { AtomicU64::new(0) }; 3],
                }
            }; BUCKETS as usize],
        }
    }
}

impl<W: AtomicWord> TimeWindow<W> {
    /// A window whose atomics `new_cell` makes (holding 0): loom's, in the
    /// model checks.
    #[cfg(test)]
    pub(crate) fn with_cells(bucket_nanos: u64, new_cell: impl Fn() -> W) -> Self {
        TimeWindow {
            bucket_nanos,
            buckets: core::array::from_fn(|_| Bucket {
                identity: new_cell(),
                cells: core::array::from_fn(|_| new_cell()),
            }),
        }
    }

    /// Records one outcome at `now` (nanoseconds) and returns the window there.
    pub(crate) fn record(&self, failure: bool, slow: bool, now: u64) -> Tally {
        let epoch = now / self.bucket_nanos;
        let bucket = &self.buckets[(epoch % BUCKETS) as usize];
        bucket.add(epoch / BUCKETS, [1, u64::from(failure), u64::from(slow)]);
        self.tally_at(epoch)
    }

    /// The window at `now` (nanoseconds).
    pub(crate) fn tally(&self, now: u64) -> Tally {
        self.tally_at(now / self.bucket_nanos)
    }

    /// [`Window::restore`] for a time window: `counts` go in the bucket of
    /// `now`, after a [`reset`](TimeWindow::reset).
    fn restore(&self, counts: Tally, now: u64) {
        self.reset();
        let epoch = now / self.bucket_nanos;
        let bucket = &self.buckets[(epoch % BUCKETS) as usize];
        let adds = [counts.calls, counts.failures, counts.slow].map(|n| n.min(COUNT_MASK));
        bucket.add(epoch / BUCKETS, adds);
    }

    fn tally_at(&self, epoch: u64) -> Tally {
        let mut sums = [0u64; 3];
        for back in 0..BUCKETS.min(epoch.saturating_add(1)) {
            let e = epoch - back;
            let bucket = &self.buckets[(e % BUCKETS) as usize];
            let identity = bucket.identity.load(Acquire);
            if round(identity) != e / BUCKETS {
                // Another round's: out of this window (older), or of a racing
                // caller's later one.
                continue;
            }
            for (sum, cell) in sums.iter_mut().zip(&bucket.cells) {
                let value = cell.load(Relaxed);
                if value >> TAG_SHIFT == tag(identity) {
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

    /// Empties the window: every bucket moves to a new identity of the same
    /// round (so its cells' tags no longer count), through the same protocol
    /// as a move to a new round.
    pub(crate) fn reset(&self) {
        for bucket in &self.buckets {
            let mut identity = bucket.identity.load(Acquire);
            loop {
                match bucket.change_identity(identity, round(identity)) {
                    Ok(_) => break,
                    Err(actual) => identity = actual,
                }
            }
        }
    }
}

impl<W: AtomicWord> Bucket<W> {
    /// Adds `adds` (calls, failures, slow) to this bucket's counts for
    /// `round`, moving the bucket to that round first if it is in an older
    /// one, and dropping them if it is in a later one.
    fn add(&self, round_now: u64, adds: [u64; 3]) {
        let mut identity = self.identity.load(Acquire);
        for (cell, add) in self.cells.iter().zip(adds) {
            loop {
                match round(identity).cmp(&round_now) {
                    Ordering::Greater => return,
                    Ordering::Less => {
                        identity = match self.change_identity(identity, round_now) {
                            Ok(new) | Err(new) => new,
                        };
                        continue;
                    }
                    Ordering::Equal => {}
                }
                let current = cell.load(Acquire);
                let next = if current >> TAG_SHIFT == tag(identity) {
                    if add == 0 {
                        break;
                    }
                    (current & !COUNT_MASK) | ((current & COUNT_MASK) + add).min(COUNT_MASK)
                } else {
                    // The previous identity's count, not restarted yet. Only
                    // while the bucket still is `identity`: a restart under an
                    // identity it has left would bring an old tag back.
                    let now = self.identity.load(Acquire);
                    if now != identity {
                        identity = now;
                        continue;
                    }
                    tag(identity) << TAG_SHIFT | add
                };
                if cell
                    .compare_exchange_weak(current, next, Release, Relaxed)
                    .is_ok()
                {
                    break;
                }
            }
        }
    }

    /// Moves the bucket from identity `from` to the next identity, in round
    /// `to` (the parity flips). First every cell is brought to `from`'s tag
    /// (restarted at zero if it still holds an older one), which is the
    /// invariant that keeps old counts from coming back. `Ok` with the new
    /// identity, or `Err` with the one another thread set first.
    fn change_identity(&self, from: u64, to: u64) -> Result<u64, u64> {
        for cell in &self.cells {
            let mut current = cell.load(Acquire);
            while current >> TAG_SHIFT != tag(from) {
                let now = self.identity.load(Acquire);
                if now != from {
                    return Err(now);
                }
                match cell.compare_exchange_weak(current, tag(from) << TAG_SHIFT, Release, Acquire)
                {
                    Ok(_) => break,
                    Err(actual) => current = actual,
                }
            }
        }
        let next = to << 1 | (!from & 1);
        loop {
            match self
                .identity
                .compare_exchange_weak(from, next, AcqRel, Acquire)
            {
                Ok(_) => return Ok(next),
                Err(actual) if actual == from => {}
                Err(actual) => return Err(actual),
            }
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
