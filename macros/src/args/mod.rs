//! Attribute arguments: one parser per attribute, one setter per key.
//!
//! Every attribute takes a comma-separated list of `key = value` entries,
//! plus, for `#[timeout]` and `#[fallback]`, one leading positional value.
//! Each key goes through a [`Slot`] that rejects duplicates and keeps the
//! key's span; each parser ends with a `build` step that checks combinations.

pub(crate) mod bulkhead;
pub(crate) mod chaos;
pub(crate) mod circuit_breaker;
mod duration;
mod fallback;
pub(crate) mod hedge;
pub(crate) mod leader;
pub(crate) mod rate_limit;
pub(crate) mod retry;
pub(crate) mod scope;
mod timeout;

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, Path, Token};

pub(crate) use bulkhead::BulkheadArgs;
pub(crate) use chaos::ChaosArgs;
pub(crate) use circuit_breaker::{CircuitBreakerArgs, WindowArg};
pub(crate) use duration::DurationArg;
pub(crate) use fallback::FallbackArgs;
pub(crate) use hedge::HedgeArgs;
pub(crate) use leader::LeaderArgs;
pub(crate) use rate_limit::RateLimitArgs;
pub(crate) use retry::{BackoffArg, JitterArg, RetryArgs};
pub(crate) use scope::{Scope, Shared};
pub(crate) use timeout::TimeoutArgs;

use crate::kind::Kind;

/// A parsed attribute.
pub(crate) enum Policy {
    Retry(Box<RetryArgs>),
    CircuitBreaker(Box<CircuitBreakerArgs>),
    Timeout(TimeoutArgs),
    Bulkhead(Box<BulkheadArgs>),
    Fallback(FallbackArgs),
    RateLimit(Box<RateLimitArgs>),
    Chaos(Box<ChaosArgs>),
    Leader(Box<LeaderArgs>),
    Hedge(Box<HedgeArgs>),
}

/// The parsed arguments of one attribute.
pub(crate) struct Args {
    pub(crate) kind: Kind,
    pub(crate) policy: Policy,
    /// `crate = "…"`, with its span.
    pub(crate) crate_path: Option<(Path, Span)>,
}

impl Args {
    /// Every duration given, with its key, in the order of the keys.
    pub(crate) fn durations(&self) -> Vec<(&'static str, &DurationArg)> {
        let mut all = Vec::new();
        match &self.policy {
            Policy::Timeout(timeout) => all.push(("timeout", &timeout.after)),
            Policy::Retry(retry) => {
                match &retry.backoff {
                    Some(BackoffArg::Fixed(d)) => all.push(("backoff", d)),
                    Some(
                        BackoffArg::Exponential { initial, max, .. }
                        | BackoffArg::Fibonacci { initial, max },
                    ) => {
                        all.push(("backoff", initial));
                        all.extend(max.iter().map(|max| ("backoff", max)));
                    }
                    Some(BackoffArg::None) | None => {}
                }
                all.extend(retry.max_elapsed.iter().map(|d| ("max_elapsed", d)));
                all.extend(retry.max_hint.iter().map(|d| ("max_hint", d)));
            }
            Policy::CircuitBreaker(breaker) => {
                if let Some(WindowArg::Duration(d)) = &breaker.window {
                    all.push(("window", d));
                }
                all.extend(breaker.slow_call.iter().map(|d| ("slow_call", d)));
                all.extend(breaker.open_for.iter().map(|d| ("open_for", d)));
            }
            Policy::Bulkhead(bulkhead) => {
                all.extend(bulkhead.max_wait.iter().map(|d| ("max_wait", d)));
            }
            Policy::RateLimit(limit) => {
                all.extend(limit.per.iter().map(|d| ("per", d)));
                all.extend(limit.max_wait.iter().map(|d| ("max_wait", d)));
            }
            Policy::Chaos(chaos) => {
                all.extend(chaos.latency.iter().map(|d| ("latency", d)));
            }
            Policy::Leader(leader) => {
                all.extend(leader.lease.iter().map(|d| ("lease", d)));
                all.extend(leader.wait.iter().map(|d| ("wait", d)));
            }
            Policy::Hedge(hedge) => all.push(("after", &hedge.after)),
            Policy::Fallback(_) => {}
        }
        all
    }
}

