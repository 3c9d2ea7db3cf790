//! Writing the new body.
//!
//! Input:
//!
//! ```text
//! #[retry(attempts = 3)]
//! #[timeout("1s")]
//! async fn get(&self, id: u32) -> Result<Item, Error> { BODY }
//! ```
//!
//! Output (abridged; `P` is `::steadfast::__private`):
//!
//! ```text
//! async fn get(&self, id: u32) -> Result<Item, Error> {
//!     P::finish((async {                                   // retry, outermost
//!         static RETRY: P::Retry = P::Retry::builder().attempts(3).build();
//!         let mut attempts = RETRY.start();
//!         loop {
//!             let outcome = ({                             // timeout, per attempt
//!                 static TIMEOUT: P::Timeout = P::Timeout::new(1s);
//!                 TIMEOUT.wrap(P::attempt::<Result<Item, Error>, _, _, _, _>(async {
//!                     P::expect::<Result<Item, Error>>({ BODY })   // see `body`
//!                 }))
//!             }).await;
//!             match attempts.judge(outcome, P::always, P::no_hint, describe) {
//!                 Break(result) => break result,
//!                 Continue(delay) => P::pause(delay).await,
//!             }
//!         }
//!     }).await)
//! }
//! ```
//!
//! The signature is re-emitted untouched. The body runs inside a plain
//! `async { … }` block (not `move`), so it borrows the arguments like the
//! original body did: `&mut self` works, `?` and `return` end the attempt,
//! and a retried body that moves an argument is reported by the compiler at
//! the move. Its tail and `return`s keep the declared return type as their
//! expected type ([`crate::body`]). All behaviour lives in the runtime; this
//! is glue.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Ident, Path, ReturnType, Type};

use crate::args::{
    self, Args, BackoffArg, BulkheadArgs, CircuitBreakerArgs, Errors, JitterArg, Policy, RetryArgs,
    WindowArg,
};
use crate::item::ItemFn;
use crate::kind::Kind;
use crate::stack::{self, Layer, Stack};

