//! Where the user's body is, when another attribute expanded first.
//!
//! Usually the function's `{ … }` is the user's body. Two other attributes
//! rewrite it before ours can run, and their output is recognised here (as
//! `tracing-attributes` recognises `async-trait`'s):
//!
//! - `#[tracing::instrument]` written **above** the toolkit's attributes
//!   expands first and moves the body into `async move { … }` (inside a
//!   wrapper when it has `err` or `ret`). Written above means outermost, so
//!   our layers go inside that block: one span for the whole call, and `err`
//!   / `ret` see the call's final outcome. Only a body instrumented from
//!   above is searched (`look_inside`): after a deferral (see `stack`) an
//!   instrumented body was written *below* us and stays inside, unless the
//!   first toolkit attribute found it instrumented already, which its
//!   markers carry on. On a plain `fn` it puts the body after the span's
//!   guard (in `(move || { … })()` with `err` or `ret`), where our layers go
//!   likewise.
//! - `#[async_trait]` on the `impl` (or trait) expands first and turns each
//!   `async fn` into a plain `fn` returning `Pin<Box<dyn Future>>` whose body
//!   is `Box::pin(async move { let __ret: Ret = { <argument moves> BODY }; __ret })`.
//!   Our layers wrap `BODY`; the argument moves stay in front, run once.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use syn::Type;

use crate::item::ItemFn;

/// The user's body inside the function's block.
pub(crate) struct Site {
    /// The user's block.
    pub(crate) body: Group,
    /// Its return type, when it is not the signature's (`async-trait`).
    pub(crate) ret: Option<Type>,
    /// Statements to keep in front of the composed body, run once.
    prefix: TokenStream,
    /// Where `body` sits: indices into nested groups from the function's block.
    path: Vec<usize>,
}

impl Site {
    /// Whether the function is `async-trait`'s expansion of an `async fn`
    /// (the only site whose return type is not the signature's).
    pub(crate) fn is_async_trait(&self) -> bool {
        self.ret.is_some()
    }

    /// The function's block with the composed statements in place of the
    /// user's body.
    pub(crate) fn rebuild(&self, item_fn: &ItemFn, composed: TokenStream) -> TokenStream {
        let mut stream = self.prefix.clone();
        stream.extend(composed);
        if self.path.is_empty() {
            return stream;
        }
        replace(item_fn.body.stream(), &self.path, stream)
    }
}

/// Finds the user's body in `item_fn`.
pub(crate) fn locate(item_fn: &ItemFn, look_inside: bool) -> Site {
    let plain = Site {
        body: item_fn.body.clone(),
        ret: None,
        prefix: TokenStream::new(),
        path: Vec::new(),
    };
    let tokens: Vec<TokenTree> = item_fn.body.stream().into_iter().collect();
    if item_fn.sig.asyncness.is_none() {
        let instrumented = || look_inside.then(|| instrumented_sync(&tokens)).flatten();
        return async_trait(&tokens, item_fn.sig.inputs.len())
            .or_else(instrumented)
            .unwrap_or(plain);
    }
    if look_inside {
        return instrumented(&tokens).unwrap_or(plain);
    }
    plain
}

/// Whether `item_fn`'s body is `#[tracing::instrument]`'s expansion.
pub(crate) fn is_instrumented(item_fn: &ItemFn) -> bool {
    let tokens: Vec<TokenTree> = item_fn.body.stream().into_iter().collect();
    if item_fn.sig.asyncness.is_some() {
        instrumented(&tokens).is_some()
    } else {
        instrumented_sync(&tokens).is_some()
    }
}

/// `#[tracing::instrument]`'s expansion of a plain `fn`: after the span's
/// guard, the body as a block, or (with `err` / `ret`) inside
/// `(move || { … })()`.
///
/// ```text
/// #[allow(…)] { let __tracing_attr_span; let __tracing_attr_guard; if … { … } #[warn(…)] { BODY } }
/// let __tracing_attr_span; let __tracing_attr_guard; if … { … } … (move || { BODY })() …
/// ```
fn instrumented_sync(tokens: &[TokenTree]) -> Option<Site> {
    let guarded = |tokens: &[TokenTree]| {
        tokens
            .windows(2)
            .any(|pair| is_ident(&pair[0], "let") && is_ident(&pair[1], "__tracing_attr_guard"))
    };
    let site = |body: &Group, path: Vec<usize>| Site {
        body: body.clone(),
        ret: None,
        prefix: TokenStream::new(),
        path,
    };
    if guarded(tokens) {
        // `err` / `ret`: the first `(move || { … })` after the guard.
        return tokens.iter().enumerate().find_map(|(at, tree)| {
            let TokenTree::Group(paren) = tree else {
                return None;
            };
            if paren.delimiter() != Delimiter::Parenthesis {
                return None;
            }
            match paren.stream().into_iter().collect::<Vec<_>>().as_slice() {
                [m, bar, bar2, TokenTree::Group(body)]
                    if is_ident(m, "move")
                        && is_punct(bar, '|')
                        && is_punct(bar2, '|')
                        && body.delimiter() == Delimiter::Brace =>
                {
                    Some(site(body, vec![at, 3]))
                }
                _ => None,
            }
        });
    }
    // Neither: a block holding the guard, the body its last block.
    tokens.iter().enumerate().find_map(|(at, tree)| {
        let TokenTree::Group(block) = tree else {
            return None;
        };
        let inner: Vec<TokenTree> = block.stream().into_iter().collect();
        if block.delimiter() != Delimiter::Brace || !guarded(&inner) {
            return None;
        }
        match inner.last() {
            Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => {
                Some(site(body, vec![at, inner.len() - 1]))
            }
            _ => None,
        }
    })
}

