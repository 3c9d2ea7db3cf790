//! The checks that need the whole function: the item kind, the return type,
//! the crate path, and durations that can only be known at run time.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{FnArg, Path, ReturnType, Type};

use crate::args::Args;
use crate::item::ItemFn;
use crate::kind::Kind;
use crate::stack::Layer;

/// A plain `fn` takes `#[retry]`, `#[circuit_breaker]`, `#[bulkhead]`,
/// `#[rate_limit]` and `#[fallback]`; the other attributes need an `async
/// fn`, each refused on its own attribute with its reason.
pub(crate) fn check_sync(item_fn: &ItemFn, layers: &[Layer]) -> syn::Result<()> {
    // `#[tokio::test]` / `#[tokio::main]` written above the stack expanded
    // first and left a synchronous function that runs its old body on a
    // runtime (`let body = async { … }; … .block_on(body)`): wrapping that
    // would put the entry point inside the policies, against the written
    // order. (A plain `#[test]` still in the attributes was written below:
    // the compiler removes the one it expands.)
    let body = item_fn.body.stream();
    let test_above =
        contains(body.clone(), &["block_on"]) && contains(body, &["let", "body", "=", "async"]);
    if test_above {
        let top = layers[0].kind;
        return Err(syn::Error::new(
            item_fn.sig.fn_token.span(),
            format!(
                "`{top}` was written below an entry point (`#[tokio::main]`, `#[tokio::test]`) \
                 that has already made this `async fn` synchronous; write the entry point below \
                 the steadfast attributes (it always wraps the whole call)"
            ),
        ));
    }
    let mut errors = crate::args::Errors::default();
    for layer in layers {
        let why = match layer.kind {
            Kind::Retry
            | Kind::CircuitBreaker
            | Kind::Bulkhead
            | Kind::RateLimit
            | Kind::Fallback => continue,
            Kind::Timeout => {
                "a blocking call cannot be cancelled, so it could not be stopped at its deadline; \
                 make this function `async` (with the blocking work in `tokio::task::spawn_blocking`)"
            }
            Kind::Hedge => {
                "a blocking call cannot be cancelled, so the copies that lose could not be \
                 stopped; make this function `async`"
            }
            Kind::Leader => {
                "a call is stopped when leadership is lost, and a blocking call cannot be; \
                 make this function `async`"
            }
            Kind::Chaos => {
                "its faults are injected on the tokio runtime (delays are tokio sleeps); \
                 make this function `async`"
            }
        };
        let kind = layer.kind;
        let message = format!("`{kind}` needs an `async fn`: {why}");
        let error = match &layer.attr {
            Some(attr) => syn::Error::new_spanned(attr, message),
            None => syn::Error::new(layer.span, message),
        };
        errors.push(Err(error));
    }
    errors.finish()
}

/// `#[hedge]` runs copies of the body at the same time: it cannot hold an
/// exclusive borrow (`&mut self`, a `&mut` argument), which only one copy
/// could use.
pub(crate) fn hedge_shares(item_fn: &ItemFn, parsed: &[Args]) -> syn::Result<()> {
    if !parsed
        .iter()
        .any(|args| matches!(args.policy, crate::args::Policy::Hedge(_)))
    {
        return Ok(());
    }
    let mut errors = crate::args::Errors::default();
    for input in &item_fn.sig.inputs {
        match input {
            FnArg::Receiver(receiver)
                if match &receiver.kind {
                    syn::ReceiverKind::Reference(_, _, mutability) => mutability.is_some(),
                    syn::ReceiverKind::Typed(_, ty) => {
                        matches!(&**ty, Type::Reference(r) if r.mutability.is_some())
                    }
                    _ => false,
                } =>
            {
                errors.push(Err(syn::Error::new_spanned(
                    receiver,
                    "`#[hedge]` runs copies of the body at the same time, so it cannot borrow \
                     `&mut self`: one exclusive borrow cannot be shared between copies; take \
                     `&self` (with interior mutability for what changes)",
                )));
            }
            FnArg::Typed(typed) => {
                if let Type::Reference(reference) = &*typed.ty
                    && reference.mutability.is_some()
                {
                    errors.push(Err(syn::Error::new_spanned(
                        &typed.ty,
                        "`#[hedge]` runs copies of the body at the same time, so it cannot take a \
                         `&mut` argument: one exclusive borrow cannot be shared between copies; \
                         take a shared reference",
                    )));
                }
            }
            FnArg::Receiver(_) => {}
        }
    }
    errors.finish()
}

