//! Implementation detail of the [`steadfast`](https://docs.rs/steadfast) crate:
//! the attribute macros. Depend on `steadfast` and use them from there; their
//! documentation lives in that crate.
//!
//! Layout, in the order an expansion goes through it: [`item`] reads the
//! annotated function, [`stack`] collects the toolkit attributes on it,
//! [`args`] parses and checks each attribute's arguments, [`expand`] writes
//! the new body.

mod args;
mod expand;
mod item;
mod kind;
mod stack;

use proc_macro::TokenStream;

use kind::Kind;

/// See `steadfast::retry`.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Retry, args.into(), item.into()).into()
}

/// See `steadfast::timeout`.
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Timeout, args.into(), item.into()).into()
}

/// See `steadfast::fallback`.
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Fallback, args.into(), item.into()).into()
}

/// See `steadfast::circuit_breaker`.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::CircuitBreaker, args.into(), item.into()).into()
}

/// See `steadfast::bulkhead`.
#[proc_macro_attribute]
pub fn bulkhead(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Bulkhead, args.into(), item.into()).into()
}
