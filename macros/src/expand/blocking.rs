//! The layers of a plain `fn`: the same fold as `compose`'s,
//! with each layer an expression of the call's `Result` evaluated where it
//! stands instead of a future.
//!
//! ```text
//! #[retry] #[circuit_breaker] fn get(&self) -> Result<Item, Error> { BODY }
//! ```
//!
//! becomes (abridged; `P` is `::steadfast::__private`)
//!
//! ```text
//! fn get(&self) -> Result<Item, Error> {
//!     P::finish(returns, {
//!         (&const { … }).drive_blocking(
//!             None,
//!             || P::CircuitBreaker::wrap_call(STATE, || P::attempt_blocking(returns, || BODY), …),
//!             …
//!         )
//!     })
//! }
//! ```
//!
//! The body is a closure made anew for each attempt: it borrows the
//! arguments as the original body did, `return` and `?` end the attempt, and
//! a retried body that moves an argument is reported by the compiler at the
//! move. A layer's inner stack is a closure too, which the runtime calls
//! once the policy has admitted the call (the retry's once per attempt). Only the five attributes that work on a
//! plain `fn` get here (`validate::check_sync` refuses the others).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;
use syn::spanned::Spanned;

use crate::args::{Args, Policy};

use super::body::respan;
use super::policy;
use super::protocol::{Built, Context, fallback_when, predicate, stateful};

/// One layer around `inner`, on a plain `fn`.
pub(super) fn layer(cx: &Context<'_>, inner: Built, args: &Args) -> Built {
    let p = cx.p;
    let rejecting = inner.rejecting || args.kind.rejects();
    let call = inner.future;
    let value = |future: TokenStream| Built {
        future,
        block: None,
        rejecting,
    };
    match &args.policy {
        Policy::CircuitBreaker(breaker) => {
            let failure_if = predicate(cx, "when", breaker.failure_if.as_ref(), "always");
            let state = policy::breaker(p, breaker, &cx.located, &cx.params);
            value(stateful(
                state,
                true,
                |state| quote!(#p::CircuitBreaker::wrap_call(#state, || #call, #failure_if)),
            ))
        }
        Policy::Bulkhead(bulkhead) => {
            let state = policy::bulkhead(p, bulkhead, &cx.located, &cx.params);
            value(stateful(
                state,
                true,
                |state| quote!(#p::Bulkhead::wrap_call(#state, || #call)),
            ))
        }
        Policy::RateLimit(limit) => {
            let state = policy::rate_limit(p, limit, &cx.located, &cx.params);
            value(stateful(
                state,
                true,
                |state| quote!(#p::RateLimiter::wrap_call(#state, || #call)),
            ))
        }
        Policy::Retry(retry) => {
            let policy = policy::retry(p, retry, &cx.located);
            let when = predicate(cx, "when", retry.when.as_ref(), "always");
            let delay_from = predicate(cx, "delay_from", retry.delay_from.as_ref(), "no_hint");
            let [when_local, delay_from_local, budget_local] = [
                "__steadfast_when",
                "__steadfast_delay_from",
                "__steadfast_budget",
            ]
            .map(|name| Ident::new(name, Span::mixed_site()));
            let describe = &cx.describe;
            let (budget_stmt, budget) = match &retry.budget {
                Some(budget) => {
                    let (stmt, budget) = policy::budget(p, budget, &cx.params, &budget_local);
                    (stmt, quote!(::core::option::Option::Some(#budget)))
                }
                None => (TokenStream::new(), quote!(::core::option::Option::None)),
            };
            // The loop is the runtime's: the inner stack is a closure it
            // calls once per attempt (the first one peeled off, so that a
            // call that succeeds at once builds no bookkeeping).
            let stmts = quote! {
                let #when_local = #when;
                let #delay_from_local = #delay_from;
                #budget_stmt
                (#policy).drive_blocking(
                    #budget,
                    || #call,
                    &#when_local,
                    &#delay_from_local,
                    #describe,
                )
            };
            Built {
                future: quote!({ #stmts }),
                block: Some(stmts),
                rejecting,
            }
        }
        Policy::Fallback(fallback) => {
            let when = fallback_when(p, fallback);
            let handler = &fallback.handler;
            let recover = respan(quote!(#p::fallback_blocking), handler.span());
            let (located, describe) = (&cx.located, &cx.describe);
            value(quote!(#recover(#located, #describe, #call, #when, #handler)))
        }
        // Refused on a plain `fn` before expansion; left out, never a panic.
        Policy::Timeout(_) | Policy::Hedge(_) | Policy::Leader(_) | Policy::Chaos(_) => value(call),
    }
}
