//! The toolkit attributes on one function, and the order they apply in.
//!
//! Written order is the contract: the top attribute is the outermost. The
//! compiler expands the topmost attribute first and hands it the item with
//! every attribute below still attached, so the first toolkit attribute to
//! expand takes the toolkit attributes below it off the item and composes all
//! of them itself ([`Plan::Compose`]).
//!
//! An attribute below it that is not recognisably ours — another crate's
//! attribute macro (`#[tracing::instrument]`), or a path that may or may not
//! name one of ours (`#[sf::timeout]` after `use steadfast as sf`) — is
//! inner to everything above it, so it must expand *before* them. The
//! compiler cannot be asked to expand a lower attribute first, but the item's
//! attributes can be re-emitted in expansion order ([`Plan::Defer`]):
//!
//! ```text
//! written:  #[A] #[B] #[U1] #[C] #[U2] #[D]      (U1, U2 not ours)
//! emitted:  #[deferred(D)] #[U2] #[deferred(C)] #[U1] #[deferred(A, B)]
//! ```
//!
//! Each `deferred(…)` marker is a toolkit attribute that composes exactly
//! the layers it carries. Expanding top to bottom, each step wraps what the
//! steps before it produced, so the result nests as written: `A(B(U1(C(U2(D(body))))))`.
//!
//! A marker always sits right below each `U` (empty if need be). So when a
//! `U` turns out to be ours after all (`#[sf::timeout]`), it sees a marker
//! directly below it: those layers were written above it, and it composes
//! them as its outer layers ([`collect`]'s "deferred" mode), which also
//! catches the same attribute written twice under two paths.
//!
//! Attributes with no expansion of their own (`doc`, lints, `inline`, …) stay
//! where they are. Test entry points (`#[test]`, `#[tokio::test]`) written
//! below the toolkit's attributes are left to expand last: they always wrap
//! the whole call.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Meta, Path};

use crate::args;
use crate::kind::Kind;

/// The name of the marker attribute (`::steadfast::__private::…`).
pub(crate) const DEFERRED: &str = "__steadfast_deferred";

/// The marker's flag: the body was already instrumented by a
/// `#[tracing::instrument]` written above the stack, so every layer goes
/// inside that span (see `expand::site`).
const INSTRUMENTED_ABOVE: &str = "__instrumented_above";

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
    /// Whether an instrumented body was instrumented from above the stack
    /// (the body as written, or a marker that says so), so the layers go
    /// inside the span.
    pub(crate) as_written: bool,
}

/// What the invoked attribute does.
pub(crate) enum Plan {
    /// Compose the layers now.
    Compose(Stack),
    /// Re-emit the item with these attributes, in expansion order.
    Defer {
        /// The recognised layers, for the checks that need them all.
        layers: Vec<Layer>,
        /// The attributes to emit, markers included.
        attrs: TokenStream,
    },
}

/// How an attribute below the invoked one takes part.
enum Role {
    /// One of ours, recognised by its path.
    Ours(Kind),
    /// A marker left by an attribute above: its layers, outermost first.
    Deferred,
    /// No expansion of its own, or one that always wraps the whole call.
    Stays,
    /// Another crate's attribute macro, or a path that may or may not be ours.
    Foreign,
}

