//! `#[timeout("2s")]` / `#[timeout(CONST)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;

use super::{DurationArg, Reader};

pub(crate) struct TimeoutArgs {
    pub(crate) after: DurationArg,
}

impl TimeoutArgs {
    pub(crate) fn parse(reader: &mut Reader, span: Span) -> syn::Result<Self> {
        let mut after = None;
        reader.read(
            &[],
            |value| {
                if after.is_some() {
                    return Err(syn::Error::new(
                        value.span(),
                        "`#[timeout]` takes one duration: `#[timeout(\"2s\")]`",
                    ));
                }
                let duration = DurationArg::from_expr(&value)?;
                duration.require_positive("a timeout")?;
                after = Some(duration);
                Ok(())
            },
            |_, _| Ok(false),
        )?;
        let after = after.ok_or_else(|| {
            syn::Error::new(
                span,
                "`#[timeout]` needs a duration: `#[timeout(\"2s\")]` or `#[timeout(MY_CONST)]`",
            )
        })?;
        Ok(TimeoutArgs { after })
    }
}
