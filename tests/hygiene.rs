//! The expansions resolve only what they mean to: they survive shadowed names,
//! honour `crate = "…"`, and leave no `unused_imports` behind when stacked.

#![deny(unused_imports)]

// Shadowing canaries: expansions must name `::core` and `::steadfast`, never a
// relative `core` or `steadfast`, nor the prelude's `Result`, `Ok`, `Err`.
#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod steadfast {}
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;

use std::sync::atomic::Ordering;

use ::steadfast::{fallback, retry, timeout};

type Result<T> = std::result::Result<T, std::io::Error>;

/// Every toolkit attribute is imported and only the top one is expanded by the
/// compiler; `#![deny(unused_imports)]` above fails the build if the others
/// are reported unused.
#[fallback(|_e| std::result::Result::Ok(0))]
#[retry(attempts = 2, backoff = none)]
#[timeout("1s")]
async fn stacked_with_imports(fail: bool) -> Result<u32> {
    if fail {
        return std::result::Result::Err(std::io::Error::other("no"));
    }
    std::result::Result::Ok(1)
}

/// The same inside an `impl` block, where rustc does report the composed
/// attributes' imports as unused unless the expansion resolves them.
struct Service;

impl Service {
    #[fallback(|_e| std::result::Result::Ok(0))]
    #[retry(attempts = 2, backoff = none)]
    #[timeout("1s")]
    async fn method(&self, fail: bool) -> Result<u32> {
        stacked_with_imports(fail).await
    }
}

#[tokio::test]
async fn shadowed_prelude_names_and_imports_are_fine() {
    assert_eq!(stacked_with_imports(false).await.unwrap(), 1);
    assert_eq!(stacked_with_imports(true).await.unwrap(), 0);
    assert_eq!(Service.method(true).await.unwrap(), 0);
}

/// The generated locals are invisible to the body: a user variable with the
/// same name is the user's own.
#[retry(attempts = 2, backoff = none)]
async fn same_names_as_generated_locals(__steadfast_result: u32) -> Result<u32> {
    let __steadfast_outcome = __steadfast_result + 1;
    let __steadfast_attempts = __steadfast_outcome * 2;
    std::result::Result::Ok(__steadfast_attempts)
}

#[tokio::test]
async fn user_names_do_not_collide_with_generated_ones() {
    assert_eq!(same_names_as_generated_locals(1).await.unwrap(), 4);
}

/// A stand-in for the steadfast facade, reached only through `crate = "…"`:
/// it forwards everything to the real one but counts the attempts it runs.
mod facade {
    pub(crate) mod __private {
        pub(crate) use ::steadfast::__private::*;

        pub(crate) static ATTEMPTS: std::sync::atomic::AtomicUsize =
            std::sync::atomic::AtomicUsize::new(0);

        pub(crate) async fn attempt<T, E, R, F>(
            returns: ::steadfast::__private::Returns<std::result::Result<T, E>>,
            body: F,
        ) -> std::result::Result<T, ::steadfast::Failure<E, R>>
        where
            F: std::future::Future<Output = std::result::Result<T, E>>,
        {
            ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ::steadfast::__private::attempt(returns, body).await
        }
    }
}

#[retry(attempts = 3, backoff = none, crate = "crate::facade")]
async fn through_facade() -> Result<()> {
    std::result::Result::Err(std::io::Error::other("always"))
}

#[timeout("1s", crate = "crate::facade")]
#[fallback(|_e| std::result::Result::Ok(()))]
async fn stacked_through_facade() -> Result<()> {
    std::result::Result::Err(std::io::Error::other("always"))
}

#[tokio::test]
async fn crate_override_is_used_for_every_layer() {
    let before = facade::__private::ATTEMPTS.load(Ordering::SeqCst);
    assert!(through_facade().await.is_err());
    assert_eq!(
        facade::__private::ATTEMPTS.load(Ordering::SeqCst) - before,
        3
    );
    let before = facade::__private::ATTEMPTS.load(Ordering::SeqCst);
    assert!(stacked_through_facade().await.is_ok());
    assert_eq!(
        facade::__private::ATTEMPTS.load(Ordering::SeqCst) - before,
        1
    );
}
