//! The admission word: GCRA (the generic cell rate algorithm) on one atomic
//! 64-bit theoretical arrival time (TAT), with exact integer arithmetic.
//!
//! # The scaled domain
//!
//! A limiter admits `rate` calls per `per`, so one turn lasts `per / rate`,
//! which is rarely a whole number of nanoseconds (3 per second is
//! 333,333,333⅓ ns). Rounding it either way would break the bound
//! `burst + floor(rate × t / per)` or admit less than it allows, so time is
//! counted in *scaled units*: `1 ns = scale units`, with
//! `g = gcd(per_ns, rate)`, `scale = rate / g` and one turn
//! `interval = per_ns / g` units, a whole number. Every quantity below is an
//! integer number of units, and the arithmetic is exact.
//!
//! # The word
//!
//! The word holds the TAT: the moment the bucket will be full again, in
//! units since the limiter's clock origin, modulo 2^64. A call at `now`
//! looks at `ahead = TAT − now` (0 when the TAT is past: the bucket is
//! full). Taking a turn moves the TAT to `now + ahead + interval`; the call
//! is admitted at once when that is at most `capacity = burst × interval`
//! ahead of `now`, otherwise its turn comes `wait = ahead + interval −
//! capacity` later. A call whose `wait` is beyond its limit changes nothing
//! (it is rejected, and `wait` is its `retry_after`).
//!
//! Why that is the bound: each admission moves the TAT by at least one
//! `interval` and leaves it at most `capacity` past its turn. So `n` turns
//! taken in `[s, s + t]` leave the TAT at least `s + n × interval` and at
//! most `s + t + capacity`: `n ≤ burst + t / interval = burst + rate × t /
//! per`, and `n` is whole. This holds in the order the compare-and-swaps
//! land, whatever the order of the clock readings.
//!
//! # Range
//!
//! Units since the origin wrap at 2^64 (after `2^64 / scale` ns: 584 years
//! when `rate` divides `per` in nanoseconds, 195 years for 3 per second),
//! and the arithmetic wraps with them: only differences are read. A TAT may
//! legitimately be ahead of `now` by at most the *horizon*, `capacity +
//! max_wait` (a waiter's reservation), so a difference above the horizon is
//! read as a TAT in the past. The builder requires the horizon to be at most
//! 2^62 units ([`MAX_HORIZON`]; 146 years when `scale` is 1), so nothing
//! overflows. One case is read wrongly: a limiter left idle for a time within
//! `horizon` units below a multiple of 2^64 units sees its old TAT as being
//! ahead; it then admits *fewer* calls (never more) until that reading
//! passes, at most the horizon later.
//!
//! # Memory ordering
//!
//! The reading of `ahead` relies on this: the clock reading that produced a
//! TAT is not later than the clock reading that looks at it. So a call loads
//! the word (`Acquire`), and only then reads the clock; a TAT is written with
//! `Release` (in an `AcqRel` compare-and-swap), so the writer's clock reading
//! happens before the reader's, and a monotonic clock returns a later (or
//! equal) time for the latter. A failed compare-and-swap returns a TAT
//! written by a caller whose clock reading may be later than ours, so the
//! clock is read again before the next try (the only case where a call reads
//! it twice). The word guards no other data.

use core::sync::atomic::Ordering;

use crate::sync::AtomicWord;

/// The largest horizon, `burst × interval + max_wait` in scaled units: a
/// quarter of the word's range, so that sums stay below 2^63 and a TAT in
/// the past is told from one ahead.
pub(super) const MAX_HORIZON: u64 = 1 << 62;

/// A limiter's settings, in scaled units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Gcra {
    /// Units per nanosecond: `rate / gcd(per_ns, rate)`.
    scale: u64,
    /// One turn: `per_ns / gcd(per_ns, rate)` units.
    interval: u64,
    /// `burst × interval`: how far ahead of `now` an admission may leave the TAT.
    capacity: u64,
    /// The longest wait for a turn (`max_wait`), in units.
    max_wait: u64,
}

/// What a call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Admitted at once; the word was moved to `reserved`.
    Now { reserved: u64 },
    /// A turn was reserved `wait` units from now (`0 < wait ≤` the limit);
    /// the word was moved to `reserved`.
    Wait { wait: u64, reserved: u64 },
    /// Not admitted: the next free turn is `wait` units from now (more than
    /// the limit). The word is unchanged.
    Rejected { wait: u64 },
}