/// Parses `tokens` as the arguments of `kind`; `span` locates the attribute
/// for errors about it as a whole.
pub(crate) fn parse(kind: Kind, tokens: TokenStream, span: Span) -> syn::Result<Args> {
    let entries = Parser::parse2(
        |input: ParseStream<'_>| {
            Punctuated::<Entry, Token![,]>::parse_terminated_with(input, Entry::parse)
        },
        tokens,
    )?;
    let mut reader = Reader {
        kind,
        crate_path: Slot::new(),
        entries: entries.into_iter().collect(),
    };
    let policy = match kind {
        Kind::Retry => Policy::Retry(Box::new(RetryArgs::parse(&mut reader)?)),
        Kind::Timeout => Policy::Timeout(TimeoutArgs::parse(&mut reader, span)?),
        Kind::Fallback => Policy::Fallback(FallbackArgs::parse(&mut reader, span)?),
        Kind::CircuitBreaker => {
            Policy::CircuitBreaker(Box::new(CircuitBreakerArgs::parse(&mut reader)?))
        }
        Kind::Bulkhead => Policy::Bulkhead(Box::new(BulkheadArgs::parse(&mut reader)?)),
        Kind::RateLimit => Policy::RateLimit(Box::new(RateLimitArgs::parse(&mut reader, span)?)),
        Kind::Chaos => Policy::Chaos(Box::new(ChaosArgs::parse(&mut reader, span)?)),
        Kind::Leader => Policy::Leader(Box::new(LeaderArgs::parse(&mut reader, span)?)),
        Kind::Hedge => Policy::Hedge(Box::new(HedgeArgs::parse(&mut reader, span)?)),
    };
    Ok(Args {
        kind,
        policy,
        crate_path: reader.crate_path.take(),
    })
}

/// One comma-separated entry.
pub(crate) enum Entry {
    /// `key = value`
    Key(Ident, Expr),
    /// a bare value
    Positional(Expr),
}

impl Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key = input.call(Ident::parse_any)?;
            input.parse::<Token![=]>()?;
            Ok(Entry::Key(key, ungrouped(input.parse()?)))
        } else {
            Ok(Entry::Positional(ungrouped(input.parse()?)))
        }
    }
}

/// The value without the invisible groups that `macro_rules!` fragments
/// (`$d:literal`, `$e:expr`) arrive in, at any depth, so that a literal passed
/// through a declarative macro is still recognised as a literal.
fn ungrouped(mut expr: Expr) -> Expr {
    struct Ungroup;
    impl syn::visit_mut::VisitMut for Ungroup {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            while let Expr::Group(group) = expr {
                *expr = (*group.expr).clone();
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    syn::visit_mut::VisitMut::visit_expr_mut(&mut Ungroup, &mut expr);
    expr
}

/// The entries of one attribute, read key by key.
pub(crate) struct Reader {
    pub(crate) kind: Kind,
    crate_path: Slot<(Path, Span)>,
    entries: Vec<Entry>,
}

impl Reader {
    /// [`read`](Reader::read) for an attribute that takes `key = value`
    /// entries only; `example` shows one in the error for a bare value.
    pub(crate) fn read_keyed(
        &mut self,
        keys: &[&str],
        example: &str,
        set: impl FnMut(&Ident, Expr) -> syn::Result<bool>,
    ) -> syn::Result<()> {
        let kind = self.kind;
        self.read(
            keys,
            |value| {
                Err(syn::Error::new(
                    value.span(),
                    format!("`{kind}` takes `key = value` arguments, such as `{example}`"),
                ))
            },
            set,
        )
    }

    /// Feeds every `key = value` entry to `set`, which returns `false` for a key
    /// it does not know; positional entries go to `positional`. `crate` is
    /// handled here for every attribute. Unknown keys list the valid ones.
    pub(crate) fn read(
        &mut self,
        keys: &[&str],
        mut positional: impl FnMut(Expr) -> syn::Result<()>,
        mut set: impl FnMut(&Ident, Expr) -> syn::Result<bool>,
    ) -> syn::Result<()> {
        let mut errors = Errors::default();
        for entry in std::mem::take(&mut self.entries) {
            let result = match entry {
                Entry::Positional(value) => positional(value),
                Entry::Key(key, value) if key == "crate" => {
                    let kind = self.kind;
                    crate_path(&value)
                        .and_then(|path| self.crate_path.set(kind, &key, (path, value.span())))
                }
                Entry::Key(key, value) => match set(&key, value) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(unknown_key(self.kind, &key, keys)),
                    Err(e) => Err(e),
                },
            };
            errors.push(result);
        }
        errors.finish()
    }
}

fn unknown_key(kind: Kind, key: &Ident, keys: &[&str]) -> syn::Error {
    let valid: Vec<String> = keys
        .iter()
        .chain(["crate"].iter())
        .map(|k| format!("`{k}`"))
        .collect();
    syn::Error::new(
        key.span(),
        format!(
            "unknown key `{}` for `{kind}`; expected one of: {}",
            key.unraw(),
            valid.join(", ")
        ),
    )
}

/// `crate = "path"`'s value as a path.
pub(crate) fn crate_path(value: &Expr) -> syn::Result<Path> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit.parse::<Path>().map_err(|_| {
            syn::Error::new(
                lit.span(),
                "expected a path to the steadfast crate, such as \"::steadfast\"",
            )
        }),
        other => Err(syn::Error::new(
            other.span(),
            "expected a string literal holding a path: `crate = \"my_steadfast\"`",
        )),
    }
}

