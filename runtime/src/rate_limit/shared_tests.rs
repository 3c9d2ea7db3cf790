//! A limiter whose turns a store decides (`RateLimiterBuilder::store`), on
//! tokio's paused clock: each answer of the store, and each
//! `on_store_error` when the store fails, times out or answers garbage.
//!
//! The stores here are in-process test stores that answer as told (the
//! acceptance tests against a real Redis are in `steadfast-redis`): they
//! check the limiter's side of the protocol, not a backend.

use super::*;
use std::sync::Mutex;
use std::sync::atomic::AtomicU32;

use crate::CircuitBreaker;
use crate::store::StoreFuture;

const MS: Duration = Duration::from_millis(1);

/// A store that gives the answers it is told, in order, counting the calls
/// and the key and settings they carried; `None` never answers.
#[derive(Debug)]
struct Told {
    answers: Mutex<Vec<Option<Result<RateDecision, StoreError>>>>,
    asked: Mutex<Vec<(String, RateSpec)>>,
}

impl Told {
    fn leak(answers: Vec<Option<Result<RateDecision, StoreError>>>) -> &'static Told {
        Box::leak(Box::new(Told {
            answers: Mutex::new(answers.into_iter().rev().collect()),
            asked: Mutex::new(Vec::new()),
        }))
    }

    fn asked(&self) -> Vec<(String, RateSpec)> {
        self.asked.lock().unwrap().clone()
    }
}

impl RateStore for Told {
    fn take<'a>(
        &'a self,
        key: &'a str,
        spec: RateSpec,
    ) -> StoreFuture<'a, Result<RateDecision, StoreError>> {
        self.asked.lock().unwrap().push((key.to_owned(), spec));
        let answer = self.answers.lock().unwrap().pop().expect("a told answer");
        Box::pin(async move {
            match answer {
                Some(answer) => answer,
                None => std::future::pending().await,
            }
        })
    }
}

fn shared(store: &'static Told, on_error: OnStoreError) -> &'static RateLimiter {
    Box::leak(Box::new(
        RateLimiter::builder()
            .name("shared")
            .rate(1)
            .per(Duration::from_secs(60))
            .max_wait(Duration::from_secs(1))
            .store(store)
            .on_store_error(on_error)
            .store_timeout(50 * MS)
            .build(),
    ))
}

async fn ok() -> Result<u32, &'static str> {
    Ok(7)
}

fn down() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, "connection refused")
}

/// The store's three answers: admitted runs at once, a reserved turn runs
/// after exactly that wait, a refusal is `RateLimited` with the store's
/// `retry_after`; every call asks with the limiter's name and settings.
#[tokio::test(start_paused = true)]
async fn the_stores_decision_is_the_limiters() {
    let store = Told::leak(vec![
        Some(Ok(RateDecision::Admitted)),
        Some(Ok(RateDecision::Wait(300 * MS))),
        Some(Ok(RateDecision::Rejected {
            retry_after: 700 * MS,
        })),
    ]);
    let limiter = shared(store, OnStoreError::Closed);
    assert!(limiter.is_shared());
    let start = Instant::now();
    assert_eq!(limiter.run(ok()).await, Ok(7));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(limiter.run(ok()).await, Ok(7));
    assert_eq!(start.elapsed(), 300 * MS, "ran at the reserved turn");
    assert_eq!(
        limiter.run(ok()).await,
        Err(Failure::Rejected(Rejected::rate_limited(
            "shared",
            700 * MS
        )))
    );
    let spec = RateSpec {
        rate: 1,
        per: Duration::from_secs(60),
        burst: 1,
        max_wait: Duration::from_secs(1),
    };
    assert_eq!(store.asked(), vec![("shared".to_owned(), spec); 3]);
}

