//! The annotated item, read without parsing its body.
//!
//! The body stays a token stream: a typo inside it is the compiler's to
//! report, and our attribute still expands (so IDEs keep working).

use proc_macro2::{Group, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Signature, Visibility};

/// A function with its body as unparsed tokens.
pub(crate) struct ItemFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The `{ … }` group.
    pub(crate) body: Group,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let body: Group = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "this function has no body"))?;
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(
                body.span(),
                "expected a `{ … }` function body",
            ));
        }
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl ItemFn {
    /// The function with `body` in place of its own and `attrs` as its
    /// attributes.
    pub(crate) fn emit(&self, attrs: &[Attribute], body: TokenStream) -> TokenStream {
        let mut tokens = TokenStream::new();
        for attr in attrs {
            attr.to_tokens(&mut tokens);
        }
        self.emit_with(tokens, body)
    }

    /// The function with `attrs` (already tokens) and `body`.
    pub(crate) fn emit_with(&self, attrs: TokenStream, body: TokenStream) -> TokenStream {
        let mut tokens = attrs;
        self.vis.to_tokens(&mut tokens);
        self.sig.to_tokens(&mut tokens);
        let mut group = Group::new(proc_macro2::Delimiter::Brace, body);
        group.set_span(self.body.span());
        group.to_tokens(&mut tokens);
        tokens
    }
}
