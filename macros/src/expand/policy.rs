//! The policy each attribute configures, as an expression of the runtime's
//! `const` builders.
//!
//! Where the policy is configuration only (`Retry`, `Timeout`), it is a
//! promoted constant, `&const { … }`: a `&'static` value built at compile
//! time that may use `Self`, the function's generics and associated consts
//! (`#[timeout(Self::LIMIT)]`), which a `static` could not (E0401).
//!
//! A breaker or bulkhead holds state shared by every call of the function, so
//! it lives in a `static`. When one of its durations is an expression rather
//! than a literal, that expression may depend on `Self` or generics, so the
//! `static` is a `OnceLock` filled by the first call (one acquire load per
//! call); a duration that depends on the generics then takes the value of the
//! first instantiation called, since the state is one per function item.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;

use crate::args::{
    BackoffArg, BulkheadArgs, CircuitBreakerArgs, DurationArg, JitterArg, RetryArgs, TimeoutArgs,
    WindowArg,
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

/// `&'static CircuitBreaker`, registered for `health()`.
pub(crate) fn breaker(
    p: &TokenStream,
    breaker: &CircuitBreakerArgs,
    located: &TokenStream,
) -> TokenStream {
    if let Some(shared) = &breaker.shared {
        return shared_state(p, &quote!(CircuitBreaker), shared, "breaker");
    }
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
    let policy = chain(quote!(#p::CircuitBreaker::builder()), &calls);
    own_state(p, &quote!(CircuitBreaker), "breaker", &policy, computed)
}

/// `&'static Bulkhead`, registered for `health()`.
pub(crate) fn bulkhead(
    p: &TokenStream,
    bulkhead: &BulkheadArgs,
    located: &TokenStream,
) -> TokenStream {
    if let Some(shared) = &bulkhead.shared {
        return shared_state(p, &quote!(Bulkhead), shared, "bulkhead");
    }
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
    let policy = chain(quote!(#p::Bulkhead::builder()), &calls);
    own_state(p, &quote!(Bulkhead), "bulkhead", &policy, computed)
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

/// The function's own state: a `static`, or a `OnceLock` filled on the first
/// call when the configuration has computed durations (see the module docs).
fn own_state(
    p: &TokenStream,
    ty: &TokenStream,
    kind: &str,
    policy: &TokenStream,
    computed: bool,
) -> TokenStream {
    let (register, startup) = registration(kind);
    let state = Ident::new("__STEADFAST_STATE", Span::mixed_site());
    if computed {
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
/// and so a fresh breaker) is refused where the user wrote it (E0492, "the
/// value can be extracted to a separate `static` item").
fn shared_state(p: &TokenStream, ty: &TokenStream, shared: &syn::Path, kind: &str) -> TokenStream {
    let (register, _) = registration(kind);
    let span = syn::spanned::Spanned::span(shared);
    let reference = respan(quote!(&#shared), span);
    let state = Ident::new("__STEADFAST_SHARED", Span::mixed_site());
    let ty = quote_spanned!(span=> &'static #p::#ty);
    quote! {{
        static #state: #ty = #reference;
        #p::#register(#state)
    }}
}
