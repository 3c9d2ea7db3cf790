//! Replacing a failed call's error with a handler's answer.

use core::future::{Future, Pending};
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

/// Runs `handler` on the error of `result` when `when` accepts it; returns
/// successes (and errors `when` refuses) unchanged. The handler's own error
/// propagates.
///
/// The handler may be synchronous (returning `Result<T, E>`) or asynchronous
/// (returning a future of it).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use steadfast::fallback::recover;
///
/// let failed: Result<u32, String> = Err("offline".into());
/// let cached = recover(failed, |_: &String| true, |_e: String| Ok(42)).await;
/// assert_eq!(cached, Ok(42));
///
/// let failed: Result<u32, String> = Err("bad input".into());
/// let kept = recover(failed, |e: &String| e == "offline", |_e: String| async { Ok(42) }).await;
/// assert_eq!(kept, Err("bad input".to_string()));
/// # }
/// ```
///
/// `when` and `handler` run when `recover` is called; the returned future
/// only awaits an asynchronous handler's answer (a success, a refused error or
/// a synchronous handler's answer is ready at once).
pub fn recover<T, E, W, H, O, M>(
    result: Result<T, E>,
    when: W,
    handler: H,
) -> Recovery<O::Future, T, E>
where
    W: FnOnce(&E) -> bool,
    H: FnOnce(E) -> O,
    O: HandlerOutput<T, E, M>,
{
    let state = match result {
        Err(error) if when(&error) => match handler(error).into_outcome() {
            Handled::Ready(result) => State::Done {
                result: Some(result),
            },
            Handled::Pending(handler) => State::Handler { handler },
        },
        result => State::Done {
            result: Some(result),
        },
    };
    Recovery { state }
}

pin_project! {
    /// The future of [`recover`]: the outcome itself, or the handler's future.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless `.await`ed or polled"]
    pub struct Recovery<F, T, E> {
        #[pin]
        state: State<F, T, E>,
    }
}

pin_project! {
    #[derive(Debug)]
    #[project = StateProj]
    enum State<F, T, E> {
        // Nothing to wait for.
        Done { result: Option<Result<T, E>> },
        // An asynchronous handler's answer to wait for.
        Handler { #[pin] handler: F },
    }
}

impl<F, T, E> Future for Recovery<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Done { result } => Poll::Ready(
                result
                    .take()
                    .expect("steadfast: a fallback future polled after it finished"),
            ),
            StateProj::Handler { handler } => handler.poll(cx),
        }
    }
}

/// What a fallback handler may return: `Result<T, E>` itself, or a future of it.
///
/// `M` tells the two apart ([`Immediate`] or [`Deferred`]) and is inferred.
#[diagnostic::on_unimplemented(
    message = "this fallback handler returns `{Self}`, but it must return `Result<{T}, {E}>` or a future of it",
    label = "the handler's return type does not match the function's",
    note = "a fallback handler takes the function's error by value and returns the function's own return type (sync or async)"
)]
pub trait HandlerOutput<T, E, M> {
    /// The future that yields an asynchronous handler's outcome. For a
    /// synchronous handler it is a placeholder that is never built, and holds
    /// neither `T` nor `E`: an annotated function's future does not store
    /// the outcome across an `.await`, so it stays `Send` whenever the
    /// un-annotated one is, whatever `T` and `E` are.
    type Future: Future<Output = Result<T, E>>;
    /// The outcome now, or the future that will yield it.
    fn into_outcome(self) -> Handled<Self::Future, T, E>;
}

/// A handler's answer: ready (a synchronous handler), or still to come.
#[derive(Debug)]
pub enum Handled<F, T, E> {
    /// The outcome, known now.
    Ready(Result<T, E>),
    /// The future of an asynchronous handler.
    Pending(F),
}

/// Marks a synchronous handler's return value.
#[derive(Debug)]
pub enum Immediate {}

/// Marks an asynchronous handler's return value.
#[derive(Debug)]
pub enum Deferred {}

impl<T, E> HandlerOutput<T, E, Immediate> for Result<T, E> {
    type Future = Pending<Result<T, E>>;
    #[inline]
    fn into_outcome(self) -> Handled<Self::Future, T, E> {
        Handled::Ready(self)
    }
}

impl<T, E, F> HandlerOutput<T, E, Deferred> for F
where
    F: Future<Output = Result<T, E>>,
{
    type Future = F;
    #[inline]
    fn into_outcome(self) -> Handled<Self::Future, T, E> {
        Handled::Pending(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn never_runs_on_success() {
        let r: Result<u8, u8> = recover(
            Ok(1),
            |_: &u8| true,
            |_: u8| -> Result<u8, u8> { panic!("handler ran on success") },
        )
        .await;
        assert_eq!(r, Ok(1));
    }

    #[tokio::test]
    async fn handler_error_propagates() {
        let r: Result<u8, u8> = recover(Err(1), |_: &u8| true, |e: u8| Err(e + 10)).await;
        assert_eq!(r, Err(11));
    }

    #[tokio::test]
    async fn when_gates_the_handler() {
        let r: Result<u8, u8> = recover(Err(2), |e: &u8| *e == 1, |_: u8| Ok(0)).await;
        assert_eq!(r, Err(2));
        let r: Result<u8, u8> = recover(Err(1), |e: &u8| *e == 1, |_: u8| async { Ok(0) }).await;
        assert_eq!(r, Ok(0));
    }
}
