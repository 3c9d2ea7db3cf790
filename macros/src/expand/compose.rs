//! Composing the layers: a fold from the body outwards.
//!
//! Each layer receives what the layers inside it built ([`Built`]) and wraps
//! it. Between layers the call's outcome travels as
//! `Result<T, Failure<E, R>>`: the body's own error `E`, or a typed
//! `Rejected` from an inner policy, so that an outer `#[retry]` or
//! `#[circuit_breaker]` can tell a timeout from a refusal whatever `E` is.
//! Only the outermost step turns a rejection into `E` (`finish`).
//!
//! [`Built`] is the whole protocol between layers:
//!
//! - `future`: an expression of a future of that `Result`;
//! - `block`: the same layer as statements, for the layers that are written
//!   as a block (`#[retry]`'s loop, `#[fallback]`'s match): when such a layer
//!   is the outermost, its statements go straight into the function's body
//!   (one coroutine fewer per call);
//! - `rejecting`: whether a rejecting policy (`timeout`, `circuit_breaker`,
//!   `bulkhead`, `rate_limit`) is inside, which fixes `R` (`Rejected`, else `Infallible`,
//!   so that a stack of `#[retry]` and `#[fallback]` needs no
//!   `E: From<Rejected>`).
//!
//! No layer keeps the outcome alive across an `.await` of its own (the retry
//! decides on it in a `let` before it sleeps; a fallback's synchronous answer
//! leaves the block at once): the annotated future is `Send` whenever the
//! un-annotated one is, whatever `T` and `E` are.

use proc_macro2::{Group, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Lifetime, Type};

use crate::args::{Args, Policy};
use crate::item::ItemFn;

use super::body::{erase_impl_trait, fake_return_edge, respan};
use super::policy;
use super::protocol::{Built, Context, fallback_when, predicate, stateful};

