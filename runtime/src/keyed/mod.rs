//! One policy state per key: [`Keyed`], behind `key = EXPR` on
//! `#[circuit_breaker]`, `#[bulkhead]` and `#[rate_limit]`.
//!
//! A `Keyed<P>` keeps, for each distinct key value, an independent `P` (a
//! [`CircuitBreaker`](crate::CircuitBreaker), a [`Bulkhead`](crate::Bulkhead),
//! …) built from one `const` builder, and hands a call the state of its key
//! ([`Keyed::get`]) for as long as the call holds the returned [`Held`]. Its
//! type does not name the key type, so it lives in a per-function `static`:
//!
//! ```
//! use steadfast_runtime::keyed::{Keyed, Probe};
//! use steadfast_runtime::CircuitBreaker;
//!
//! static PER_HOST: Keyed<CircuitBreaker> =
//!     Keyed::new(CircuitBreaker::builder().name("per-host").window_calls(4), 1024);
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let host = String::from("a.example");
//! let breaker = PER_HOST.get(Probe::debug(host.as_str()));
//! let answer = breaker.run(async { Ok::<_, std::io::Error>(1) }).await;
//! assert_eq!(answer.unwrap(), 1);
//! assert_eq!(PER_HOST.len(), 1);
//! # }
//! ```
//!
//! # Keys
//!
//! A key is any [`Key`]: `Hash + Eq`, stored owned (`ToOwned::Owned`, so a
//! `&str` key is stored as a `String`), type-erased (`dyn Stored`, allocated
//! once, on insert, in the same allocation as the state). A call looks its
//! key up with a borrowed [`Probe`]: a present key costs no allocation. The
//! attributes build the probe with the [`KeyByDeref`]/[`KeyByRef`] adapter
//! (see `key.rs`), which also picks how `health()` describes the key: its
//! `Debug` rendering when its type has `Debug`, else its type's name and a
//! hash of the key.
//!
//! # The map, and the hit path
//!
//! The states live in a `dashmap::DashMap` (sharded `RwLock`s around
//! hashbrown tables), created on first use. A hit hashes the probe (SipHash,
//! `RandomState`: keys come from requests, so the table must resist
//! collision flooding), takes its shard's read lock, clones the state's
//! `Arc` and releases the lock: no allocation, no global lock, no clock
//! read; the writes are the shard's lock word and the state's own reference
//! count. The call's [`Held`] stamps the state with the idle clock when it
//! ends (a relaxed load of a word that only misses write, and a store to the
//! state's own line).
//!
//! # Bounded memory
//!
//! At most `max_keys` states are in the map at any instant, concurrent
//! misses included: a miss reserves a slot before inserting (`evict.rs`).
//! When the map is full, a miss evicts the state idle longest that no call
//! holds, closed breakers before open ones; an evicted key starts afresh
//! when it is seen again. `evict.rs` states the ordering and the cost (an
//! O(`max_keys`) scan per eviction, only for misses on a full map).
//!
//! # Overflow
//!
//! When the map is full and every state in it is held by a call in flight
//! (so `max_keys` calls of distinct keys are running), a new key cannot be
//! stored. Such a call is served by the policy's one **overflow state**,
//! shared by every key in that situation and built on the first overflow: a
//! breaker, bulkhead or limiter as configured, so the calls beyond
//! `max_keys` are still protected, together. Each overflow is counted
//! (`health()`'s `overflows`) and reported with a `tracing` warning (target
//! `steadfast::keyed`, message `keyed policy is full of calls in flight: a
//! key is served by the shared overflow state`, fields `policy`,
//! `overflows`, `max_keys`) at the 1st, 2nd, 4th, 8th, … overflow, so a
//! flood does not flood the log. Memory stays bounded: `max_keys` states plus
//! one.
//!
//! # Names and health
//!
//! Every state carries the policy's name (its builder's). The states are not
//! registered one by one (no duplicate-name warning between them): the
//! `Keyed` is, as one policy, with [`register_keyed!`](crate::register_keyed)
//! at startup or on its first miss, and `health()` lists it under `keyed`
//! with its kind, key count, `max_keys`, overflows and every key whose
//! breaker is not closed ([`KeyedHealth`]).
//!
//! # Overrides
//!
//! [`config::apply`](crate::config::apply) reaches a `Keyed` by its name:
//! it checks and changes a template state built on the first override
//! (never used for calls), then every stored state adopts the template's
//! running settings, and each new state adopts all of them before its
//! first call (see `adopt_new` for why no state stored meanwhile misses
//! one). A state's startup settings (a bulkhead's limits, a limiter's) are
//! its own once it has been used, so they reach keys first seen after the
//! override.

