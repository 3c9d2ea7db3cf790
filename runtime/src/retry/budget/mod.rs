//! [`RetryBudget`]: a cap on retries shared by many calls, in proportion to
//! the calls made (Finagle's retry budget, Envoy's and gRPC's retry
//! throttling), so that an outage does not turn every call into `attempts`
//! calls (a retry storm).
//!
//! # The rule
//!
//! Every retry drawn at time `t` satisfies, over the sliding window
//! `(t − window, t]`:
//!
//! ```text
//! retries (this one included) ≤ ratio × first attempts + min_per_sec × window (in seconds)
//! ```
//!
//! A call's first attempt is counted (deposited) when the call starts, so it
//! counts before its own retries draw; errors that are not retried draw
//! nothing. A retry is drawn when it is decided (before its delay): a retry
//! that finds the budget spent is not made and the call returns its last
//! error at once. A retry is drawn last, after every other reason not to
//! retry (attempts, `when`, shutdown, `max_elapsed`, `max_hint`), so only a
//! retry that would otherwise be made draws; one whose delay is then cut
//! short (shutdown, a dropped call) stays drawn. The bound is an upper
//! bound: the budget may refuse a
//! retry that the exact window would allow (see "Approximation"), never
//! allow one that it would refuse.
//!
//! # Cost
//!
//! A first attempt is one `Relaxed` `fetch_add` on the budget's counter;
//! every 64th also reads the clock (to date the counter, see below). No
//! clock read otherwise, no lock, no allocation. The window's bookkeeping
//! (buckets, clock) is done on the retry path, which is about to sleep
//! anyway: a bounded number of atomic loads and one CAS.
//!
//! # Approximation
//!
//! The window is 10 buckets of `window / 10`. Retries are counted over the
//! current bucket and the 10 before it (a span at least as long as the
//! window); first attempts since the start of the oldest of the last 10
//! buckets that the budget saw begin (a span no longer than the window).
//! Since a first attempt reads no clock, it is dated by the bucket the
//! budget last saw begin: the retry path and every 64th first attempt look
//! at the clock and open a new bucket when one has begun. First attempts
//! are so dated at most a bucket early, plus, when the budget has not
//! looked at the clock since a bucket began, those of that bucket earlier
//! still: at most 64 per bucket of the window (a bucket with 64 first
//! attempts holds a tick, which sees it begin), a case of a quiet window
//! with few retries. Each error makes the budget stricter (fewer retries), never looser;
//! the proptest in `model.rs` checks every decision against an exact model.
//!
//! # Concurrency
//!
//! Lock-free (see `window.rs` for the layout and memory ordering):
//! concurrent retries are serialised by a CAS on one word, so no two draw
//! the same last unit. Checked with loom (`loom.rs`).

mod window;

#[cfg(test)]
mod loom;
#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::sync::OnceLock;

use tokio::time::Instant;

use crate::registry::{Kind, Registration};
use window::{BUCKETS, Draw, Limits, Window};

/// How often a first attempt reads the clock (a power of two): every
/// `TICK`th, so that first attempts are dated even while nothing is
/// retried.
const TICK: u64 = 64;

/// A retry budget: retries over a sliding window are at most `ratio` × the
/// first attempts in it, plus `min_per_sec` per second of the window.
///
/// Build it in a `static` with the `const` builder and name it in
/// `#[retry(budget = …)]` (or pass it to [`Retry::start_budgeted`](crate::Retry::start_budgeted)):
///
/// ```
/// use std::time::Duration;
/// use steadfast::{RetryBudget, retry};
///
/// static RETRIES: RetryBudget = RetryBudget::builder()
///     .name("backend")
///     .ratio(0.2)
///     .min_per_sec(1)
///     .window("10s")
///     .build();
///
/// #[retry(attempts = 3, backoff = none, budget = RETRIES)]
/// async fn fetch(calls: &mut u32) -> Result<(), &'static str> {
///     *calls += 1;
///     Err("down")
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// // 10 retries are allowed by the floor (1 per second × 10 s), plus 0.2
/// // per call: 20 failing calls may retry 14 times, not 40.
/// let mut calls = 0;
/// for _ in 0..20 {
///     let _ = fetch(&mut calls).await;
/// }
/// assert_eq!(calls, 20 + 14);
/// assert_eq!(RETRIES.level().available, 0);
/// # }
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    name: &'static str,
    ratio: f64,
    min_per_sec: u32,
    window: Duration,
    limits: Limits,
    bucket_nanos: u64,
    /// The instant of bucket 0: the budget's first clock reading.
    origin: OnceLock<Instant>,
    state: Window<AtomicU64>,
    /// Retries refused so far.
    spent: AtomicU64,
    registered: Registration,
}

