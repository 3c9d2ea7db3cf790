//! The lock-free accounting of a [`RetryBudget`](super::RetryBudget): first
//! attempts (deposits) and retries (withdrawals) over a sliding window of
//! [`BUCKETS`] buckets, with time given as bucket numbers (epochs), so that
//! the same code runs under the clock in production, under explicit epochs
//! in the model tests (`model.rs`) and under loom (`loom.rs`).
//!
//! # Layout
//!
//! - `deposits`: every first attempt ever, cumulative (`u64`). A deposit is
//!   one `Relaxed` `fetch_add` and nothing else: no clock, no bucket.
//! - `head`: the current epoch `e` (high 32 bits) and the retries drawn in
//!   bucket `e` (low 32 bits). Every withdrawal is a CAS on this word, and
//!   so is every move to a later epoch: decisions are serialised on it.
//! - `drawn[b % RING]`: the retries drawn in bucket `b`, tagged with `b`
//!   (`b << 32 | count`), written when the head leaves `b`.
//! - `entered[b % RING]`: `deposits` (low 32 bits) as read when the head
//!   entered bucket `b`, tagged with `b`.
//!
//! # Rules (why the bound `retries ≤ ratio × first attempts + floor` holds)
//!
//! A withdrawal at epoch `e` counts:
//!
//! - **retries** in buckets `e − N ..= e` (N + 1 buckets: a span at least
//!   as long as the window, so never fewer than the window holds): the
//!   head's own count plus every `drawn` slot whose tag matches. A slot whose
//!   tag does not match held no retries for that bucket (the head skipped
//!   it), or is being reused by a move to a later epoch, which changes the
//!   head, so that this withdrawal's CAS fails and it starts again;
//! - **first attempts** since the entry snapshot of the oldest bucket of
//!   `e − N + 1 ..= e` (N buckets: a span no longer than the window) whose
//!   `entered` tag matches. A snapshot is read after a clock reading in its
//!   bucket, so it is at least the count at the bucket's start: deposits are
//!   dated no later than they happened, never counted past their time. A
//!   bucket the head skipped (no snapshot) makes the next snapshot count,
//!   which dates the deposits between them earlier still.
//!
//! Both errors go one way: the count of retries can only be too high and
//! the count of first attempts only too low, so the budget may be stricter
//! than the exact sliding window (by at most one bucket's worth at each
//! edge, plus the deposits made since the last time the head moved, see
//! `RetryBudget` for the periodic tick that bounds those), never looser.
//!
//! # Memory ordering
//!
//! A move to epoch `c` writes its `drawn` and `entered` slots (`fetch_max`,
//! `Release`) before its `AcqRel` CAS on `head`; a withdrawal loads `head`
//! with `Acquire`, so it sees the slots of every epoch the head has passed.
//! `fetch_max` on tagged words keeps the newest tag and, for one tag, the
//! highest count: a mover that lost its CAS and writes late cannot lower a
//! slot. The head's epoch only grows, so a CAS cannot succeed on a stale
//! view (no ABA). `deposits` is `Relaxed`: a deposit missed by a decision's
//! read is simply not counted (stricter).

use core::sync::atomic::Ordering;

use crate::sync::AtomicWord;

/// Buckets per window.
pub(crate) const BUCKETS: u64 = 10;
/// Slots in the rings (more than `BUCKETS + 1`, so that the slots a
/// decision reads are never those its own epoch's moves write).
pub(crate) const RING: usize = 16;

/// The budget's limits in integers: a retry is allowed while
/// `(retries + 1) × 10⁶ ≤ ratio_ppm × first attempts + floor_ppm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `ratio` in millionths, rounded down.
    pub(crate) ratio_ppm: u64,
    /// `min_per_sec × window` in millionths of a retry.
    pub(crate) floor_ppm: u128,
}

impl Limits {
    /// Retries allowed in total with `deposits` first attempts in the window.
    pub(crate) fn allowance(self, deposits: u64) -> u64 {
        let scaled = u128::from(self.ratio_ppm) * u128::from(deposits) + self.floor_ppm;
        u64::try_from(scaled / 1_000_000).unwrap_or(u64::MAX)
    }
}

/// What the window holds at an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct View {
    /// First attempts counted in the window.
    pub(crate) deposits: u64,
    /// Retries counted in the window.
    pub(crate) withdrawals: u64,
}

/// A withdrawal's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Draw {
    /// The retry may be made; it is counted in this epoch's bucket.
    Drawn(u64),
    /// The budget is spent; what the window held.
    Spent(View),
}

/// The accounting, generic over the atomic word (`AtomicU64`, or loom's).
#[derive(Debug)]
pub(crate) struct Window<A> {
    deposits: A,
    head: A,
    drawn: [A; RING],
    entered: [A; RING],
}

#[inline]
const fn tagged(tag: u64, value: u64) -> u64 {
    (tag << 32) | (value & 0xFFFF_FFFF)
}

