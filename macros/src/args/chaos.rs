//! `#[chaos(error = f, error_rate = r, latency = d, latency_rate = r, enabled = b, name = "…")]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr};

use super::{DurationArg, Reader, Slot, callable, name_arg, number};

pub(crate) const KEYS: [&str; 6] = [
    "error",
    "error_rate",
    "latency",
    "latency_rate",
    "enabled",
    "name",
];

pub(crate) struct ChaosArgs {
    /// The function that builds the injected error.
    pub(crate) error: Option<Expr>,
    pub(crate) error_rate: Option<f64>,
    pub(crate) latency: Option<DurationArg>,
    pub(crate) latency_rate: Option<f64>,
    pub(crate) enabled: Option<bool>,
    pub(crate) name: Option<LitStr>,
}

impl ChaosArgs {
    pub(crate) fn parse(reader: &mut Reader, span: Span) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut error = Slot::new();
        let mut error_rate = Slot::new();
        let mut latency = Slot::new();
        let mut latency_rate = Slot::new();
        let mut enabled = Slot::new();
        let mut name = Slot::new();
        reader.read_keyed(
            &KEYS,
            "#[chaos(error = make_error, error_rate = 0.1)]",
            |key, value| {
                match key.to_string().as_str() {
                    "error" => error.set(kind, key, callable(value, "the error to inject")?)?,
                    "error_rate" => {
                        error_rate.set(kind, key, (rate(&value, "error_rate")?, key.span()))?
                    }
                    "latency" => {
                        let d = DurationArg::from_expr(&value)?;
                        d.require_positive("an injected latency")?;
                        latency.set(kind, key, d)?;
                    }
                    "latency_rate" => {
                        latency_rate.set(kind, key, (rate(&value, "latency_rate")?, key.span()))?;
                    }
                    "enabled" => enabled.set(kind, key, boolean(&value, "enabled")?)?,
                    "name" => name.set(kind, key, name_arg(&value)?)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        let args = ChaosArgs {
            error: error.take(),
            error_rate: error_rate.get().map(|&(r, _)| r),
            latency: latency.take(),
            latency_rate: latency_rate.get().map(|&(r, _)| r),
            enabled: enabled.take(),
            name: name.take(),
        };
        if let (None, Some((_, key))) = (&args.error, error_rate.take()) {
            return Err(syn::Error::new(
                key,
                "`error_rate` needs the error to inject: add `error = make_error` (a `fn() -> E`)",
            ));
        }
        if let (None, Some((_, key))) = (&args.latency, latency_rate.take()) {
            return Err(syn::Error::new(
                key,
                "`latency_rate` needs the latency to inject: add `latency = \"200ms\"`",
            ));
        }
        if args.error.is_none() && args.latency.is_none() {
            return Err(syn::Error::new(
                span,
                "`#[chaos]` needs a fault to inject: `error = make_error` (a `fn() -> E`), \
                 `latency = \"200ms\"`, or both",
            ));
        }
        Ok(args)
    }
}

/// A rate literal in [0, 1].
fn rate(value: &Expr, key: &str) -> syn::Result<f64> {
    match number(value) {
        Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Some(_) => Err(syn::Error::new(
            value.span(),
            format!("`{key}` must be in [0, 1]: the share of calls the fault strikes"),
        )),
        None => Err(syn::Error::new(
            value.span(),
            format!("`{key}` expects a number between 0 and 1, such as `{key} = 0.1`"),
        )),
    }
}

/// `true` or `false`.
fn boolean(value: &Expr, key: &str) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{key}` expects `true` or `false`"),
        )),
    }
}
