//! `#[fallback(handler)]` / `#[fallback(handler, when = path)]`.

use proc_macro2::Span;
use syn::Expr;
use syn::spanned::Spanned;

use super::{Reader, Slot, callable};

pub(crate) struct FallbackArgs {
    /// A path to a fn, or a closure (sync or async).
    pub(crate) handler: Expr,
    pub(crate) when: Option<Expr>,
}

impl FallbackArgs {
    pub(crate) fn parse(reader: &mut Reader, span: Span) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut handler = None;
        let mut when = Slot::new();
        reader.read(
            &["when"],
            |value| {
                if handler.is_some() {
                    return Err(syn::Error::new(
                        value.span(),
                        "`#[fallback]` takes one handler; other arguments are `key = value`",
                    ));
                }
                handler = Some(callable(
                    value,
                    "a fallback handler taking the error by value",
                )?);
                Ok(())
            },
            |key, value| {
                if key != "when" {
                    return Ok(false);
                }
                let value = callable(value, "a predicate `fn(&E) -> bool`")?;
                when.set(kind, key, value)?;
                Ok(true)
            },
        )?;
        let handler = handler.ok_or_else(|| {
            syn::Error::new(
                span,
                "`#[fallback]` needs a handler: `#[fallback(path::to_handler)]` or `#[fallback(|error| …)]`",
            )
        })?;
        Ok(FallbackArgs {
            handler,
            when: when.take(),
        })
    }
}
