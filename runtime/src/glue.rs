//! Helpers that only the attribute expansions call. Not a stable API.
//!
//! Each turns one step of a generated body into a typed function call, so
//! the expansions stay glue and type errors point at user code. Two habits
//! keep a user's mistake to one error message:
//!
//! - [`returns`] checks the declared return type once, spanned on it, and
//!   hands out a [`Returns<Result<T, E>>`](Returns) that every other helper
//!   takes, so that they all agree on `T` and `E`.
//! - [`when`] and [`delay_from`] check a user's predicate where it is written,
//!   so that a wrong signature is reported on the user's expression.

use core::convert::Infallible;
use core::future::Future;
use core::marker::PhantomData;
use core::time::Duration;

use crate::fallback::{Handled, HandlerOutput};
use crate::{AsError, Failure, FromRejected, Lift, Rejected};

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
}

impl<T, E> ResultType for Result<T, E> {
    type Ok = T;
    type Err = E;
}

/// The declared return type, as `Result<T, E>` (aliases resolved): a value
/// that the helpers below take, so that they all see one `T` and one `E` (an
/// `impl Trait` in `T`, erased to `_`, is then inferred once, from the body).
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

/// Checks that `Ret` is a `Result` and names it as one.
#[inline]
pub const fn returns<Ret: ResultType>() -> Returns<Result<Ret::Ok, Ret::Err>> {
    Returns(PhantomData)
}

/// A value of the declared return type that is never produced: the body's
/// first, unreachable `return`, which gives its tail and its `return`s the
/// declared type as their expected type.
#[inline]
pub fn fake_return<T, E>(_: Returns<Result<T, E>>) -> Result<T, E> {
    unreachable!("steadfast: the fake return edge is behind `if false`")
}

/// Runs the user's body once, with its error put into the [`Failure`] channel.
#[inline]
pub const fn attempt<T, E, R, F>(_: Returns<Result<T, E>>, body: F) -> Lift<F, R>
where
    F: Future<Output = Result<T, E>>,
{
    Lift::new(body)
}

/// Puts an asynchronous fallback handler's answer into the [`Failure`]
/// channel: its error is the function's own.
#[inline]
pub fn relift<T, E, R>(result: Result<T, E>) -> Result<T, Failure<E, R>> {
    result.map_err(Failure::Error)
}

/// The outermost step of a stack with a rejecting policy: rejections become `E`.
#[inline]
pub fn finish<T, E: FromRejected>(
    _: Returns<Result<T, E>>,
    result: Result<T, Failure<E, Rejected>>,
) -> Result<T, E> {
    result.map_err(Failure::into_error)
}

/// The outermost step of a stack without a rejecting policy.
#[inline]
pub fn finish_plain<T, E>(
    _: Returns<Result<T, E>>,
    result: Result<T, Failure<E, Infallible>>,
) -> Result<T, E> {
    result.map_err(Failure::into_inner)
}

/// Checks a `when` (or `failure_if`) predicate against `E`; an untyped
/// closure (`|e| e.is_transient()`) learns its argument's type here.
#[inline]
pub fn when<T, E, W>(_: Returns<Result<T, E>>, when: W) -> W
where
    W: Fn(&E) -> bool,
{
    when
}

/// Checks a `delay_from` hint against `E`.
#[inline]
pub fn delay_from<T, E, D>(_: Returns<Result<T, E>>, delay_from: D) -> D
where
    D: Fn(&E) -> Option<Duration>,
{
    delay_from
}

/// Finds an error's `Display`, where its type has one, for the `tracing`
/// events: `(&Describe(e)).describe()` picks [`DescribeDisplay`] when
/// `E: Display` holds at the call site, [`DescribeOther`] otherwise.
#[derive(Debug)]
pub struct Describe<'e, E>(pub &'e E);

/// The `E: Display` case of [`Describe`].
pub trait DescribeDisplay<'e> {
    /// The error, as `Display`.
    fn describe(&self) -> Option<&'e dyn core::fmt::Display>;
}

impl<'e, E: core::fmt::Display> DescribeDisplay<'e> for Describe<'e, E> {
    fn describe(&self) -> Option<&'e dyn core::fmt::Display> {
        Some(self.0)
    }
}

/// The fallback case of [`Describe`]: no `Display`.
pub trait DescribeOther<'e> {
    /// Nothing.
    fn describe(&self) -> Option<&'e dyn core::fmt::Display>;
}