mod evict;
mod key;
mod policy;
mod report;

use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::collections::hash_map::RandomState;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use dashmap::DashMap;

pub use key::{Key, KeyByDeref, KeyByRef, Probe};
pub use policy::KeyedPolicy;
pub use report::{KeyedAtStartup, KeyedHealth, NotClosed};
pub(crate) use report::{named, names, reset_all, snapshot as report_snapshot};

use crate::registry::Registration;
use key::{Lookup, Overflow, Owned, Stored};

/// One `P` per key, at most `max_keys` of them (see the [module docs](self)).
/// Build it in `const` context with [`Keyed::new`].
pub struct Keyed<P: KeyedPolicy> {
    builder: P::Builder,
    max_keys: u32,
    /// The states, created on first use.
    map: OnceLock<Map<P>>,
    /// Entries plus inserts under way; at most `max_keys` (`evict.rs`).
    reserved: AtomicU64,
    /// The idle clock: misses so far.
    misses: AtomicU64,
    /// Misses on a full map evict one at a time.
    evicting: Mutex<()>,
    /// The state shared by keys that could not be stored.
    overflow: OnceLock<Arc<Slot<P>>>,
    /// Calls served by it.
    overflows: AtomicU64,
    /// Whether the `Keyed` is in the registry that `health()` reads.
    registered: Registration,
    /// A state never used for calls, built on the first override: it holds
    /// the [overridden](crate::config) settings that every state adopts.
    template: OnceLock<P>,
    /// Whether an override was applied (`SeqCst`: see `adopt_new`).
    overridden: AtomicBool,
}

/// The map: each key is its entry's state (which holds the key).
type Map<P> = DashMap<Entry<P>, (), RandomState>;

/// A state, its idle stamp and its key, in one allocation (the key last, so
/// that a `Slot<P, Owned<O>>` coerces to the type-erased `Slot<P>`).
struct Slot<P, K: ?Sized = dyn Stored> {
    policy: P,
    /// The idle clock when it was inserted or a call holding it last ended.
    last_used: AtomicU64,
    key: K,
}

/// A map entry: a state, hashed and compared by its key.
struct Entry<P>(Arc<Slot<P>>);

impl<P> Hash for Entry<P> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.key.hash_key(state);
    }
}

impl<P> PartialEq for Entry<P> {
    fn eq(&self, other: &Self) -> bool {
        other
            .0
            .key
            .stored()
            .is_some_and(|stored| self.0.key.matches(stored))
    }
}

impl<P> Eq for Entry<P> {}

impl<'a, P> core::borrow::Borrow<dyn Lookup + 'a> for Entry<P> {
    #[inline]
    fn borrow(&self) -> &(dyn Lookup + 'a) {
        &self.0.key
    }
}

impl<P: KeyedPolicy> Keyed<P> {
    /// The default `max_keys` (the attributes' `max_keys = N`).
    pub const DEFAULT_MAX_KEYS: u32 = 1024;

    /// Keeps one state per key, each built from `builder`, at most
    /// `max_keys` at once ([`DEFAULT_MAX_KEYS`](Keyed::DEFAULT_MAX_KEYS) for
    /// the attributes' default).
    ///
    /// `builder` is built for each new key, not here (a generic `const fn`
    /// cannot call it): to have a setting its `build` refuses refused at
    /// compile time, build it once in `const` context next to the `static`,
    /// as the attributes do:
    ///
    /// ```
    /// use steadfast_runtime::keyed::Keyed;
    /// use steadfast_runtime::CircuitBreaker;
    /// use steadfast_runtime::circuit_breaker::CircuitBreakerBuilder;
    ///
    /// const PER_HOST_CONFIG: CircuitBreakerBuilder = CircuitBreaker::builder().min_calls(5);
    /// const _: () = core::mem::forget(PER_HOST_CONFIG.build());
    /// static PER_HOST: Keyed<CircuitBreaker> = Keyed::new(PER_HOST_CONFIG, 256);
    /// ```
    ///
    /// # Panics
    ///
    /// If `max_keys` is 0 (a compile error in `const` context).
    #[must_use]
    pub const fn new(builder: P::Builder, max_keys: u32) -> Self {
        assert!(max_keys >= 1, "keyed state: `max_keys` must be at least 1");
        Keyed {
            builder,
            max_keys,
            map: OnceLock::new(),
            reserved: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evicting: Mutex::new(()),
            overflow: OnceLock::new(),
            overflows: AtomicU64::new(0),
            registered: Registration::new(),
            template: OnceLock::new(),
            overridden: AtomicBool::new(false),
        }
    }

