//! Where a stateful policy keeps its state: `shared = …`, `key = …` and
//! `max_keys = …`, the keys that `#[circuit_breaker]`, `#[bulkhead]` and
//! `#[rate_limit]` have in common (DESIGN.md, "State scope" and "Keyed
//! state").

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Path};

use super::{Slot, int};
use crate::kind::Kind;

/// The keys read here.
pub(crate) const KEYS: [&str; 3] = ["shared", "key", "max_keys"];

/// `shared = …`.
pub(crate) enum Shared {
    /// A path, such as `shared = PAYMENTS`: a `static` built with a `const`
    /// builder, referred to through a `static` of the expansion's own (so a
    /// `const`, which would be a fresh policy at every use, is refused where
    /// it is written), and listed in `health()` from its first call.
    Static(Path),
    /// Any other expression (`self.breaker`, `&*FROM_CONFIG`,
    /// `registry.get("db")`): evaluated on each call; it names a place of the
    /// policy's type or a reference to one (anything that derefs to it).
    Expr(Expr),
}

/// The state scope of one attribute: its own `static` (neither key given),
/// the state `shared` names, or one state per key.
pub(crate) enum Scope {
    Own,
    Shared(Shared),
    Keyed {
        key: Expr,
        /// With the value's span, where the runtime's check reports.
        max_keys: Option<(u32, Span)>,
    },
}

/// The three keys as they are read, before [`ScopeReader::finish`] checks
/// how they combine.
pub(crate) struct ScopeReader {
    shared: Slot<(Shared, Span)>,
    key: Slot<Expr>,
    max_keys: Slot<(u32, Span)>,
}

impl ScopeReader {
    pub(crate) fn new() -> Self {
        ScopeReader {
            shared: Slot::new(),
            key: Slot::new(),
            max_keys: Slot::new(),
        }
    }

    /// Reads `key = value` if it is one of [`KEYS`]; `false` otherwise.
    pub(crate) fn set(&mut self, kind: Kind, key: &Ident, value: &Expr) -> syn::Result<bool> {
        match key.to_string().as_str() {
            "shared" => self
                .shared
                .set(kind, key, (shared_arg(value), key.span()))?,
            "key" => self.key.set(kind, key, value.clone())?,
            "max_keys" => {
                let n: u32 = int(value, "max_keys")?;
                if n == 0 {
                    return Err(syn::Error::new(
                        value.span(),
                        "`max_keys` must be at least 1: it is how many keys keep a state at once",
                    ));
                }
                self.max_keys.set(kind, key, (n, value.span()))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The scope, checking the combinations: `shared` with `key`, `max_keys`
    /// without `key`, and `shared` with any key that configures the policy
    /// (`given` lists every key written; `allowed` those that stay per
    /// function with `shared`; `what` names the policy in the message).
    pub(crate) fn finish(
        mut self,
        given: &[Ident],
        allowed: &[&str],
        what: &str,
    ) -> syn::Result<Scope> {
        let span_of = |key: &str| {
            given
                .iter()
                .find(|k| *k == key)
                .map_or_else(Span::call_site, Ident::span)
        };
        let (shared, key, max_keys) = (self.shared.take(), self.key.take(), self.max_keys.take());
        if shared.is_some() && key.is_some() {
            return Err(syn::Error::new(
                span_of("key"),
                format!(
                    "`key` cannot be combined with `shared`: `shared` names one {what} for every \
                     call, `key` keeps one per key; remove one of them"
                ),
            ));
        }
        if max_keys.is_some() && key.is_none() {
            return Err(syn::Error::new(
                span_of("max_keys"),
                "`max_keys` bounds the states kept by `key = …`, which is not given; \
                 add `key = <expression>` or remove `max_keys`",
            ));
        }
        if let Some((shared, _)) = shared {
            conflicts(given, allowed, what)?;
            return Ok(Scope::Shared(shared));
        }
        Ok(match key {
            Some(key) => Scope::Keyed { key, max_keys },
            None => Scope::Own,
        })
    }
}

/// `shared = PATH` or `shared = EXPR`.
fn shared_arg(value: &Expr) -> Shared {
    match value {
        Expr::Path(syn::ExprPath {
            path,
            qself: None,
            attrs,
        }) if attrs.is_empty() => Shared::Static(path.clone()),
        other => Shared::Expr(other.clone()),
    }
}

/// With `shared`, every key but the scope's and `allowed` is an error: the
/// shared policy is configured where it is built.
fn conflicts(given: &[Ident], allowed: &[&str], what: &str) -> syn::Result<()> {
    let conflict = given.iter().find(|key| {
        !KEYS.iter().any(|scope| *key == scope) && !allowed.iter().any(|allowed| *key == allowed)
    });
    match conflict {
        Some(conflict) => Err(syn::Error::new(
            conflict.span(),
            format!(
                "`{conflict}` cannot be combined with `shared`: a shared {what} is configured \
                 where it is built; remove `{conflict}` or `shared`"
            ),
        )),
        None => Ok(()),
    }
}