/// `let __tracing_instrument_future = async move { … };`
fn instrumented(tokens: &[TokenTree]) -> Option<Site> {
    let at = tokens.windows(2).position(|pair| {
        is_ident(&pair[0], "__tracing_instrument_future") && is_punct(&pair[1], '=')
    })?;
    let start = at + 2;
    let (block_at, block) = async_move_block(tokens, start)?;
    if block_at != start + 2 {
        return None;
    }
    let inner: Vec<TokenTree> = block.stream().into_iter().collect();
    // `err` / `ret` wrap the body once more, in one of three fixed shapes.
    let wrapped = match inner.as_slice() {
        [first, second, ..] if is_ident(first, "let") && is_ident(second, "__match_scrutinee") => {
            Some(3)
        }
        [first, _, _, _, dot, await_, arms]
            if is_ident(first, "match")
                && is_punct(dot, '.')
                && is_ident(await_, "await")
                && matches!(arms, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace) =>
        {
            Some(1)
        }
        [first, x, eq, _, _, _, dot, await_, semi, colon, ..]
            if is_ident(first, "let")
                && is_ident(x, "x")
                && is_punct(eq, '=')
                && is_punct(dot, '.')
                && is_ident(await_, "await")
                && is_punct(semi, ';')
                && is_punct(colon, ':') =>
        {
            Some(3)
        }
        _ => None,
    };
    match wrapped {
        None => Some(Site {
            body: block.clone(),
            ret: None,
            prefix: TokenStream::new(),
            path: vec![block_at],
        }),
        Some(from) => {
            let (inner_at, inner_block) = async_move_block(&inner, from)?;
            Some(Site {
                body: inner_block.clone(),
                ret: None,
                prefix: TokenStream::new(),
                path: vec![block_at, inner_at],
            })
        }
    }
}

/// `Box::pin(async move { … let __ret: Ret = { BODY }; … })`
fn async_trait(tokens: &[TokenTree], inputs: usize) -> Option<Site> {
    let call_at = tokens.windows(2).position(|pair| {
        is_ident(&pair[0], "pin")
            && matches!(&pair[1], TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis)
    })? + 1;
    let TokenTree::Group(call) = &tokens[call_at] else {
        return None;
    };
    let args: Vec<TokenTree> = call.stream().into_iter().collect();
    let (async_at, block) = async_move_block(&args, 0)?;
    let inner: Vec<TokenTree> = block.stream().into_iter().collect();
    let let_at = inner
        .windows(3)
        .position(|w| is_ident(&w[0], "let") && is_ident(&w[1], "__ret") && is_punct(&w[2], ':'))?;
    // The type runs to the `=` outside any `<…>`.
    let mut depth = 0usize;
    let mut eq_at = None;
    for (offset, tree) in inner[let_at + 3..].iter().enumerate() {
        match tree {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => depth = depth.saturating_sub(1),
            TokenTree::Punct(p) if p.as_char() == '=' && depth == 0 => {
                eq_at = Some(let_at + 3 + offset);
                break;
            }
            _ => {}
        }
    }
    let eq_at = eq_at?;
    let ret: Type = syn::parse2(inner[let_at + 3..eq_at].iter().cloned().collect()).ok()?;
    let body_at = eq_at + 1;
    let TokenTree::Group(user) = inner.get(body_at)? else {
        return None;
    };
    if user.delimiter() != Delimiter::Brace {
        return None;
    }
    // The first statement per argument moves it into the block: kept in
    // front, so that a retried body borrows the arguments as it would in an
    // `async fn`.
    let statements: Vec<TokenTree> = user.stream().into_iter().collect();
    let mut split = 0;
    for _ in 0..inputs {
        if !statements.get(split).is_some_and(|t| is_ident(t, "let")) {
            split = 0;
            break;
        }
        let semi = statements[split..].iter().position(|t| is_punct(t, ';'))?;
        split += semi + 1;
    }
    let prefix: TokenStream = statements[..split].iter().cloned().collect();
    let mut body = Group::new(
        Delimiter::Brace,
        statements[split..].iter().cloned().collect(),
    );
    body.set_span(user.span());
    Some(Site {
        body,
        ret: Some(ret),
        prefix,
        path: vec![call_at, async_at, body_at],
    })
}

/// The first `async move { … }` at or after `from`: its block's index and block.
fn async_move_block(tokens: &[TokenTree], from: usize) -> Option<(usize, &Group)> {
    (from..tokens.len().saturating_sub(2)).find_map(|i| {
        match (&tokens[i], &tokens[i + 1], &tokens[i + 2]) {
            (a, m, TokenTree::Group(g))
                if is_ident(a, "async")
                    && is_ident(m, "move")
                    && g.delimiter() == Delimiter::Brace =>
            {
                Some((i + 2, g))
            }
            _ => None,
        }
    })
}

fn replace(stream: TokenStream, path: &[usize], with: TokenStream) -> TokenStream {
    let mut tokens: Vec<TokenTree> = stream.into_iter().collect();
    let (first, rest) = path.split_first().expect("a non-empty path");
    if let TokenTree::Group(group) = &tokens[*first] {
        let inner = if rest.is_empty() {
            with
        } else {
            replace(group.stream(), rest, with)
        };
        let mut new = Group::new(group.delimiter(), inner);
        new.set_span(group.span());
        tokens[*first] = TokenTree::Group(new);
    }
    tokens.into_iter().collect()
}

fn is_ident(tree: &TokenTree, name: &str) -> bool {
    matches!(tree, TokenTree::Ident(ident) if ident == name)
}

fn is_punct(tree: &TokenTree, ch: char) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == ch)
}