    /// The state of `probe`'s key, built (and stored) if the key has none.
    /// The call keeps it alive, and safe from eviction, while it holds the
    /// [`Held`]. A present key is found without allocating.
    #[inline]
    pub fn get<Q: ?Sized + Key>(&'static self, probe: Probe<'_, Q>) -> Held<P> {
        let map = self.map();
        let lookup: &dyn Lookup = &probe;
        if let Some(found) = map.get(lookup) {
            let slot = Arc::clone(&found.key().0);
            drop(found);
            return self.held(slot);
        }
        self.miss(&probe)
    }

    /// Runs `f` on the state of `probe`'s key (built and stored if the key
    /// has none), for a use that ends before `f` returns: a synchronous
    /// admission (`try_acquire`), a look at its state. A present key's state
    /// is used under its shard's read lock, with no reference taken (two
    /// atomic read-modify-writes fewer than [`get`](Keyed::get)), which is
    /// also what keeps it from eviction meanwhile; so `f` must be short, and
    /// must not use this `Keyed` (a shard's lock is not reentrant).
    #[inline]
    pub fn with<Q: ?Sized + Key, R>(
        &'static self,
        probe: Probe<'_, Q>,
        f: impl FnOnce(&P) -> R,
    ) -> R {
        let map = self.map();
        let lookup: &dyn Lookup = &probe;
        if let Some(found) = map.get(lookup) {
            let slot = &found.key().0;
            let result = f(&slot.policy);
            evict::touch(&slot.last_used, &self.misses);
            return result;
        }
        let held = self.miss(&probe);
        f(&held)
    }

