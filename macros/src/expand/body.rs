//! Token helpers for the user's body: the fake return edge, spans, and the
//! return type as it can be written in a turbofish.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::quote;
use syn::visit_mut::VisitMut;
use syn::{Ident, Type};

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
pub(crate) fn fake_return_edge(body: &Group, p: &TokenStream, returns: &Ident) -> Group {
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
    let mut group = Group::new(Delimiter::Brace, stream);
    // The `{`'s span, not the whole body's: errors about the block as a whole
    // (a value a retried body moves) then point at its start, not at every line.
    group.set_span(body.span_open());
    group
}

/// The tokens with every span set to `span` (a user's span: it resolves like
/// the call site).
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut group = Group::new(group.delimiter(), respan(group.stream(), span));
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
pub(crate) fn erase_impl_trait(mut ty: Type) -> Type {
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
