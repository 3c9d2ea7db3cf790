//! "If the un-annotated future is `Send`, the annotated one is `Send`" — also
//! when the result itself is not `Send` (an `Rc` in `T`, a
//! `Box<dyn Error>` as `E`): the un-annotated body never holds its result
//! across an `.await`, so the expansion must not either.
//!
//! Each function below is spawned with `tokio::spawn`, which requires `Send`:
//! a regression is a compile error in this file.

use std::error::Error;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use steadfast::{bulkhead, circuit_breaker, fallback, rate_limit, retry, timeout};

/// An error that is neither `Send` nor `Sync`.
type LocalError = Box<dyn Error>;

/// Fails `fail_first` times, then succeeds; every attempt waits once first.
#[derive(Default)]
struct Flaky {
    calls: AtomicU32,
    fail_first: u32,
}

impl Flaky {
    fn failing(fail_first: u32) -> Arc<Self> {
        Arc::new(Flaky {
            calls: AtomicU32::new(0),
            fail_first,
        })
    }

    async fn step(&self) -> u32 {
        tokio::task::yield_now().await;
        self.calls.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    /// One attempt: waits once, then fails `fail_first` times with `err`,
    /// then answers `ok`. The result is made after the `.await`, as a body
    /// whose future is `Send` although its result is not would make it.
    async fn attempt<T, E>(&self, ok: fn(u32) -> T, err: fn(u32) -> E) -> Result<T, E> {
        let n = self.step().await;
        if n <= self.fail_first {
            Err(err(n))
        } else {
            Ok(ok(n))
        }
    }
}

fn local_error(n: u32) -> LocalError {
    format!("attempt {n} failed").into()
}

// ------------------------------------------------- `T` holds an `Rc`

#[retry(attempts = 3, backoff = fixed("1ms"), jitter = none)]
async fn retry_rc(f: Arc<Flaky>) -> Result<Rc<u32>, String> {
    f.attempt(Rc::new, |n| format!("attempt {n}")).await
}

#[fallback(|_e| Ok(Rc::new(0)))]
async fn fallback_rc(f: Arc<Flaky>) -> Result<Rc<u32>, String> {
    f.attempt(Rc::new, |n| format!("attempt {n}")).await
}

#[fallback(async |_e| Ok(Rc::new(0)))]
async fn async_fallback_rc(f: Arc<Flaky>) -> Result<Rc<u32>, String> {
    f.attempt(Rc::new, |n| format!("attempt {n}")).await
}

#[timeout("1s")]
async fn timeout_rc(f: Arc<Flaky>) -> Result<Rc<u32>, std::io::Error> {
    Ok(Rc::new(f.step().await))
}

#[circuit_breaker(window = 4)]
async fn breaker_rc(f: Arc<Flaky>) -> Result<Rc<u32>, std::io::Error> {
    Ok(Rc::new(f.step().await))
}

#[bulkhead(max_concurrent = 2, max_queue = 2)]
async fn bulkhead_rc(f: Arc<Flaky>) -> Result<Rc<u32>, std::io::Error> {
    Ok(Rc::new(f.step().await))
}

#[fallback(|_e| Ok(Rc::new(0)))]
#[retry(attempts = 3, backoff = fixed("1ms"), jitter = none)]
#[circuit_breaker(window = 4)]
#[timeout("1s")]
#[bulkhead(max_concurrent = 2, max_queue = 2)]
async fn stack_rc(f: Arc<Flaky>) -> Result<Rc<u32>, std::io::Error> {
    f.attempt(Rc::new, |_| std::io::Error::other("down")).await
}

// A fallback in the middle of the stack.
#[retry(attempts = 3, backoff = fixed("1ms"), jitter = none)]
#[fallback(Err, when = |_e| false)]
#[timeout("1s")]
async fn middle_fallback_rc(f: Arc<Flaky>) -> Result<Rc<u32>, std::io::Error> {
    f.attempt(Rc::new, |_| std::io::Error::other("down")).await
}

// ------------------------------------- `E` is a `Box<dyn Error>`

#[retry(attempts = 3, backoff = fixed("1ms"), jitter = none)]
async fn retry_local_error(f: Arc<Flaky>) -> Result<u32, LocalError> {
    f.attempt(|n| n, local_error).await
}

#[fallback(|_e| Ok(0))]
async fn fallback_local_error(f: Arc<Flaky>) -> Result<u32, LocalError> {
    f.attempt(|n| n, local_error).await
}

#[timeout("1s")]
async fn timeout_local_error(f: Arc<Flaky>) -> Result<u32, LocalError> {
    Ok(f.step().await)
}

#[circuit_breaker(window = 4)]
async fn breaker_local_error(f: Arc<Flaky>) -> Result<u32, LocalError> {
    f.attempt(|n| n, local_error).await
}

#[bulkhead(max_concurrent = 2, max_queue = 2)]
async fn bulkhead_local_error(f: Arc<Flaky>) -> Result<u32, LocalError> {
    Ok(f.step().await)
}

#[fallback(|_e| Ok(0))]
#[retry(attempts = 3, backoff = fixed("1ms"), jitter = none)]
#[circuit_breaker(window = 4)]
#[timeout("1s")]
#[bulkhead(max_concurrent = 2, max_queue = 2)]
async fn stack_local_error(f: Arc<Flaky>) -> Result<u32, LocalError> {
    f.attempt(|n| n, local_error).await
}

#[retry(attempts = 3, backoff = fixed("1ms"), jitter = none)]
#[fallback(Err, when = |_e| false)]
#[timeout("1s")]
async fn middle_fallback_local_error(f: Arc<Flaky>) -> Result<u32, LocalError> {
    f.attempt(|n| n, local_error).await
}

#[rate_limit(rate = 100, max_wait = "1s")]
async fn rate_limit_rc(f: Arc<Flaky>) -> Result<Rc<u32>, std::io::Error> {
    Ok(Rc::new(f.step().await))
}

#[circuit_breaker(key = host, window = 4)]
#[bulkhead(key = host.len(), max_concurrent = 2)]
#[rate_limit(rate = 100, key = host)]
async fn keyed_rc(f: Arc<Flaky>, host: &'static str) -> Result<Rc<u32>, std::io::Error> {
    Ok(Rc::new(f.step().await))
}

/// Spawns `future` (so it must be `Send`) and returns a `Send` summary of its
/// result.
async fn spawned<F, T, E>(
    future: F,
    summary: fn(Result<T, E>) -> Result<u32, String>,
) -> Result<u32, String>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: 'static,
    E: 'static,
{
    tokio::spawn(async move { summary(future.await) })
        .await
        .expect("the spawned call panicked")
}

fn rc_summary<E: ToString>(r: Result<Rc<u32>, E>) -> Result<u32, String> {
    r.map(|v| *v).map_err(|e| e.to_string())
}

fn plain_summary<E: ToString>(r: Result<u32, E>) -> Result<u32, String> {
    r.map_err(|e| e.to_string())
}

#[tokio::test(start_paused = true)]
async fn a_non_send_ok_type_keeps_the_future_send() {
    let f = Flaky::failing(2);
    assert_eq!(spawned(retry_rc(f.clone()), rc_summary).await, Ok(3));
    assert_eq!(f.calls(), 3, "two failures retried");
    assert_eq!(
        spawned(fallback_rc(Flaky::failing(1)), rc_summary).await,
        Ok(0)
    );
    assert_eq!(
        spawned(fallback_rc(Flaky::failing(0)), rc_summary).await,
        Ok(1)
    );
    assert_eq!(
        spawned(async_fallback_rc(Flaky::failing(1)), rc_summary).await,
        Ok(0)
    );
    assert_eq!(
        spawned(timeout_rc(Flaky::failing(0)), rc_summary).await,
        Ok(1)
    );
    assert_eq!(
        spawned(breaker_rc(Flaky::failing(0)), rc_summary).await,
        Ok(1)
    );
    assert_eq!(
        spawned(bulkhead_rc(Flaky::failing(0)), rc_summary).await,
        Ok(1)
    );
    assert_eq!(
        spawned(rate_limit_rc(Flaky::failing(0)), rc_summary).await,
        Ok(1)
    );
    assert_eq!(
        spawned(keyed_rc(Flaky::failing(0), "a.example"), rc_summary).await,
        Ok(1)
    );
    let f = Flaky::failing(2);
    assert_eq!(spawned(stack_rc(f.clone()), rc_summary).await, Ok(3));
    assert_eq!(
        spawned(stack_rc(Flaky::failing(9)), rc_summary).await,
        Ok(0)
    );
    let f = Flaky::failing(1);
    assert_eq!(
        spawned(middle_fallback_rc(f.clone()), rc_summary).await,
        Ok(2)
    );
}

#[tokio::test(start_paused = true)]
async fn a_non_send_error_type_keeps_the_future_send() {
    let f = Flaky::failing(2);
    assert_eq!(
        spawned(retry_local_error(f.clone()), plain_summary).await,
        Ok(3)
    );
    assert_eq!(
        spawned(retry_local_error(Flaky::failing(5)), plain_summary).await,
        Err("attempt 3 failed".to_string())
    );
    assert_eq!(
        spawned(fallback_local_error(Flaky::failing(1)), plain_summary).await,
        Ok(0)
    );
    assert_eq!(
        spawned(timeout_local_error(Flaky::failing(0)), plain_summary).await,
        Ok(1)
    );
    assert_eq!(
        spawned(breaker_local_error(Flaky::failing(1)), plain_summary).await,
        Err("attempt 1 failed".to_string())
    );
    assert_eq!(
        spawned(bulkhead_local_error(Flaky::failing(0)), plain_summary).await,
        Ok(1)
    );
    assert_eq!(
        spawned(stack_local_error(Flaky::failing(2)), plain_summary).await,
        Ok(3)
    );
    assert_eq!(
        spawned(stack_local_error(Flaky::failing(9)), plain_summary).await,
        Ok(0)
    );
    assert_eq!(
        spawned(
            middle_fallback_local_error(Flaky::failing(1)),
            plain_summary
        )
        .await,
        Ok(2)
    );
}