impl<'e, E> DescribeOther<'e> for &Describe<'e, E> {
    fn describe(&self) -> Option<&'e dyn core::fmt::Display> {
        None
    }
}

/// [`attempt`] on a plain `fn`: runs the user's body (a closure, so that
/// `return` and `?` end the attempt) once, its error put into the
/// [`Failure`] channel.
#[inline]
pub fn attempt_blocking<T, E, R, F>(_: Returns<Result<T, E>>, body: F) -> Result<T, Failure<E, R>>
where
    F: FnOnce() -> Result<T, E>,
{
    body().map_err(Failure::Error)
}

/// What a `#[fallback]` handler on a plain `fn` may return: the function's
/// `Result<T, E>` itself (a blocking function has nowhere to await a future).
#[diagnostic::on_unimplemented(
    message = "a fallback handler on a plain `fn` must return `Result<{T}, {E}>`, not `{Self}`",
    label = "the handler's answer must be ready when it returns",
    note = "a synchronous function cannot await an async handler: make the handler synchronous, or make the function `async`"
)]
pub trait BlockingHandlerOutput<T, E> {
    /// The handler's answer.
    fn into_result(self) -> Result<T, E>;
}

impl<T, E> BlockingHandlerOutput<T, E> for Result<T, E> {
    #[inline]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// [`fallback`] on a plain `fn`: the handler is synchronous, and its
/// answer is the outcome.
#[inline]
pub fn fallback_blocking<T, E, R, W, H, O>(
    location: &'static crate::name::Location,
    describe: Describer<E>,
    result: Result<T, Failure<E, R>>,
    when: W,
    handler: H,
) -> Result<T, Failure<E, R>>
where
    R: AsError<E>,
    W: FnOnce(&E) -> bool,
    H: FnOnce(E) -> O,
    O: BlockingHandlerOutput<T, E>,
{
    let handler = |error: E| handler(error).into_result();
    match fallback(location, describe, result, when, handler) {
        Handled::Ready(result) => result,
        // A synchronous handler's answer is always ready.
        Handled::Pending(_) => unreachable!("steadfast: a synchronous fallback handler pending"),
    }
}

/// Runs a `#[fallback]` handler on the inner stack's outcome, reporting it
/// in a `tracing` event named `policy`.
///
/// The outcome stays in the [`Failure`] channel: an error `when` declines
/// passes on unchanged, a rejection included (it keeps its kind, so an outer
/// `#[retry]` or `#[circuit_breaker]` still treats a `CircuitOpen` as one). A
/// rejection is shown to `when` and the handler as `E` (`E: From<Rejected>`).
///
/// Returns the outcome at once, or the pending future of an asynchronous
/// handler, whose answer the expansion awaits and puts back with [`relift`].
/// Nothing of `T` or `E` is then kept across that `.await`.
#[inline]
pub fn fallback<T, E, R, W, H, O, M>(
    location: &'static crate::name::Location,
    describe: Describer<E>,
    result: Result<T, Failure<E, R>>,
    when: W,
    handler: H,
) -> Handled<O::Future, T, Failure<E, R>>
where
    R: AsError<E>,
    W: FnOnce(&E) -> bool,
    H: FnOnce(E) -> O,
    O: HandlerOutput<T, E, M>,
{
    // Named like the function's other policies (`module::Type::fn` for a
    // method); worked out only here, on the error path.
    let policy = crate::name::PolicyName::located(location);
    let applies = |error: &E, when: W| {
        let applies = when(error);
        if crate::meter::ENABLED {
            crate::meter::fallback_call(policy.get(), applies);
        }
        if applies {
            let field = crate::events::ErrorField(describe(error), core::any::type_name::<E>());
            crate::events::fallback_applied(policy.get(), &field);
        }
        applies
    };
    let error = match result {
        Ok(value) => return Handled::Ready(Ok(value)),
        Err(Failure::Error(error)) => {
            if !applies(&error, when) {
                return Handled::Ready(Err(Failure::Error(error)));
            }
            error
        }
        Err(Failure::Rejected(rejected)) => {
            let error = rejected.as_error();
            if !applies(&error, when) {
                return Handled::Ready(Err(Failure::Rejected(rejected)));
            }
            error
        }
    };
    match handler(error).into_outcome() {
        Handled::Ready(result) => Handled::Ready(result.map_err(Failure::Error)),
        Handled::Pending(future) => Handled::Pending(future),
    }
}

/// How the events show an error: its `Display`, where it has one. A function
/// pointer, not a closure, so that the runtime code that takes it is compiled
/// once per error type, not once per annotated function.
pub type Describer<E> = for<'e> fn(&'e E) -> Option<&'e dyn core::fmt::Display>;

