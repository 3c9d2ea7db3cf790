//! Keys without their type: what a call looks a state up with (a [`Probe`],
//! borrowed), what the map stores (an owned key behind `dyn Stored`), and the
//! adapter the attributes expand to ([`KeyByDeref`], [`KeyByRef`]).
//!
//! # The adapter
//!
//! `key = EXPR` expands to
//!
//! ```text
//! { use ::steadfast::__private::{KeyByDeref as _, KeyByRef as _}; STATE.get((&&(EXPR)).__steadfast_key()) }
//! ```
//!
//! `&&(EXPR)` borrows `EXPR` (a field `req.tenant` stays usable), and method
//! resolution picks the first of three receivers that fits (autoref
//! specialization):
//!
//! 1. `&&X` where `X: Deref` to a [`Key`] with `Debug` (`&str`, `String`,
//!    `Arc<str>`, `Vec<u8>`, `&TenantId`): the probe is on the target, which
//!    is stored as its `ToOwned::Owned` (a `&str` key is stored as a `String`);
//! 2. `&&&X` (one autoref) where `X` is a [`Key`] with `Debug` (`u64`, a
//!    `#[derive(Debug)]` `TenantId`): the probe is on the value itself;
//! 3. `&mut &&X` (the last autoref): any `X`; the method requires `X: Key`,
//!    so a key type that is not `Hash + Eq` gets [`Key`]'s error message.
//!    The key has no `Debug` here, and `health()` describes it by its type
//!    name and a hash.
//!
//! Debug comes first because a probe carries how to describe its key in
//! `health()`; three receivers cannot also tell a non-`Debug` target behind
//! a `Deref` from a non-`Debug` value, so such a reference (`&TenantId`
//! without `Debug`) reaches the third case as the reference itself and fails
//! with a borrow error ("borrowed for `'static`"): write `key = *tenant`.
//!
//! The probe of case 2 borrows a temporary of the expression, so it must be
//! used within it: the `get` call belongs inside the block (in edition
//! 2024, a block's tail temporaries end with the block).
//!
//! # Hash and equality
//!
//! The map holds `dyn Stored` keys and is searched with `dyn Lookup`: a
//! stored key and a probe both implement [`Lookup`]. A stored key `O`
//! (`Q::Owned`) hashes as `O`, a probe `Q` as `Q`, which agree because `O:
//! Borrow<Q>` (the `Borrow` contract: equal hashes and equality). Equality
//! downcasts the stored key to `O` (a type-id comparison) and compares
//! `o.borrow() == q`; a key of another type is never equal.

use core::any::Any;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;

/// A value that can key a policy's state: `Hash + Eq`, and owned as a
/// `'static + Send + Sync` value (`ToOwned::Owned`; a `str` key is stored as
/// a `String`). Implemented for every such type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key of `#[rate_limit]`/`#[circuit_breaker]`/`#[bulkhead]`: it must implement `Hash + Eq` and be owned as a `'static + Send + Sync` value",
    label = "not usable as `key = …`",
    note = "derive `Hash, PartialEq, Eq, Clone` on the key type, or key by a field or a `String` built from it"
)]
pub trait Key: Hash + Eq + Send + Sync {
    /// How the key is stored.
    type Owned: Borrow<Self> + Hash + Eq + Send + Sync + 'static;

    /// The key, owned (on a miss only).
    fn to_owned_key(&self) -> Self::Owned;
}

// Errors name `Key` (and its message), not the bound of this impl that failed.
#[diagnostic::do_not_recommend]
impl<Q> Key for Q
where
    Q: ?Sized + Hash + Eq + ToOwned + Send + Sync,
    Q::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Owned = Q::Owned;

    #[inline]
    fn to_owned_key(&self) -> Q::Owned {
        self.to_owned()
    }
}

/// How a stored key is described in `health()`: chosen where the key's type
/// is known (a `Debug` rendering, or the type's name and a hash).
type Describe = fn(&dyn Any, &mut fmt::Formatter<'_>) -> fmt::Result;

/// A key borrowed from the call, to look its state up with
/// ([`Keyed::get`](super::Keyed::get)). Built by the adapter
/// ([`KeyByDeref`], [`KeyByRef`]) or by [`Probe::new`] / [`Probe::debug`].
pub struct Probe<'a, Q: ?Sized> {
    pub(super) key: &'a Q,
    pub(super) describe: Describe,
}

impl<Q: ?Sized> fmt::Debug for Probe<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("key", &core::any::type_name::<Q>())
            .finish_non_exhaustive()
    }
}

impl<'a, Q: ?Sized + Key> Probe<'a, Q> {
    /// A probe for `key`, described in `health()` by its type name and a hash.
    #[inline]
    pub fn new(key: &'a Q) -> Self {
        Probe {
            key,
            describe: describe_opaque::<Q>,
        }
    }
}

impl<'a, Q: ?Sized + Key + fmt::Debug> Probe<'a, Q> {
    /// A probe for `key`, described in `health()` with `Debug`.
    #[inline]
    pub fn debug(key: &'a Q) -> Self {
        Probe {
            key,
            describe: describe_debug::<Q>,
        }
    }
}

fn describe_debug<Q: ?Sized + Key + fmt::Debug>(
    owned: &dyn Any,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    match owned.downcast_ref::<Q::Owned>() {
        Some(owned) => fmt::Debug::fmt(owned.borrow(), f),
        None => f.write_str("?"),
    }
}

