//! The process-wide lists of circuit breakers, bulkheads, rate limiters and
//! retry budgets that [`health`](crate::health()) reads.
//!
//! A policy joins its kind's list in one of two ways:
//!
//! - **at startup**: the attributes' per-function `static`s are submitted with
//!   [`register_breaker!`](crate::register_breaker),
//!   [`register_bulkhead!`](crate::register_bulkhead) and
//!   [`register_rate_limiter!`](crate::register_rate_limiter), and any
//!   `static` retry budget with
//!   [`register_retry_budget!`](crate::register_retry_budget) (an
//!   `inventory` submission, collected before `main`); they are moved into
//!   the list the first time anything reads or joins it;
//! - **on first use**, for any other `static`: the attributes call
//!   `register()` on each call (one relaxed load once registered), and so can
//!   programmatic users.
//!
//! The module knows nothing of the policies: they implement [`Member`], and
//! each owns its list (`Member::registry`).
//!
//! # Names
//!
//! One name is one policy: a policy that joins a list where another of the
//! same kind already carries its name is reported at once with a `tracing`
//! warning naming it (so at the latest at the second one's first call), and
//! both show `duplicate_name` in `health()`.
//!
//! # Memory ordering
//!
//! Every change to a list, and every claim of a member's [`Registration`]
//! flag, happens under the list's mutex, so a flag is set exactly when its
//! member is in the list (or being put there by the lock's holder). The
//! `Relaxed` load that lets a registered member skip the lock only decides
//! whether to take it.

use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// A kind of policy that has a list.
pub(crate) trait Member: Sync + 'static {
    /// What it is, for the duplicate-name warning.
    const KIND: Kind;

    /// Its name.
    fn name(&self) -> &'static str;

    /// Whether it is in the list.
    fn registration(&self) -> &Registration;

    /// Its kind's list.
    fn registry() -> &'static Registry<Self>;

    /// The members submitted at startup (`inventory`).
    fn at_startup() -> impl Iterator<Item = &'static Self>;
}

/// The kinds of policy with a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    CircuitBreaker,
    Bulkhead,
    RateLimiter,
    Keyed,
    RetryBudget,
}

impl Kind {
    /// The warning for a policy that joins the list under a name already
    /// taken (target, level, message and field are in the operating guide's
    /// catalogue).
    #[cold]
    fn report_duplicate(self, policy: &str) {
        match self {
            Kind::CircuitBreaker => tracing::warn!(
                target: "steadfast::circuit_breaker",
                policy,
                "two circuit breakers share a name"
            ),
            Kind::Bulkhead => tracing::warn!(
                target: "steadfast::bulkhead",
                policy,
                "two bulkheads share a name"
            ),
            Kind::RateLimiter => tracing::warn!(
                target: "steadfast::rate_limit",
                policy,
                "two rate limiters share a name"
            ),
            Kind::RetryBudget => tracing::warn!(
                target: "steadfast::retry",
                policy,
                "two retry budgets share a name"
            ),
            Kind::Keyed => tracing::warn!(
                target: "steadfast::keyed",
                policy,
                "two keyed policies share a name"
            ),
        }
    }
}

/// Whether a policy is in its list: set once, under the list's lock.
#[derive(Debug)]
pub(crate) struct Registration(AtomicBool);

impl Registration {
    pub(crate) const fn new() -> Self {
        Registration(AtomicBool::new(false))
    }

    #[inline]
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the flag; `true` if it was not set (the caller adds the member).
    fn claim(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

/// One kind's list, in registration order.
#[derive(Debug)]
pub(crate) struct Registry<T: ?Sized + 'static>(Mutex<Vec<&'static T>>);

impl<T: Member + ?Sized> Registry<T> {
    pub(crate) const fn new() -> Self {
        Registry(Mutex::new(Vec::new()))
    }
}

/// Runs `f` on `T`'s list, with the startup submissions moved in first, then
/// reports the duplicate names found (outside the lock, so that a subscriber
/// may read `health()`).
fn with_list<T: Member + ?Sized, R>(
    f: impl FnOnce(&mut Vec<&'static T>, &mut Vec<&'static str>) -> R,
) -> R {
    let mut duplicates = Vec::new();
    let result = {
        let mut list = T::registry()
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for member in T::at_startup() {
            add(&mut list, member, &mut duplicates);
        }
        f(&mut list, &mut duplicates)
    };
    for name in duplicates {
        T::KIND.report_duplicate(name);
    }
    result
}

/// Puts `member` in its list, once; later calls are one relaxed load.
#[inline]
pub(crate) fn register<T: Member + ?Sized>(member: &'static T) {
    if !member.registration().is_set() {
        register_slow(member);
    }
}

#[cold]
fn register_slow<T: Member + ?Sized>(member: &'static T) {
    with_list(|list, duplicates| add(list, member, duplicates));
}

/// Adds `member` unless it is already there; a name already taken goes to
/// `duplicates`.
fn add<T: Member + ?Sized>(
    list: &mut Vec<&'static T>,
    member: &'static T,
    duplicates: &mut Vec<&'static str>,
) {
    if !member.registration().claim() {
        return;
    }
    let name = member.name();
    if list.iter().any(|other| other.name() == name) {
        duplicates.push(name);
    }
    list.push(member);
}

/// Every member of `T`'s list, in registration order.
pub(crate) fn members<T: Member + ?Sized>() -> Vec<&'static T> {
    with_list(|list: &mut Vec<&'static T>, _| list.clone())
}

/// Implements [`Member`] for a policy type `$ty` of kind `$kind` that has a
/// `registered: Registration` field and an inherent `name()`, and collects
/// its startup submissions (`AtStartup<$ty>`, from its `register_…!` macro):
/// its list is a `static` of its own.
macro_rules! policy_member {
    ($ty:ident, $kind:expr) => {
        impl $crate::registry::Member for $ty {
            const KIND: $crate::registry::Kind = $kind;

            fn name(&self) -> &'static str {
                $ty::name(self)
            }

            fn registration(&self) -> &$crate::registry::Registration {
                &self.registered
            }

            fn registry() -> &'static $crate::registry::Registry<Self> {
                static LIST: $crate::registry::Registry<$ty> = $crate::registry::Registry::new();
                &LIST
            }

            fn at_startup() -> impl Iterator<Item = &'static Self> {
                inventory::iter::<$crate::registry::AtStartup<Self>>
                    .into_iter()
                    .map($crate::registry::AtStartup::policy)
            }
        }

        inventory::collect!($crate::registry::AtStartup<$ty>);
    };
}