/// A [`RetryBudget`]'s level now (see [`RetryBudget::level`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetLevel {
    /// Retries that may be drawn now.
    pub available: u64,
    /// First attempts counted in the window.
    pub deposits: u64,
    /// Retries counted in the window.
    pub withdrawals: u64,
}

impl RetryBudget {
    /// The default `ratio`: 0.2 (Finagle's; a retry for every five calls).
    pub const DEFAULT_RATIO: f64 = 0.2;
    /// The default `min_per_sec`: 10 (Finagle's).
    pub const DEFAULT_MIN_PER_SEC: u32 = 10;
    /// The default `window`: 10 s (Finagle's).
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);
    /// The shortest `window`: 1 s.
    pub const MIN_WINDOW: Duration = Duration::from_secs(1);
    /// The longest `window`: 1 h.
    pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

    /// Starts from the defaults: name `"retry_budget"`, ratio 0.2,
    /// `min_per_sec` 10, window 10 s.
    ///
    /// ```
    /// use steadfast::RetryBudget;
    ///
    /// static DEFAULTS: RetryBudget = RetryBudget::builder().build();
    /// assert_eq!(DEFAULTS.ratio(), 0.2);
    /// assert_eq!(DEFAULTS.min_per_sec(), 10);
    /// assert_eq!(DEFAULTS.window().as_secs(), 10);
    /// ```
    pub const fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder {
            name: "retry_budget",
            ratio: RetryBudget::DEFAULT_RATIO,
            min_per_sec: RetryBudget::DEFAULT_MIN_PER_SEC,
            window: RetryBudget::DEFAULT_WINDOW,
        }
    }

    /// Its name, in events, metrics and [`health()`](crate::health()).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Its `ratio`: retries allowed per first attempt.
    #[must_use]
    pub const fn ratio(&self) -> f64 {
        self.ratio
    }

    /// Its `min_per_sec`: retries allowed per second of the window whatever
    /// the traffic.
    #[must_use]
    pub const fn min_per_sec(&self) -> u32 {
        self.min_per_sec
    }

    /// Its sliding window.
    #[must_use]
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// Counts a call's first attempt. [`Retry::start_budgeted`](crate::Retry::start_budgeted)
    /// (and so `#[retry(budget = …)]`) calls it when the call starts; call
    /// it yourself only for a loop of your own.
    ///
    /// ```
    /// use steadfast::RetryBudget;
    ///
    /// static OWN: RetryBudget = RetryBudget::builder().ratio(0.5).min_per_sec(0).build();
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// OWN.deposit();
    /// OWN.deposit();
    /// assert!(OWN.try_withdraw()); // 0.5 × 2 = 1 retry
    /// assert!(!OWN.try_withdraw());
    /// # }
    /// ```
    #[inline]
    pub fn deposit(&self) {
        let before = self.state.deposit();
        if before & (TICK - 1) == 0 {
            self.tick();
        }
    }

    /// Dates the first attempts counted so far: opens the bucket of now if
    /// it has begun.
    #[cold]
    #[inline(never)]
    fn tick(&self) {
        self.state.advance(self.epoch());
    }

    /// Draws one retry: `true` if it may be made, `false` if the budget is
    /// spent (counted in [`spent`](RetryBudget::spent)). Reads the clock.
    pub fn try_withdraw(&self) -> bool {
        match self.state.withdraw(self.epoch(), self.limits) {
            Draw::Drawn(_) => true,
            Draw::Spent(_) => {
                self.spent.fetch_add(1, Ordering::Relaxed);
                crate::meter::budget_spent(self.name);
                false
            }
        }
    }

    /// The budget's level now: retries available, and the first attempts
    /// and retries the window counts (with the approximations of the
    /// [module docs](self)). Reads the clock; moves nothing.
    #[must_use]
    pub fn level(&self) -> BudgetLevel {
        let view = self.state.view(self.epoch());
        BudgetLevel {
            available: self
                .limits
                .allowance(view.deposits)
                .saturating_sub(view.withdrawals),
            deposits: view.deposits,
            withdrawals: view.withdrawals,
        }
    }

    /// Retries (and hedged copies) refused because the budget was spent,
    /// since the start.
    #[must_use]
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// Lists this budget in [`health()`](crate::health()) (the attribute
    /// does it on each call for `budget = PATH`;
    /// [`register_retry_budget!`](crate::register_retry_budget) does it
    /// from the start of the process). A budget whose name
    /// another registered budget carries is reported (a `tracing` warning,
    /// and `duplicate_name` in `health()`).
    pub fn register(&'static self) {
        crate::registry::register(self);
    }

    /// The bucket of now, counted from the budget's first clock reading.
    fn epoch(&self) -> u64 {
        let now = Instant::now();
        let origin = *self.origin.get_or_init(|| now);
        let nanos = now.saturating_duration_since(origin).as_nanos();
        u64::try_from(nanos / u128::from(self.bucket_nanos)).unwrap_or(u64::MAX)
    }
}

