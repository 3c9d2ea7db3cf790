//! `#[health_check(every = "5s", timeout = "1s", …)]` on an
//! `async fn() -> Result<(), E>`: parse, validate, expand.
//!
//! Unlike the policies, it does not touch the function: it emits it as
//! written (any attribute below it included, which expands after) and, next
//! to it, a `static` `HealthCheck` built from the arguments and its
//! registration for `health::start_checks()`:
//!
//! ```text
//! async fn ping() -> Result<(), E> { BODY }
//! const _: () = {
//!     static __STEADFAST_HEALTH_CHECK: K::health::HealthCheck =
//!         K::health::HealthCheck::builder("module::ping").every(5s).timeout(1s).build();
//!     K::__private::register_health_check!(
//!         __STEADFAST_HEALTH_CHECK,
//!         || __STEADFAST_HEALTH_CHECK.start(ping),
//!     );
//! };
//! ```
//!
//! The compiler checks the return type: `HealthCheck::start` wants a
//! `Result<(), E>` with `E: Display`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, LitStr, MetaNameValue, Path, ReturnType, Token};

use crate::args::{DurationArg, Errors, crate_path, int, name_arg};

const KEYS: &str = "`every`, `timeout`, `failures_to_act`, `successes_to_release`, `breaker`, \
                    `gates_readiness`, `name`, `crate`";

/// The attribute's arguments, each optional.
#[derive(Default)]
struct Args {
    every: Option<DurationArg>,
    timeout: Option<DurationArg>,
    failures_to_act: Option<u32>,
    successes_to_release: Option<u32>,
    breaker: Option<LitStr>,
    gates_readiness: Option<bool>,
    name: Option<LitStr>,
    crate_path: Option<Path>,
}

/// The whole expansion: the function, then its check; on an error, the
/// function as written and the error.
pub(crate) fn entry(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "`#[health_check]` goes on an `async fn() -> Result<(), E>`, the probe",
            )
            .to_compile_error();
            return quote!(#item #error);
        }
    };
    let args = parse(args);
    let signature = validate(&function);
    match (args, signature) {
        (Ok(args), Ok(())) => expand(&function, &args),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            let error = error.to_compile_error();
            quote!(#function #error)
        }
        (Err(error), Ok(())) | (Ok(_), Err(error)) => {
            let error = error.to_compile_error();
            quote!(#function #error)
        }
    }
}

fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let entries = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut args = Args::default();
    let mut errors = Errors::default();
    for entry in entries {
        let key = entry.path.get_ident().map(ToString::to_string);
        let key = key.as_deref().unwrap_or("");
        let span = entry.path.span();
        let value = &entry.value;
        let duplicate = || {
            Err(syn::Error::new(
                span,
                format!("duplicate key `{key}` in `#[health_check]`; set it once"),
            ))
        };
        let result = match key {
            "every" | "timeout" => DurationArg::from_expr(value).and_then(|duration| {
                let what = if key == "every" {
                    "`every` (the probe period)"
                } else {
                    "`timeout` (how long a probe may take)"
                };
                duration.require_positive(what)?;
                let slot = if key == "every" {
                    &mut args.every
                } else {
                    &mut args.timeout
                };
                if slot.is_some() {
                    return duplicate();
                }
                *slot = Some(duration);
                Ok(())
            }),
            "failures_to_act" | "successes_to_release" => int::<u32>(value, key).and_then(|n| {
                if n == 0 {
                    return Err(syn::Error::new(
                        value.span(),
                        format!("`{key}` must be at least 1"),
                    ));
                }
                let slot = if key == "failures_to_act" {
                    &mut args.failures_to_act
                } else {
                    &mut args.successes_to_release
                };
                if slot.is_some() {
                    return duplicate();
                }
                *slot = Some(n);
                Ok(())
            }),
            "breaker" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                }) if !lit.value().is_empty() => {
                    if args.breaker.is_some() {
                        duplicate()
                    } else {
                        args.breaker = Some(lit.clone());
                        Ok(())
                    }
                }
                other => Err(syn::Error::new(
                    other.span(),
                    "`breaker` expects the breakers' name as a non-empty string literal, \
                     such as `breaker = \"payments\"`",
                )),
            },
            "gates_readiness" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(flag),
                    ..
                }) => {
                    if args.gates_readiness.is_some() {
                        duplicate()
                    } else {
                        args.gates_readiness = Some(flag.value);
                        Ok(())
                    }
                }
                other => Err(syn::Error::new(
                    other.span(),
                    "`gates_readiness` expects `true` or `false`",
                )),
            },
            "name" => name_arg(value).and_then(|name| {
                if args.name.is_some() {
                    return duplicate();
                }
                args.name = Some(name);
                Ok(())
            }),
            "crate" => crate_path(value).and_then(|path| {
                if args.crate_path.is_some() {
                    return duplicate();
                }
                args.crate_path = Some(path);
                Ok(())
            }),
            _ => Err(syn::Error::new(
                span,
                format!("unknown key for `#[health_check]`; expected one of: {KEYS}"),
            )),
        };
        errors.push(result);
    }
    errors.finish().map(|()| args)
}