    /// The name every state carries (its builder's).
    #[must_use]
    pub fn name(&self) -> &'static str {
        P::name_of(&self.builder).get()
    }

    /// Its `max_keys`.
    #[must_use]
    pub const fn max_keys(&self) -> u32 {
        self.max_keys
    }

    /// Keys with a state now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.get().map_or(0, DashMap::len)
    }

    /// Whether no key has a state.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls served by the overflow state so far (see the [module docs](self)).
    #[must_use]
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }

    /// Adds the `Keyed` to [`health`](crate::health()) (once; its first miss
    /// does it too). [`register_keyed!`](crate::register_keyed) lists it from
    /// startup.
    #[inline]
    pub fn register(&'static self) {
        if !self.registered.is_set() {
            crate::registry::register::<dyn report::Listed>(self);
        }
    }

    /// What [`register_keyed!`](crate::register_keyed) submits.
    #[doc(hidden)]
    pub const fn at_startup(&'static self) -> KeyedAtStartup {
        KeyedAtStartup::new(self)
    }

    fn map(&self) -> &Map<P> {
        self.map.get_or_init(|| {
            // Room for `max_keys` up front (a pointer and a control byte per
            // entry), so that inserts rarely grow a table.
            DashMap::with_capacity_and_hasher(
                self.max_keys.min(1 << 16) as usize,
                RandomState::new(),
            )
        })
    }

    #[inline]
    fn held(&'static self, slot: Arc<Slot<P>>) -> Held<P> {
        Held {
            slot,
            clock: &self.misses,
        }
    }

    /// A key without a state: store one, evicting if the map is full, or
    /// serve the call from the overflow state.
    #[cold]
    #[inline(never)]
    fn miss<Q: ?Sized + Key>(&'static self, probe: &Probe<'_, Q>) -> Held<P> {
        self.register();
        let map = self.map();
        let stamp = self.misses.fetch_add(1, Ordering::Relaxed) + 1;
        let slot: Arc<Slot<P>> = Arc::new(Slot {
            policy: self.build(),
            last_used: AtomicU64::new(stamp),
            key: Owned::of(probe),
        });
        let max = u64::from(self.max_keys);
        if !evict::reserve(&self.reserved, max) {
            let _one_at_a_time = self.evicting.lock().unwrap_or_else(PoisonError::into_inner);
            // Stored meanwhile by a racing miss?
            let lookup: &dyn Lookup = probe;
            if let Some(found) = map.get(lookup) {
                let found = Arc::clone(&found.key().0);
                return self.held(found);
            }
            if !evict::reserve(&self.reserved, max) && !evict::evict_one(map) {
                return self.overflow();
            }
        }
        // A slot is ours: store the state, unless a racing miss stored the
        // key first.
        match map.entry(Entry(Arc::clone(&slot))) {
            dashmap::Entry::Occupied(existing) => {
                let found = Arc::clone(&existing.key().0);
                drop(existing);
                evict::release(&self.reserved);
                self.held(found)
            }
            dashmap::Entry::Vacant(vacant) => {
                let adopted = self.overridden.load(Ordering::SeqCst);
                vacant.insert(());
                self.adopt_new(&slot.policy, adopted);
                self.held(slot)
            }
        }
    }

    /// The overflow state, counted and reported.
    #[cold]
    fn overflow(&'static self) -> Held<P> {
        let overflows = self.overflows.fetch_add(1, Ordering::Relaxed) + 1;
        if overflows.is_power_of_two() {
            tracing::warn!(
                target: "steadfast::keyed",
                policy = self.name(),
                overflows,
                max_keys = self.max_keys,
                "keyed policy is full of calls in flight: a key is served by the shared overflow state"
            );
        }
        let slot = self.overflow.get_or_init(|| {
            let slot = Arc::new(Slot {
                policy: self.build(),
                last_used: AtomicU64::new(0),
                key: Overflow,
            });
            self.adopt_new(&slot.policy, true);
            slot
        });
        self.held(Arc::clone(slot))
    }

    /// A fresh state: built, with any overrides adopted.
    fn build(&self) -> P {
        let policy = P::build_from(&self.builder);
        if self.overridden.load(Ordering::SeqCst)
            && let Some(template) = self.template.get()
        {
            policy.adopt(template, true);
        }
        policy
    }

    /// A state just stored, built when `adopted` said whether an override
    /// was in: if one came since, adopt it now (as running settings).
    ///
    /// Ordering: [`overridden`](Self::overridden) sets the flag
    /// (`SeqCst`), then visits the stored states under the map's shard
    /// locks; a miss stores its state under its shard's lock, then loads
    /// `overridden` (`SeqCst`). Either the visit finds the state, or the
    /// load sees the flag: no stored state misses an override.
    fn adopt_new(&self, policy: &P, adopted: bool) {
        if !adopted
            && self.overridden.load(Ordering::SeqCst)
            && let Some(template) = self.template.get()
        {
            policy.adopt(template, false);
        }
    }

    /// The state that holds the overridden settings, for
    /// [`config::apply`](crate::config::apply) to check and change like a
    /// named policy's.
    pub(crate) fn template(&'static self) -> &'static P {
        self.template.get_or_init(|| P::build_from(&self.builder))
    }

    /// After the template was changed: every state adopts its settings
    /// (stored states as running settings; new ones from their start).
    pub(crate) fn overridden(&'static self) {
        let template = self.template();
        self.overridden.store(true, Ordering::SeqCst);
        self.each(|_, policy| {
            policy.adopt(template, false);
            None::<()>
        });
    }

    /// The states, for `health()` and tests: each key (described) with what
    /// `f` reads from its state.
    fn each<R>(&self, mut f: impl FnMut(&dyn Stored, &P) -> Option<R>) -> Vec<R> {
        let mut found = Vec::new();
        if let Some(map) = self.map.get() {
            for entry in map.iter() {
                let slot = &entry.key().0;
                found.extend(f(&slot.key, &slot.policy));
            }
        }
        if let Some(slot) = self.overflow.get() {
            found.extend(f(&slot.key, &slot.policy));
        }
        found
    }
}

impl<P: KeyedPolicy> fmt::Debug for Keyed<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyed")
            .field("kind", &P::KIND)
            .field("builder", &self.builder)
            .field("keys", &self.len())
            .field("max_keys", &self.max_keys)
            .field("overflows", &self.overflows())
            .finish_non_exhaustive()
    }
}

/// A key's state, held by a call: it derefs to the policy, and keeps the
/// state in the map (never evicted) until dropped. `Send + Sync`, so a call's
/// future that holds it stays `Send`.
pub struct Held<P: KeyedPolicy> {
    slot: Arc<Slot<P>>,
    clock: &'static AtomicU64,
}

impl<P: KeyedPolicy> Deref for Held<P> {
    type Target = P;

    #[inline]
    fn deref(&self) -> &P {
        &self.slot.policy
    }
}

impl<P: KeyedPolicy> Drop for Held<P> {
    #[inline]
    fn drop(&mut self) {
        // The idle stamp: when the state's last call ended.
        evict::touch(&self.slot.last_used, self.clock);
    }
}

impl<P: KeyedPolicy + fmt::Debug> fmt::Debug for Held<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held")
            .field("key", &key::Described(&self.slot.key).to_string())
            .field("policy", &self.slot.policy)
            .finish()
    }
}

impl<P: KeyedPolicy> Held<P> {
    /// Whether `a` and `b` hold the same state (the same key, not evicted in
    /// between).
    #[must_use]
    pub fn same(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.slot, &b.slot)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model;

#[cfg(test)]
mod loom;