crate::registry::policy_member!(RetryBudget, Kind::RetryBudget);

/// Builds a [`RetryBudget`] in `const` context. Invalid settings panic,
/// which in a `const` or `static` is a compile error.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct RetryBudgetBuilder {
    name: &'static str,
    ratio: f64,
    min_per_sec: u32,
    window: Duration,
}

impl RetryBudgetBuilder {
    /// Its name in events, metrics and [`health()`](crate::health()).
    /// One name is one budget: see [`RetryBudget::register`].
    ///
    /// # Panics
    ///
    /// If `name` is empty.
    pub const fn name(mut self, name: &'static str) -> Self {
        assert!(!name.is_empty(), "retry budget: `name` must not be empty");
        self.name = name;
        self
    }

    /// Retries allowed per first attempt in the window, in (0, 1]
    /// (default 0.2). It is counted in millionths, rounded down.
    ///
    /// # Panics
    ///
    /// If `ratio` is not in (0, 1] (NaN included).
    pub const fn ratio(mut self, ratio: f64) -> Self {
        assert!(
            ratio > 0.0 && ratio <= 1.0,
            "retry budget: `ratio` must be in (0, 1]: the retries allowed per first attempt"
        );
        self.ratio = ratio;
        self
    }

    /// Retries allowed per second of the window whatever the traffic
    /// (default 10), so that a quiet service may still retry; 0 for none.
    pub const fn min_per_sec(mut self, min_per_sec: u32) -> Self {
        self.min_per_sec = min_per_sec;
        self
    }

    /// The sliding window (default `"10s"`), written as the attributes'
    /// durations are (`"10s"`, `"1m30s"`; units `us`, `ms`, `s`, `m`, `h`),
    /// from 1 s to 1 h. [`window_duration`](Self::window_duration) takes a
    /// [`Duration`].
    ///
    /// # Panics
    ///
    /// If `window` is not a duration, or is shorter than 1 s or longer than
    /// 1 h (a compile error in a `static`).
    pub const fn window(self, window: &str) -> Self {
        self.window_duration(crate::duration_text::parse_or_panic(window))
    }

    /// The sliding window as a [`Duration`] (see [`window`](Self::window)).
    ///
    /// # Panics
    ///
    /// If `window` is shorter than 1 s or longer than 1 h.
    pub const fn window_duration(mut self, window: Duration) -> Self {
        assert!(
            window.as_nanos() >= RetryBudget::MIN_WINDOW.as_nanos(),
            "retry budget: `window` must be at least 1s"
        );
        assert!(
            window.as_nanos() <= RetryBudget::MAX_WINDOW.as_nanos(),
            "retry budget: `window` must be at most 1h"
        );
        self.window = window;
        self
    }

    /// The budget, empty.
    #[must_use]
    pub const fn build(self) -> RetryBudget {
        // Exact: `window` is at most an hour of nanoseconds.
        #[allow(clippy::cast_possible_truncation)]
        let bucket_nanos = (self.window.as_nanos() / BUCKETS as u128) as u64;
        // `ratio` is in (0, 1]: at most 10⁶, rounded down (stricter).
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ratio_ppm = (self.ratio * 1_000_000.0) as u64;
        RetryBudget {
            name: self.name,
            ratio: self.ratio,
            min_per_sec: self.min_per_sec,
            window: self.window,
            limits: Limits {
                ratio_ppm,
                floor_ppm: self.min_per_sec as u128 * self.window.as_millis() * 1_000,
            },
            bucket_nanos,
            origin: OnceLock::new(),
            state: Window::new(),
            spent: AtomicU64::new(0),
            registered: Registration::new(),
        }
    }
}
