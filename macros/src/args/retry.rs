//! `#[retry(attempts = …, backoff = …, jitter = …, max_elapsed = …, when = …, delay_from = …,
//! max_hint = …, budget = …)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprAssign, ExprCall, ExprPath, Ident};

use super::{DurationArg, Errors, Reader, Shared, Slot, callable, int, number};

pub(crate) const KEYS: [&str; 8] = [
    "attempts",
    "backoff",
    "jitter",
    "max_elapsed",
    "when",
    "delay_from",
    "max_hint",
    "budget",
];

pub(crate) struct RetryArgs {
    pub(crate) attempts: Option<u32>,
    pub(crate) backoff: Option<BackoffArg>,
    pub(crate) jitter: Option<JitterArg>,
    pub(crate) max_elapsed: Option<DurationArg>,
    pub(crate) when: Option<Expr>,
    pub(crate) delay_from: Option<Expr>,
    /// `max_hint = d`: the longest `delay_from` hint honoured (> 0); the
    /// expansion passes it to `RetryBuilder::max_hint`.
    pub(crate) max_hint: Option<DurationArg>,
    /// `budget = PATH` or `budget = EXPR`: the `RetryBudget` retries draw
    /// from (read as `shared = …` is: a path through a `static` of the
    /// expansion's own, any other expression borrowed on each call).
    pub(crate) budget: Option<Shared>,
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
        let mut max_hint = Slot::new();
        let mut budget = Slot::new();
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
                "max_hint" => {
                    let d = DurationArg::from_expr(&value)?;
                    d.require_positive("`max_hint`")?;
                    max_hint.set(kind, key, (d, key.clone()))?;
                }
                "budget" => budget.set(kind, key, budget_arg(&value)?)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let (max_hint, max_hint_key) = max_hint.take().unzip();
        let args = RetryArgs {
            attempts: attempts.take().map(|(n, _)| n),
            backoff: backoff.take().map(|(b, _)| b),
            jitter: jitter.get().map(|(j, _): &(JitterArg, Ident)| *j),
            max_elapsed: max_elapsed.take(),
            when: when.take(),
            delay_from: delay_from.take(),
            max_hint,
            budget: budget.take(),
        };
        args.build(jitter.take().map(|(_, key)| key), max_hint_key)?;
        Ok(args)
    }

    /// Checks that the keys make sense together.
    fn build(&self, jitter_key: Option<Ident>, max_hint_key: Option<Ident>) -> syn::Result<()> {
        if let Some(key) = max_hint_key
            && self.delay_from.is_none()
        {
            return Err(syn::Error::new(
                key.span(),
                "`max_hint` bounds the hints of `delay_from`, which is not given; \
                 add `delay_from = …` or remove `max_hint`",
            ));
        }
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

/// `budget = PATH` (a `static`) or `budget = EXPR`; a literal is refused
/// here, where it is written.
pub(crate) fn budget_arg(value: &Expr) -> syn::Result<Shared> {
    match value {
        Expr::Lit(_) => Err(syn::Error::new(
            value.span(),
            "`budget` expects a `RetryBudget`: the path of a `static` built with \
             `RetryBudget::builder()…build()` (`budget = RETRIES`), or an expression of one",
        )),
        Expr::Path(ExprPath {
            path,
            qself: None,
            attrs,
        }) if attrs.is_empty() => Ok(Shared::Static(path.clone())),
        other => Ok(Shared::Expr(other.clone())),
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

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use proc_macro2::Span;

    use super::RetryArgs;
    use crate::args::{self, DurationArg, Policy};
    use crate::kind::Kind;

    fn parse(tokens: &str) -> syn::Result<RetryArgs> {
        let tokens = tokens.parse().expect("test args tokenize");
        let parsed = args::parse(Kind::Retry, tokens, Span::call_site())?;
        match parsed.policy {
            Policy::Retry(retry) => Ok(*retry),
            _ => unreachable!("a retry parses as a retry"),
        }
    }

    fn error(tokens: &str) -> String {
        match parse(tokens) {
            Ok(_) => panic!("`{tokens}` parsed"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn max_hint_takes_a_duration_literal() {
        let retry = parse("delay_from = E::retry_after, max_hint = \"1m30s\"").unwrap();
        assert!(matches!(
            retry.max_hint,
            Some(DurationArg::Literal(d, _)) if d == Duration::from_secs(90)
        ));
    }

    #[test]
    fn max_hint_takes_a_const_expression() {
        let retry = parse("max_hint = LONGEST_HINT, delay_from = |e: &E| e.hint()").unwrap();
        assert!(matches!(retry.max_hint, Some(DurationArg::Expr(_))));
        let retry = parse("delay_from = E::retry_after").unwrap();
        assert!(
            retry.max_hint.is_none(),
            "no key, no call: the runtime default"
        );
    }

    #[test]
    fn max_hint_must_be_a_positive_duration() {
        let zero = error("delay_from = f, max_hint = \"0s\"");
        assert!(
            zero.contains("`max_hint` must be greater than zero"),
            "{zero}"
        );
        let garbage = error("delay_from = f, max_hint = \"a minute\"");
        assert!(garbage.contains("unparsable duration"), "{garbage}");
        let number = error("delay_from = f, max_hint = 60");
        assert!(number.contains("expected a duration"), "{number}");
    }

    #[test]
    fn max_hint_is_not_repeated() {
        let twice = error("delay_from = f, max_hint = \"1s\", max_hint = \"2s\"");
        assert!(twice.contains("max_hint"), "{twice}");
    }

    #[test]
    fn max_hint_needs_delay_from() {
        let alone = error("max_hint = \"30s\"");
        assert!(alone.contains("add `delay_from = …`"), "{alone}");
    }

    #[test]
    fn budget_takes_a_path_or_an_expression() {
        let retry = parse("budget = RETRIES").unwrap();
        assert!(matches!(retry.budget, Some(crate::args::Shared::Static(_))));
        let retry = parse("budget = self.budget").unwrap();
        assert!(matches!(retry.budget, Some(crate::args::Shared::Expr(_))));
        let retry = parse("attempts = 2").unwrap();
        assert!(retry.budget.is_none());
    }

    #[test]
    fn budget_refuses_a_literal_and_a_second_budget() {
        let literal = error("budget = 0.2");
        assert!(
            literal.contains("`budget` expects a `RetryBudget`"),
            "{literal}"
        );
        let twice = error("budget = A, budget = B");
        assert!(twice.contains("budget"), "{twice}");
    }

    #[test]
    fn unknown_keys_list_budget() {
        let unknown = error("budgt = RETRIES");
        assert!(unknown.contains("`budget`"), "{unknown}");
    }

    #[test]
    fn unknown_keys_list_max_hint() {
        let unknown = error("max_hints = \"30s\"");
        assert!(unknown.contains("`max_hint`"), "{unknown}");
    }
}