pub(crate) use policy_member;

/// A policy submitted at startup: what [`register_breaker!`](crate::register_breaker),
/// [`register_bulkhead!`](crate::register_bulkhead) and the other
/// `register_…!` macros hand to `inventory`.
#[doc(hidden)]
#[derive(Debug)]
pub struct AtStartup<T: 'static>(&'static T);

impl<T> AtStartup<T> {
    /// Submits `policy`.
    pub const fn new(policy: &'static T) -> Self {
        AtStartup(policy)
    }

    /// The policy.
    pub(crate) const fn policy(&self) -> &'static T {
        self.0
    }
}

/// Lists a `static` [`CircuitBreaker`](crate::CircuitBreaker) in
/// [`health()`](crate::health()) from the start of the process, before its
/// first call. Write it next to the `static`, anywhere an item may go (a
/// module, a function body, a generic function's body):
///
/// ```
/// use steadfast_runtime::CircuitBreaker;
///
/// static PAYMENTS: CircuitBreaker = CircuitBreaker::builder().name("startup-payments").build();
/// steadfast_runtime::register_breaker!(PAYMENTS);
///
/// let listed = steadfast_runtime::health();
/// assert!(listed.breakers.iter().any(|b| b.name == "startup-payments"));
/// ```
///
/// It relies on `inventory`'s life-before-main registration. On a platform
/// that `inventory` does not support, nothing is submitted, and the breaker
/// is listed from its first call (or its [`register`](crate::CircuitBreaker::register))
/// instead.
#[macro_export]
macro_rules! register_breaker {
    ($breaker:path) => {
        $crate::glue::inventory::submit! {
            $crate::glue::AtStartup::<$crate::CircuitBreaker>::new(&$breaker)
        }
    };
}

/// Lists a `static` [`Bulkhead`](crate::Bulkhead) in [`health()`](crate::health())
/// from the start of the process: as [`register_breaker!`](crate::register_breaker).
///
/// ```
/// use steadfast_runtime::Bulkhead;
///
/// static POOL: Bulkhead = Bulkhead::builder().name("startup-pool").build();
/// steadfast_runtime::register_bulkhead!(POOL);
///
/// let listed = steadfast_runtime::health();
/// assert!(listed.bulkheads.iter().any(|b| b.name == "startup-pool"));
/// ```
#[macro_export]
macro_rules! register_bulkhead {
    ($bulkhead:path) => {
        $crate::glue::inventory::submit! {
            $crate::glue::AtStartup::<$crate::Bulkhead>::new(&$bulkhead)
        }
    };
}

/// Lists a `static` [`RateLimiter`](crate::RateLimiter) in
/// [`health()`](crate::health()) from the start of the process: as
/// [`register_breaker!`](crate::register_breaker).
///
/// ```
/// use steadfast_runtime::RateLimiter;
///
/// static QUOTA: RateLimiter = RateLimiter::builder().name("startup-quota").rate(10).build();
/// steadfast_runtime::register_rate_limiter!(QUOTA);
///
/// let listed = steadfast_runtime::health();
/// assert!(listed.rate_limiters.iter().any(|r| r.name == "startup-quota"));
/// ```
#[macro_export]
macro_rules! register_rate_limiter {
    ($rate_limiter:path) => {
        $crate::glue::inventory::submit! {
            $crate::glue::AtStartup::<$crate::RateLimiter>::new(&$rate_limiter)
        }
    };
}

/// Lists a `static` [`RetryBudget`](crate::RetryBudget) in
/// [`health()`](crate::health()) (`budgets`) from the start of the process,
/// before the first retry or hedged call draws from it: as
/// [`register_breaker!`](crate::register_breaker). Without it, a budget is
/// listed from its first call through `#[retry(budget = …)]` or
/// `#[hedge(budget = …)]`, or its [`register`](crate::RetryBudget::register).
///
/// ```
/// use steadfast_runtime::RetryBudget;
///
/// static RETRIES: RetryBudget = RetryBudget::builder().name("startup-retries").build();
/// steadfast_runtime::register_retry_budget!(RETRIES);
///
/// let listed = steadfast_runtime::health();
/// let budget = listed.budgets.iter().find(|b| b.name == "startup-retries").unwrap();
/// assert_eq!(budget.spent, 0);
/// ```
#[macro_export]
macro_rules! register_retry_budget {
    ($budget:path) => {
        $crate::glue::inventory::submit! {
            $crate::glue::AtStartup::<$crate::RetryBudget>::new(&$budget)
        }
    };
}