impl Gcra {
    /// The settings of `rate` calls per `per_ns` nanoseconds, `burst` back to
    /// back, waiting up to `max_wait_ns`.
    ///
    /// # Panics
    ///
    /// If `rate`, `burst` or `per_ns` is 0, or the horizon exceeds
    /// [`MAX_HORIZON`].
    #[cfg(test)]
    pub(super) const fn new(rate: u32, per_ns: u64, burst: u32, max_wait_ns: u64) -> Gcra {
        assert!(rate >= 1, "rate limiter: `rate` must be at least 1");
        assert!(burst >= 1, "rate limiter: `burst` must be at least 1");
        assert!(per_ns >= 1, "rate limiter: `per` must be longer than 0");
        match Gcra::checked(rate, per_ns, burst, max_wait_ns) {
            Some(gcra) => gcra,
            None => panic!("rate limiter: the horizon is too long to count exactly"),
        }
    }

    /// The settings of `rate` calls per `per_ns` nanoseconds, `burst` back to
    /// back, waiting up to `max_wait_ns`; `None` if the horizon exceeds
    /// [`MAX_HORIZON`]. `rate`, `burst` and `per_ns` must be at least 1.
    pub(super) const fn checked(
        rate: u32,
        per_ns: u64,
        burst: u32,
        max_wait_ns: u64,
    ) -> Option<Gcra> {
        let g = gcd(per_ns, rate as u64);
        let scale = rate as u64 / g;
        let interval = per_ns / g;
        let capacity = burst as u128 * interval as u128;
        let max_wait = max_wait_ns as u128 * scale as u128;
        if capacity + max_wait > MAX_HORIZON as u128 {
            return None;
        }
        Some(Gcra {
            scale,
            interval,
            capacity: capacity as u64,
            max_wait: max_wait as u64,
        })
    }

    /// `ns` nanoseconds since the origin, in units (modulo 2^64).
    #[inline]
    pub(super) const fn scaled(&self, ns: u64) -> u64 {
        ns.wrapping_mul(self.scale)
    }

    /// `units` as nanoseconds, rounded up (a turn is never announced early).
    #[inline]
    pub(super) const fn nanos_ceil(&self, units: u64) -> u64 {
        units.div_ceil(self.scale)
    }

    /// The longest wait, in units.
    #[inline]
    pub(super) const fn max_wait(&self) -> u64 {
        self.max_wait
    }

    /// How far `tat` is ahead of `now`: 0 when it is past (a difference
    /// beyond the horizon is a past TAT, seen modulo 2^64).
    #[inline]
    const fn ahead(&self, tat: u64, now: u64) -> u64 {
        let ahead = tat.wrapping_sub(now);
        if ahead > self.capacity + self.max_wait {
            0
        } else {
            ahead
        }
    }

    /// Takes a turn on `word`, waiting at most `wait_limit` units (at most
    /// [`max_wait`](Gcra::max_wait)). `now` reads the clock, in units; it is
    /// called after the word is loaded, and again after each lost race.
    #[inline]
    pub(super) fn admit<W: AtomicWord>(
        &self,
        word: &W,
        mut now: impl FnMut() -> u64,
        wait_limit: u64,
    ) -> Decision {
        let mut tat = word.load(Ordering::Acquire);
        loop {
            let now = now();
            // At most 2^62 + 2^62: no overflow.
            let reserved_ahead = self.ahead(tat, now) + self.interval;
            let wait = reserved_ahead.saturating_sub(self.capacity);
            if wait > wait_limit {
                return Decision::Rejected { wait };
            }
            let reserved = now.wrapping_add(reserved_ahead);
            match word.compare_exchange_weak(tat, reserved, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) if wait == 0 => return Decision::Now { reserved },
                Ok(_) => return Decision::Wait { wait, reserved },
                Err(actual) => tat = actual,
            }
        }
    }

    /// Gives back the turn whose reservation moved the word to `reserved`,
    /// if it is still the last one taken (the word still holds `reserved`):
    /// the word goes back one interval, as if the reservation had not been
    /// made. Later reservations keep their turns, so a turn with others
    /// behind it is not given back. `true` if it was.
    ///
    /// A reservation that waits always started from a TAT ahead of its clock
    /// reading (`wait > 0` needs `ahead > 0`), so the word held exactly
    /// `reserved − interval` before it. The word only moves forward, except
    /// for give-backs of the last reservation, so it cannot hold `reserved`
    /// again while a later reservation stands.
    pub(super) fn give_back<W: AtomicWord>(&self, word: &W, reserved: u64) -> bool {
        let previous = reserved.wrapping_sub(self.interval);
        loop {
            match word.compare_exchange_weak(
                reserved,
                previous,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                // A weak compare-and-swap may fail spuriously.
                Err(actual) if actual == reserved => {}
                Err(_) => return false,
            }
        }
    }

    /// Calls admitted at once if they came now, with the word at `tat`.
    #[inline]
    pub(super) const fn available(&self, tat: u64, now: u64) -> u64 {
        let ahead = self.ahead(tat, now);
        if ahead >= self.capacity {
            0
        } else {
            (self.capacity - ahead) / self.interval
        }
    }

    /// Whether the bucket is full: no turn taken is still ahead of `now`.
    #[inline]
    pub(super) const fn is_full(&self, tat: u64, now: u64) -> bool {
        self.ahead(tat, now) == 0
    }
}

