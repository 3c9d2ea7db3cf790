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
//!     let returns = P::returns::<Result<Item, Error>>();
//!     P::finish(returns, {                                 // retry, outermost
//!         let mut attempts = (&const { P::Retry::builder().attempts(3).build() }).start();
//!         loop {
//!             let delay = match attempts.judge(
//!                 (P::Timeout::wrap(                          // timeout, per attempt
//!                     &const { P::Timeout::new(1s) },
//!                     P::attempt(returns, async { BODY }),    // see `body`
//!                 )).await,
//!                 …
//!             ) {
//!                 Break(result) => break result,
//!                 Continue(delay) => delay,
//!             };
//!             P::pause(delay).await;
//!         }
//!     })
//! }
//! ```
//!
//! The signature is re-emitted untouched. The body runs inside a plain
//! `async { … }` block (not `move`), so it borrows the arguments like the
//! original body did: `&mut self` works, `?` and `return` end the attempt,
//! and a retried body that moves an argument is reported by the compiler at
//! the move. Its tail and `return`s keep the declared return type as their
//! expected type ([`body::fake_return_edge`]). All behaviour lives in the
//! runtime; this is glue.
//!
//! - [`validate`]: the checks that need the whole function;
//! - [`policy`]: each attribute's policy, from the runtime's `const` builders;
//! - [`compose`]: the fold over the layers of an `async fn`;
//! - [`blocking`]: the same fold for a plain `fn`;
//! - [`protocol`]: what the layers hand each other;
//! - [`body`]: token helpers for the user's body.

mod blocking;
mod body;
mod compose;
mod policy;
mod protocol;
mod site;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::{self, Errors};
use crate::item::ItemFn;
use crate::kind::Kind;
use crate::stack::{self, Layer, Plan, Stack};

/// The whole expansion of the attribute the compiler invoked.
pub(crate) fn entry(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(item_fn) => item_fn,
        Err(error) => return not_a_function(kind, &item, &error),
    };
    let instrumented_above = site::is_instrumented(&item_fn);
    match stack::collect(kind, args, &item_fn.attrs, instrumented_above) {
        Plan::Compose(stack) => build(&item_fn, &stack),
        Plan::Defer { layers, attrs } => defer(&item_fn, &layers, attrs),
    }
}

/// The expansion of a marker left by [`Plan::Defer`]: exactly its layers.
pub(crate) fn deferred(args: TokenStream, item: TokenStream) -> TokenStream {
    let (layers, instrumented_above) = stack::parse_marker(args);
    let Some(first) = layers.first() else {
        return item;
    };
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(item_fn) => item_fn,
        Err(error) => return not_a_function(first.kind, &item, &error),
    };
    let others = item_fn.attrs.clone();
    let stack = Stack {
        layers,
        others,
        as_written: instrumented_above,
    };
    build(&item_fn, &stack)
}