/// The declared return type, if it can be a `Result`. Type aliases pass here;
/// the compiler checks them against `Result` (`ResultType` in the runtime).
pub(crate) fn return_type(item_fn: &ItemFn, top: Kind) -> syn::Result<Type> {
    let sig = &item_fn.sig;
    let ty = match &sig.output {
        ReturnType::Default => {
            return Err(syn::Error::new(
                sig.paren_token.span.close(),
                format!(
                    "`{top}` needs a function that returns `Result<T, E>`, but `{}` returns `()`",
                    sig.ident
                ),
            ));
        }
        ReturnType::Type(_, ty) => ty,
    };
    let mut inner: &Type = ty;
    while let Type::Paren(paren) = inner {
        inner = &paren.elem;
    }
    match inner {
        Type::Path(path) if !is_known_non_result(path) => Ok((**ty).clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{top}` needs a function that returns `Result<T, E>`, not `{}`",
                other.to_token_stream()
            ),
        )),
    }
}

/// Types that are certainly not a `Result` (or an alias of one), caught here
/// so that the error names the attribute; other paths go to the compiler.
fn is_known_non_result(path: &syn::TypePath) -> bool {
    const NOT_RESULT: &[&str] = &[
        "bool", "char", "str", "String", "Option", "Vec", "Box", "Arc", "Rc", "HashMap", "u8",
        "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
        "f64", "Self",
    ];
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|last| NOT_RESULT.iter().any(|name| last.ident == name))
}

/// `crate = "…"` from any attribute of the stack; two different ones conflict.
pub(crate) fn crate_path(parsed: &[Args]) -> syn::Result<TokenStream> {
    let mut chosen: Option<&Path> = None;
    for args in parsed {
        if let Some((path, span)) = &args.crate_path {
            match chosen {
                Some(earlier) if earlier != path => {
                    return Err(syn::Error::new(
                        *span,
                        "a different `crate = …` was given on another attribute of this function; give it once",
                    ));
                }
                _ => chosen = Some(path),
            }
        }
    }
    Ok(chosen.map_or_else(|| quote!(::steadfast), ToTokens::to_token_stream))
}

/// A duration must be known at compile time: an expression that reads `self`
/// or an argument of the function is refused where it is written, with the
/// way to choose a limit at run time.
pub(crate) fn durations_known_at_compile_time(
    item_fn: &ItemFn,
    parsed: &[Args],
) -> syn::Result<()> {
    let params = param_names(item_fn);
    let mut errors = crate::args::Errors::default();
    for args in parsed {
        for (key, duration) in args.durations() {
            let Some(expr) = duration.expr() else {
                continue;
            };
            if let Some(ident) = run_time_ident(expr.to_token_stream(), &params) {
                let fix = match args.kind {
                    Kind::Timeout => {
                        "for a limit chosen at run time, call `steadfast::Timeout::new(limit).run(…)` \
                         in the body instead"
                    }
                    Kind::Retry => {
                        "for a policy chosen at run time, build a `steadfast::Retry` and drive its \
                         `start()` in the body instead"
                    }
                    _ => {
                        "for a policy configured at run time, build it in a `static` and name it with \
                         `shared = …`"
                    }
                };
                let what = match args.kind {
                    Kind::Timeout => "the duration".to_string(),
                    _ => format!("`{key}`"),
                };
                errors.push(Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "{what} of `{}` must be known at compile time (a string such as \"2s\" or a \
                         const `Duration`), but `{ident}` is a run-time value; {fix}",
                        args.kind
                    ),
                )));
            }
        }
    }
    errors.finish()
}

/// `self` (a receiver, or in a closure) and every name the arguments' patterns
/// bind: the run-time values an attribute's expression can read.
pub(crate) fn param_names(item_fn: &ItemFn) -> Vec<String> {
    // (`visit-mut` is the visitor syn is built with here: a copy of each
    // pattern is walked.)
    struct Names(Vec<String>);
    impl syn::visit_mut::VisitMut for Names {
        fn visit_pat_ident_mut(&mut self, pat: &mut syn::PatIdent) {
            self.0.push(pat.ident.to_string());
            syn::visit_mut::visit_pat_ident_mut(self, pat);
        }
    }
    let mut names = Names(vec!["self".to_string()]);
    for input in &item_fn.sig.inputs {
        if let FnArg::Typed(typed) = input {
            let mut pat = (*typed.pat).clone();
            syn::visit_mut::VisitMut::visit_pat_mut(&mut names, &mut pat);
        }
    }
    names.0
}

/// The first `self` or argument name among `tokens` (not after a `::`).
fn run_time_ident(tokens: TokenStream, params: &[String]) -> Option<proc_macro2::Ident> {
    let mut after_path_sep = false;
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(ident) => {
                if !after_path_sep && params.iter().any(|p| ident == p) {
                    return Some(ident);
                }
                after_path_sep = false;
            }
            proc_macro2::TokenTree::Group(group) => {
                if let Some(found) = run_time_ident(group.stream(), params) {
                    return Some(found);
                }
                after_path_sep = false;
            }
            // `a::b`, `a.b`: `b` is a path segment or a field, not a variable.
            proc_macro2::TokenTree::Punct(punct) => {
                after_path_sep = matches!(punct.as_char(), ':' | '.');
            }
            proc_macro2::TokenTree::Literal(_) => after_path_sep = false,
        }
    }
    None
}

/// Whether `tokens` hold `sequence` (identifiers and punctuation, each
/// compared by its text) in a row, at any depth.
fn contains(tokens: TokenStream, sequence: &[&str]) -> bool {
    let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
    let matches = |tree: &proc_macro2::TokenTree, text: &&str| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == text,
        proc_macro2::TokenTree::Punct(punct) => {
            text.len() == 1 && text.starts_with(punct.as_char())
        }
        _ => false,
    };
    trees.windows(sequence.len()).any(|window| {
        window
            .iter()
            .zip(sequence)
            .all(|(tree, text)| matches(tree, text))
    }) || trees.iter().any(|tree| match tree {
        proc_macro2::TokenTree::Group(group) => contains(group.stream(), sequence),
        _ => false,
    })
}