#[inline]
const fn tag(word: u64) -> u64 {
    word >> 32
}

#[inline]
const fn low(word: u64) -> u64 {
    word & 0xFFFF_FFFF
}

#[inline]
const fn slot(bucket: u64) -> usize {
    (bucket % RING as u64) as usize
}

/// The largest epoch: the head's epoch has 32 bits.
pub(crate) const MAX_EPOCH: u64 = u32::MAX as u64;

impl Window<core::sync::atomic::AtomicU64> {
    /// An empty window, in `const` context.
    pub(crate) const fn new() -> Self {
        use core::sync::atomic::AtomicU64;
        Window {
            deposits: AtomicU64::new(0),
            head: AtomicU64::new(0),
            drawn: [const { AtomicU64::new(0) }; RING],
            entered: [const { AtomicU64::new(0) }; RING],
        }
    }
}

impl<A: AtomicWord> Window<A> {
    /// A window over the words `new` makes (all zero: epoch 0, nothing
    /// counted, bucket 0 entered with no deposits).
    #[cfg(test)]
    pub(crate) fn with(mut new: impl FnMut() -> A) -> Self {
        Window {
            deposits: new(),
            head: new(),
            drawn: core::array::from_fn(|_| new()),
            entered: core::array::from_fn(|_| new()),
        }
    }

    /// Counts a first attempt; returns how many came before it.
    #[inline(always)]
    pub(crate) fn deposit(&self) -> u64 {
        self.deposits.fetch_add(1, Ordering::Relaxed)
    }

    /// Moves the head to epoch `now` if it is behind (a tick: nothing drawn).
    pub(crate) fn advance(&self, now: u64) {
        let now = now.min(MAX_EPOCH);
        let mut head = self.head.load(Ordering::Acquire);
        while tag(head) < now {
            match self.step(head, now) {
                Ok(()) => return,
                Err(seen) => head = seen,
            }
        }
    }

    /// One attempt to move the head from `head` to epoch `now`: the slots
    /// first, then the CAS. `Err` carries the head seen instead.
    fn step(&self, head: u64, now: u64) -> Result<(), u64> {
        let epoch = tag(head);
        // Bucket `epoch` is closed with the count the CAS below checks.
        self.drawn[slot(epoch)].fetch_max(tagged(epoch, low(head)), Ordering::Release);
        let snapshot = self.deposits.load(Ordering::Relaxed);
        self.entered[slot(now)].fetch_max(tagged(now, snapshot), Ordering::Release);
        self.head
            .compare_exchange(head, tagged(now, 0), Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
    }

    /// Draws one retry at epoch `now` under `limits`.
    pub(crate) fn withdraw(&self, now: u64, limits: Limits) -> Draw {
        let now = now.min(MAX_EPOCH);
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            if tag(head) < now {
                match self.step(head, now) {
                    Ok(()) => head = tagged(now, 0),
                    Err(seen) => head = seen,
                }
                continue;
            }
            // The head may be ahead of our clock (another caller read a later
            // one): the decision is taken, and counted, at the head's epoch.
            let view = self.view_at(head, tag(head));
            if view.withdrawals >= limits.allowance(view.deposits) || low(head) == 0xFFFF_FFFF {
                return Draw::Spent(view);
            }
            match self
                .head
                .compare_exchange(head, head + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Draw::Drawn(tag(head)),
                Err(seen) => head = seen,
            }
        }
    }

    /// What the window holds at epoch `now` (at or after the head's), without
    /// moving the head.
    pub(crate) fn view(&self, now: u64) -> View {
        let head = self.head.load(Ordering::Acquire);
        self.view_at(head, now.min(MAX_EPOCH).max(tag(head)))
    }

    /// The counts at epoch `now ≥ tag(head)`, given the head word `head`.
    fn view_at(&self, head: u64, now: u64) -> View {
        let epoch = tag(head);
        // Retries: buckets now − N ..= now. Only the head's bucket and the
        // closed buckets before it can hold any.
        let oldest = now.saturating_sub(BUCKETS);
        let mut withdrawals = if epoch >= oldest { low(head) } else { 0 };
        for bucket in oldest..epoch {
            let word = self.drawn[slot(bucket)].load(Ordering::Acquire);
            if tag(word) == bucket {
                withdrawals += low(word);
            }
        }
        // First attempts: since the entry of the oldest entered bucket of
        // now − N + 1 ..= min(now, epoch); none if the head entered none of
        // them (all dated before the window).
        let total = self.deposits.load(Ordering::Relaxed);
        let first = now.saturating_sub(BUCKETS - 1);
        let mut deposits = 0;
        for bucket in first..=epoch.min(now) {
            let word = self.entered[slot(bucket)].load(Ordering::Acquire);
            if tag(word) == bucket {
                deposits = low(total.wrapping_sub(low(word)));
                break;
            }
        }
        View {
            deposits,
            withdrawals,
        }
    }
}