/// A failing store: `Local` decides with the limiter's own state (one turn
/// per minute here: the first admitted, the second refused), `Open` admits,
/// `Closed` refuses with `StoreUnavailable`; none runs the body when refused.
#[tokio::test(start_paused = true)]
async fn a_failing_store_is_handled_as_on_store_error_says() {
    let local = shared(
        Told::leak(vec![Some(Err(down())), Some(Err(down()))]),
        OnStoreError::Local,
    );
    assert_eq!(local.run(ok()).await, Ok(7));
    assert!(matches!(
        local.run(ok()).await,
        Err(Failure::Rejected(Rejected::RateLimited {
            name: "shared",
            ..
        }))
    ));

    let open = shared(Told::leak(vec![Some(Err(down())); 3]), OnStoreError::Open);
    for _ in 0..3 {
        assert_eq!(open.run(ok()).await, Ok(7), "fail open admits every call");
    }

    let ran = Box::leak(Box::new(AtomicU32::new(0)));
    let closed = shared(Told::leak(vec![Some(Err(down()))]), OnStoreError::Closed);
    let result = closed
        .run(async {
            ran.fetch_add(1, Ordering::SeqCst);
            ok().await
        })
        .await;
    assert_eq!(
        result,
        Err(Failure::Rejected(Rejected::store_unavailable("shared")))
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// The store's status: healthy until a call gets no answer, failing until a
/// call gets one again (for `health()`); an error and a timeout both count.
#[tokio::test(start_paused = true)]
async fn the_store_is_reported_failing_until_it_answers_again() {
    let limiter = shared(
        Told::leak(vec![
            Some(Ok(RateDecision::Admitted)),
            Some(Err(down())),
            None,
            Some(Ok(RateDecision::Admitted)),
        ]),
        OnStoreError::Open,
    );
    assert!(limiter.store_healthy(), "before any call");
    let mut seen = Vec::new();
    for _ in 0..4 {
        assert_eq!(limiter.run(ok()).await, Ok(7));
        seen.push((limiter.store_healthy(), limiter.store_failures()));
    }
    assert_eq!(seen, [(true, 0), (false, 1), (false, 2), (true, 2)]);
}

/// A store that never answers is abandoned after exactly `store_timeout`,
/// then `on_store_error` applies: no call hangs.
#[tokio::test(start_paused = true)]
async fn a_store_that_does_not_answer_is_abandoned_at_the_timeout() {
    for (on_error, expected) in [
        (OnStoreError::Open, Ok(7)),
        (OnStoreError::Local, Ok(7)),
        (
            OnStoreError::Closed,
            Err(Failure::Rejected(Rejected::store_unavailable("shared"))),
        ),
    ] {
        let limiter = shared(Told::leak(vec![None]), on_error);
        let start = Instant::now();
        assert_eq!(limiter.run(ok()).await, expected, "{on_error:?}");
        assert_eq!(
            start.elapsed(),
            50 * MS,
            "{on_error:?}: after store_timeout, not later"
        );
    }
}

/// `acquire` asks the store too; `try_acquire` decides in process.
#[tokio::test(start_paused = true)]
async fn acquire_asks_the_store_and_try_acquire_decides_in_process() {
    let store = Told::leak(vec![Some(Ok(RateDecision::Rejected {
        retry_after: 5 * MS,
    }))]);
    let limiter = shared(store, OnStoreError::Closed);
    assert_eq!(
        limiter.acquire().await,
        Err(Rejected::rate_limited("shared", 5 * MS))
    );
    assert_eq!(
        limiter.try_acquire(),
        Ok(()),
        "the limiter's own bucket is full"
    );
    assert_eq!(store.asked().len(), 1);
}

/// A plain `fn`'s call (`call`, the attribute's path there) decides on the
/// limiter's own state, as `OnStoreError::Local` does: the store is never
/// asked (no runtime to make the round trip on), and the limit holds per
/// process (one turn a minute here: the second call is refused).
#[test]
fn a_blocking_call_decides_in_process_without_asking_the_store() {
    let store = Told::leak(Vec::new());
    let limiter = shared(store, OnStoreError::Closed);
    assert_eq!(limiter.call(|| Ok::<u32, ()>(1)), Ok(1));
    let refused = limiter.call(|| Ok::<u32, ()>(2));
    assert!(
        matches!(
            refused,
            Err(Failure::Rejected(Rejected::RateLimited { .. }))
        ),
        "{refused:?}"
    );
    assert!(store.asked().is_empty());
}

/// An outer breaker counts `StoreUnavailable` as neither success nor
/// failure: the protected dependency did nothing wrong.
#[tokio::test(start_paused = true)]
async fn an_outer_breaker_counts_store_unavailable_as_neither() {
    let limiter = shared(Told::leak(vec![Some(Err(down())); 5]), OnStoreError::Closed);
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::builder()
            .name("outer")
            .window_calls(2)
            .min_calls(2)
            .build(),
    ));
    for _ in 0..5 {
        let result = breaker.wrap(limiter.run(ok()), |_: &&str| true).await;
        assert_eq!(
            result,
            Err(Failure::Rejected(Rejected::store_unavailable("shared")))
        );
    }
    assert_eq!(breaker.window_counts().calls, 0);
    assert!(!Rejected::store_unavailable("shared").is_retryable());
}

