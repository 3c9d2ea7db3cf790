//! The two primitives the lock-free protocols are written against, as traits:
//! a 64-bit atomic word and a lock. Production code instantiates them with
//! `core::sync::atomic::AtomicU64` and `std::sync::Mutex` only, each method
//! being the inherent one, inlined: the same machine code as calling the
//! types directly. Tests instantiate them with `loom`'s types, so that the
//! model checks explore the interleavings of the very functions that run in
//! production (`circuit_breaker/state.rs`, `bulkhead/slots.rs`,
//! `shutdown/track.rs`, `retry/budget/window.rs`) in a plain `cargo test`, without a `--cfg loom`
//! build.

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// A 64-bit atomic word: the operations the protocols use, with the
/// semantics of `AtomicU64`'s methods of the same names.
pub(crate) trait AtomicWord {
    fn load(&self, order: Ordering) -> u64;

    fn compare_exchange_weak(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64>;

    fn fetch_sub(&self, value: u64, order: Ordering) -> u64;

    fn fetch_add(&self, value: u64, order: Ordering) -> u64;

    fn fetch_or(&self, value: u64, order: Ordering) -> u64;

    fn fetch_max(&self, value: u64, order: Ordering) -> u64;

    fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64>;

    /// The memory fence of the same family as the word (`core`'s, or
    /// loom's, which loom's model checks need to see).
    fn fence(order: Ordering)
    where
        Self: Sized;
}

/// Implements [`AtomicWord`] for an `AtomicU64`-like type with its inherent
/// methods of the same names, and `$fence` as its fence.
macro_rules! atomic_word {
    ($word:ty, $fence:path) => {
        impl AtomicWord for $word {
            #[inline(always)]
            fn load(&self, order: Ordering) -> u64 {
                <$word>::load(self, order)
            }

            #[inline(always)]
            fn compare_exchange_weak(
                &self,
                current: u64,
                new: u64,
                success: Ordering,
                failure: Ordering,
            ) -> Result<u64, u64> {
                <$word>::compare_exchange_weak(self, current, new, success, failure)
            }

            #[inline(always)]
            fn fetch_sub(&self, value: u64, order: Ordering) -> u64 {
                <$word>::fetch_sub(self, value, order)
            }

            #[inline(always)]
            fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
                <$word>::fetch_add(self, value, order)
            }

            #[inline(always)]
            fn fetch_or(&self, value: u64, order: Ordering) -> u64 {
                <$word>::fetch_or(self, value, order)
            }

            #[inline(always)]
            fn fetch_max(&self, value: u64, order: Ordering) -> u64 {
                <$word>::fetch_max(self, value, order)
            }

            #[inline(always)]
            fn compare_exchange(
                &self,
                current: u64,
                new: u64,
                success: Ordering,
                failure: Ordering,
            ) -> Result<u64, u64> {
                <$word>::compare_exchange(self, current, new, success, failure)
            }

            #[inline(always)]
            fn fence(order: Ordering) {
                $fence(order);
            }
        }
    };
}

atomic_word!(AtomicU64, core::sync::atomic::fence);

/// A mutual-exclusion lock around a `T`.
pub(crate) trait Lock<T> {
    /// Runs `f` with the lock held; the lock is released when `f` returns.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

impl<T> Lock<T> for Mutex<T> {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // The protected data's invariants hold between statements (every
        // user keeps them so): a panic elsewhere while the lock was held
        // cannot have broken them.
        f(&mut self.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The `loom` instances, and the harness the model checks share.
#[cfg(test)]
pub(crate) mod model {
    use core::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    use super::{AtomicWord, Lock};

    atomic_word!(loom::sync::atomic::AtomicU64, loom::sync::atomic::fence);

    impl<T> Lock<T> for loom::sync::Mutex<T> {
        fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
            f(&mut self.lock().expect("no model thread panics holding a lock"))
        }
    }

    /// Runs `model` under every interleaving of its threads that loom tells
    /// apart: all of them with `preemptions` of `None`, else those with at
    /// most that many preemptions per execution (`LOOM_MAX_PREEMPTIONS`
    /// overrides it). Prints how many executions it ran and how long that
    /// took (shown with `--nocapture`).
    pub(crate) fn check(
        name: &str,
        preemptions: Option<usize>,
        model: impl Fn() + Sync + Send + 'static,
    ) {
        let mut builder = loom::model::Builder::new();
        if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
            builder.preemption_bound = preemptions;
        }
        let runs = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        builder.check({
            let runs = Arc::clone(&runs);
            move || {
                runs.fetch_add(1, Ordering::Relaxed);
                model();
            }
        });
        println!(
            "{name}: {} interleavings (preemption bound: {:?}) in {:.2?}",
            runs.load(Ordering::Relaxed),
            builder.preemption_bound,
            started.elapsed()
        );
    }
}
