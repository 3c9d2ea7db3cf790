//! Giving the body the declared return type as its expected type.
//!
//! The body runs inside an `async { … }` block, and rustc gives an async
//! block's tail and `return`s no expected type: `Ok(&self.name)` would stay a
//! `Result<&String, _>` where the function returns `Result<&str, _>`, and
//! `Err(Box::new(e))` would not become a `Box<dyn Error>`. So the tail and
//! every `return` of the body itself (not those of nested closures, async
//! blocks or items) pass through `expect::<Ret>(…)`, a typed identity, which
//! restores the coercions of the original function and points type errors at
//! the user's expression.

use proc_macro2::{Group, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Item, Type};

/// The body's tokens, with its tail and `return`s typed as `ret`. A body that
/// does not parse is passed through untouched, for the compiler to report.
pub(crate) fn typed(p: &TokenStream, ret: &Type, body: &Group) -> TokenStream {
    let Ok(mut block) = syn::parse2::<Block>(body.to_token_stream()) else {
        return body.to_token_stream();
    };
    ReturnTyper { p, ret }.visit_block_mut(&mut block);
    let expect = quote_spanned!(body.span_open()=> #p::expect::<#ret>);
    let mut typed_block = Group::new(proc_macro2::Delimiter::Brace, quote!(#expect(#block)));
    typed_block.set_span(body.span());
    typed_block.into_token_stream()
}

struct ReturnTyper<'a> {
    p: &'a TokenStream,
    ret: &'a Type,
}

impl VisitMut for ReturnTyper<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Their `return`s are their own.
            Expr::Closure(_) | Expr::Async(_) => {}
            Expr::Return(ret) => {
                if let Some(value) = &mut ret.expr {
                    self.visit_expr_mut(value);
                    let (p, ty) = (self.p, self.ret);
                    let span = value.span();
                    let typed = quote_spanned!(span=> #p::expect::<#ty>(#value));
                    **value = Expr::Verbatim(typed);
                }
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut Item) {
        // Nested items are separate functions.
    }
}
