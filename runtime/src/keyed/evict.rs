//! Keeping the map within `max_keys`: slot reservations, and evicting the
//! state idle longest.
//!
//! # Reservations
//!
//! `reserved` counts the map's entries plus the inserts under way, and never
//! exceeds `max_keys`: a miss takes a slot with a compare-and-swap that fails
//! at `max_keys` ([`reserve`]) *before* it inserts, so concurrent misses
//! cannot overshoot. A miss that finds its key already inserted by a racing
//! miss gives its slot back ([`release`]). An eviction hands the evicted
//! entry's slot straight to the miss that evicted it: the count does not
//! dip, so no other miss can take that slot in between. Hence `map.len() ≤
//! reserved ≤ max_keys` at every instant. `Relaxed` suffices: the count is
//! one location whose read-modify-writes are totally ordered; it publishes
//! nothing (the map's locks publish the entries).
//!
//! # Which state goes
//!
//! A state is evictable when no call holds it and its policy is not
//! [`busy`](super::KeyedPolicy::busy). No call holds it when the map's
//! `Arc` is its only strong reference ([`unheld`]): a call's
//! [`Held`](super::Held) is a clone made under the shard's read lock, and
//! the removal checks the count under the shard's write lock (dashmap's
//! `remove_if`), so no clone can be made between the check and the removal,
//! and a clone made before is counted. (A `Held` dropped meanwhile can only
//! make the count stale high: the state is then kept, never lost.) `loom.rs`
//! checks this protocol.
//!
//! Among evictable states the one evicted is the least by `(keep, stamp)`:
//! states that are not [`kept`](super::KeyedPolicy::keep) (closed breakers)
//! before kept ones (open or half-open breakers), then the oldest stamp.
//!
//! # Idle ordering
//!
//! The idle clock (`Keyed::misses`) ticks on each miss and on each use that
//! ends on a state other than the one stamped last ([`touch`]); every tick
//! is a fresh value of one `fetch_add`, so stamps are unique and ordered as
//! the uses that took them: the state whose last call ended longest ago has
//! the smallest stamp, and is evicted first (least recently used, exactly).
//! A run of calls on the state stamped last takes no tick (a relaxed load of
//! the clock and of the stamp), so a hot key writes no shared line; calls
//! that alternate between keys take one uncontended-or-shared `fetch_add`
//! each, the price of an exact order. (Stamps are `Relaxed`: a stale one can
//! only misorder two uses that raced, never evict a held state.)
//!
//! # Cost
//!
//! Only a miss on a full map evicts: it takes the `Keyed`'s eviction mutex
//! (misses on a full map evict one at a time), scans every entry once under
//! each shard's read lock (O(`max_keys`): about 5 ns an entry, so ~5 µs at
//! the default 1024), then removes the one found under its shard's write
//! lock. If that state was picked up by a call meanwhile, it scans again, at
//! most [`SCANS`] times, then serves the call from the overflow state.

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::key::Lookup;
use super::{KeyedPolicy, Map, Slot};
use crate::sync::AtomicWord;

/// Scans a miss makes before it gives up evicting.
pub(super) const SCANS: usize = 4;

/// Takes a slot if fewer than `max` are taken.
#[inline]
pub(super) fn reserve<W: AtomicWord>(reserved: &W, max: u64) -> bool {
    let mut current = reserved.load(Ordering::Relaxed);
    loop {
        if current >= max {
            return false;
        }
        match reserved.compare_exchange_weak(
            current,
            current + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return true,
            Err(now) => current = now,
        }
    }
}

/// Gives a slot back.
#[inline]
pub(super) fn release<W: AtomicWord>(reserved: &W) {
    reserved.fetch_sub(1, Ordering::Relaxed);
}

/// Whether a state whose `Arc` has `strong` references is held by no call:
/// the map holds one, and the evictor `extra` (0 or 1).
#[inline]
pub(super) fn unheld(strong: usize, extra: usize) -> bool {
    strong == 1 + extra
}

/// Evicts one state; `true` if one went (its slot is now the caller's).
/// The caller holds the eviction mutex.
pub(super) fn evict_one<P: KeyedPolicy>(map: &Map<P>) -> bool {
    for _ in 0..SCANS {
        let Some(candidate) = oldest(map) else {
            return false;
        };
        let key: &dyn Lookup = &candidate.key;
        let removed = map.remove_if(key, |entry, ()| {
            // Under the shard's write lock: no call can pick it up now.
            Arc::ptr_eq(&entry.0, &candidate)
                && unheld(Arc::strong_count(&entry.0), 1)
                && !entry.0.policy.busy()
        });
        if removed.is_some() {
            return true;
        }
    }
    false
}

/// Eviction order, least first: not kept before kept, then the idle stamp.
type Rank = (bool, u64);

/// The evictable state to evict first, if any (a clone of its `Arc`).
fn oldest<P: KeyedPolicy>(map: &Map<P>) -> Option<Arc<Slot<P>>> {
    let mut best: Option<(Rank, Arc<Slot<P>>)> = None;
    for entry in map.iter() {
        let slot = &entry.key().0;
        if !unheld(Arc::strong_count(slot), 0) || slot.policy.busy() {
            continue;
        }
        let rank = (slot.policy.keep(), slot.last_used.load(Ordering::Relaxed));
        if best.as_ref().is_none_or(|(least, _)| rank < *least) {
            best = Some((rank, Arc::clone(slot)));
        }
    }
    best.map(|(_, slot)| slot)
}

/// Stamps a state as used now: the idle clock's current tick if the state
/// already holds it (it was the last one stamped), else a fresh tick.
#[inline]
pub(super) fn touch(last_used: &AtomicU64, clock: &AtomicU64) {
    let now = clock.load(Ordering::Relaxed);
    if last_used.load(Ordering::Relaxed) != now {
        last_used.store(clock.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}
