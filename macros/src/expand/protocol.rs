//! What the layers of one function share: the names every layer uses
//! ([`Context`]), what each hands to the next one out ([`Built`]), and the
//! user's predicates checked where they are written ([`predicate`]). The
//! `async fn` fold (`compose`) and the plain `fn` one (`blocking`) both
//! build on it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::body::respan;
use super::policy::State;

/// What the layers built so far hand to the next one out.
pub(super) struct Built {
    /// For a plain `fn` (see `blocking`), an expression of the `Result`
    /// itself, evaluated where it stands.
    pub(super) future: TokenStream,
    pub(super) block: Option<TokenStream>,
    pub(super) rejecting: bool,
}

/// Names shared by every layer of one function.
pub(super) struct Context<'a> {
    pub(super) p: &'a TokenStream,
    /// The `Returns<Result<T, E>>` value that ties every helper to one `T`, `E`.
    pub(super) returns: Ident,
    /// The error's `Display` for events (declared when a layer needs it).
    pub(super) describe: Ident,
    /// Where the function is, for the runtime to name the other policies
    /// `module::Type::fn` (methods) or `module::fn`: the argument of
    /// `name_located`, a `static Location` declared in the body.
    pub(super) located: TokenStream,
    /// The function's run-time names (`self`, the arguments' bindings): a
    /// `shared = name` naming one of them is an expression, not a `static`.
    pub(super) params: Vec<String>,
}

/// `#p::helper(returns, given or default)`, spanned on the user's expression
/// so that a predicate of the wrong type is reported there.
pub(super) fn predicate(
    cx: &Context<'_>,
    helper: &str,
    given: Option<&syn::Expr>,
    default: &str,
) -> TokenStream {
    let (p, returns) = (cx.p, &cx.returns);
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

/// A `#[fallback]`'s `when`: the user's predicate, or every error.
pub(super) fn fallback_when(p: &TokenStream, fallback: &crate::args::FallbackArgs) -> TokenStream {
    fallback
        .when
        .as_ref()
        .map_or_else(|| quote!(#p::always), ToTokens::to_token_stream)
}

/// A stateful layer's call, `wrap(state)` being its call on a `&P`: for
/// keyed state, inside a block (a future for an `async fn`, a plain block
/// when `blocking`) that holds the key's state, so that it is not evicted,
/// for as long as the call runs.
pub(super) fn stateful(
    state: State,
    blocking: bool,
    wrap: impl FnOnce(TokenStream) -> TokenStream,
) -> TokenStream {
    match state {
        State::Ref(state) => wrap(state),
        State::Held(held) => {
            let local = Ident::new("__steadfast_held", Span::mixed_site());
            let call = wrap(quote!(&*#local));
            if blocking {
                quote!({
                    let #local = #held;
                    #call
                })
            } else {
                quote!(async {
                    let #local = #held;
                    #call.await
                })
            }
        }
    }
}