/// A key's value, set at most once.
pub(crate) struct Slot<T> {
    value: Option<T>,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Slot { value: None }
    }

    /// Stores the value; a second call for the same key is an error on `key`.
    pub(crate) fn set(&mut self, kind: Kind, key: &Ident, value: T) -> syn::Result<()> {
        if self.value.is_some() {
            return Err(syn::Error::new(
                key.span(),
                format!("duplicate key `{}` in `{kind}`; set it once", key.unraw()),
            ));
        }
        self.value = Some(value);
        Ok(())
    }

    pub(crate) fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }
}

/// Collects errors so that one expansion reports them all.
#[derive(Default)]
pub(crate) struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, result: syn::Result<()>) {
        if let Err(error) = result {
            match &mut self.first {
                Some(all) => all.combine(error),
                None => self.first = Some(error),
            }
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.first.map_or(Ok(()), Err)
    }
}

/// A predicate or handler: a path to a fn, or a closure.
pub(crate) fn callable(value: Expr, what: &str) -> syn::Result<Expr> {
    match value {
        Expr::Path(_) | Expr::Closure(_) => Ok(value),
        other => Err(syn::Error::new(
            other.span(),
            format!("expected {what}: a path to a function, or a closure"),
        )),
    }
}

/// A number literal (`2.0`, `2`, `1e3`), if `value` is one.
pub(crate) fn number(value: &Expr) -> Option<f64> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u32>().ok().map(f64::from),
        _ => None,
    }
}

/// A ratio literal in (0, 1].
pub(crate) fn ratio(value: &Expr, key: &str) -> syn::Result<f64> {
    match number(value) {
        Some(r) if r > 0.0 && r <= 1.0 => Ok(r),
        Some(_) => Err(syn::Error::new(
            value.span(),
            format!(
                "`{key}` must be in (0, 1]: above 0 (0 would open on no failure) and at most 1"
            ),
        )),
        None => Err(syn::Error::new(
            value.span(),
            format!("`{key}` expects a number between 0 and 1, such as `{key} = 0.5`"),
        )),
    }
}

/// `name = "…"`.
pub(crate) fn name_arg(value: &Expr) -> syn::Result<syn::LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if !lit.value().is_empty() => Ok(lit.clone()),
        other => Err(syn::Error::new(
            other.span(),
            "`name` expects a non-empty string literal, such as `name = \"payments\"`",
        )),
    }
}

/// A positive integer literal.
pub(crate) fn int<N>(value: &Expr, key: &str) -> syn::Result<N>
where
    N: core::str::FromStr,
    N::Err: core::fmt::Display,
{
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_parse().map_err(|_| {
            syn::Error::new(
                lit.span(),
                format!("`{key} = {lit}` is too large; it must fit in 32 bits"),
            )
        }),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` expects a positive integer literal, such as `{key} = 3`"),
        )),
    }
}
