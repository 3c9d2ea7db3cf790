//! `#[rate_limit(rate = …, per = …, burst = …, max_wait = …)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr};

use super::scope::{Scope, ScopeReader};
use super::{DurationArg, Reader, Slot, int, name_arg};

pub(crate) const KEYS: [&str; 8] = [
    "rate", "per", "burst", "max_wait", "shared", "key", "max_keys", "name",
];

pub(crate) struct RateLimitArgs {
    /// Required unless `shared`; with the value's span.
    pub(crate) rate: Option<(u32, Span)>,
    pub(crate) per: Option<DurationArg>,
    pub(crate) burst: Option<(u32, Span)>,
    pub(crate) max_wait: Option<DurationArg>,
    pub(crate) scope: Scope,
    pub(crate) name: Option<LitStr>,
}

impl RateLimitArgs {
    /// `span` locates the attribute, for the error when `rate` is missing.
    pub(crate) fn parse(reader: &mut Reader, span: Span) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut rate = Slot::new();
        let mut per = Slot::new();
        let mut burst = Slot::new();
        let mut max_wait = Slot::new();
        let mut scope = ScopeReader::new();
        let mut name = Slot::new();
        let mut given: Vec<Ident> = Vec::new();
        reader.read_keyed(
            &KEYS,
            "#[rate_limit(rate = 100, per = \"1s\")]",
            |key, value| {
                match key.to_string().as_str() {
                    "rate" => rate.set(kind, key, (at_least_one(&value, "rate")?, value.span()))?,
                    "per" => {
                        let d = DurationArg::from_expr(&value)?;
                        d.require_positive("`per`")?;
                        per.set(kind, key, d)?;
                    }
                    "burst" => {
                        burst.set(kind, key, (at_least_one(&value, "burst")?, value.span()))?
                    }
                    // `"0s"` is allowed: it is the default, never wait.
                    "max_wait" => max_wait.set(kind, key, DurationArg::from_expr(&value)?)?,
                    "name" => name.set(kind, key, name_arg(&value)?)?,
                    _ if scope.set(kind, key, &value)? => {}
                    _ => return Ok(false),
                }
                given.push(key.clone());
                Ok(true)
            },
        )?;
        let args = RateLimitArgs {
            rate: rate.take(),
            per: per.take(),
            burst: burst.take(),
            max_wait: max_wait.take(),
            scope: scope.finish(&given, &[], "rate limiter")?,
            name: name.take(),
        };
        if args.rate.is_none() && !matches!(args.scope, Scope::Shared(_)) {
            return Err(syn::Error::new(
                span,
                "`#[rate_limit]` needs `rate`, the calls admitted per period: \
                 `#[rate_limit(rate = 100)]` (per second) or `#[rate_limit(rate = 10, per = \"1m\")]`",
            ));
        }
        Ok(args)
    }
}

/// A count of at least one.
fn at_least_one(value: &Expr, key: &str) -> syn::Result<u32> {
    let n: u32 = int(value, key)?;
    if n == 0 {
        let why = match key {
            "rate" => "a rate of 0 would admit no call",
            _ => "a burst of 0 would admit no call",
        };
        return Err(syn::Error::new(
            value.span(),
            format!("`{key}` must be at least 1: {why}"),
        ));
    }
    Ok(n)
}