/// The whole expansion of the attribute the compiler invoked.
pub(crate) fn entry(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(item_fn) => item_fn,
        Err(error) => {
            let error = syn::Error::new(
                error.span(),
                format!("`{kind}` can only be applied to an `async fn` with a body: {error}"),
            )
            .into_compile_error();
            return quote!(#item #error);
        }
    };
    let stack = stack::collect(kind, args, &item_fn.attrs);
    match expand(&item_fn, &stack) {
        Ok(tokens) => tokens,
        Err(error) => {
            // The original function (without our attributes, which would only
            // report the same errors again) keeps callers and IDEs working.
            let uses = mark_used(&stack.layers);
            let body = item_fn.body.stream();
            let original = item_fn.emit(&stack.others, quote!(#uses #body));
            let error = error.into_compile_error();
            quote!(#original #error)
        }
    }
}

fn expand(item_fn: &ItemFn, stack: &Stack) -> syn::Result<TokenStream> {
    let top = stack.layers[0].kind;
    let mut errors = Errors::default();
    errors.push(stack::check_duplicates(&stack.layers));
    errors.push(check_async(item_fn, top));
    let ret = return_type(item_fn, top);
    let mut parsed = Vec::new();
    for layer in &stack.layers {
        match layer
            .args
            .clone()
            .and_then(|tokens| args::parse(layer.kind, tokens, layer.span))
        {
            Ok(args) => parsed.push(args),
            Err(error) => errors.push(Err(error)),
        }
    }
    let crate_path = crate_path(&parsed);
    for error in [ret.as_ref().err(), crate_path.as_ref().err()]
        .into_iter()
        .flatten()
    {
        errors.push(Err(error.clone()));
    }
    errors.finish()?;
    let (ret, crate_path) = (ret?, crate_path?);
    let private = quote!(#crate_path::__private);
    let body = compose(&private, &ret, item_fn, &parsed);
    let uses = mark_used(&stack.layers);
    Ok(item_fn.emit(
        &stack.others,
        quote! {
            #uses
            #body
        },
    ))
}

/// Builds the layers inside out, each a future of
/// `Result<T, Failure<E, R>>`; returns the final expression of the body.
fn compose(p: &TokenStream, ret: &Type, item_fn: &ItemFn, parsed: &[Args]) -> TokenStream {
    let body = &item_fn.body;
    let ret_span = ret.span();
    let erased = erase_impl_trait(ret.clone());
    // `Returns<Ret>` carries the declared return type to every helper that
    // needs it, as one inference variable: an `impl Trait` erased to `_` is
    // then inferred once, from the body.
    let returns = Ident::new("__steadfast_returns", Span::mixed_site());
    let returns_fn = respan(quote!(#p::returns::<#erased>), ret_span);
    let returns_decl = quote_spanned!(ret_span=> let #returns = #returns_fn(););
    let body = fake_return_edge(body, p, &returns);
    // `async` takes the `{`'s span, so that a value moved by a retried body is
    // reported there and at the move.
    let async_token = quote_spanned!(body.span_open()=> async);
    let attempt = respan(quote!(#p::attempt), ret_span);
    let mut future = quote!(#attempt(#returns, #async_token #body));
    // Whether a rejecting layer sits inside the current stretch (since the
    // innermost `#[fallback]`, which converts everything into `E`).
    let mut rejecting = false;
    let mut plain_result = false;
    let outcome = Ident::new("__steadfast_outcome", Span::mixed_site());
    let result = Ident::new("__steadfast_result", Span::mixed_site());
    let attempts = Ident::new("__steadfast_attempts", Span::mixed_site());
    let delay = Ident::new("__steadfast_delay", Span::mixed_site());
    let value = Ident::new("__steadfast_value", Span::mixed_site());
    // `module::fn`, the name of a per-function breaker or bulkhead.
    let fn_name = item_fn.sig.ident.to_string();
    let default_name = quote!(::core::concat!(::core::module_path!(), "::", #fn_name));
    // The error's `Display` for events, where `E: Display` holds (see glue):
    // one function pointer per function, declared once, where some layer needs it.
    let describe = Ident::new("__steadfast_describe", Span::mixed_site());
    let describe_decl = parsed
        .iter()
        .any(|args| matches!(args.policy, Policy::Retry(_) | Policy::Fallback(_)))
        .then(|| {
            quote! {
                let #describe = #p::describer(#returns, |__steadfast_error| {
                    use #p::{DescribeDisplay as _, DescribeOther as _};
                    (&#p::Describe(__steadfast_error)).describe()
                });
            }
        });
    // The statements of the last layer when it is a block of its own (retry,
    // fallback): the outermost one is written straight into the function's
    // body rather than as an `async` block awaited at once.
    let mut block = None;
    for args in parsed.iter().rev() {
        if plain_result {
            future = quote!(async { #p::relift((#future).await) });
            plain_result = false;
        }
        let inner_rejects = rejecting;
        rejecting |= args.kind.rejects();
        block = None;
        future = match &args.policy {
            Policy::Timeout(timeout) => {
                let after = &timeout.after;
                quote! {{
                    static __STEADFAST_TIMEOUT: #p::Timeout =
                        #p::Timeout::new(#after).named(#default_name);
                    __STEADFAST_TIMEOUT.wrap(#future)
                }}
            }
            Policy::CircuitBreaker(breaker) => {
                let failure_if =
                    typed_predicate(p, "when", &returns, breaker.failure_if.as_ref(), "always");
                let state = match &breaker.shared {
                    Some(shared) => {
                        let shared = quote_spanned!(shared.span()=> &#shared);
                        quote!(#p::breaker(#shared))
                    }
                    None => {
                        let policy = breaker_policy(p, breaker, &default_name);
                        quote! {{
                            static __STEADFAST_BREAKER: #p::CircuitBreaker = #policy;
                            #p::breaker(&__STEADFAST_BREAKER)
                        }}
                    }
                };
                quote!(#p::CircuitBreaker::wrap(#state, #future, #failure_if))
            }
            Policy::Bulkhead(bulkhead) => {
                let state = match &bulkhead.shared {
                    Some(shared) => {
                        let shared = quote_spanned!(shared.span()=> &#shared);
                        quote!(#p::bulkhead(#shared))
                    }
                    None => {
                        let policy = bulkhead_policy(p, bulkhead, &default_name);
                        quote! {{
                            static __STEADFAST_BULKHEAD: #p::Bulkhead = #policy;
                            #p::bulkhead(&__STEADFAST_BULKHEAD)
                        }}
                    }
                };
                quote!(#p::Bulkhead::wrap(#state, #future))
            }
            Policy::Retry(retry) => {
                let policy = retry_policy(p, retry, &default_name);
                let when = typed_predicate(p, "when", &returns, retry.when.as_ref(), "always");
                let delay_from = typed_predicate(
                    p,
                    "delay_from",
                    &returns,
                    retry.delay_from.as_ref(),
                    "no_hint",
                );
                let when_local = Ident::new("__steadfast_when", Span::mixed_site());
                let delay_from_local = Ident::new("__steadfast_delay_from", Span::mixed_site());
                let stmts = quote! {
                    static __STEADFAST_RETRY: #p::Retry = #policy;
                    let #when_local = #when;
                    let #delay_from_local = #delay_from;
                    let mut #attempts = __STEADFAST_RETRY.start();
                    loop {
                        let #outcome = (#future).await;
                        match #attempts.judge(#outcome, &#when_local, &#delay_from_local, #describe) {
                            ::core::ops::ControlFlow::Break(#result) => break #result,
                            ::core::ops::ControlFlow::Continue(#delay) => #p::pause(#delay).await,
                        }
                    }
                };
                let future = quote!(async { #stmts });
                block = Some(stmts);
                future
            }
            Policy::Fallback(fallback) => {
                let finish = finish(p, inner_rejects, ret_span);
                rejecting = false;
                let when = match &fallback.when {
                    Some(expr) => expr.to_token_stream(),
                    None => quote!(#p::always),
                };
                let handler = &fallback.handler;
                let recover = respan(quote!(#p::fallback), handler.span());
                plain_result = true;
                // A success passes straight through: no future of the handler's
                // is built (or stored across an `.await`) unless there is an error.
                let stmts = quote! {
                    match #finish(#returns, (#future).await) {
                        ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#value),
                        #result => #recover(#default_name, #describe, #result, #when, #handler).await,
                    }
                };
                let future = quote!(async { #stmts });
                block = Some(stmts);
                future
            }
        };
    }
    // The outermost layer's future, awaited: its statements themselves when it
    // is a block (one coroutine fewer per function).
    let awaited = match block {
        Some(stmts) => quote!({ #stmts }),
        None => quote!((#future).await),
    };
    let last = if plain_result {
        awaited
    } else {
        let finish = finish(p, rejecting, ret_span);
        quote!(#finish(#returns, #awaited))
    };
    quote! {
        #returns_decl
        #describe_decl
        #last
    }
}

/// The body with an unreachable `return` of the declared type in front:
///
/// ```text
/// { #[allow(unreachable_code)] if false { return P::fake_return(returns); } BODY }
/// ```
///
/// rustc gives an async block's tail and `return`s no expected type of their
/// own; this first `return` fixes the block's return type to the declared
/// `Result<T, E>` before the body is checked, so `Ok(&self.name)` still
/// coerces to `Result<&str, _>` and `Err(Box::new(e))` to `Box<dyn Error>`, as
/// in the original function, and type errors point at the user's expression.
/// Inner attributes stay first.
fn fake_return_edge(
    body: &proc_macro2::Group,
    p: &TokenStream,
    returns: &Ident,
) -> proc_macro2::Group {
    use proc_macro2::TokenTree;
    // Call-site spans: lints see generated code.
    let edge = quote! {
        #[allow(unreachable_code, clippy::needless_return)]
        if false {
            return #p::fake_return(#returns);
        }
    };
    let mut tokens: Vec<TokenTree> = body.stream().into_iter().collect();
    // `#![…]` inner attributes must stay at the start of the block.
    let mut inner_attrs = 0;
    while let [
        TokenTree::Punct(pound),
        TokenTree::Punct(bang),
        TokenTree::Group(_),
        ..,
    ] = &tokens[inner_attrs..]
    {
        if pound.as_char() != '#' || bang.as_char() != '!' {
            break;
        }
        inner_attrs += 3;
    }
    let rest = tokens.split_off(inner_attrs);
    let mut stream: TokenStream = tokens.into_iter().collect();
    stream.extend(edge);
    stream.extend(rest);
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, stream);
    // The `{`'s span, not the whole body's: errors about the block as a whole
    // (a value a retried body moves) then point at its start, not at every line.
    group.set_span(body.span_open());
    group
}

/// The step that turns the [`Failure`] channel into `E`, spanned on the return
/// type: a missing `From<Rejected>` is reported on the error type.
fn finish(p: &TokenStream, rejecting: bool, span: Span) -> TokenStream {
    let path = if rejecting {
        quote!(#p::finish)
    } else {
        quote!(#p::finish_plain)
    };
    respan(path, span)
}

/// `#p::when(returns, given or default)`, spanned on the user's expression so
/// that a predicate of the wrong type is reported there.
fn typed_predicate(
    p: &TokenStream,
    helper: &str,
    returns: &Ident,
    given: Option<&syn::Expr>,
    default: &str,
) -> TokenStream {
    let helper = Ident::new(helper, Span::call_site());
    match given {
        Some(expr) => {
            let span = expr.span();
            let helper = respan(quote!(#p::#helper), span);
            quote_spanned!(span=> #helper(#returns, #expr))
        }
        None => {
            let default = Ident::new(default, Span::call_site());
            quote!(#p::#helper(#returns, #p::#default))
        }
    }
}

fn retry_policy(p: &TokenStream, retry: &RetryArgs, default_name: &TokenStream) -> TokenStream {
    let mut calls = quote!(.name(#default_name));
    if let Some(n) = retry.attempts {
        calls.extend(quote!(.attempts(#n)));
    }
    if let Some(backoff) = &retry.backoff {
        let backoff = match backoff {
            BackoffArg::None => quote!(#p::Backoff::none()),
            BackoffArg::Fixed(d) => quote!(#p::Backoff::fixed(#d)),
            BackoffArg::Exponential {
                initial,
                factor,
                max,
            } => {
                let factor =
                    factor.map_or_else(|| quote!(#p::Backoff::DEFAULT_FACTOR), |f| quote!(#f));
                let max = max.as_ref().map_or_else(
                    || quote!(#p::Backoff::DEFAULT_MAX),
                    ToTokens::to_token_stream,
                );
                quote!(#p::Backoff::exponential(#initial, #factor, #max))
            }
            BackoffArg::Fibonacci { initial, max } => {
                let max = max.as_ref().map_or_else(
                    || quote!(#p::Backoff::DEFAULT_MAX),
                    ToTokens::to_token_stream,
                );
                quote!(#p::Backoff::fibonacci(#initial, #max))
            }
        };
        calls.extend(quote!(.backoff(#backoff)));
    }
    if let Some(jitter) = retry.jitter {
        let jitter = match jitter {
            JitterArg::None => quote!(None),
            JitterArg::Full => quote!(Full),
            JitterArg::Equal => quote!(Equal),
            JitterArg::Decorrelated => quote!(Decorrelated),
        };
        calls.extend(quote!(.jitter(#p::Jitter::#jitter)));
    }
    if let Some(max_elapsed) = &retry.max_elapsed {
        calls.extend(quote!(.max_elapsed(#max_elapsed)));
    }
    quote!(#p::Retry::builder() #calls .build())
}

fn breaker_policy(
    p: &TokenStream,
    breaker: &CircuitBreakerArgs,
    default_name: &TokenStream,
) -> TokenStream {
    let name = breaker
        .name
        .as_ref()
        .map_or_else(|| default_name.clone(), ToTokens::to_token_stream);
    let mut calls = quote!(.name(#name));
    if let Some(ratio) = breaker.failure_ratio {
        calls.extend(quote!(.failure_ratio(#ratio)));
    }
    match &breaker.window {
        Some(WindowArg::Calls(n)) => calls.extend(quote!(.window_calls(#n))),
        Some(WindowArg::Duration(d)) => calls.extend(quote!(.window_duration(#d))),
        None => {}
    }
    if let Some(n) = breaker.min_calls {
        calls.extend(quote!(.min_calls(#n)));
    }
    if let Some(n) = breaker.consecutive_failures {
        calls.extend(quote!(.consecutive_failures(#n)));
    }
    if let Some(d) = &breaker.slow_call {
        calls.extend(quote!(.slow_call(#d)));
    }
    if let Some(ratio) = breaker.slow_ratio {
        calls.extend(quote!(.slow_ratio(#ratio)));
    }
    if let Some(d) = &breaker.open_for {
        calls.extend(quote!(.open_for(#d)));
    }
    if let Some(n) = breaker.half_open_probes {
        calls.extend(quote!(.half_open_probes(#n)));
    }
    quote!(#p::CircuitBreaker::builder() #calls .build())
}

fn bulkhead_policy(
    p: &TokenStream,
    bulkhead: &BulkheadArgs,
    default_name: &TokenStream,
) -> TokenStream {
    let name = bulkhead
        .name
        .as_ref()
        .map_or_else(|| default_name.clone(), ToTokens::to_token_stream);
    let mut calls = quote!(.name(#name));
    if let Some(n) = bulkhead.max_concurrent {
        calls.extend(quote!(.max_concurrent(#n)));
    }
    if let Some(n) = bulkhead.max_queue {
        calls.extend(quote!(.max_queue(#n)));
    }
    if let Some(d) = &bulkhead.max_wait {
        calls.extend(quote!(.max_wait(#d)));
    }
    quote!(#p::Bulkhead::builder() #calls .build())
}

fn check_async(item_fn: &ItemFn, top: Kind) -> syn::Result<()> {
    if item_fn.sig.asyncness.is_some() {
        return Ok(());
    }
    Err(syn::Error::new(
        item_fn.sig.fn_token.span(),
        format!("`{top}` only supports `async fn`; make this function `async`"),
    ))
}

/// The declared return type, if it can be a `Result`. Type aliases pass here;
/// the compiler checks them against `Result` (`ResultType` in the runtime).
fn return_type(item_fn: &ItemFn, top: Kind) -> syn::Result<Type> {
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
fn crate_path(parsed: &[Args]) -> syn::Result<TokenStream> {
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

/// The attributes composed here are never expanded by the compiler, and in
/// some positions (methods in `impl` blocks) their `use` lines would then be
/// reported unused. A `use … as _` of each path inside the body resolves them.
/// `tests/hygiene.rs` pins both positions under `deny(unused_imports)`.
fn mark_used(layers: &[Layer]) -> TokenStream {
    let paths = layers.iter().filter_map(|layer| layer.path.as_ref());
    quote! {
        #(
            #[allow(unused_imports)]
            use #paths as _;
        )*
    }
}

/// The tokens with every span set to `span` (a user's span: it resolves like
/// the call site).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut group =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                group.set_span(span);
                tree = group.into();
            }
            tree.set_span(span);
            tree
        })
        .collect()
}

/// `impl Trait` cannot be written in the turbofish that fixes the body's
/// type; `_` can.
fn erase_impl_trait(mut ty: Type) -> Type {
    struct Eraser;
    impl VisitMut for Eraser {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    attrs: Vec::new(),
                    underscore_token: syn::Token![_](impl_trait.impl_token.span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    Eraser.visit_type_mut(&mut ty);
    ty
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Kind, args: &str, item: &str) -> String {
        let args: TokenStream = args.parse().expect("test args tokenize");
        let item: TokenStream = item.parse().expect("test item tokenizes");
        entry(kind, args, item).to_string()
    }

    const GOOD_FN: &str = "async fn f(&self, x: &str) -> Result<u32, E> { Ok(1) }";

    #[test]
    fn valid_input_expands_without_errors() {
        for (kind, args) in [
            (Kind::Retry, ""),
            (
                Kind::Retry,
                "attempts = 5, backoff = fixed(\"1s\"), jitter = none",
            ),
            (
                Kind::Retry,
                "backoff = exponential(\"1ms\", factor = 3, max = \"1s\"), jitter = decorrelated",
            ),
            (
                Kind::Retry,
                "backoff = fibonacci(INITIAL), max_elapsed = LIMIT, when = E::is_transient",
            ),
            (
                Kind::Retry,
                "delay_from = |e: &E| e.hint(), crate = \"my::path\"",
            ),
            (Kind::Timeout, "\"2s\""),
            (Kind::Timeout, "LIMIT, crate = \"x\""),
            (Kind::Fallback, "handler"),
            (Kind::Fallback, "async |e| Ok(0), when = is_bad"),
            (Kind::CircuitBreaker, ""),
            (
                Kind::CircuitBreaker,
                "failure_ratio = 0.25, window = \"60s\", min_calls = 5, consecutive_failures = 3, \
                 slow_call = \"2s\", slow_ratio = 0.8, open_for = \"5s\", half_open_probes = 2, \
                 failure_if = E::counts, name = \"svc\"",
            ),
            (
                Kind::CircuitBreaker,
                "shared = PAYMENTS, failure_if = |e| e.counts()",
            ),
            (Kind::Bulkhead, "max_concurrent = 2, max_queue = 0"),
            (
                Kind::Bulkhead,
                "max_concurrent = 2, max_queue = 5, max_wait = \"100ms\", name = \"db\"",
            ),
            (Kind::Bulkhead, "shared = POOL"),
        ] {
            let out = run(kind, args, GOOD_FN);
            assert!(!out.contains("compile_error"), "{kind} ({args}) -> {out}");
            assert!(out.contains("async fn f"), "signature re-emitted: {out}");
        }
    }

    #[test]
    fn every_misuse_is_an_error_with_the_function_kept() {
        for (kind, args, item) in [
            (Kind::Retry, "nope = 1", GOOD_FN),
            (Kind::Retry, "attempts = 1, attempts = 2", GOOD_FN),
            (Kind::Retry, "attempts = 0", GOOD_FN),
            (Kind::Retry, "attempts = -1", GOOD_FN),
            (Kind::Retry, "attempts = \"3\"", GOOD_FN),
            (Kind::Retry, "max_elapsed = \"5 sec\"", GOOD_FN),
            (Kind::Retry, "max_elapsed = \"0s\"", GOOD_FN),
            (
                Kind::Retry,
                "backoff = exponential(\"2s\", max = \"1s\")",
                GOOD_FN,
            ),
            (
                Kind::Retry,
                "backoff = exponential(\"1s\", factor = 0.5)",
                GOOD_FN,
            ),
            (
                Kind::Retry,
                "backoff = fixed(\"1s\"), jitter = decorrelated",
                GOOD_FN,
            ),
            (Kind::Retry, "backoff = none, jitter = full", GOOD_FN),
            (Kind::Retry, "backoff = linear(\"1s\")", GOOD_FN),
            (
                Kind::Retry,
                "backoff = fixed(\"1s\", max = \"2s\")",
                GOOD_FN,
            ),
            (Kind::Retry, "jitter = 5", GOOD_FN),
            (Kind::Retry, "when = 5", GOOD_FN),
            (Kind::Retry, "crate = 5", GOOD_FN),
            (Kind::Retry, "3", GOOD_FN),
            (Kind::Retry, "", "fn f() -> Result<(), E> { Ok(()) }"),
            (Kind::Retry, "", "async fn f() { }"),
            (Kind::Retry, "", "async fn f() -> String { String::new() }"),
            (Kind::Retry, "", "async fn f() -> (u8, u8) { (1, 2) }"),
            (
                Kind::Retry,
                "",
                "#[retry] async fn f() -> Result<(), E> { Ok(()) }",
            ),
            (Kind::Timeout, "", GOOD_FN),
            (Kind::Timeout, "\"0s\"", GOOD_FN),
            (Kind::Timeout, "\"1s\", \"2s\"", GOOD_FN),
            (Kind::Timeout, "5", GOOD_FN),
            (Kind::Fallback, "", GOOD_FN),
            (Kind::Fallback, "a, b", GOOD_FN),
            (Kind::Fallback, "\"handler\"", GOOD_FN),
            (Kind::CircuitBreaker, "failure_ratio = 0.0", GOOD_FN),
            (Kind::CircuitBreaker, "failure_ratio = 1.5", GOOD_FN),
            (Kind::CircuitBreaker, "window = 10, min_calls = 11", GOOD_FN),
            (Kind::CircuitBreaker, "window = 2000", GOOD_FN),
            (Kind::CircuitBreaker, "window = \"0s\"", GOOD_FN),
            (Kind::CircuitBreaker, "half_open_probes = 0", GOOD_FN),
            (Kind::CircuitBreaker, "slow_ratio = 0.5", GOOD_FN),
            (
                Kind::CircuitBreaker,
                "shared = BREAKER, window = 5",
                GOOD_FN,
            ),
            (Kind::CircuitBreaker, "shared = \"BREAKER\"", GOOD_FN),
            (Kind::CircuitBreaker, "name = \"\"", GOOD_FN),
            (Kind::Bulkhead, "max_concurrent = 0", GOOD_FN),
            (Kind::Bulkhead, "max_queue = 0, max_wait = \"1s\"", GOOD_FN),
            (Kind::Bulkhead, "shared = POOL, max_queue = 3", GOOD_FN),
            (
                Kind::Retry,
                "",
                "#[steadfast::bulkhead(max_concurrent = 0)] async fn f() -> Result<(), E> { Ok(()) }",
            ),
            (
                Kind::Retry,
                "",
                "#[timeout = 3] async fn f() -> Result<(), E> { Ok(()) }",
            ),
        ] {
            let out = run(kind, args, item);
            assert!(
                out.contains("compile_error"),
                "{kind} ({args}) on {item} -> {out}"
            );
            assert!(out.contains("fn f"), "function kept: {out}");
        }
    }

    #[test]
    fn non_functions_are_an_error_and_are_kept() {
        for item in [
            "struct S;",
            "trait T { async fn f(&self) -> Result<(), E>; }",
            "const X: u8 = 1;",
        ] {
            let out = run(Kind::Timeout, "\"1s\"", item);
            assert!(out.contains("compile_error"), "{item} -> {out}");
        }
        let out = run(Kind::Retry, "", "async fn f(&self) -> Result<(), E>;");
        assert!(
            out.contains("compile_error") && out.contains("fn f"),
            "{out}"
        );
    }

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let out = run(Kind::Retry, "atempts = 3", GOOD_FN);
        for key in [
            "attempts",
            "backoff",
            "jitter",
            "max_elapsed",
            "when",
            "delay_from",
            "crate",
        ] {
            assert!(
                out.contains(&format!("`{key}`")),
                "{key} missing from {out}"
            );
        }
    }

    #[test]
    fn stack_is_composed_top_outermost() {
        let out = run(
            Kind::Retry,
            "",
            "#[doc = \"kept\"] #[timeout(\"1s\")] #[inline] async fn f() -> Result<(), E> { Ok(()) }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        let (retry, timeout) = (
            out.find("Retry :: builder").unwrap(),
            out.find("Timeout :: new").unwrap(),
        );
        assert!(retry < timeout, "retry must wrap timeout: {out}");
        assert!(
            out.contains("doc = \"kept\"") && out.contains("# [inline]"),
            "{out}"
        );
        assert!(!out.contains("# [timeout"), "timeout consumed: {out}");
        assert!(
            out.contains(":: finish ("),
            "rejecting stack converts rejections: {out}"
        );
        let plain = run(Kind::Retry, "", GOOD_FN);
        assert!(plain.contains(":: finish_plain ("), "{plain}");
    }

    #[test]
    fn body_gets_a_fake_return_edge_after_its_inner_attributes() {
        let out = run(
            Kind::Retry,
            "",
            "async fn f() -> Result<u8, E> { #![allow(unused)] #![deny(x)] let c = 1; Ok(c) }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        let edge = out
            .find("fake_return (__steadfast_returns)")
            .expect("edge emitted");
        let (allow, deny, body) = (
            out.find("#! [allow (unused)]").unwrap(),
            out.find("#! [deny (x)]").unwrap(),
            out.find("let c = 1").unwrap(),
        );
        assert!(allow < edge && deny < edge && edge < body, "{out}");
    }
}
