//! The macro never panics: generated and mutated attribute arguments and
//! items go through the expansion outside the compiler, and every outcome
//! must be an expansion or a spanned error with the function kept.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::args;
use crate::expand::entry;
use crate::kind::Kind;

/// Pieces that argument lists are built from, besides every key ([`keys`]):
/// values of every shape, and punctuation in the wrong places.
const PIECES: &[&str] = &[
    "=",
    "==",
    ",",
    ";",
    ":",
    "=>",
    "\"1s\"",
    "\"5 sec\"",
    "\"0ms\"",
    "\"1m30s\"",
    "\"\"",
    "\"1.5s\"",
    "\"99999999999999999999h\"",
    "0",
    "1",
    "3",
    "-1",
    "1.5",
    "0.0",
    "1e400",
    "4294967296",
    "none",
    "full",
    "equal",
    "decorrelated",
    "fixed(\"1s\")",
    "exponential(\"1ms\", factor = 2.0, max = \"1s\")",
    "fibonacci(\"1ms\")",
    "linear(1)",
    "exponential(max = \"1s\")",
    "fixed()",
    "a::b",
    "|e| true",
    "async |e| Ok(0)",
    "|| {}",
    "(",
    ")",
    "[",
    "]",
    "{ }",
    "#",
    "'a",
    "Duration::from_secs(1)",
    "PAYMENTS",
    "Self::x",
    "_",
];

/// Items, valid and not, that the attributes are put on.
const ITEMS: &[&str] = &[
    "async fn f(&self, x: &str) -> Result<u32, E> { Ok(1) }",
    "async fn f() -> Result<(), E> { Ok(()) }",
    "pub async fn f<T: Clone>(t: T) -> std::io::Result<T> where T: Send { Ok(t) }",
    "#[timeout(\"1s\")] async fn f() -> Result<(), E> { Ok(()) }",
    "#[retry] #[retry] async fn f() -> Result<(), E> { Ok(()) }",
    "#[steadfast::bulkhead(max_concurrent = 2)] #[doc = \"x\"] async fn f() -> Result<(), E> { Ok(()) }",
    "#[circuit_breaker = 3] async fn f() -> Result<(), E> { Ok(()) }",
    "async fn f() { }",
    "fn f() -> Result<(), E> { Ok(()) }",
    "async fn f() -> impl Future<Output = ()> { async {} }",
    "async fn f() -> Result<(), E>;",
    "struct S;",
    "async fn f() -> Result<u8, E> { #![allow(x)] return Ok(1); }",
    "async fn f() -> Result<u8, E> { let x = ; }",
    "",
];

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

/// Keys: every attribute's own (from its parser), `crate`, and some that no
/// attribute takes.
fn keys() -> Vec<&'static str> {
    let mut keys = [
        &args::retry::KEYS[..],
        &args::circuit_breaker::KEYS,
        &args::bulkhead::KEYS,
        &args::rate_limit::KEYS,
        &["crate", "r#crate", "after", "nope"],
    ]
    .concat();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Keys and the other pieces.
fn pieces() -> Vec<&'static str> {
    [keys(), PIECES.to_vec()].concat()
}

/// Argument lists: mostly well-formed `key = value` entries (so that the
/// checks behind the parser are reached), sometimes raw token soup.
fn args() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        4 => (prop::sample::select(keys()), prop::sample::select(pieces())).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => prop::sample::select(pieces()).prop_map(str::to_string),
    ];
    prop_oneof![
        5 => prop::collection::vec(entry, 0..5).prop_map(|entries| entries.join(", ")),
        1 => prop::collection::vec(prop::sample::select(pieces()), 0..10).prop_map(|p| p.join(" ")),
    ]
}

/// An item, possibly mutated: a token dropped, or a piece spliced in.
fn item() -> impl Strategy<Value = String> {
    (
        prop::sample::select(ITEMS),
        any::<u8>(),
        0usize..4,
        prop::sample::select(pieces()),
    )
        .prop_map(|(item, at, how, piece)| {
            let tokens: Vec<String> = item
                .parse::<TokenStream>()
                .map(|t| t.into_iter().map(|t| t.to_string()).collect())
                .unwrap_or_default();
            let mut tokens = tokens;
            if tokens.is_empty() {
                return item.to_string();
            }
            let at = usize::from(at) % tokens.len();
            match how {
                0 => {
                    tokens.remove(at);
                }
                1 => tokens.insert(at, piece.to_string()),
                _ => {}
            }
            tokens.join(" ")
        })
}

/// Expands one input; `Err` describes a broken promise.
fn check(kind: Kind, args: &str, item: &str) -> Result<bool, String> {
    // Inputs that do not even tokenize never reach a macro.
    let (Ok(args_tokens), Ok(tokens)) = (args.parse::<TokenStream>(), item.parse::<TokenStream>())
    else {
        return Ok(false);
    };
    let output = catch_unwind(AssertUnwindSafe(|| {
        entry(kind, args_tokens, tokens.clone())
    }))
    .map_err(|_| format!("the macro panicked on #[{}({args})] {item}", kind.name()))?
    .to_string();
    if output.contains("compile_error") {
        // A spanned error, and the item is still there for the IDE.
        let first = tokens.to_string();
        let first = first.split_whitespace().next().unwrap_or("");
        if !output.contains(first) {
            return Err(format!("the item was dropped: {output}"));
        }
    } else if !output.contains("async fn") {
        return Err(format!("no error and no function: {output}"));
    }
    Ok(true)
}

#[test]
fn never_panics_and_every_failure_is_a_spanned_error() {
    let tried = AtomicU64::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 3000,
        ..ProptestConfig::default()
    });
    let result = runner.run(&(kind(), args(), item()), |(kind, args, item)| {
        if check(kind, &args, &item).map_err(TestCaseError::fail)? {
            tried.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    eprintln!(
        "macro robustness: {} generated inputs expanded without a panic",
        tried.load(Ordering::Relaxed)
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