/// Names the describer the expansion writes (a closure without captures, made
/// a function pointer here) for `E`.
#[inline]
pub const fn describer<T, E>(_: Returns<Result<T, E>>, describe: Describer<E>) -> Describer<E> {
    describe
}

/// A breaker the expansion uses, registered for [`health`](crate::health()).
#[inline]
pub fn breaker(breaker: &'static crate::CircuitBreaker) -> &'static crate::CircuitBreaker {
    breaker.register();
    breaker
}

/// A bulkhead the expansion uses, registered for [`health`](crate::health()).
#[inline]
pub fn bulkhead(bulkhead: &'static crate::Bulkhead) -> &'static crate::Bulkhead {
    bulkhead.register();
    bulkhead
}

/// A rate limiter the expansion uses, registered for [`health`](crate::health()).
#[inline]
pub fn rate_limiter(rate_limiter: &'static crate::RateLimiter) -> &'static crate::RateLimiter {
    rate_limiter.register();
    rate_limiter
}

/// A keyed policy the expansion uses, registered for
/// [`health`](crate::health()) (`key = …`).
#[inline]
pub fn keyed<P: crate::keyed::KeyedPolicy>(
    keyed: &'static crate::Keyed<P>,
) -> &'static crate::Keyed<P> {
    keyed.register();
    keyed
}

/// What [`register_breaker!`](crate::register_breaker),
/// [`register_bulkhead!`](crate::register_bulkhead) and
/// [`register_rate_limiter!`](crate::register_rate_limiter) submit.
pub use crate::registry::AtStartup;
/// The registration at startup behind [`register_breaker!`](crate::register_breaker).
pub use inventory;

/// `when` when none was given: every error.
#[inline]
pub fn always<E>(_: &E) -> bool {
    true
}

/// `delay_from` when none was given: no hint.
#[inline]
pub fn no_hint<E>(_: &E) -> Option<Duration> {
    None
}

/// Checks a `#[chaos(error = f)]` function against `E`: a `fn() -> E` (a
/// function, or a closure that captures nothing) that builds the injected
/// error.
#[inline]
pub fn chaos_error<T, E>(_: Returns<Result<T, E>>, error: fn() -> E) -> Option<fn() -> E> {
    Some(error)
}

/// `#[chaos]` without `error = …`: no error to inject.
#[inline]
pub fn chaos_no_error<T, E>(_: Returns<Result<T, E>>) -> Option<fn() -> E> {
    None
}

/// Picks how a retry keeps an attempt's failure across its delay:
/// `(&KeepProbe).keeper()` picks [`KeepError`](crate::retry::KeepError)
/// when `E: Send` holds at the call site, [`KeepNothing`](crate::retry::KeepNothing)
/// otherwise (so that the attribute's future stays `Send` whenever the
/// function's own future is).
pub struct KeepProbe<E>(PhantomData<fn() -> E>);

impl<E> core::fmt::Debug for KeepProbe<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeepProbe")
    }
}

/// The `E: Send` case of [`KeepProbe`].
pub trait KeepSend {
    /// The keeper.
    fn keeper(&self) -> crate::retry::KeepError;
}

impl<E: Send> KeepSend for KeepProbe<E> {
    #[inline]
    fn keeper(&self) -> crate::retry::KeepError {
        crate::retry::KeepError
    }
}

/// The fallback case of [`KeepProbe`].
pub trait KeepOther {
    /// The keeper.
    fn keeper(&self) -> crate::retry::KeepNothing;
}

impl<E> KeepOther for &KeepProbe<E> {
    #[inline]
    fn keeper(&self) -> crate::retry::KeepNothing {
        crate::retry::KeepNothing
    }
}

/// Runs `choose` on the [`KeepProbe`] of `E`.
#[inline]
pub fn keeper<T, E, K>(_: Returns<Result<T, E>>, choose: impl FnOnce(KeepProbe<E>) -> K) -> K {
    choose(KeepProbe(PhantomData))
}

/// A retry budget the expansion uses (`budget = PATH`), registered for
/// [`health`](crate::health()).
#[inline]
pub fn retry_budget(budget: &'static crate::RetryBudget) -> &'static crate::RetryBudget {
    budget.register();
    budget
}
