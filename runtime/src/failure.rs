//! [`Failure`]: the error channel between stacked policies.

use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::Rejected;

/// The error of a call as it travels between stacked policies: the function's own
/// error, or a typed [`Rejected`] from an inner policy.
///
/// Keeping rejections typed until the outermost attribute lets an outer
/// `#[retry]` tell a [`Rejected::Timeout`] (always retried) from a
/// [`Rejected::CircuitOpen`] (never retried) whatever the user's error type is.
/// The outermost attribute turns it into the function's `E` with
/// [`Failure::into_error`].
///
/// `R` is [`Rejected`] when the stack holds a rejecting policy (`timeout`,
/// `circuit_breaker`, `bulkhead`) and [`Infallible`] when it does not, so a
/// stack of only `#[retry]` and `#[fallback]` needs no `From<Rejected>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E, R = Rejected> {
    /// The function body's own error.
    Error(E),
    /// A policy refused or abandoned the call.
    Rejected(R),
}

/// What a [`Failure`]'s rejection slot can hold: [`Rejected`], or
/// [`Infallible`] for stacks that cannot reject.
pub trait Rejection: sealed::Sealed {
    /// The rejection, as a [`Rejected`].
    fn as_rejected(&self) -> &Rejected;
}

impl Rejection for Rejected {
    fn as_rejected(&self) -> &Rejected {
        self
    }
}

impl Rejection for Infallible {
    fn as_rejected(&self) -> &Rejected {
        match *self {}
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Rejected {}
    impl Sealed for core::convert::Infallible {}
}

/// `E` can absorb a [`Rejected`]: the bound behind every rejecting attribute.
///
/// Implemented for every `E: From<Rejected>`; you never implement it yourself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must implement `From<steadfast::Rejected>` because this function has a rejecting policy",
    label = "`#[timeout]`, `#[circuit_breaker]`, `#[bulkhead]` and `#[rate_limit]` return `steadfast::Rejected` through this error type",
    note = "add `impl From<steadfast::Rejected> for {Self}` (for example a `Rejected(steadfast::Rejected)` variant), \
            or return `std::io::Error`, `anyhow::Error` or `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait FromRejected: Sized {
    /// Converts the rejection into this error type.
    fn from_rejected(rejected: Rejected) -> Self;
}

impl<E: From<Rejected>> FromRejected for E {
    #[inline]
    fn from_rejected(rejected: Rejected) -> Self {
        E::from(rejected)
    }
}

/// A rejection shown to a `#[fallback]`'s `when` and handler as the
/// function's error `E`: [`Rejected`] through `E: From<Rejected>`;
/// [`Infallible`] never is.
pub trait AsError<E>: Rejection {
    /// The rejection as `E` (a copy: the rejection itself passes on unchanged
    /// when the fallback declines it).
    fn as_error(&self) -> E;
}

impl<E: FromRejected> AsError<E> for Rejected {
    #[inline]
    fn as_error(&self) -> E {
        E::from_rejected(self.clone())
    }
}

impl<E> AsError<E> for Infallible {
    fn as_error(&self) -> E {
        match *self {}
    }
}

impl<E, R: Rejection> Failure<E, R> {
    /// The rejection, if a policy refused or abandoned the call.
    #[inline]
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            Failure::Error(_) => None,
            Failure::Rejected(r) => Some(r.as_rejected()),
        }
    }
}

impl<E: FromRejected> Failure<E, Rejected> {
    /// Converts into the function's error type.
    #[inline]
    pub fn into_error(self) -> E {
        match self {
            Failure::Error(e) => e,
            Failure::Rejected(r) => E::from_rejected(r),
        }
    }
}

impl<E> Failure<E, Infallible> {
    /// The function's own error: a stack without rejecting policies has no other.
    #[inline]
    pub fn into_inner(self) -> E {
        match self {
            Failure::Error(e) => e,
            Failure::Rejected(never) => match never {},
        }
    }
}

impl<E: fmt::Display, R: fmt::Display> fmt::Display for Failure<E, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => e.fmt(f),
            Failure::Rejected(r) => r.fmt(f),
        }
    }
}

impl<E, R> std::error::Error for Failure<E, R>
where
    E: std::error::Error + 'static,
    R: std::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Error(e) => e.source(),
            Failure::Rejected(r) => r.source(),
        }
    }
}

pin_project! {
    /// A future of `Result<T, E>` whose error is put into the [`Failure`]
    /// channel: `Result<T, Failure<E, R>>`. As small as the future it holds.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless `.await`ed or polled"]
    pub struct Lift<F, R> {
        #[pin]
        inner: F,
        rejection: PhantomData<fn() -> R>,
    }
}

impl<F, R> Lift<F, R> {
    /// Lifts `inner`'s error.
    #[inline]
    pub const fn new(inner: F) -> Self {
        Lift {
            inner,
            rejection: PhantomData,
        }
    }
}

impl<T, E, R, F> Future for Lift<F, R>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, Failure<E, R>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .inner
            .poll(cx)
            .map(|result| result.map_err(Failure::Error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn into_error_converts_rejections_only() {
        let f: Failure<std::io::Error> =
            Failure::Rejected(Rejected::timeout(Duration::from_secs(1)));
        assert_eq!(f.into_error().kind(), std::io::ErrorKind::TimedOut);
        let f: Failure<std::io::Error> = Failure::Error(std::io::Error::other("own"));
        assert_eq!(f.into_error().to_string(), "own");
    }

    #[test]
    fn rejected_is_visible_through_the_channel() {
        let f: Failure<(), Rejected> = Failure::Rejected(Rejected::circuit_open("c"));
        assert_eq!(f.rejected(), Some(&Rejected::circuit_open("c")));
        let f: Failure<(), Infallible> = Failure::Error(());
        assert_eq!(f.rejected(), None);
        f.into_inner();
    }
}
