//! Durations: string literals checked at compile time, or const expressions.

use core::time::Duration;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr};

/// A duration argument.
pub(crate) enum DurationArg {
    /// `"1m30s"`, already parsed.
    Literal(Duration, LitStr),
    /// Any expression; the compiler checks that it is a const `Duration`.
    Expr(Expr),
}

impl DurationArg {
    pub(crate) fn from_expr(expr: &Expr) -> syn::Result<Self> {
        match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                let value = parse(&lit.value()).map_err(|why| {
                    syn::Error::new(
                        lit.span(),
                        format!(
                            "unparsable duration {:?}: {why}; write digits followed by a unit \
                             (`us`, `ms`, `s`, `m`, `h`), combined from largest to smallest, \
                             such as \"250ms\", \"2s\" or \"1m30s\"",
                            lit.value()
                        ),
                    )
                })?;
                Ok(DurationArg::Literal(value, lit.clone()))
            }
            Expr::Lit(other) => Err(syn::Error::new(
                other.span(),
                "expected a duration: a string such as \"250ms\" or a const `Duration` expression",
            )),
            other => Ok(DurationArg::Expr(other.clone())),
        }
    }

    /// Whether the duration is an expression (a const the compiler evaluates)
    /// rather than a literal.
    pub(crate) fn is_expr(&self) -> bool {
        matches!(self, DurationArg::Expr(_))
    }

    /// The expression, when the duration is one.
    pub(crate) fn expr(&self) -> Option<&Expr> {
        match self {
            DurationArg::Literal(..) => None,
            DurationArg::Expr(expr) => Some(expr),
        }
    }

    /// The value, when it is known at expansion time.
    pub(crate) fn literal(&self) -> Option<Duration> {
        match self {
            DurationArg::Literal(value, _) => Some(*value),
            DurationArg::Expr(_) => None,
        }
    }

    /// An error if the duration is a literal zero.
    pub(crate) fn require_positive(&self, what: &str) -> syn::Result<()> {
        match self {
            DurationArg::Literal(value, lit) if value.is_zero() => Err(syn::Error::new(
                lit.span(),
                format!("{what} must be greater than zero"),
            )),
            _ => Ok(()),
        }
    }
}

impl ToTokens for DurationArg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            DurationArg::Literal(value, lit) => {
                let (secs, nanos) = (value.as_secs(), value.subsec_nanos());
                tokens.extend(quote_spanned! {lit.span()=>
                    ::core::time::Duration::new(#secs, #nanos)
                });
            }
            DurationArg::Expr(expr) => {
                // Typed, so a wrong type is reported on the user's expression;
                // an inline `const`, so that it is evaluated at compile time
                // wherever it is used, and may name `Self` and generics.
                let span = expr.span();
                let typed = quote_spanned!(span=> ::core::time::Duration);
                tokens.extend(quote!(const {
                    let __steadfast_duration: #typed = #expr;
                    __steadfast_duration
                }));
            }
        }
    }
}

/// Parses `"1h"`, `"1m30s"`, `"250ms"`, `"10us"`: one or more `<digits><unit>`
/// parts with units in decreasing order, each unit at most once.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u128); 5] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ];
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let mut rest = text;
    let mut total: u128 = 0;
    // Index into UNITS of the previous part's unit: each must be smaller.
    let mut previous: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let number: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("{:?} is too large", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(format!("the number {number} has no unit"));
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(format!("unknown unit {unit:?}"));
        };
        if previous.is_some_and(|previous| index <= previous) {
            return Err(format!("the unit {unit:?} is repeated or out of order"));
        }
        previous = Some(index);
        total = number
            .checked_mul(UNITS[index].1)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| "it is too large".to_string())?;
        rest = &rest[unit_len..];
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| "it is too large".to_string())?;
    // Below one second, so it fits.
    #[allow(clippy::cast_possible_truncation)]
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use core::time::Duration;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse("1h2m3s4ms5us"), Ok(Duration::new(3723, 4_005_000)));
        assert_eq!(parse("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "", "5 sec", "5", "ms", "1.5s", "5sec", "30s1m", "1s1s", "-1s", " 1s", "1d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse("99999999999999999999999999999999999999999h").is_err());
        assert!(parse("18446744073709551616s").is_err());
    }
}
