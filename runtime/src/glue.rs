//! Helpers that only the attribute expansions call. Not a stable API.
//!
//! Each turns one step of a generated body into a typed function call, so
//! the expansions stay glue and type errors point at user code.

use core::convert::Infallible;
use core::future::Future;
use core::marker::PhantomData;

use crate::{Failure, FromRejected, Rejected};

/// The declared return type of an annotated function: a `Result`.
#[diagnostic::on_unimplemented(
    message = "steadfast attributes need a function that returns `Result<T, E>`, not `{Self}`",
    label = "this is not a `Result`",
    note = "`#[retry]`, `#[timeout]`, `#[circuit_breaker]`, `#[bulkhead]` and `#[fallback]` act on `Err`; \
            return `Result<T, E>` (or an alias of it such as `std::io::Result<T>`)"
)]
pub trait ResultType {
    /// `T`.
    type Ok;
    /// `E`.
    type Err;
    /// The value as a `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> ResultType for Result<T, E> {
    type Ok = T;
    type Err = E;
    #[inline]
    fn into_result(self) -> Self {
        self
    }
}

/// The declared return type `Ret` of an annotated function, as a value that
/// every helper below takes, so that they all see one `Ret` (an `impl Trait`
/// in it, erased to `_`, is inferred once, from the body).
pub struct Returns<Ret>(PhantomData<fn() -> Ret>);

impl<Ret> Clone for Returns<Ret> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Ret> Copy for Returns<Ret> {}

impl<Ret> core::fmt::Debug for Returns<Ret> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Returns")
    }
}

/// A [`Returns`] for `Ret`.
#[inline]
pub const fn returns<Ret>() -> Returns<Ret> {
    Returns(PhantomData)
}

/// Runs the user's body once, as the declared return type `Ret`, with its error
/// put into the [`Failure`] channel.
#[inline]
pub async fn attempt<Ret, T, E, R, F>(_: Returns<Ret>, body: F) -> Result<T, Failure<E, R>>
where
    Ret: ResultType<Ok = T, Err = E>,
    F: Future<Output = Ret>,
{
    body.await.into_result().map_err(Failure::Error)
}

/// Puts an already finished result back into the [`Failure`] channel (after a
/// `#[fallback]` that is not the outermost attribute).
#[inline]
pub fn relift<T, E, R>(result: Result<T, E>) -> Result<T, Failure<E, R>> {
    result.map_err(Failure::Error)
}

/// The outermost step of a stack with a rejecting policy: rejections become `E`.
#[inline]
pub fn finish<T, E: FromRejected>(result: Result<T, Failure<E, Rejected>>) -> Result<T, E> {
    result.map_err(Failure::into_error)
}

/// The outermost step of a stack without a rejecting policy.
#[inline]
pub fn finish_plain<T, E>(result: Result<T, Failure<E, Infallible>>) -> Result<T, E> {
    result.map_err(Failure::into_inner)
}

/// Types a `when` predicate against the declared return type, so that an
/// untyped closure (`|e| e.is_transient()`) knows its argument's type.
#[inline]
pub fn when<Ret, W>(_: Returns<Ret>, when: W) -> W
where
    Ret: ResultType,
    W: Fn(&Ret::Err) -> bool,
{
    when
}

/// Types a `delay_from` hint against the declared return type.
#[inline]
pub fn delay_from<Ret, D>(_: Returns<Ret>, delay_from: D) -> D
where
    Ret: ResultType,
    D: Fn(&Ret::Err) -> Option<core::time::Duration>,
{
    delay_from
}

/// `when` when none was given: every error.
#[inline]
pub fn always<E>(_: &E) -> bool {
    true
}

/// `delay_from` when none was given: no hint.
#[inline]
pub fn no_hint<E>(_: &E) -> Option<core::time::Duration> {
    None
}
