//! `#[circuit_breaker(failure_ratio = …, window = …, min_calls = …, …)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr};

use super::scope::{Scope, ScopeReader};
use super::{DurationArg, Reader, Slot, callable, int, name_arg, ratio};

pub(crate) const KEYS: [&str; 13] = [
    "failure_ratio",
    "window",
    "min_calls",
    "consecutive_failures",
    "slow_call",
    "slow_ratio",
    "open_for",
    "half_open_probes",
    "failure_if",
    "shared",
    "key",
    "max_keys",
    "name",
];

pub(crate) struct CircuitBreakerArgs {
    pub(crate) failure_ratio: Option<f64>,
    pub(crate) window: Option<WindowArg>,
    pub(crate) min_calls: Option<u32>,
    pub(crate) consecutive_failures: Option<u32>,
    pub(crate) slow_call: Option<DurationArg>,
    pub(crate) slow_ratio: Option<f64>,
    pub(crate) open_for: Option<DurationArg>,
    /// With the value's span: the runtime's limit is checked where the
    /// policy is built, and reported there.
    pub(crate) half_open_probes: Option<(u32, Span)>,
    pub(crate) failure_if: Option<Expr>,
    pub(crate) scope: Scope,
    pub(crate) name: Option<LitStr>,
}

pub(crate) enum WindowArg {
    /// With the literal's span (see `half_open_probes`).
    Calls(u32, Span),
    Duration(DurationArg),
}

impl CircuitBreakerArgs {
    pub(crate) fn parse(reader: &mut Reader) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut failure_ratio = Slot::new();
        let mut window = Slot::new();
        let mut min_calls = Slot::new();
        let mut consecutive_failures = Slot::new();
        let mut slow_call = Slot::new();
        let mut slow_ratio = Slot::new();
        let mut open_for = Slot::new();
        let mut half_open_probes = Slot::new();
        let mut failure_if = Slot::new();
        let mut scope = ScopeReader::new();
        let mut name = Slot::new();
        // Keys given, with their spans, for the combination checks.
        let mut given: Vec<Ident> = Vec::new();
        reader.read_keyed(
            &KEYS,
            "#[circuit_breaker(failure_ratio = 0.5)]",
            |key, value| {
                match key.to_string().as_str() {
                    "failure_ratio" => {
                        failure_ratio.set(kind, key, ratio(&value, "failure_ratio")?)?
                    }
                    "window" => window.set(kind, key, window_arg(&value)?)?,
                    "min_calls" => min_calls.set(kind, key, positive(&value, "min_calls")?)?,
                    "consecutive_failures" => consecutive_failures.set(
                        kind,
                        key,
                        positive(&value, "consecutive_failures")?,
                    )?,
                    "slow_call" => {
                        let d = DurationArg::from_expr(&value)?;
                        d.require_positive("`slow_call`")?;
                        slow_call.set(kind, key, d)?;
                    }
                    "slow_ratio" => slow_ratio.set(kind, key, ratio(&value, "slow_ratio")?)?,
                    "open_for" => open_for.set(kind, key, DurationArg::from_expr(&value)?)?,
                    "half_open_probes" => {
                        let n = positive(&value, "half_open_probes")?;
                        half_open_probes.set(kind, key, (n, value.span()))?;
                    }
                    "failure_if" => failure_if.set(
                        kind,
                        key,
                        callable(value, "a predicate `fn(&E) -> bool`")?,
                    )?,
                    _ if scope.set(kind, key, &value)? => {}
                    "name" => name.set(kind, key, name_arg(&value)?)?,
                    _ => return Ok(false),
                }
                given.push(key.clone());
                Ok(true)
            },
        )?;
        let args = CircuitBreakerArgs {
            failure_ratio: failure_ratio.take(),
            window: window.take(),
            min_calls: min_calls.take(),
            consecutive_failures: consecutive_failures.take(),
            slow_call: slow_call.take(),
            slow_ratio: slow_ratio.take(),
            open_for: open_for.take(),
            half_open_probes: half_open_probes.take(),
            failure_if: failure_if.take(),
            // `failure_if` judges this function's errors: it may differ per
            // user of a shared breaker.
            scope: scope.finish(&given, &["failure_if"], "breaker")?,
            name: name.take(),
        };
        args.build(&given)?;
        Ok(args)
    }

    /// Checks that the keys make sense together.
    fn build(&self, given: &[Ident]) -> syn::Result<()> {
        let span_of = |key: &str| {
            given
                .iter()
                .find(|k| *k == key)
                .map_or_else(Span::call_site, Ident::span)
        };
        if self.slow_ratio.is_some() && self.slow_call.is_none() {
            return Err(syn::Error::new(
                span_of("slow_ratio"),
                "`slow_ratio` needs `slow_call`, the duration above which a call counts as slow",
            ));
        }
        if let (Some(min_calls), Some(WindowArg::Calls(size, _))) = (self.min_calls, &self.window)
            && min_calls > *size
        {
            return Err(syn::Error::new(
                span_of("min_calls"),
                format!(
                    "`min_calls = {min_calls}` can never be reached in a window of the last {size} calls; \
                     lower it or enlarge the window"
                ),
            ));
        }
        Ok(())
    }
}

fn positive(value: &Expr, key: &str) -> syn::Result<u32> {
    let n: u32 = int(value, key)?;
    if n == 0 {
        return Err(syn::Error::new(
            value.span(),
            format!("`{key}` must be at least 1"),
        ));
    }
    Ok(n)
}

fn window_arg(value: &Expr) -> syn::Result<WindowArg> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(_), ..
        }) => {
            let n = positive(value, "window")?;
            Ok(WindowArg::Calls(n, value.span()))
        }
        _ => {
            let d = DurationArg::from_expr(value).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("{e}; `window` is a number of calls (`window = 100`) or a duration (`window = \"60s\"`)"),
                )
            })?;
            d.require_positive("a time window")?;
            Ok(WindowArg::Duration(d))
        }
    }
}
