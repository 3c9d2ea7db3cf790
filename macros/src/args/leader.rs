//! `#[leader(election = "…", lease = "10s", wait = "30s")]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr};

use super::{DurationArg, Reader, Slot};

pub(crate) const KEYS: [&str; 3] = ["election", "lease", "wait"];

pub(crate) struct LeaderArgs {
    pub(crate) election: LitStr,
    pub(crate) lease: Option<DurationArg>,
    pub(crate) wait: Option<DurationArg>,
}

impl LeaderArgs {
    pub(crate) fn parse(reader: &mut Reader, span: Span) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut election = Slot::new();
        let mut lease = Slot::new();
        let mut wait = Slot::new();
        reader.read_keyed(
            &KEYS,
            "#[leader(election = \"nightly-billing\", lease = \"10s\")]",
            |key, value| {
                match key.to_string().as_str() {
                    "election" => election.set(kind, key, election_arg(&value)?)?,
                    "lease" => {
                        let d = DurationArg::from_expr(&value)?;
                        d.require_positive("`lease`")?;
                        lease.set(kind, key, d)?;
                    }
                    "wait" => {
                        let d = DurationArg::from_expr(&value)?;
                        d.require_positive("`wait`")?;
                        wait.set(kind, key, d)?;
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        let election = election.take().ok_or_else(|| {
            syn::Error::new(
                span,
                "`#[leader]` needs the election's name: `#[leader(election = \"nightly-billing\")]`",
            )
        })?;
        Ok(LeaderArgs {
            election,
            lease: lease.take(),
            wait: wait.take(),
        })
    }
}

fn election_arg(value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if !lit.value().is_empty() => Ok(lit.clone()),
        other => Err(syn::Error::new(
            other.span(),
            "`election` expects a non-empty string literal, such as `election = \"nightly-billing\"`",
        )),
    }
}
