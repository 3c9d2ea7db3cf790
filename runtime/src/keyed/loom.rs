//! Loom model of eviction racing calls in flight: the protocol of `mod.rs`
//! (`Keyed::get`, `Keyed::miss`) and `evict.rs`, with loom's `RwLock` standing
//! in for a dashmap shard (a hit clones the state's `Arc` under the read
//! lock; an eviction checks the count and removes under the write lock, as
//! `remove_if` does), loom's `Arc` for the states (so loom sees their
//! reference counts change), and the slot reservations of `evict.rs` on
//! loom's atomic, through the very functions production runs (`reserve`,
//! `release`, `unheld`).
//!
//! Checked in every interleaving (within the preemption bound):
//!
//! - a state held by a call stays in the map, the same object, until the
//!   call drops it (eviction never removes a state in flight);
//! - the map never holds more than `max_keys` states, and when all calls
//!   are done the reservations equal the entries.
//!
//! An ordinary test: `cargo test -p steadfast-runtime keyed::loom -- --nocapture`.

use ::loom::sync::atomic::AtomicU64;
use ::loom::sync::{Arc as LoomArc, Mutex, RwLock};
use ::loom::thread;
use core::sync::atomic::Ordering;
use std::sync::Arc;

use super::evict::{SCANS, release, reserve, unheld};
use crate::sync::model::check;

/// A state: its key.
struct Slot {
    key: u32,
}

/// One shard of the map, the reservations and the eviction mutex.
struct Model {
    max_keys: u64,
    shard: RwLock<Vec<LoomArc<Slot>>>,
    reserved: AtomicU64,
    evicting: Mutex<()>,
}

impl Model {
    fn new(max_keys: u64) -> Arc<Model> {
        Arc::new(Model {
            max_keys,
            shard: RwLock::new(Vec::new()),
            reserved: AtomicU64::new(0),
            evicting: Mutex::new(()),
        })
    }

    /// The hit path: a clone under the read lock.
    fn lookup(&self, key: u32) -> Option<LoomArc<Slot>> {
        let shard = self.shard.read().unwrap();
        shard.iter().find(|slot| slot.key == key).cloned()
    }

    /// `Keyed::get`: the held state, or `None` for the overflow state.
    fn get(&self, key: u32) -> Option<LoomArc<Slot>> {
        if let Some(found) = self.lookup(key) {
            return Some(found);
        }
        let slot = LoomArc::new(Slot { key });
        if !reserve(&self.reserved, self.max_keys) {
            let _one_at_a_time = self.evicting.lock().unwrap();
            if let Some(found) = self.lookup(key) {
                return Some(found);
            }
            if !reserve(&self.reserved, self.max_keys) && !self.evict_one() {
                return None;
            }
        }
        let mut shard = self.shard.write().unwrap();
        if let Some(existing) = shard.iter().find(|slot| slot.key == key) {
            let existing = LoomArc::clone(existing);
            drop(shard);
            release(&self.reserved);
            return Some(existing);
        }
        shard.push(LoomArc::clone(&slot));
        assert!(shard.len() as u64 <= self.max_keys, "max_keys exceeded");
        Some(slot)
    }

    /// `evict::evict_one`: scan under the read lock, remove under the write
    /// lock if still unheld.
    fn evict_one(&self) -> bool {
        for _ in 0..SCANS {
            let candidate = {
                let shard = self.shard.read().unwrap();
                shard
                    .iter()
                    .find(|slot| unheld(LoomArc::strong_count(slot), 0))
                    .cloned()
            };
            let Some(candidate) = candidate else {
                return false;
            };
            let mut shard = self.shard.write().unwrap();
            let at = shard.iter().position(|slot| {
                LoomArc::ptr_eq(slot, &candidate) && unheld(LoomArc::strong_count(slot), 1)
            });
            if let Some(at) = at {
                shard.swap_remove(at);
                return true;
            }
        }
        false
    }

    /// Whether `held` is the map's state for its key.
    fn stored(&self, held: &LoomArc<Slot>) -> bool {
        let shard = self.shard.read().unwrap();
        shard.iter().any(|slot| LoomArc::ptr_eq(slot, held))
    }

    /// A call on `key`: get, then, while holding, check the state is still
    /// the map's; then drop it.
    fn call(&self, key: u32) {
        if let Some(held) = self.get(key) {
            thread::yield_now();
            assert!(self.stored(&held), "a state in flight was evicted");
        }
    }

    fn settled(&self) {
        let entries = self.shard.read().unwrap().len() as u64;
        assert!(entries <= self.max_keys);
        assert_eq!(self.reserved.load(Ordering::Relaxed), entries);
    }
}

#[test]
fn loom_eviction_never_removes_a_state_in_flight() {
    check(
        "keyed: two calls of one key against a miss that evicts, max_keys 1",
        Some(2),
        || {
            let model = Model::new(1);
            let threads: Vec<_> = [2, 1]
                .into_iter()
                .map(|key| {
                    let model = Arc::clone(&model);
                    thread::spawn(move || model.call(key))
                })
                .collect();
            model.call(1);
            for thread in threads {
                thread.join().unwrap();
            }
            model.settled();
        },
    );
}

#[test]
fn loom_racing_misses_stay_within_max_keys() {
    check(
        "keyed: three misses, two of one key, max_keys 2",
        Some(2),
        || {
            let model = Model::new(2);
            let threads: Vec<_> = [1, 1, 2]
                .into_iter()
                .map(|key| {
                    let model = Arc::clone(&model);
                    thread::spawn(move || model.call(key))
                })
                .collect();
            model.call(3);
            for thread in threads {
                thread.join().unwrap();
            }
            model.settled();
        },
    );
}