/// The shared path keeps the call's future `Send`.
#[test]
fn the_shared_future_is_send() {
    fn send<T: Send>(_: &T) {}
    let limiter = shared(Told::leak(vec![]), OnStoreError::Local);
    send(&limiter.run(ok()));
    send(&limiter.acquire());
}

/// The builder's store settings need a store, and a timeout above zero.
#[test]
#[should_panic(expected = "`on_store_error` needs a `store`")]
fn on_store_error_without_a_store_panics() {
    let _ = RateLimiter::builder()
        .rate(1)
        .on_store_error(OnStoreError::Open);
}

/// A store that grants batches from a stock of turns, and refuses with a
/// 40 ms `retry_after` when the stock is out; counts round trips.
#[derive(Debug)]
struct Stock {
    turns: Mutex<u32>,
    round_trips: AtomicU32,
}

impl RateStore for Stock {
    fn take<'a>(
        &'a self,
        _: &'a str,
        _: RateSpec,
    ) -> StoreFuture<'a, Result<RateDecision, StoreError>> {
        unreachable!("a batched limiter that may not wait asks take_many only")
    }

    fn take_many<'a>(
        &'a self,
        _: &'a str,
        _: RateSpec,
        n: u32,
    ) -> StoreFuture<'a, Result<RateBatch, StoreError>> {
        self.round_trips.fetch_add(1, Ordering::SeqCst);
        let mut turns = self.turns.lock().unwrap();
        let granted = n.min(*turns);
        *turns -= granted;
        Box::pin(async move { Ok(RateBatch::new(granted, 40 * MS)) })
    }
}

/// Batched mode: one round trip grants up to `batch` turns, which the next
/// calls use without asking; a refusal is remembered until the next free
/// turn the store named, so calls over the limit ask nothing either.
#[tokio::test(start_paused = true)]
async fn a_batched_limiter_asks_once_per_batch_and_remembers_a_refusal() {
    let store: &'static Stock = Box::leak(Box::new(Stock {
        turns: Mutex::new(20),
        round_trips: AtomicU32::new(0),
    }));
    let limiter: &'static RateLimiter = Box::leak(Box::new(
        RateLimiter::builder()
            .name("batched")
            .rate(1000)
            .store(store)
            .batch(8)
            .build(),
    ));
    let trips = || store.round_trips.load(Ordering::SeqCst);
    for call in 0..8 {
        assert_eq!(limiter.run(ok()).await, Ok(7), "call {call}");
    }
    assert_eq!(trips(), 1, "8 calls from one batch");
    for _ in 0..12 {
        assert_eq!(limiter.run(ok()).await, Ok(7));
    }
    assert_eq!(trips(), 3, "8 + 8 + the last 4 of the stock");
    // Out of stock: refused, then refused again without asking.
    for _ in 0..10 {
        assert!(matches!(
            limiter.run(ok()).await,
            Err(Failure::Rejected(Rejected::RateLimited {
                name: "batched",
                ..
            }))
        ));
    }
    assert_eq!(trips(), 4, "one round trip for ten refusals");
    tokio::time::advance(40 * MS).await;
    *store.turns.lock().unwrap() = 1;
    assert_eq!(
        limiter.run(ok()).await,
        Ok(7),
        "asked again once the turn was due"
    );
    assert_eq!(trips(), 5);
}

/// A store without its own `take_many` serves a batched limiter one turn per
/// round trip (the trait's default asks `take` without waiting).
#[tokio::test(start_paused = true)]
async fn the_default_take_many_grants_one_turn() {
    let store = Told::leak(vec![
        Some(Ok(RateDecision::Admitted)),
        Some(Ok(RateDecision::Rejected {
            retry_after: 3 * MS,
        })),
    ]);
    let limiter: &'static RateLimiter = Box::leak(Box::new(
        RateLimiter::builder()
            .name("shared")
            .rate(1)
            .store(store)
            .batch(4)
            .build(),
    ));
    assert_eq!(limiter.run(ok()).await, Ok(7));
    assert_eq!(
        limiter.run(ok()).await,
        Err(Failure::Rejected(Rejected::rate_limited("shared", 3 * MS)))
    );
    assert_eq!(
        store
            .asked()
            .iter()
            .map(|(_, spec)| spec.max_wait)
            .collect::<Vec<_>>(),
        vec![Duration::ZERO; 2],
        "asked without waiting"
    );
}
