//! The policy each attribute configures, as an expression of the runtime's
//! `const` builders.
//!
//! Where the policy is configuration only (`Retry`, `Timeout`), it is a
//! promoted constant, `&const { … }`: a `&'static` value built at compile
//! time that may use `Self`, the function's generics and associated consts
//! (`#[timeout(Self::LIMIT)]`), which a `static` could not (E0401).
//!
//! A breaker, bulkhead or rate limiter holds state shared by every call of
//! the function, so it lives in a `static` ([`State`]). When one of its
//! durations is an expression rather than a literal, that expression may
//! depend on `Self` or generics, so the `static` is a `OnceLock` filled by the
//! first call (one acquire load per call); a duration that depends on the
//! generics then takes the value of the first instantiation called, since the
//! state is one per function item. `shared = …` names another state instead,
//! and `key = …` keeps one per key in a `Keyed` map of the function's own.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use crate::args::{
    BackoffArg, BulkheadArgs, ChaosArgs, CircuitBreakerArgs, DurationArg, JitterArg, LeaderArgs,
    RateLimitArgs, RetryArgs, Scope, Shared, TimeoutArgs, WindowArg,
};

use super::body::respan;

/// `&'static Timeout`.
///
/// `located` is the argument of `name_located`: where the function is, so
/// that the runtime names the policy `module::Type::fn` (methods) or
/// `module::fn`.
pub(crate) fn timeout(
    p: &TokenStream,
    timeout: &TimeoutArgs,
    located: &TokenStream,
) -> TokenStream {
    let after = &timeout.after;
    // A const expression is checked (non-zero) when it is evaluated: the call
    // takes the expression's span, so that the error points at it.
    let new = spanned_call(quote!(#p::Timeout::new), quote!(#after), [after]);
    quote!(&const { #new.named_located(#located) })
}

/// `&'static Hedge<MAX>`.
pub(crate) fn hedge(p: &TokenStream, hedge: &crate::args::HedgeArgs) -> TokenStream {
    let after = &hedge.after;
    let max = proc_macro2::Literal::usize_unsuffixed(hedge.max as usize);
    let new = spanned_call(quote!(#p::Hedge::<#max>::new), quote!(#after), [after]);
    quote!(&const { #new })
}

/// `&'static Leader`.
pub(crate) fn leader(p: &TokenStream, leader: &LeaderArgs) -> TokenStream {
    let election = &leader.election;
    let lease = leader.lease.as_ref().map_or_else(
        || quote!(#p::Leader::DEFAULT_LEASE),
        ToTokens::to_token_stream,
    );
    let mut new = match &leader.lease {
        Some(d) => spanned_call(quote!(#p::Leader::new), quote!(#election, #lease), [d]),
        None => quote!(#p::Leader::new(#election, #lease)),
    };
    if let Some(wait) = &leader.wait {
        let call = spanned_call(quote!(#p::Leader::wait), quote!(#new, #wait), [wait]);
        new = call;
    }
    quote!(&const { #new })
}

/// `&'static Retry`.
pub(crate) fn retry(p: &TokenStream, retry: &RetryArgs, located: &TokenStream) -> TokenStream {
    let mut calls = quote!(.name_located(#located));
    if let Some(n) = retry.attempts {
        calls.extend(quote!(.attempts(#n)));
    }
    if let Some(backoff) = &retry.backoff {
        let backoff = match backoff {
            BackoffArg::None => quote!(#p::Backoff::none()),
            BackoffArg::Fixed(d) => spanned_call(quote!(#p::Backoff::fixed), quote!(#d), [d]),
            BackoffArg::Exponential {
                initial,
                factor,
                max,
            } => {
                let factor =
                    factor.map_or_else(|| quote!(#p::Backoff::DEFAULT_FACTOR), |f| quote!(#f));
                let max_tokens = max.as_ref().map_or_else(
                    || quote!(#p::Backoff::DEFAULT_MAX),
                    ToTokens::to_token_stream,
                );
                let args = quote!(#initial, #factor, #max_tokens);
                spanned_call(
                    quote!(#p::Backoff::exponential),
                    args,
                    [initial].into_iter().chain(max),
                )
            }
            BackoffArg::Fibonacci { initial, max } => {
                let max_tokens = max.as_ref().map_or_else(
                    || quote!(#p::Backoff::DEFAULT_MAX),
                    ToTokens::to_token_stream,
                );
                let args = quote!(#initial, #max_tokens);
                spanned_call(
                    quote!(#p::Backoff::fibonacci),
                    args,
                    [initial].into_iter().chain(max),
                )
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
    if let Some(max_hint) = &retry.max_hint {
        calls.extend(quote!(.max_hint(#max_hint)));
    }
    quote!(&const { #p::Retry::builder() #calls .build() })
}

/// The `&RetryBudget` of `budget = …`: a `static`'s through a `static` of
/// the expansion's own (so that a `const`, a fresh budget at every use, is
/// refused where it is written, and the budget is registered for
/// `health()`), or the user's expression, borrowed in a typed `let` of its
/// own as `shared = EXPR` is (`local`: a wrong type is reported on the
/// expression, `&&RetryBudget`, `&LazyLock<RetryBudget>` or `&Arc<…>`
/// deref-coerce, and a temporary such as `&*FROM_CONFIG` lives as long as
/// the call).
/// Returns the statement to put before the retry loop, and the expression.
pub(crate) fn budget(
    p: &TokenStream,
    budget: &Shared,
    params: &[String],
    local: &Ident,
) -> (TokenStream, TokenStream) {
    let expr = match budget {
        Shared::Static(path)
            if !path
                .get_ident()
                .is_some_and(|ident| params.iter().any(|param| ident == param)) =>
        {
            let span = path.span();
            let reference = respan(quote!(&#path), span);
            let state = Ident::new("__STEADFAST_BUDGET", Span::mixed_site());
            let ty = quote_spanned!(span=> &'static #p::RetryBudget);
            return (
                TokenStream::new(),
                quote! {{
                    static #state: #ty = #reference;
                    #p::retry_budget(#state)
                }},
            );
        }
        Shared::Static(path) => syn::Expr::Path(syn::ExprPath {
            attrs: Vec::new(),
            qself: None,
            path: path.clone(),
        }),
        Shared::Expr(expr) => expr.clone(),
    };
    let span = expr.span();
    let borrowed = match &expr {
        syn::Expr::Binary(_)
        | syn::Expr::Cast(_)
        | syn::Expr::Range(_)
        | syn::Expr::Assign(_)
        | syn::Expr::Closure(_)
        | syn::Expr::Let(_) => quote_spanned!(span=> &(#expr)),
        _ => quote_spanned!(span=> &#expr),
    };
    let ty = respan(quote!(&#p::RetryBudget), span);
    (quote!(let #local: #ty = #borrowed;), quote!(#local))
}

/// `&'static Chaos`: a `static` of the function's own, since the policy
/// finds its run-time settings once (without the feature `chaos`, a
/// zero-sized one). A `latency` expression must be a constant a `static`
/// can use (not `Self` or the function's generics).
pub(crate) fn chaos(p: &TokenStream, chaos: &ChaosArgs, located: &TokenStream) -> TokenStream {
    let mut calls = named(chaos.name.as_ref(), located);
    if let Some(enabled) = chaos.enabled {
        calls.extend(quote!(.enabled(#enabled)));
    }
    if chaos.error.is_some() {
        let rate = chaos.error_rate.unwrap_or(1.0);
        calls.extend(quote!(.error_rate(#rate)));
    }
    if let Some(latency) = &chaos.latency {
        let rate = chaos.latency_rate.unwrap_or(1.0);
        calls.extend(spanned_call(
            quote!(.latency),
            quote!(#latency, #rate),
            [latency],
        ));
    }
    let policy = chain(quote!(#p::Chaos::builder()), &calls);
    let state = Ident::new("__STEADFAST_CHAOS", Span::mixed_site());
    quote! {{
        static #state: #p::Chaos = #policy;
        &#state
    }}
}

/// The breaker's state (see [`State`]).
pub(crate) fn breaker(
    p: &TokenStream,
    breaker: &CircuitBreakerArgs,
    located: &TokenStream,
    params: &[String],
) -> State {
    let mut calls = named(breaker.name.as_ref(), located);
    if let Some(ratio) = breaker.failure_ratio {
        calls.extend(quote!(.failure_ratio(#ratio)));
    }
    match &breaker.window {
        Some(WindowArg::Calls(n, span)) => calls.extend(checked(quote!(.window_calls(#n)), *span)),
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
    if let Some((n, span)) = breaker.half_open_probes {
        calls.extend(checked(quote!(.half_open_probes(#n)), span));
    }
    let window = match &breaker.window {
        Some(WindowArg::Duration(d)) => Some(d),
        _ => None,
    };
    let computed = [
        window,
        breaker.slow_call.as_ref(),
        breaker.open_for.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(DurationArg::is_expr);
    let builder = Builder {
        ty: quote!(CircuitBreaker),
        kind: "breaker",
        calls,
        computed,
    };
    state(p, &builder, &breaker.scope, params)
}

/// The bulkhead's state (see [`State`]).
pub(crate) fn bulkhead(
    p: &TokenStream,
    bulkhead: &BulkheadArgs,
    located: &TokenStream,
    params: &[String],
) -> State {
    let mut calls = named(bulkhead.name.as_ref(), located);
    if let Some(n) = bulkhead.max_concurrent {
        calls.extend(quote!(.max_concurrent(#n)));
    }
    if let Some((n, span)) = bulkhead.max_queue {
        calls.extend(checked(quote!(.max_queue(#n)), span));
    }
    if let Some(d) = &bulkhead.max_wait {
        calls.extend(quote!(.max_wait(#d)));
    }
    let computed = bulkhead.max_wait.as_ref().is_some_and(DurationArg::is_expr);
    let builder = Builder {
        ty: quote!(Bulkhead),
        kind: "bulkhead",
        calls,
        computed,
    };
    state(p, &builder, &bulkhead.scope, params)
}

/// The rate limiter's state (see [`State`]).
pub(crate) fn rate_limit(
    p: &TokenStream,
    limit: &RateLimitArgs,
    located: &TokenStream,
    params: &[String],
) -> State {
    let mut calls = named(limit.name.as_ref(), located);
    if let Some((n, span)) = limit.rate {
        calls.extend(checked(quote!(.rate(#n)), span));
    }
    if let Some(d) = &limit.per {
        calls.extend(quote!(.per(#d)));
    }
    if let Some((n, span)) = limit.burst {
        calls.extend(checked(quote!(.burst(#n)), span));
    }
    if let Some(d) = &limit.max_wait {
        calls.extend(quote!(.max_wait(#d)));
    }
    let computed = [limit.per.as_ref(), limit.max_wait.as_ref()]
        .into_iter()
        .flatten()
        .any(DurationArg::is_expr);
    let builder = Builder {
        ty: quote!(RateLimiter),
        kind: "rate_limiter",
        calls,
        computed,
    };
    state(p, &builder, &limit.scope, params)
}

/// `path(args)`, spanned on the first of `durations` that is an expression
/// (a const the compiler checks when it evaluates the call: its error then
/// points at the user's expression); unchanged when all are literals, which
/// the macro has checked already.
fn spanned_call<'a>(
    path: TokenStream,
    args: TokenStream,
    durations: impl IntoIterator<Item = &'a DurationArg>,
) -> TokenStream {
    let Some(expr) = durations.into_iter().find_map(DurationArg::expr) else {
        return quote!(#path(#args));
    };
    let span = syn::spanned::Spanned::span(expr);
    let mut args = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
    args.set_span(span);
    let path = respan(path, span);
    quote!(#path #args)
}

/// `.name("…")` when given, else `.name_located(…)`.
fn named(given: Option<&syn::LitStr>, located: &TokenStream) -> TokenStream {
    match given {
        Some(name) => quote!(.name(#name)),
        None => quote!(.name_located(#located)),
    }
}

/// A builder call whose limit the runtime checks (its `const` builder is the
/// one place the limits are written), as a statement of its own spanned on
/// the user's value, so that the compile error the check raises points there.
fn checked(call: TokenStream, span: Span) -> TokenStream {
    let builder = builder_ident();
    let call = respan(quote!(#builder #call), span);
    quote!(; let #builder = #call)
}

/// `{ let b = start #calls; b.build() }`: the calls, some of them statements
/// of their own ([`checked`]).
fn chain(start: TokenStream, calls: &TokenStream) -> TokenStream {
    let builder = builder_ident();
    quote!({ let #builder = #start #calls; #builder.build() })
}

fn builder_ident() -> Ident {
    Ident::new("__steadfast_builder", Span::call_site())
}

/// The helpers that register a policy of `kind` (`breaker`, `bulkhead`) for
/// `health()`: on each call (`P::breaker`, one relaxed load after the first),
/// and from startup (`P::register_breaker!`).
fn registration(kind: &str) -> (Ident, Ident) {
    (
        Ident::new(kind, Span::call_site()),
        Ident::new(&format!("register_{kind}"), Span::call_site()),
    )
}

/// Where a stateful layer finds its policy on each call.
pub(crate) enum State {
    /// An expression of type `&P`: the function's own `static`, the `static`
    /// that `shared = PATH` names, or the user's `shared = EXPR` (borrowed,
    /// so that a place such as `self.breaker` is not moved, and deref-coerced
    /// where it is passed, so that `&*FROM_CONFIG` or an `Arc` work too).
    Ref(TokenStream),
    /// An expression of the key's state, a `Held<P>` that keeps it from
    /// eviction while the call runs: the layer binds it in its own future
    /// and passes `&*held` on.
    Held(TokenStream),
}

/// How a policy is configured: its type, its kind (the name of its
/// registration helpers), its builder's calls, and whether a duration is a
/// computed expression.
struct Builder {
    ty: TokenStream,
    kind: &'static str,
    calls: TokenStream,
    computed: bool,
}

impl Builder {
    /// `{ let b = P::builder() #calls; b.build() }`.
    fn policy(&self, p: &TokenStream) -> TokenStream {
        let ty = &self.ty;
        chain(quote!(#p::#ty::builder()), &self.calls)
    }
}

/// The state of a policy configured by `builder` in `scope`; `params` are
/// the function's run-time names (a `shared = limiter` naming an argument is
/// an expression, not a `static`).
fn state(p: &TokenStream, builder: &Builder, scope: &Scope, params: &[String]) -> State {
    match scope {
        Scope::Own => State::Ref(own_state(p, builder)),
        Scope::Shared(Shared::Static(path))
            if path
                .get_ident()
                .is_some_and(|ident| params.iter().any(|param| ident == param)) =>
        {
            let expr = syn::Expr::Path(syn::ExprPath {
                attrs: Vec::new(),
                qself: None,
                path: path.clone(),
            });
            State::Ref(shared_expr(p, builder, &expr))
        }
        Scope::Shared(Shared::Static(path)) => State::Ref(shared_static(p, builder, path)),
        Scope::Shared(Shared::Expr(expr)) => State::Ref(shared_expr(p, builder, expr)),
        Scope::Keyed { key, max_keys } => State::Held(keyed_state(p, builder, key, *max_keys)),
    }
}

/// The function's own state: a `static`, or a `OnceLock` filled on the first
/// call when the configuration has computed durations (see the module docs).
fn own_state(p: &TokenStream, builder: &Builder) -> TokenStream {
    let (register, startup) = registration(builder.kind);
    let (ty, policy) = (&builder.ty, builder.policy(p));
    let state = Ident::new("__STEADFAST_STATE", Span::mixed_site());
    if builder.computed {
        quote! {{
            static #state: #p::OnceLock<#p::#ty> = #p::OnceLock::new();
            #p::#register(#state.get_or_init(|| const { #policy }))
        }}
    } else {
        // Listed in `health()` from the start of the process.
        quote! {{
            static #state: #p::#ty = #policy;
            #p::#startup!(#state);
            #p::#register(&#state)
        }}
    }
}

/// The `static` that `shared = PATH` names. The reference goes through a
/// `static` of its own, so that a `const` (whose every use is a fresh copy,
/// and so a fresh policy) is refused where the user wrote it (E0492, "the
/// value can be extracted to a separate `static` item").
fn shared_static(p: &TokenStream, builder: &Builder, shared: &syn::Path) -> TokenStream {
    let (register, _) = registration(builder.kind);
    let span = shared.span();
    let reference = respan(quote!(&#shared), span);
    let state = Ident::new("__STEADFAST_SHARED", Span::mixed_site());
    let ty = &builder.ty;
    let ty = quote_spanned!(span=> &'static #p::#ty);
    quote! {{
        static #state: #ty = #reference;
        #p::#register(#state)
    }}
}

/// `shared = EXPR`: the expression borrowed and checked against the
/// policy's type in a `let` of its own, so that a wrong type is reported on
/// the user's expression (`expected &CircuitBreaker, found &Bulkhead`) and a
/// temporary (a policy built anew on each call, which would keep no state)
/// is refused rather than silently used. The `&` takes the expression's
/// first span, so that rustc's span of `&EXPR` is the user's whole
/// expression; expressions that bind looser than a prefix `&` are
/// parenthesised.
fn shared_expr(p: &TokenStream, builder: &Builder, expr: &syn::Expr) -> TokenStream {
    let span = expr.span();
    let borrowed = match expr {
        syn::Expr::Binary(_)
        | syn::Expr::Cast(_)
        | syn::Expr::Range(_)
        | syn::Expr::Assign(_)
        | syn::Expr::Closure(_)
        | syn::Expr::Let(_) => quote_spanned!(span=> &(#expr)),
        _ => quote_spanned!(span=> &#expr),
    };
    let ty = &builder.ty;
    let ty = respan(quote!(&#p::#ty), span);
    let local = Ident::new("__steadfast_shared", Span::mixed_site());
    quote! {{
        let #local: #ty = #borrowed;
        #local
    }}
}

/// One state per key: a `Keyed` map of the function's own (a `static`, or a
/// `OnceLock` for computed durations), and the key's state looked up in it.
/// The key expression is borrowed, never moved, and turned into a probe by
/// the runtime's key adapters (`&str` looks up, and is stored as, `String`).
fn keyed_state(
    p: &TokenStream,
    builder: &Builder,
    key: &syn::Expr,
    max_keys: Option<(u32, Span)>,
) -> TokenStream {
    let ty = &builder.ty;
    // The builder itself (each new key builds from it), built once here so
    // that a setting `build` refuses is refused at compile time.
    let policy = {
        let b = builder_ident();
        let calls = &builder.calls;
        quote!({ let #b = #p::#ty::builder() #calls; ::core::mem::forget(#b.build()); #b })
    };
    let state = Ident::new("__STEADFAST_KEYED", Span::mixed_site());
    let max_keys = match max_keys {
        Some((n, span)) => quote_spanned!(span=> #n),
        None => quote!(#p::Keyed::<#p::#ty>::DEFAULT_MAX_KEYS),
    };
    let keyed = quote!(#p::Keyed::<#p::#ty>::new(#policy, #max_keys));
    let span = key.span();
    // The probe may borrow a temporary of the key expression (`&&(id)` for a
    // `u64`): `get` is called within the same block, so that the temporary
    // outlives the call (a block's tail temporaries end with it).
    let get = |keyed: TokenStream| {
        quote_spanned! {span=> {
            #[allow(unused_imports)]
            use #p::{KeyByDeref as _, KeyByRef as _};
            #keyed.get((&&(#key)).__steadfast_key())
        }}
    };
    if builder.computed {
        let get = get(quote!(#p::keyed(#state.get_or_init(|| const { #keyed }))));
        quote! {{
            static #state: #p::OnceLock<#p::Keyed<#p::#ty>> = #p::OnceLock::new();
            #get
        }}
    } else {
        let get = get(quote!(#p::keyed(&#state)));
        quote! {{
            static #state: #p::Keyed<#p::#ty> = #keyed;
            #p::register_keyed!(#state);
            #get
        }}
    }
}