/// The greatest common divisor (Euclid).
const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicU64;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn gcd_and_scale() {
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(7, 0), 7);
        let three = Gcra::new(3, SECOND, 3, 0);
        assert_eq!((three.scale, three.interval), (3, SECOND));
        let thousand = Gcra::new(1000, SECOND, 1, 0);
        assert_eq!((thousand.scale, thousand.interval), (1, 1_000_000));
    }

    #[test]
    fn nanos_round_up() {
        let three = Gcra::new(3, SECOND, 1, 0);
        // One turn: 333,333,333⅓ ns, announced at 333,333,334.
        assert_eq!(three.nanos_ceil(three.interval), 333_333_334);
        assert_eq!(three.nanos_ceil(3 * three.interval), SECOND);
    }

    #[test]
    fn a_past_tat_far_behind_is_full_across_the_wrap() {
        let g = Gcra::new(10, SECOND, 10, 0);
        // Written just before the units wrapped at 2^64, read just after.
        let tat = u64::MAX - 5;
        assert_eq!(g.available(tat, 10), 10);
        assert!(g.is_full(tat, 10));
        // A TAT just ahead across the wrap is read as ahead.
        let tat = 2 * g.interval - 1;
        assert_eq!(g.available(tat, u64::MAX), 8);
    }

    /// The documented misreading: a TAT left 2^64 units minus a little
    /// behind (a limiter idle for `2^64 / scale` ns, give or take less than
    /// the horizon) reads as that little ahead, so the limiter admits fewer
    /// calls for that long, never more.
    #[test]
    fn an_idle_time_just_under_the_wrap_reads_as_a_turn_ahead_and_admits_less() {
        let g = Gcra::new(10, SECOND, 10, 0);
        let now = 1 << 40;
        // Truly 2^64 − interval units in the past.
        let tat = now + g.interval;
        assert_eq!(g.available(tat, now), 9);
        let word = AtomicU64::new(tat);
        let admitted = (0..20)
            .take_while(|_| matches!(g.admit(&word, || now, 0), Decision::Now { .. }))
            .count();
        assert_eq!(admitted, 9, "one fewer than the burst, not more");
        assert!(g.is_full(tat, now + g.interval));
    }

    #[test]
    fn admission_sums_stay_in_range_at_the_largest_horizon() {
        // capacity = MAX_HORIZON exactly: four turns of 2^60 units.
        let g = Gcra::new(1, 1 << 60, 4, 0);
        assert_eq!(g.capacity, MAX_HORIZON);
        let word = AtomicU64::new(u64::MAX - 1);
        let mut admitted = 0;
        while let Decision::Now { .. } = g.admit(&word, || u64::MAX - 1, 0) {
            admitted += 1;
        }
        assert_eq!(admitted, 4);
        assert_eq!(
            g.admit(&word, || u64::MAX - 1, 0),
            Decision::Rejected { wait: 1 << 60 }
        );
    }

    #[test]
    #[should_panic(expected = "too long to count exactly")]
    fn a_horizon_beyond_the_range_is_refused() {
        let _ = Gcra::new(3, SECOND, u32::MAX, u64::MAX / 2);
    }
}