/// The attribute the compiler invoked (`invoked`, with `args`) and the
/// attributes below it; `instrumented_above`: the body is already
/// instrumented by a `#[tracing::instrument]` written above.
pub(crate) fn collect(
    invoked: Kind,
    args: TokenStream,
    attrs: &[Attribute],
    instrumented_above: bool,
) -> Plan {
    let crates = crate_paths(&args, attrs);
    let invoked = Layer {
        kind: invoked,
        args: Ok(args),
        span: Span::call_site(),
        attr: None,
        path: None,
    };
    let roles: Vec<Role> = attrs.iter().map(|attr| role(attr, &crates)).collect();

    // Deferred mode: a marker is the first attribute below that acts. Its
    // layers were written above the invoked one.
    let first_active = roles.iter().position(|role| !matches!(role, Role::Stays));
    if let Some(index) = first_active.filter(|&i| matches!(roles[i], Role::Deferred)) {
        let (mut layers, instrumented_above) = deferred_layers(&attrs[index]);
        layers.push(invoked);
        let others = attrs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, attr)| attr.clone())
            .collect();
        return Plan::Compose(Stack {
            layers,
            others,
            as_written: instrumented_above,
        });
    }

    if !roles.iter().any(|role| matches!(role, Role::Foreign)) {
        let mut layers = vec![invoked];
        let mut others = Vec::new();
        for (attr, role) in attrs.iter().zip(&roles) {
            match role {
                Role::Ours(kind) => layers.push(layer_of(*kind, attr)),
                _ => others.push(attr.clone()),
            }
        }
        return Plan::Compose(Stack {
            layers,
            others,
            as_written: true,
        });
    }

    // Segments of our layers between the foreign attributes, top first.
    let mut segments: Vec<Vec<Layer>> = vec![vec![invoked]];
    let mut foreign: Vec<&Attribute> = Vec::new();
    let mut stays: Vec<&Attribute> = Vec::new();
    for (attr, role) in attrs.iter().zip(&roles) {
        match role {
            Role::Ours(kind) => segments
                .last_mut()
                .expect("at least one segment")
                .push(layer_of(*kind, attr)),
            Role::Foreign => {
                foreign.push(attr);
                segments.push(Vec::new());
            }
            Role::Stays | Role::Deferred => stays.push(attr),
        }
    }
    let marker_path = marker_path(&crates);
    let marker = |layers: &[Layer]| marker(&marker_path, layers, instrumented_above);
    let mut emitted = TokenStream::new();
    for attr in stays {
        attr.to_tokens(&mut emitted);
    }
    // Innermost first: the last segment, then each foreign attribute with the
    // segment written above it right below it.
    let innermost = segments.pop().expect("one segment per foreign attribute");
    if !innermost.is_empty() {
        emitted.extend(marker(&innermost));
    }
    for (attr, above) in foreign.iter().rev().zip(segments.iter().rev()) {
        attr.to_tokens(&mut emitted);
        emitted.extend(marker(above));
    }
    let layers = segments.into_iter().chain([innermost]).flatten().collect();
    Plan::Defer {
        layers,
        attrs: emitted,
    }
}

/// The layers a marker carries (see [`marker`] for the form), and its flag.
pub(crate) fn deferred_layers(attr: &Attribute) -> (Vec<Layer>, bool) {
    match &attr.meta {
        Meta::List(list) => parse_marker(list.tokens.clone()),
        _ => (Vec::new(), false),
    }
}

/// The marker's own arguments, when the compiler invokes it: its layers, and
/// whether the body was instrumented from above.
pub(crate) fn parse_marker(tokens: TokenStream) -> (Vec<Layer>, bool) {
    let mut layers = Vec::new();
    let mut instrumented_above = false;
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        let TokenTree::Ident(ident) = tree else {
            continue;
        };
        if ident == INSTRUMENTED_ABOVE {
            instrumented_above = true;
            continue;
        }
        let Some(kind) = Kind::from_name(&ident.to_string()) else {
            continue;
        };
        let path = match trees.next() {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => {
                syn::parse2::<Path>(group.stream()).ok()
            }
            _ => None,
        };
        let args = match trees.next() {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
                group.stream()
            }
            _ => TokenStream::new(),
        };
        let span = path
            .as_ref()
            .and_then(|path| path.segments.last())
            .map_or_else(|| ident.span(), |last| last.ident.span());
        layers.push(Layer {
            kind,
            args: Ok(args),
            span,
            attr: None,
            path,
        });
    }
    (layers, instrumented_above)
}