fn not_a_function(kind: Kind, item: &TokenStream, error: &syn::Error) -> TokenStream {
    let error = syn::Error::new(
        error.span(),
        format!("`{kind}` can only be applied to a function with a body: {error}"),
    )
    .into_compile_error();
    quote!(#item #error)
}

/// Composes the stack, or reports every error with the original function.
fn build(item_fn: &ItemFn, stack: &Stack) -> TokenStream {
    match expand(item_fn, stack) {
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

/// Re-emits the function with its attributes in expansion order (see
/// [`stack`]); arguments that cannot be read at all are reported now.
fn defer(item_fn: &ItemFn, layers: &[Layer], attrs: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    for layer in layers {
        if let Err(error) = &layer.args {
            errors.push(Err(error.clone()));
        }
    }
    let tokens = item_fn.emit_with(attrs, item_fn.body.stream());
    match errors.finish() {
        Ok(()) => tokens,
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#tokens #error)
        }
    }
}

fn expand(item_fn: &ItemFn, stack: &Stack) -> syn::Result<TokenStream> {
    let top = stack.layers[0].kind;
    let site = site::locate(item_fn, stack.as_written);
    let mut errors = Errors::default();
    errors.push(stack::check_duplicates(&stack.layers));
    let blocking = !site.is_async_trait() && item_fn.sig.asyncness.is_none();
    if blocking {
        errors.push(validate::check_sync(item_fn, &stack.layers));
    }
    let ret = match &site.ret {
        Some(ret) => Ok(ret.clone()),
        None => validate::return_type(item_fn, top),
    };
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
    errors.push(validate::durations_known_at_compile_time(item_fn, &parsed));
    errors.push(validate::hedge_shares(item_fn, &parsed));
    let crate_path = validate::crate_path(&parsed);
    for error in [ret.as_ref().err(), crate_path.as_ref().err()]
        .into_iter()
        .flatten()
    {
        errors.push(Err(error.clone()));
    }
    errors.finish()?;
    let (ret, crate_path) = (ret?, crate_path?);
    let private = quote!(#crate_path::__private);
    let composed = compose::compose(&private, &ret, item_fn, &site.body, &parsed, blocking);
    let body = site.rebuild(item_fn, composed);
    let uses = mark_used(&stack.layers);
    Ok(item_fn.emit(
        &stack.others,
        quote! {
            #uses
            #body
        },
    ))
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
            (Kind::Leader, "election = \"billing\""),
            (Kind::Hedge, "after = \"50ms\""),
            (
                Kind::Hedge,
                "after = AFTER, max = 8, budget = self.budget, crate = \"x\"",
            ),
            (Kind::Hedge, "after = \"1s\", max = 1, budget = RETRIES"),
            (
                Kind::Leader,
                "election = \"billing\", lease = \"5s\", wait = LIMIT, crate = \"x\"",
            ),
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
            (Kind::Bulkhead, "shared = self.pool"),
            (Kind::Bulkhead, "key = x, max_keys = 3, max_concurrent = 2"),
            (
                Kind::CircuitBreaker,
                "shared = &*FROM_CONFIG, failure_if = E::counts",
            ),
            (Kind::CircuitBreaker, "key = (x, 1), window = 10"),
            (Kind::RateLimit, "rate = 100"),
            (
                Kind::RateLimit,
                "rate = 3, per = \"1m\", burst = 1, max_wait = \"50ms\", name = \"quota\"",
            ),
            (Kind::RateLimit, "rate = 1, per = PERIOD, max_wait = \"0s\""),
            (Kind::RateLimit, "shared = LIMIT"),
            (Kind::RateLimit, "shared = self.limit"),
            (Kind::RateLimit, "rate = 10, key = x, max_keys = 100"),
            (Kind::Chaos, "latency = \"200ms\""),
            (
                Kind::Chaos,
                "error = make_error, error_rate = 0.1, latency = \"1s\", latency_rate = 0, \
                 enabled = false, name = \"game-day\"",
            ),
            (
                Kind::Chaos,
                "error = || E::Down, latency = LATENCY, latency_rate = 1",
            ),
        ] {
            let out = run(kind, args, GOOD_FN);
            assert!(!out.contains("compile_error"), "{kind} ({args}) -> {out}");
            assert!(out.contains("async fn f"), "signature re-emitted: {out}");
        }
    }

    /// The five attributes that work on a plain `fn` expand there to the
    /// runtime's blocking calls, with the body in a closure and no `.await`.
    #[test]
    fn a_plain_fn_gets_the_blocking_calls() {
        const PLAIN_FN: &str = "fn f(&self, x: &str) -> Result<u32, E> { Ok(1) }";
        for (kind, args, call) in [
            (Kind::Retry, "", "drive_blocking"),
            (Kind::Retry, "budget = B", "Some"),
            (Kind::CircuitBreaker, "", "CircuitBreaker :: wrap_call"),
            (Kind::Bulkhead, "", "Bulkhead :: wrap_call"),
            (Kind::RateLimit, "rate = 1", "RateLimiter :: wrap_call"),
            (
                Kind::RateLimit,
                "rate = 1, key = x",
                "RateLimiter :: wrap_call",
            ),
            (Kind::Fallback, "h", "fallback_blocking"),
        ] {
            let out = run(kind, args, PLAIN_FN);
            assert!(!out.contains("compile_error"), "{kind} ({args}) -> {out}");
            assert!(out.contains(call), "{kind} ({args}) calls {call}: {out}");
            assert!(
                out.contains("attempt_blocking"),
                "{kind}: the body is a closure: {out}"
            );
            assert!(!out.contains("await"), "{kind}: nothing awaited: {out}");
            assert!(out.starts_with("fn f"), "signature re-emitted: {out}");
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
            (
                Kind::Timeout,
                "\"1s\"",
                "fn f() -> Result<(), E> { Ok(()) }",
            ),
            (
                Kind::Hedge,
                "after = \"1s\"",
                "fn f() -> Result<(), E> { Ok(()) }",
            ),
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
            (Kind::Leader, "", GOOD_FN),
            (Kind::Leader, "election = \"\"", GOOD_FN),
            (Kind::Leader, "election = name", GOOD_FN),
            (Kind::Leader, "election = \"x\", lease = \"0s\"", GOOD_FN),
            (Kind::Leader, "election = \"x\", wait = 5", GOOD_FN),
            (Kind::Leader, "election = \"x\", election = \"y\"", GOOD_FN),
            (Kind::Leader, "\"x\"", GOOD_FN),
            (Kind::Hedge, "", GOOD_FN),
            (Kind::Hedge, "\"50ms\"", GOOD_FN),
            (Kind::Hedge, "after = \"0ms\"", GOOD_FN),
            (Kind::Hedge, "after = \"1s\", max = 0", GOOD_FN),
            (Kind::Hedge, "after = \"1s\", max = 9", GOOD_FN),
            (Kind::Hedge, "after = \"1s\", max = x", GOOD_FN),
            (Kind::Hedge, "after = \"1s\", budget = 5", GOOD_FN),
            (Kind::Hedge, "after = \"1s\", after = \"2s\"", GOOD_FN),
            (
                Kind::Hedge,
                "after = \"1s\"",
                "fn f() -> Result<(), E> { Ok(()) }",
            ),
            (
                Kind::Hedge,
                "after = \"1s\"",
                "async fn f(&mut self) -> Result<(), E> { Ok(()) }",
            ),
            (
                Kind::Hedge,
                "after = \"1s\"",
                "async fn f(x: &mut u32) -> Result<(), E> { Ok(()) }",
            ),
            (Kind::Timeout, "\"1s\", \"2s\"", GOOD_FN),
            (Kind::Timeout, "5", GOOD_FN),
            (Kind::Fallback, "", GOOD_FN),
            (Kind::Fallback, "a, b", GOOD_FN),
            (Kind::Fallback, "\"handler\"", GOOD_FN),
            (Kind::CircuitBreaker, "failure_ratio = 0.0", GOOD_FN),
            (Kind::CircuitBreaker, "failure_ratio = 1.5", GOOD_FN),
            (Kind::CircuitBreaker, "window = 10, min_calls = 11", GOOD_FN),
            (Kind::CircuitBreaker, "window = \"0s\"", GOOD_FN),
            (Kind::CircuitBreaker, "half_open_probes = 0", GOOD_FN),
            (Kind::CircuitBreaker, "slow_ratio = 0.5", GOOD_FN),
            (
                Kind::CircuitBreaker,
                "shared = BREAKER, window = 5",
                GOOD_FN,
            ),
            (Kind::CircuitBreaker, "shared = BREAKER, key = x", GOOD_FN),
            (Kind::CircuitBreaker, "max_keys = 10", GOOD_FN),
            (Kind::CircuitBreaker, "key = x, max_keys = 0", GOOD_FN),
            (
                Kind::Bulkhead,
                "shared = self.pool, max_concurrent = 3",
                GOOD_FN,
            ),
            (Kind::RateLimit, "", GOOD_FN),
            (Kind::RateLimit, "per = \"1s\"", GOOD_FN),
            (Kind::RateLimit, "rate = 0", GOOD_FN),
            (Kind::RateLimit, "rate = 5, burst = 0", GOOD_FN),
            (Kind::RateLimit, "rate = 5, per = \"0s\"", GOOD_FN),
            (Kind::RateLimit, "rate = 5, period = \"1s\"", GOOD_FN),
            (Kind::RateLimit, "shared = LIMIT, rate = 5", GOOD_FN),
            (Kind::RateLimit, "rate = 5, max_keys = 3", GOOD_FN),
            (Kind::CircuitBreaker, "name = \"\"", GOOD_FN),
            (Kind::Chaos, "", GOOD_FN),
            (Kind::Chaos, "enabled = true", GOOD_FN),
            (Kind::Chaos, "error = f, error_rate = 1.01", GOOD_FN),
            (Kind::Chaos, "error = f, error_rate = -0.1", GOOD_FN),
            (Kind::Chaos, "error = f, error_rate = \"0.1\"", GOOD_FN),
            (Kind::Chaos, "latency = \"1s\", latency_rate = 2", GOOD_FN),
            (Kind::Chaos, "latency = \"0s\"", GOOD_FN),
            (Kind::Chaos, "latency = \"1s\", error_rate = 0.5", GOOD_FN),
            (Kind::Chaos, "error = f, latency_rate = 0.5", GOOD_FN),
            (Kind::Chaos, "error = 5", GOOD_FN),
            (Kind::Chaos, "error = f, enabled = 1", GOOD_FN),
            (Kind::Chaos, "error = f, error = g", GOOD_FN),
            (Kind::Chaos, "error = f, rate = 0.5", GOOD_FN),
            (Kind::Chaos, "error = f, name = \"\"", GOOD_FN),
            (Kind::Chaos, "\"200ms\"", GOOD_FN),
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
    fn a_budget_starts_the_attempts_budgeted() {
        let plain = run(Kind::Retry, "", GOOD_FN);
        assert!(
            plain.contains(". start ()") && !plain.contains("start_budgeted"),
            "{plain}"
        );
        // A path: through a `static` of the expansion's own, registered.
        let path = run(Kind::Retry, "budget = RETRIES", GOOD_FN);
        assert!(!path.contains("compile_error"), "{path}");
        assert!(path.contains("start_budgeted"), "{path}");
        assert!(path.contains("retry_budget (__STEADFAST_BUDGET)"), "{path}");
        // An expression: borrowed in a typed `let`, not registered.
        let expr = run(Kind::Retry, "budget = self.budget", GOOD_FN);
        assert!(expr.contains("RetryBudget = & self . budget"), "{expr}");
        assert!(!expr.contains("retry_budget ("), "{expr}");
    }

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let out = run(Kind::Retry, "atempts = 3", GOOD_FN);
        for key in crate::args::retry::KEYS.iter().chain(&["crate"]) {
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
    fn chaos_stacks_in_written_order() {
        let below = run(
            Kind::Retry,
            "",
            "#[chaos(latency = \"1s\")] async fn f() -> Result<(), E> { Ok(()) }",
        );
        assert!(!below.contains("compile_error"), "{below}");
        let (retry, chaos) = (
            below.find("Retry :: builder").unwrap(),
            below.find("Chaos :: wrap").unwrap(),
        );
        assert!(retry < chaos, "retry must wrap chaos: {below}");
        assert!(
            below.contains(":: finish_plain ("),
            "chaos never rejects: {below}"
        );
        let above = run(
            Kind::Chaos,
            "error = f",
            "#[timeout(\"1s\")] async fn f() -> Result<(), E> { Ok(()) }",
        );
        let (chaos, timeout) = (
            above.find("Chaos :: wrap").unwrap(),
            above.find("Timeout :: wrap").unwrap(),
        );
        assert!(chaos < timeout, "chaos must wrap the timeout: {above}");
        assert!(above.contains("chaos_error"), "{above}");
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