fn describe_opaque<Q: ?Sized + Key>(owned: &dyn Any, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // A fixed-key hash, so that two keys of one type read differently and a
    // key reads the same from one snapshot to the next.
    let mut hasher = std::hash::DefaultHasher::new();
    if let Some(owned) = owned.downcast_ref::<Q::Owned>() {
        owned.borrow().hash(&mut hasher);
    }
    write!(
        f,
        "{} #{:016x}",
        core::any::type_name::<Q>(),
        hasher.finish()
    )
}

/// The first and second receivers of the adapter (see the module docs): a
/// key reached through `Deref` (`&str`, `String`, `Arc<str>`, `&T`), or the
/// value itself, when it has `Debug`.
pub trait KeyByDeref<'a> {
    /// The type looked up with.
    type Target: ?Sized;

    /// The probe.
    fn __steadfast_key(self) -> Probe<'a, Self::Target>;
}

impl<'a, T> KeyByDeref<'a> for &&'a T
where
    T: ?Sized + Deref,
    T::Target: Key + fmt::Debug,
{
    type Target = T::Target;

    #[inline]
    fn __steadfast_key(self) -> Probe<'a, T::Target> {
        let value: &'a T = self;
        Probe::debug(&**value)
    }
}

/// The adapter's last receiver (see the module docs): any value, which must
/// be a [`Key`]; described without `Debug`.
pub trait KeyByRef<'a> {
    /// The type looked up with.
    type Target: ?Sized;

    /// The probe.
    fn __steadfast_key(self) -> Probe<'a, Self::Target>
    where
        Self::Target: Key;
}

impl<'a, T: ?Sized> KeyByRef<'a> for &mut &&'a T {
    type Target = T;

    #[inline]
    fn __steadfast_key(self) -> Probe<'a, T>
    where
        T: Key,
    {
        Probe::new(**self)
    }
}

/// What the map's keys and the probes share: the map is searched with `&dyn
/// Lookup` (`Borrow`), and compares a probe with a stored key.
pub(super) trait Lookup {
    /// Hashes the key (a stored `O` as `O`, a probe `Q` as `Q`: equal by
    /// `O: Borrow<Q>`).
    fn hash_key(&self, state: &mut dyn Hasher);

    /// The stored key as `Any`, if this is one.
    fn stored(&self) -> Option<&dyn Any>;

    /// Whether `stored` (a stored key as `Any`) is this key.
    fn matches(&self, stored: &dyn Any) -> bool;
}

impl Hash for dyn Lookup + '_ {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hash_key(state);
    }
}

impl PartialEq for dyn Lookup + '_ {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (other.stored(), self.stored()) {
            (Some(stored), _) => self.matches(stored),
            (None, Some(stored)) => other.matches(stored),
            // Two probes are never compared by the map.
            (None, None) => false,
        }
    }
}

impl Eq for dyn Lookup + '_ {}

impl<Q: ?Sized + Key> Lookup for Probe<'_, Q> {
    #[inline]
    fn hash_key(&self, mut state: &mut dyn Hasher) {
        self.key.hash(&mut state);
    }

    #[inline]
    fn stored(&self) -> Option<&dyn Any> {
        None
    }

    #[inline]
    fn matches(&self, stored: &dyn Any) -> bool {
        stored
            .downcast_ref::<Q::Owned>()
            .is_some_and(|owned| owned.borrow() == self.key)
    }
}

/// A stored key, type-erased.
pub(super) trait Stored: Lookup + Send + Sync + 'static {
    /// Writes the key for `health()`.
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// A key as the map stores it: the owned value and how to describe it.
pub(super) struct Owned<O> {
    key: O,
    describe: Describe,
}

impl<O> Owned<O> {
    /// The owned form of `probe`'s key (on a miss: allocates what `O` needs).
    pub(super) fn of<Q: ?Sized + Key<Owned = O>>(probe: &Probe<'_, Q>) -> Self {
        Owned {
            key: probe.key.to_owned_key(),
            describe: probe.describe,
        }
    }
}

impl<O: Hash + Eq + Send + Sync + 'static> Lookup for Owned<O> {
    fn hash_key(&self, mut state: &mut dyn Hasher) {
        self.key.hash(&mut state);
    }

    fn stored(&self) -> Option<&dyn Any> {
        Some(&self.key)
    }

    fn matches(&self, stored: &dyn Any) -> bool {
        stored.downcast_ref::<O>() == Some(&self.key)
    }
}

impl<O: Hash + Eq + Send + Sync + 'static> Stored for Owned<O> {
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.describe)(&self.key, f)
    }
}

/// The key of the overflow state (see `Keyed`'s docs): no key of the map.
pub(super) struct Overflow;

impl Lookup for Overflow {
    fn hash_key(&self, _: &mut dyn Hasher) {}

    fn stored(&self) -> Option<&dyn Any> {
        None
    }

    fn matches(&self, _: &dyn Any) -> bool {
        false
    }
}

impl Stored for Overflow {
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(overflow)")
    }
}

/// Renders a stored key with its describe function.
pub(super) struct Described<'a>(pub(super) &'a dyn Stored);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.describe(f)
    }
}