/// `#[path(kind [path] (args), …)]`, with the flag first when it is set.
fn marker(path: &TokenStream, layers: &[Layer], instrumented_above: bool) -> TokenStream {
    let entries = layers.iter().map(|layer| {
        let kind = proc_macro2::Ident::new(layer.kind.name(), layer.span);
        let path = layer.path.as_ref().map(ToTokens::to_token_stream);
        let path = Group::new(Delimiter::Bracket, path.unwrap_or_default());
        // Arguments that could not be read are reported by the attribute
        // that composes them; here they travel as they were written.
        let args = match (&layer.args, &layer.attr) {
            (Ok(args), _) => args.clone(),
            (Err(_), Some(attr)) => attr.meta.to_token_stream(),
            (Err(_), None) => TokenStream::new(),
        };
        let args = Group::new(Delimiter::Parenthesis, args);
        quote!(#kind #path #args)
    });
    let flag = instrumented_above.then(|| {
        let flag = proc_macro2::Ident::new(INSTRUMENTED_ABOVE, Span::call_site());
        quote!(#flag,)
    });
    quote!(#[#path(#flag #(#entries),*)])
}

fn marker_path(crates: &[Path]) -> TokenStream {
    let name = proc_macro2::Ident::new(DEFERRED, Span::call_site());
    match crates.first() {
        Some(krate) => quote!(#krate::__private::#name),
        None => quote!(::steadfast::__private::#name),
    }
}

fn layer_of(kind: Kind, attr: &Attribute) -> Layer {
    Layer {
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
    }
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

/// Attributes that have no expansion of their own, or that always wrap the
/// whole call wherever they are written (test entry points).
const STAYS: &[&str] = &[
    "doc",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "inline",
    "cold",
    "must_use",
    "track_caller",
    "deprecated",
    "cfg",
    "cfg_attr",
    "test",
    "ignore",
    "should_panic",
    "no_mangle",
    "export_name",
    "link_section",
    "target_feature",
    "automatically_derived",
];

/// Test entry points from other crates, which turn the function into a
/// synchronous one and so must be the outermost wherever they are written.
const ENTRY_POINTS: &[&[&str]] = &[&["tokio", "test"], &["tokio", "main"]];

/// Tools whose attributes are inert.
const TOOLS: &[&str] = &["rustfmt", "clippy", "diagnostic"];

fn role(attr: &Attribute, crates: &[Path]) -> Role {
    let path = attr.path();
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let Some(last) = names.last() else {
        return Role::Foreign;
    };
    if last == DEFERRED {
        return Role::Deferred;
    }
    if let Some(kind) = Kind::from_name(last) {
        return if is_ours(path, crates) {
            Role::Ours(kind)
        } else {
            Role::Foreign
        };
    }
    let plain = path.leading_colon.is_none();
    if plain && names.len() == 1 && STAYS.contains(&last.as_str()) {
        return Role::Stays;
    }
    if names.len() > 1 && TOOLS.contains(&names[0].as_str()) {
        return Role::Stays;
    }
    if ENTRY_POINTS
        .iter()
        .any(|entry| names.iter().map(String::as_str).eq(entry.iter().copied()))
    {
        return Role::Stays;
    }
    Role::Foreign
}

/// `retry`, `steadfast::retry`, `::steadfast::retry`, or `<crate>::retry`
/// for a `crate = "<crate>"` given on the stack. A foreign attribute with the
/// same name is written with its own crate's path (`#[other::timeout]`), and
/// then is not ours.
fn is_ours(path: &Path, crates: &[Path]) -> bool {
    let Some(last) = path.segments.last() else {
        return false;
    };
    if !last.arguments.is_none() {
        return false;
    }
    let prefix: Vec<String> = path
        .segments
        .iter()
        .take(path.segments.len() - 1)
        .map(|s| s.ident.to_string())
        .collect();
    if prefix.is_empty() {
        return path.leading_colon.is_none();
    }
    if prefix == ["steadfast"] {
        return true;
    }
    crates.iter().any(|krate| {
        let names: Vec<String> = krate.segments.iter().map(|s| s.ident.to_string()).collect();
        // `::toolkit::steadfast::retry` needs a crate path written with `::`.
        names == prefix && (path.leading_colon.is_none() || krate.leading_colon.is_some())
    })
}

/// Every `crate = "…"` written on the invoked attribute or on any attribute
/// below that names one of ours.
fn crate_paths(args: &TokenStream, attrs: &[Attribute]) -> Vec<Path> {
    let mut crates = Vec::new();
    crate_path_in(args.clone(), &mut crates);
    for attr in attrs {
        let Some(last) = attr.path().segments.last() else {
            continue;
        };
        if Kind::from_name(&last.ident.to_string()).is_some()
            && let Meta::List(list) = &attr.meta
        {
            crate_path_in(list.tokens.clone(), &mut crates);
        }
    }
    crates
}

/// `crate = "path"` among one attribute's arguments (read as the attribute's
/// own parser reads it, [`args::crate_path`]).
fn crate_path_in(tokens: TokenStream, crates: &mut Vec<Path>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for window in trees.windows(3) {
        if let [
            TokenTree::Ident(key),
            TokenTree::Punct(eq),
            TokenTree::Literal(lit),
        ] = window
            && key == "crate"
            && eq.as_char() == '='
            && let Ok(value) = syn::parse2::<syn::Expr>(lit.to_token_stream())
            && let Ok(path) = args::crate_path(&value)
        {
            crates.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    //! A reference model of the compiler's expansion order: attributes expand
    //! top first, each on the item the previous ones left. Whatever mix of
    //! recognised paths, unrecognised paths to our attributes and other
    //! crates' attributes is written, the layers must nest in written order.

    use super::*;
    use proptest::prelude::*;

    /// One written attribute.
    #[derive(Debug, Clone)]
    enum Written {
        /// One of ours, `kind` by index, through a recognised path or not.
        Ours { kind: usize, recognised: bool },
        /// Another crate's attribute macro.
        Foreign(usize),
        /// An attribute without an expansion of its own.
        Inert,
    }

    fn attribute(written: &Written) -> Attribute {
        let text = match written {
            Written::Ours { kind, recognised } => {
                let name = Kind::ALL[*kind].name();
                if *recognised {
                    format!("#[steadfast::{name}(crate = \"::steadfast\")]")
                } else {
                    format!("#[sf::{name}]")
                }
            }
            Written::Foreign(id) => format!("#[other::foreign{id}]"),
            Written::Inert => "#[doc = \"inert\"]".to_string(),
        };
        let item: syn::ItemFn = syn::parse_str(&format!("{text} fn f() {{}}")).expect("parses");
        item.attrs.into_iter().next().expect("one attribute")
    }

    /// The label a layer leaves in the body, outermost first.
    fn label_of(written: &Written) -> Option<String> {
        match written {
            Written::Ours { kind, .. } => Some(Kind::ALL[*kind].name().to_string()),
            Written::Foreign(id) => Some(format!("foreign{id}")),
            Written::Inert => None,
        }
    }

    /// Runs the expansion the compiler would: returns the layers, outermost
    /// first.
    fn expand_all(written: &[Written]) -> Vec<String> {
        let mut attrs: Vec<Attribute> = written.iter().map(attribute).collect();
        // Innermost last: each expansion wraps what is there.
        let mut body: Vec<String> = Vec::new();
        for _ in 0..100 {
            let Some(at) = attrs.iter().position(|attr| {
                let last = attr.path().segments.last().unwrap().ident.to_string();
                last != "doc"
            }) else {
                return body;
            };
            let invoked = attrs.remove(at);
            let below = attrs.split_off(at);
            let last = invoked.path().segments.last().unwrap().ident.to_string();
            let args = match &invoked.meta {
                Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            };
            let (layers, rest): (Vec<String>, Vec<Attribute>) = if last == DEFERRED {
                let (layers, _) = parse_marker(args);
                (
                    layers.iter().map(|l| l.kind.name().to_string()).collect(),
                    below,
                )
            } else if let Some(kind) = Kind::from_name(&last) {
                match collect(kind, args, &below, false) {
                    Plan::Compose(stack) => (
                        stack
                            .layers
                            .iter()
                            .map(|l| l.kind.name().to_string())
                            .collect(),
                        stack.others,
                    ),
                    Plan::Defer { attrs: emitted, .. } => {
                        let item: syn::ItemFn = syn::parse2(quote!(#emitted fn f() {}))
                            .expect("emitted attributes parse");
                        attrs.extend(item.attrs);
                        continue;
                    }
                }
            } else {
                (vec![last.clone()], below)
            };
            let mut wrapped = layers;
            wrapped.extend(body);
            body = wrapped;
            attrs.extend(rest);
        }
        panic!("the expansion does not end: {written:?}");
    }

    fn written_stack() -> impl Strategy<Value = Vec<Written>> {
        (
            proptest::sample::subsequence(
                (0..Kind::ALL.len()).collect::<Vec<_>>(),
                1..=Kind::ALL.len(),
            )
            .prop_shuffle(),
            proptest::collection::vec(any::<bool>(), Kind::ALL.len()),
            proptest::collection::vec(0..3usize, 0..4),
            0..3usize,
        )
            .prop_map(|(kinds, recognised, foreign, inert)| {
                let mut all: Vec<Written> = kinds
                    .iter()
                    .zip(&recognised)
                    .map(|(&kind, &recognised)| Written::Ours { kind, recognised })
                    .collect();
                all.extend(foreign.iter().enumerate().map(|(i, _)| Written::Foreign(i)));
                all.extend((0..inert).map(|_| Written::Inert));
                all
            })
            .prop_shuffle()
            // The compiler invokes one of ours first only if it is on top of
            // the macros; a foreign one on top is not ours to order.
            .prop_filter("a toolkit attribute is the first macro", |all| {
                matches!(
                    all.iter().find(|w| !matches!(w, Written::Inert)),
                    Some(Written::Ours { .. })
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn layers_nest_in_written_order_whatever_the_paths(written in written_stack()) {
            let expected: Vec<String> = written.iter().filter_map(label_of).collect();
            prop_assert_eq!(expand_all(&written), expected, "{:?}", written);
        }
    }

    #[test]
    fn the_same_attribute_under_two_paths_meets_itself() {
        // `#[retry] #[sf::retry]`: the deferred one sees the first in its marker.
        let below = vec![attribute(&Written::Ours {
            kind: 0,
            recognised: false,
        })];
        let Plan::Defer { attrs, .. } = collect(Kind::Retry, TokenStream::new(), &below, false)
        else {
            panic!("an unrecognised path defers");
        };
        let item: syn::ItemFn = syn::parse2(quote!(#attrs fn f() {})).unwrap();
        let Plan::Compose(stack) =
            collect(Kind::Retry, TokenStream::new(), &item.attrs[1..], false)
        else {
            panic!("the marker below composes");
        };
        assert!(check_duplicates(&stack.layers).is_err());
    }
}
