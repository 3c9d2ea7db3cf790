//! Keyed policies in [`health`](crate::health()): the registry list they
//! join, what a snapshot shows of one ([`KeyedHealth`]), and
//! [`register_keyed!`](crate::register_keyed).

use std::collections::BTreeMap;

use super::key::Described;
use super::{Keyed, KeyedPolicy};
use crate::circuit_breaker::State;
use crate::registry::{Kind, Member, Registration, Registry};

/// One keyed policy in a [`Health`](crate::health::Health) snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct KeyedHealth {
    /// Its name (every key's state carries it).
    pub name: &'static str,
    /// Whether another registered keyed policy carries the same name.
    pub duplicate_name: bool,
    /// `"circuit_breaker"`, `"bulkhead"` or `"rate_limit"`.
    pub kind: &'static str,
    /// Keys with a state now.
    pub keys: u32,
    /// Its `max_keys`.
    pub max_keys: u32,
    /// Calls served by the shared overflow state so far (keys that could not
    /// be stored because every stored state was in use).
    pub overflows: u64,
    /// Every key whose breaker is not closed (breakers only), in no
    /// particular order; the overflow state's breaker shows as
    /// `(overflow)`.
    pub not_closed: Vec<NotClosed>,
}

/// A key whose breaker is not closed, in [`KeyedHealth::not_closed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NotClosed {
    /// The key: its `Debug` rendering when its type has `Debug`, else its
    /// type's name and a hash (`my_app::TenantId #2f1c…`).
    pub key: String,
    /// Its breaker's state.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serialize_state"))]
    pub state: State,
}

#[cfg(feature = "serde")]
fn serialize_state<S: serde::Serializer>(state: &State, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state.as_str())
}

/// A keyed policy as the registry lists it, whatever its `P`.
pub(crate) trait Listed: Sync + 'static {
    fn listed_name(&self) -> &'static str;

    fn listed_registration(&self) -> &Registration;

    fn report(&self, duplicate_name: bool) -> KeyedHealth;

    /// Resets every state (`health::reset_all`).
    fn reset_states(&self);

    /// Itself, for [`config::apply`](crate::config::apply) to find the
    /// `Keyed` of a policy type.
    fn as_any(&'static self) -> &'static dyn core::any::Any;
}

impl<P: KeyedPolicy> Listed for Keyed<P> {
    fn listed_name(&self) -> &'static str {
        self.name()
    }

    fn listed_registration(&self) -> &Registration {
        &self.registered
    }

    fn report(&self, duplicate_name: bool) -> KeyedHealth {
        let not_closed = self.each(|key, policy| {
            policy.not_closed().map(|state| NotClosed {
                key: Described(key).to_string(),
                state,
            })
        });
        KeyedHealth {
            name: self.name(),
            duplicate_name,
            kind: P::KIND,
            keys: u32::try_from(self.len()).unwrap_or(u32::MAX),
            max_keys: self.max_keys,
            overflows: self.overflows(),
            not_closed,
        }
    }

    fn reset_states(&self) {
        self.each(|_, policy| {
            policy.reset_state();
            None::<()>
        });
    }

    fn as_any(&'static self) -> &'static dyn core::any::Any {
        self
    }
}

/// The registered keyed policies of `P` named `name`.
pub(crate) fn named<P: KeyedPolicy>(name: &str) -> Vec<&'static Keyed<P>> {
    crate::registry::members::<dyn Listed>()
        .into_iter()
        .filter(|keyed| keyed.listed_name() == name)
        .filter_map(|keyed| keyed.as_any().downcast_ref::<Keyed<P>>())
        .collect()
}

/// The names of the registered keyed policies of `P`.
pub(crate) fn names<P: KeyedPolicy>() -> Vec<&'static str> {
    crate::registry::members::<dyn Listed>()
        .into_iter()
        .filter(|keyed| keyed.as_any().is::<Keyed<P>>())
        .map(|keyed| keyed.listed_name())
        .collect()
}

impl Member for dyn Listed {
    const KIND: Kind = Kind::Keyed;

    fn name(&self) -> &'static str {
        self.listed_name()
    }

    fn registration(&self) -> &Registration {
        self.listed_registration()
    }

    fn registry() -> &'static Registry<Self> {
        static KEYED: Registry<dyn Listed> = Registry::new();
        &KEYED
    }

    fn at_startup() -> impl Iterator<Item = &'static Self> {
        inventory::iter::<KeyedAtStartup>
            .into_iter()
            .map(|submitted| submitted.0)
    }
}

/// A keyed policy submitted at startup: what
/// [`register_keyed!`](crate::register_keyed) hands to `inventory`.
#[doc(hidden)]
pub struct KeyedAtStartup(&'static dyn Listed);

impl KeyedAtStartup {
    pub(super) const fn new<P: KeyedPolicy>(keyed: &'static Keyed<P>) -> Self {
        KeyedAtStartup(keyed)
    }
}

impl core::fmt::Debug for KeyedAtStartup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("KeyedAtStartup").finish_non_exhaustive()
    }
}

inventory::collect!(KeyedAtStartup);

/// Resets the states of every registered keyed policy.
pub(crate) fn reset_all() {
    for keyed in crate::registry::members::<dyn Listed>() {
        keyed.reset_states();
    }
}

/// Every registered keyed policy, in registration order.
pub(crate) fn snapshot() -> Vec<KeyedHealth> {
    let listed = crate::registry::members::<dyn Listed>();
    let mut names = BTreeMap::new();
    for keyed in &listed {
        *names.entry(keyed.listed_name()).or_insert(0_usize) += 1;
    }
    listed
        .iter()
        .map(|keyed| keyed.report(names[keyed.listed_name()] > 1))
        .collect()
}

/// Lists a `static` [`Keyed`] in [`health()`](crate::health()) from the
/// start of the process, before its first call (as
/// [`register_breaker!`](crate::register_breaker) does for a breaker).
///
/// ```
/// use steadfast_runtime::keyed::Keyed;
/// use steadfast_runtime::CircuitBreaker;
///
/// static PER_HOST: Keyed<CircuitBreaker> =
///     Keyed::new(CircuitBreaker::builder().name("startup-per-host"), 64);
/// steadfast_runtime::register_keyed!(PER_HOST);
///
/// let listed = steadfast_runtime::health();
/// let per_host = listed.keyed.iter().find(|k| k.name == "startup-per-host").unwrap();
/// assert_eq!((per_host.kind, per_host.keys, per_host.max_keys), ("circuit_breaker", 0, 64));
/// ```
#[macro_export]
macro_rules! register_keyed {
    ($keyed:path) => {
        $crate::glue::inventory::submit! {
            $crate::keyed::Keyed::at_startup(&$keyed)
        }
    };
}
