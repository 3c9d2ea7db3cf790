//! `#[bulkhead(max_concurrent = …, max_queue = …, max_wait = …)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Ident, LitStr};

use super::scope::{Scope, ScopeReader};
use super::{DurationArg, Reader, Slot, int, name_arg};

pub(crate) const KEYS: [&str; 7] = [
    "max_concurrent",
    "max_queue",
    "max_wait",
    "shared",
    "key",
    "max_keys",
    "name",
];

pub(crate) struct BulkheadArgs {
    pub(crate) max_concurrent: Option<u32>,
    /// With the value's span: the runtime's limit is checked where the
    /// policy is built, and reported there.
    pub(crate) max_queue: Option<(u32, Span)>,
    pub(crate) max_wait: Option<DurationArg>,
    pub(crate) scope: Scope,
    pub(crate) name: Option<LitStr>,
}

impl BulkheadArgs {
    pub(crate) fn parse(reader: &mut Reader) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut max_concurrent = Slot::new();
        let mut max_queue = Slot::new();
        let mut max_wait = Slot::new();
        let mut scope = ScopeReader::new();
        let mut name = Slot::new();
        let mut given: Vec<Ident> = Vec::new();
        reader.read_keyed(&KEYS, "#[bulkhead(max_concurrent = 8)]", |key, value| {
                match key.to_string().as_str() {
                    "max_concurrent" => {
                        let n: u32 = int(&value, "max_concurrent")?;
                        if n == 0 {
                            return Err(syn::Error::new(
                                value.span(),
                                "`max_concurrent` must be at least 1: a bulkhead of 0 would reject every call",
                            ));
                        }
                        max_concurrent.set(kind, key, n)?;
                    }
                    "max_queue" => {
                        let n: u32 = int(&value, "max_queue")?;
                        max_queue.set(kind, key, (n, value.span()))?;
                    }
                    "max_wait" => {
                        let d = DurationArg::from_expr(&value)?;
                        d.require_positive("`max_wait`")?;
                        max_wait.set(kind, key, d)?;
                    }
                    _ if scope.set(kind, key, &value)? => {}
                    "name" => name.set(kind, key, name_arg(&value)?)?,
                    _ => return Ok(false),
                }
                given.push(key.clone());
                Ok(true)
            },
        )?;
        let args = BulkheadArgs {
            max_concurrent: max_concurrent.take(),
            max_queue: max_queue.take(),
            max_wait: max_wait.take(),
            scope: scope.finish(&given, &[], "bulkhead")?,
            name: name.take(),
        };
        if let (Some((0, _)), Some(wait)) = (args.max_queue, &args.max_wait) {
            let span = match wait {
                DurationArg::Literal(_, lit) => lit.span(),
                DurationArg::Expr(expr) => expr.span(),
            };
            return Err(syn::Error::new(
                span,
                "`max_wait` has no effect with `max_queue = 0` (no call ever waits); remove one of them",
            ));
        }
        Ok(args)
    }
}
