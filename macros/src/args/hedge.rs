//! `#[hedge(after = "50ms", max = 1, budget = …)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;

use super::{DurationArg, Reader, Shared, Slot, int};

pub(crate) const KEYS: [&str; 3] = ["after", "max", "budget"];

/// The most extra copies a hedge starts (the runtime's `Width`).
pub(crate) const MAX_COPIES: u32 = 8;

pub(crate) struct HedgeArgs {
    pub(crate) after: DurationArg,
    /// Extra copies, 1 to [`MAX_COPIES`] (default 1).
    pub(crate) max: u32,
    pub(crate) budget: Option<Shared>,
}

impl HedgeArgs {
    pub(crate) fn parse(reader: &mut Reader, span: Span) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut after = Slot::new();
        let mut max = Slot::new();
        let mut budget = Slot::new();
        reader.read_keyed(
            &KEYS,
            "#[hedge(after = \"50ms\", max = 1)]",
            |key, value| {
                match key.to_string().as_str() {
                    "after" => {
                        let d = DurationArg::from_expr(&value)?;
                        d.require_positive("`after`")?;
                        after.set(kind, key, d)?;
                    }
                    "max" => {
                        let n: u32 = int(&value, "max")?;
                        if n == 0 || n > MAX_COPIES {
                            return Err(syn::Error::new(
                                value.span(),
                                format!(
                                    "`max` counts the extra copies a hedge may start, \
                                     from 1 to {MAX_COPIES}"
                                ),
                            ));
                        }
                        max.set(kind, key, n)?;
                    }
                    "budget" => budget.set(kind, key, super::retry::budget_arg(&value)?)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        let after = after.take().ok_or_else(|| {
            syn::Error::new(
                span,
                "`#[hedge]` needs `after`, the wait before another copy starts: \
                 `#[hedge(after = \"50ms\")]`",
            )
        })?;
        Ok(HedgeArgs {
            after,
            max: max.take().unwrap_or(1),
            budget: budget.take(),
        })
    }
}
