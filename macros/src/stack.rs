//! The toolkit attributes on one function, in written order.
//!
//! The compiler expands the topmost attribute first and hands it the item with
//! every attribute below still attached. So the first toolkit attribute to
//! expand takes the others off the item and composes all of them itself,
//! top = outermost: `#[retry] #[timeout("1s")]` times out each attempt.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Attribute, Meta, Path};

use crate::kind::Kind;

/// One toolkit attribute found on the function.
pub(crate) struct Layer {
    pub(crate) kind: Kind,
    /// The tokens inside its parentheses, or why there are none.
    pub(crate) args: syn::Result<TokenStream>,
    /// Where errors about the attribute's arguments as a whole point: its
    /// name, or the call site for the attribute the compiler invoked.
    pub(crate) span: Span,
    /// The attribute itself, when it came from the item (for errors about
    /// the whole attribute).
    pub(crate) attr: Option<Attribute>,
    /// How the user named it (`retry`, `steadfast::retry`), if it came from the
    /// item's attributes rather than being the one the compiler invoked.
    pub(crate) path: Option<Path>,
}

/// The stack, outermost first, and the attributes that are not ours.
pub(crate) struct Stack {
    pub(crate) layers: Vec<Layer>,
    pub(crate) others: Vec<Attribute>,
}

/// Splits the item's attributes into toolkit layers and the rest.
///
/// `invoked` is the attribute the compiler expanded; it is the outermost,
/// since any toolkit attribute above it would have expanded first.
pub(crate) fn collect(invoked: Kind, args: TokenStream, attrs: &[Attribute]) -> Stack {
    let mut layers = vec![Layer {
        kind: invoked,
        args: Ok(args),
        span: Span::call_site(),
        attr: None,
        path: None,
    }];
    let mut others = Vec::new();
    for attr in attrs {
        match toolkit_kind(attr.path()) {
            Some(kind) => layers.push(Layer {
                kind,
                args: match &attr.meta {
                    Meta::List(list) => Ok(list.tokens.clone()),
                    Meta::Path(_) => Ok(TokenStream::new()),
                    Meta::NameValue(nv) => Err(syn::Error::new(
                        nv.eq_token.span,
                        format!("expected `{kind}` or `#[{}(…)]`, not `= …`", kind.name()),
                    )),
                },
                span: attr
                    .path()
                    .segments
                    .last()
                    .map_or_else(|| attr.span(), |s| s.ident.span()),
                attr: Some(attr.clone()),
                path: Some(attr.path().clone()),
            }),
            None => others.push(attr.clone()),
        }
    }
    Stack { layers, others }
}

/// The same attribute twice on one function is an error.
pub(crate) fn check_duplicates(layers: &[Layer]) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    for (i, layer) in layers.iter().enumerate() {
        if layers[..i].iter().any(|earlier| earlier.kind == layer.kind) {
            let message = format!(
                "`{}` is applied twice to this function; apply each policy once \
                 (stacked attributes compose in written order, top = outermost)",
                layer.kind
            );
            let error = match &layer.attr {
                Some(attr) => syn::Error::new_spanned(attr, message),
                None => syn::Error::new(layer.span, message),
            };
            match &mut errors {
                Some(all) => all.combine(error),
                None => errors = Some(error),
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Recognises `retry`, `steadfast::retry` and `::steadfast::retry` (and so on
/// for the other four). A foreign attribute with the same name must be written
/// with its crate path (`#[other::timeout]`).
fn toolkit_kind(path: &Path) -> Option<Kind> {
    let last = path.segments.last()?;
    let ours = match path.segments.len() {
        1 => path.leading_colon.is_none(),
        2 => path.segments[0].ident == "steadfast",
        _ => false,
    };
    if ours && last.arguments.is_none() {
        Kind::from_name(&last.ident.to_string())
    } else {
        None
    }
}