/// The probe's signature: `async fn name() -> Result<(), E>`, not generic.
fn validate(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    let mut errors = Errors::default();
    if sig.asyncness.is_none() {
        errors.push(Err(syn::Error::new(
            sig.fn_token.span(),
            "`#[health_check]` needs an `async fn() -> Result<(), E>`; add `async`",
        )));
    }
    if !sig.inputs.is_empty() {
        errors.push(Err(syn::Error::new(
            sig.inputs.span(),
            "a health check's probe takes no arguments (it runs on its own, every `every`); \
             reach what it needs through a `static`",
        )));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(Err(syn::Error::new(
            sig.generics.span(),
            "a health check's probe cannot be generic: it is called as it is",
        )));
    }
    if matches!(sig.output, ReturnType::Default) {
        errors.push(Err(syn::Error::new(
            sig.ident.span(),
            "a health check's probe returns `Result<(), E>` (with `E: Display`): \
             `Ok(())` when the dependency answers",
        )));
    }
    errors.finish()
}

fn expand(function: &ItemFn, args: &Args) -> TokenStream {
    let krate = args
        .crate_path
        .as_ref()
        .map_or_else(|| quote!(::steadfast), |path| quote!(#path));
    let ident = &function.sig.ident;
    let name = args.name.as_ref().map_or_else(
        || {
            quote!(::core::concat!(
                ::core::module_path!(),
                "::",
                ::core::stringify!(#ident)
            ))
        },
        |name| quote!(#name),
    );
    let mut builder = quote!(#krate::health::HealthCheck::builder(#name));
    if let Some(every) = &args.every {
        builder.extend(quote!(.every(#every)));
    }
    if let Some(timeout) = &args.timeout {
        builder.extend(quote!(.timeout(#timeout)));
    }
    if let Some(n) = args.failures_to_act {
        builder.extend(quote!(.failures_to_act(#n)));
    }
    if let Some(n) = args.successes_to_release {
        builder.extend(quote!(.successes_to_release(#n)));
    }
    if let Some(breaker) = &args.breaker {
        builder.extend(quote!(.breaker(#breaker)));
    }
    if let Some(gates) = args.gates_readiness {
        builder.extend(quote!(.gates_readiness(#gates)));
    }
    // The registration names the probe with the return type's span, so that
    // a return type `start` does not accept is reported there.
    let span = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => ident.span(),
    };
    let start = quote_spanned!(span=> || __STEADFAST_HEALTH_CHECK.start(#ident));
    quote! {
        #function
        const _: () = {
            static __STEADFAST_HEALTH_CHECK: #krate::health::HealthCheck = #builder.build();
            #krate::__private::register_health_check!(__STEADFAST_HEALTH_CHECK, #start);
        };
    }
}
