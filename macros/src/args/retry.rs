//! `#[retry(attempts = …, backoff = …, jitter = …, max_elapsed = …, when = …, delay_from = …)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprAssign, ExprCall, ExprPath, Ident};

use super::{DurationArg, Errors, Reader, Slot, callable, int, number};

pub(crate) const KEYS: [&str; 6] = [
    "attempts",
    "backoff",
    "jitter",
    "max_elapsed",
    "when",
    "delay_from",
];

pub(crate) struct RetryArgs {
    pub(crate) attempts: Option<u32>,
    pub(crate) backoff: Option<BackoffArg>,
    pub(crate) jitter: Option<JitterArg>,
    pub(crate) max_elapsed: Option<DurationArg>,
    pub(crate) when: Option<Expr>,
    pub(crate) delay_from: Option<Expr>,
}

pub(crate) enum BackoffArg {
    None,
    Fixed(DurationArg),
    Exponential {
        initial: DurationArg,
        factor: Option<f64>,
        max: Option<DurationArg>,
    },
    Fibonacci {
        initial: DurationArg,
        max: Option<DurationArg>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum JitterArg {
    None,
    Full,
    Equal,
    Decorrelated,
}

impl RetryArgs {
    pub(crate) fn parse(reader: &mut Reader) -> syn::Result<Self> {
        let kind = reader.kind;
        let mut attempts = Slot::new();
        let mut backoff = Slot::new();
        let mut jitter = Slot::new();
        let mut max_elapsed = Slot::new();
        let mut when = Slot::new();
        let mut delay_from = Slot::new();
        reader.read_keyed(&KEYS, "#[retry(attempts = 3)]", |key, value| {
            match key.to_string().as_str() {
                "attempts" => {
                    let n: u32 = int(&value, "attempts")?;
                    if n == 0 {
                        return Err(syn::Error::new(
                            value.span(),
                            "`attempts` counts the first call too, so it must be at least 1",
                        ));
                    }
                    attempts.set(kind, key, (n, key.span()))?;
                }
                "backoff" => backoff.set(kind, key, (parse_backoff(&value)?, key.clone()))?,
                "jitter" => jitter.set(kind, key, (parse_jitter(&value)?, key.clone()))?,
                "max_elapsed" => {
                    let d = DurationArg::from_expr(&value)?;
                    d.require_positive("`max_elapsed`")?;
                    max_elapsed.set(kind, key, d)?;
                }
                "when" => when.set(kind, key, callable(value, "a predicate `fn(&E) -> bool`")?)?,
                "delay_from" => delay_from.set(
                    kind,
                    key,
                    callable(value, "a hint `fn(&E) -> Option<Duration>`")?,
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let args = RetryArgs {
            attempts: attempts.take().map(|(n, _)| n),
            backoff: backoff.take().map(|(b, _)| b),
            jitter: jitter.get().map(|(j, _): &(JitterArg, Ident)| *j),
            max_elapsed: max_elapsed.take(),
            when: when.take(),
            delay_from: delay_from.take(),
        };
        args.build(jitter.take().map(|(_, key)| key))?;
        Ok(args)
    }

    /// Checks that the keys make sense together.
    fn build(&self, jitter_key: Option<Ident>) -> syn::Result<()> {
        let Some(key) = jitter_key else { return Ok(()) };
        match (&self.backoff, self.jitter) {
            (Some(BackoffArg::None), Some(_)) => Err(syn::Error::new(
                key.span(),
                "`jitter` has no effect with `backoff = none` (there is no delay to randomise); remove one of them",
            )),
            (Some(BackoffArg::Fixed(_)), Some(JitterArg::Decorrelated)) => Err(syn::Error::new(
                key.span(),
                "`jitter = decorrelated` needs a backoff with a `max` to bound its growth; \
                 use `backoff = exponential(…)` or `fibonacci(…)`, or another jitter",
            )),
            _ => Ok(()),
        }
    }
}

fn parse_jitter(value: &Expr) -> syn::Result<JitterArg> {
    let name = bare_ident(value);
    match name.as_deref() {
        Some("none") => Ok(JitterArg::None),
        Some("full") => Ok(JitterArg::Full),
        Some("equal") => Ok(JitterArg::Equal),
        Some("decorrelated") => Ok(JitterArg::Decorrelated),
        _ => Err(syn::Error::new(
            value.span(),
            "expected a jitter: `none`, `full`, `equal` or `decorrelated`",
        )),
    }
}

const BACKOFF_FORMS: &str = "expected a backoff: `none`, `fixed(\"100ms\")`, \
    `exponential(\"100ms\", factor = 2.0, max = \"10s\")` or `fibonacci(\"100ms\", max = \"10s\")`";

fn parse_backoff(value: &Expr) -> syn::Result<BackoffArg> {
    if bare_ident(value).as_deref() == Some("none") {
        return Ok(BackoffArg::None);
    }
    let Expr::Call(ExprCall { func, args, .. }) = value else {
        return Err(syn::Error::new(value.span(), BACKOFF_FORMS));
    };
    let name = bare_ident(func);
    let mut args = args.iter();
    let initial = match args.next() {
        Some(Expr::Assign(_)) | None => {
            return Err(syn::Error::new_spanned(
                value,
                "the backoff's first argument is its initial delay, such as `fixed(\"100ms\")`",
            ));
        }
        Some(first) => DurationArg::from_expr(first)?,
    };
    let mut factor = Slot::new();
    let mut max = Slot::new();
    let mut errors = Errors::default();
    let allowed: &[&str] = match name.as_deref() {
        Some("fixed") => &[],
        Some("exponential") => &["factor", "max"],
        Some("fibonacci") => &["max"],
        _ => return Err(syn::Error::new(func.span(), BACKOFF_FORMS)),
    };
    for arg in args {
        errors.push((|| {
            let Expr::Assign(ExprAssign { left, right, .. }) = arg else {
                return Err(syn::Error::new(
                    arg.span(),
                    "after the initial delay, write `factor = …` or `max = …`",
                ));
            };
            let key = bare_ident(left).filter(|k| allowed.contains(&k.as_str()));
            let Some(key) = key else {
                let list = if allowed.is_empty() {
                    "no other arguments".to_string()
                } else {
                    allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                };
                return Err(syn::Error::new(
                    left.span(),
                    format!("this backoff takes {list} after the initial delay"),
                ));
            };
            let ident = Ident::new(&key, left.span());
            if key == "factor" {
                factor.set(
                    crate::kind::Kind::Retry,
                    &ident,
                    (parse_factor(right)?, right.span()),
                )
            } else {
                max.set(
                    crate::kind::Kind::Retry,
                    &ident,
                    DurationArg::from_expr(right)?,
                )
            }
        })());
    }
    errors.finish()?;
    let max = max.take();
    if let (Some(initial_value), Some(max_value)) = (
        initial.literal(),
        max.as_ref().and_then(DurationArg::literal),
    ) && initial_value > max_value
    {
        return Err(syn::Error::new_spanned(
            value,
            format!("the initial delay ({initial_value:?}) is larger than `max` ({max_value:?})"),
        ));
    }
    Ok(match name.as_deref() {
        Some("fixed") => BackoffArg::Fixed(initial),
        Some("exponential") => BackoffArg::Exponential {
            initial,
            factor: factor.take().map(|(f, _): (f64, Span)| f),
            max,
        },
        _ => BackoffArg::Fibonacci { initial, max },
    })
}

fn parse_factor(value: &Expr) -> syn::Result<f64> {
    match number(value) {
        Some(f) if f.is_finite() && f >= 1.0 => Ok(f),
        Some(f) if !f.is_finite() => Err(syn::Error::new(
            value.span(),
            "`factor` must be a finite number, such as `factor = 2.0`",
        )),
        Some(_) => Err(syn::Error::new(
            value.span(),
            "`factor` must be at least 1.0 (delays must not shrink)",
        )),
        None => Err(syn::Error::new(
            value.span(),
            "`factor` expects a number, such as `factor = 2.0`",
        )),
    }
}

/// `name` for a single-segment path expression.
fn bare_ident(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(ExprPath {
            path, qself: None, ..
        }) => path.get_ident().map(ToString::to_string),
        _ => None,
    }
}