/// The new body of `item_fn`, with `parsed` outermost first.
pub(crate) fn compose(
    p: &TokenStream,
    ret: &Type,
    item_fn: &ItemFn,
    body: &Group,
    parsed: &[Args],
    blocking: bool,
) -> TokenStream {
    let ret_span = ret.span();
    let fn_name = item_fn.sig.ident.to_string();
    let cx = Context {
        p,
        returns: Ident::new("__steadfast_returns", Span::mixed_site()),
        describe: Ident::new("__steadfast_describe", Span::mixed_site()),
        located: quote!(&__STEADFAST_LOCATION),
        params: super::validate::param_names(item_fn),
    };
    let returns = &cx.returns;
    // `Returns<Ret>` carries the declared return type to every helper that
    // needs it, as one inference variable: an `impl Trait` erased to `_` is
    // then inferred once, from the body.
    let erased = erase_impl_trait(ret.clone());
    let returns_fn = respan(quote!(#p::returns::<#erased>), ret_span);
    let returns_decl = quote_spanned!(ret_span=> let #returns = #returns_fn(););
    let describe = &cx.describe;
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

    let body = fake_return_edge(body, p, returns);
    let built = if blocking {
        // The body as a closure, so that `return` and `?` end the attempt;
        // `||` takes the `{`'s span, so that a value moved by a retried body
        // is reported there and at the move.
        let closure = quote_spanned!(body.span_open()=> ||);
        let attempt = respan(quote!(#p::attempt_blocking), ret_span);
        let innermost = Built {
            future: quote!(#attempt(#returns, #closure #body)),
            block: None,
            rejecting: false,
        };
        parsed.iter().rev().fold(innermost, |inner, args| {
            super::blocking::layer(&cx, inner, args)
        })
    } else {
        // `async` takes the `{`'s span, for the same reason.
        let async_token = quote_spanned!(body.span_open()=> async);
        let attempt = respan(quote!(#p::attempt), ret_span);
        let innermost = Built {
            future: quote!(#attempt(#returns, #async_token #body)),
            block: None,
            rejecting: false,
        };
        parsed
            .iter()
            .rev()
            .fold(innermost, |inner, args| layer(&cx, inner, args))
    };

    let awaited = match built.block {
        Some(stmts) => quote!({ #stmts }),
        None if blocking => built.future,
        None => {
            let future = built.future;
            quote!((#future).await)
        }
    };
    let finish = respan(
        if built.rejecting {
            quote!(#p::finish)
        } else {
            quote!(#p::finish_plain)
        },
        ret_span,
    );
    // `type_name_of_val` of a fn item declared in the body shows the path to
    // the function, `impl` type included, which a macro on a method cannot see.
    // Every policy of the function is named from it (a `shared = …` one
    // has its own name, hence `dead_code`).
    let here = quote! {
        #[allow(dead_code)]
        fn __steadfast_here() -> &'static str {
            ::core::any::type_name_of_val(&__steadfast_here)
        }
        #[allow(dead_code)]
        static __STEADFAST_LOCATION: #p::Location =
            #p::Location::new(::core::module_path!(), #fn_name, __steadfast_here);
    };
    quote! {
        #here
        #returns_decl
        #describe_decl
        #finish(#returns, #awaited)
    }
}

/// One layer around `inner`.
fn layer(cx: &Context<'_>, inner: Built, args: &Args) -> Built {
    let p = cx.p;
    let rejecting = inner.rejecting || args.kind.rejects();
    let future = inner.future;
    let wrapped = |future: TokenStream| Built {
        future,
        block: None,
        rejecting,
    };
    match &args.policy {
        Policy::Timeout(timeout) => {
            let timeout = policy::timeout(p, timeout, &cx.located);
            wrapped(quote!(#p::Timeout::wrap(#timeout, #future)))
        }
        Policy::Hedge(hedge) => {
            let policy = policy::hedge(p, hedge);
            // A closure that builds one copy of everything below: each copy
            // runs the inner layers anew (a bulkhead slot per copy). It must
            // be `FnMut` and its futures may only borrow shared: a body that
            // moves an argument makes it `FnOnce`, which the compiler reports
            // at the move.
            match &hedge.budget {
                Some(budget) => {
                    let local = Ident::new("__steadfast_budget", Span::mixed_site());
                    let (stmt, budget) = policy::budget(p, budget, &cx.params, &local);
                    wrapped(quote!(async {
                        #stmt
                        (#policy).run_budgeted(#budget, || #future).await
                    }))
                }
                None => wrapped(quote!((#policy).run(|| #future))),
            }
        }
        Policy::Leader(leader) => {
            let leader = policy::leader(p, leader);
            wrapped(quote!(#p::Leader::wrap(#leader, #future)))
        }
        Policy::CircuitBreaker(breaker) => {
            let failure_if = predicate(cx, "when", breaker.failure_if.as_ref(), "always");
            let state = policy::breaker(p, breaker, &cx.located, &cx.params);
            wrapped(stateful(
                state,
                false,
                |state| quote!(#p::CircuitBreaker::wrap(#state, #future, #failure_if)),
            ))
        }
        Policy::Bulkhead(bulkhead) => {
            let state = policy::bulkhead(p, bulkhead, &cx.located, &cx.params);
            wrapped(stateful(
                state,
                false,
                |state| quote!(#p::Bulkhead::wrap(#state, #future)),
            ))
        }
        Policy::RateLimit(limit) => {
            let state = policy::rate_limit(p, limit, &cx.located, &cx.params);
            wrapped(stateful(
                state,
                false,
                |state| quote!(#p::RateLimiter::wrap(#state, #future)),
            ))
        }
        Policy::Chaos(chaos) => {
            let state = policy::chaos(p, chaos, &cx.located);
            let returns = &cx.returns;
            let error = match &chaos.error {
                Some(expr) => {
                    let span = expr.span();
                    let helper = respan(quote!(#p::chaos_error), span);
                    quote_spanned!(span=> #helper(#returns, #expr))
                }
                None => quote!(#p::chaos_no_error(#returns)),
            };
            wrapped(quote!(#p::Chaos::wrap(#state, #future, #error)))
        }
        Policy::Retry(retry) => {
            let policy = policy::retry(p, retry, &cx.located);
            let when = predicate(cx, "when", retry.when.as_ref(), "always");
            let delay_from = predicate(cx, "delay_from", retry.delay_from.as_ref(), "no_hint");
            let [
                when_local,
                delay_from_local,
                attempts,
                result,
                delay,
                keeper,
                kept,
            ] = [
                "__steadfast_when",
                "__steadfast_delay_from",
                "__steadfast_attempts",
                "__steadfast_result",
                "__steadfast_delay",
                "__steadfast_keeper",
                "__steadfast_kept",
            ]
            .map(|name| Ident::new(name, Span::mixed_site()));
            let (describe, returns) = (&cx.describe, &cx.returns);
            let budget_local = Ident::new("__steadfast_budget", Span::mixed_site());
            let (budget_stmt, start) = match &retry.budget {
                Some(budget) => {
                    let (stmt, budget) = policy::budget(p, budget, &cx.params, &budget_local);
                    (stmt, quote!(start_budgeted(#budget)))
                }
                None => (TokenStream::new(), quote!(start())),
            };
            // The decision is taken in a `let`, so the outcome (and the
            // `ControlFlow` holding it) is gone before the sleep's `.await`;
            // only the error is kept across it (for shutdown to return), and
            // only when `E: Send`, so that the future stays `Send`.
            let stmts = quote! {
                let #when_local = #when;
                let #delay_from_local = #delay_from;
                let #keeper = #p::keeper(#returns, |__steadfast_probe| {
                    use #p::{KeepSend as _, KeepOther as _};
                    (&__steadfast_probe).keeper()
                });
                #budget_stmt
                let mut #attempts = (#policy).#start;
                loop {
                    let (#delay, #kept) = match #attempts.judge_kept(
                        (#future).await,
                        &#when_local,
                        &#delay_from_local,
                        #describe,
                        #keeper,
                    ) {
                        ::core::ops::ControlFlow::Break(#result) => break #result,
                        ::core::ops::ControlFlow::Continue(#delay) => #delay,
                    };
                    if let ::core::option::Option::Some(#result) =
                        #attempts.pause_kept(#keeper, #delay, #kept).await
                    {
                        break #result;
                    }
                }
            };
            Built {
                future: quote!(async { #stmts }),
                block: Some(stmts),
                rejecting,
            }
        }
        Policy::Fallback(fallback) => {
            let when = fallback_when(p, fallback);
            let handler = &fallback.handler;
            let recover = respan(quote!(#p::fallback), handler.span());
            let label = Lifetime::new("'__steadfast_fallback", Span::mixed_site());
            let [result, pending] = ["__steadfast_result", "__steadfast_pending"]
                .map(|name| Ident::new(name, Span::mixed_site()));
            let (located, describe) = (&cx.located, &cx.describe);
            // A success, an error `when` declines (a rejection keeps its
            // kind) and a synchronous handler's answer leave the block at
            // once; only an asynchronous handler's future is awaited.
            let stmts = quote! {
                #label: {
                    let #pending = match #recover(#located, #describe, (#future).await, #when, #handler) {
                        #p::Handled::Ready(#result) => break #label #result,
                        #p::Handled::Pending(#pending) => #pending,
                    };
                    #p::relift(#pending.await)
                }
            };
            Built {
                future: quote!(async { #stmts }),
                block: Some(stmts),
                rejecting,
            }
        }
    }
}
