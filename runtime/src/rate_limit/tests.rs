//! The limiter's rules on tokio's paused clock: the bound, the burst, turns,
//! `retry_after`, rejections, dropped waiters, and how the other policies
//! treat `RateLimited`.

use super::*;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::ops::ControlFlow;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::time::advance;

use crate::{CircuitBreaker, Retry};

const MS: Duration = Duration::from_millis(1);
const NS: Duration = Duration::from_nanos(1);

/// A limiter named `test`, for as long as the test binary runs (tasks need
/// `'static`).
fn limiter(builder: RateLimiterBuilder) -> &'static RateLimiter {
    Box::leak(Box::new(builder.name("test").build()))
}

fn limited(retry_after: Duration) -> Result<(), Rejected> {
    Err(Rejected::rate_limited("test", retry_after))
}

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test(start_paused = true)]
async fn a_new_limiter_starts_full_and_a_quiet_period_refills_only_the_burst() {
    let l = limiter(RateLimiter::builder().rate(10).burst(4));
    assert!(l.is_idle());
    assert_eq!(l.available(), 4);
    for _ in 0..4 {
        l.try_acquire().unwrap();
    }
    assert_eq!(l.try_acquire(), limited(100 * MS));
    assert!(!l.is_idle());
    // A long quiet period refills the burst, and no more.
    advance(Duration::from_secs(3600)).await;
    assert!(l.is_idle());
    assert_eq!(l.available(), 4);
    for _ in 0..4 {
        l.try_acquire().unwrap();
    }
    assert_eq!(l.try_acquire(), limited(100 * MS));
}

#[tokio::test(start_paused = true)]
async fn the_burst_defaults_to_the_rate() {
    let l = limiter(RateLimiter::builder().rate(5).per(10 * MS));
    assert_eq!(
        (l.rate(), l.per(), l.burst(), l.max_wait()),
        (5, 10 * MS, 5, Duration::ZERO)
    );
    for _ in 0..5 {
        l.try_acquire().unwrap();
    }
    assert_eq!(l.try_acquire(), limited(2 * MS));
}

/// `rate` per `per` admissions, `burst` at once, at random arrival times
/// (some together, some far apart) over a long run: every window of the
/// admissions keeps `burst + floor(rate × t / per)`, and every rejection was
/// needed (admitting it would have broken the bound in a window ending
/// then), so the limiter is exactly the bound.
#[tokio::test(start_paused = true)]
async fn admissions_keep_the_bound_in_every_window_and_refuse_only_what_breaks_it() {
    for (seed, rate, per_ns, burst) in [
        (1, 3, 1_000_000_000, 2),
        (2, 7, 100_000_000, 5),
        (3, 1000, 1_000_000_000, 1),
        (4, 6, 7, 3),
    ] {
        let l = limiter(
            RateLimiter::builder()
                .rate(rate)
                .per(Duration::from_nanos(per_ns))
                .burst(burst),
        );
        let mut rng = StdRng::seed_from_u64(seed);
        let start = Instant::now();
        let interval = per_ns / u64::from(rate) + 1;
        let (mut admitted, mut rejected) = (Vec::new(), Vec::new());
        for _ in 0..3000 {
            // Mostly faster than the rate, sometimes a quiet stretch.
            let gap = match rng.random_range(0..10) {
                0 => 0,
                1 => rng.random_range(0..interval * u64::from(burst) * 3),
                _ => rng.random_range(0..interval),
            };
            advance(Duration::from_nanos(gap)).await;
            let at = u64::try_from(start.elapsed().as_nanos()).unwrap();
            match l.try_acquire() {
                Ok(()) => admitted.push(at),
                Err(_) => rejected.push(at),
            }
        }
        let allowed = |span: u64| {
            u128::from(burst) + u128::from(rate) * u128::from(span) / u128::from(per_ns)
        };
        for (i, &from) in admitted.iter().enumerate() {
            for (j, &to) in admitted.iter().enumerate().skip(i) {
                let inside = (j - i + 1) as u128;
                assert!(
                    inside <= allowed(to - from),
                    "{inside} admissions in [{from}, {to}] ns at {rate} per {per_ns} ns, burst {burst}"
                );
            }
        }
        for &at in &rejected {
            let before = admitted.partition_point(|&a| a <= at);
            let needed = admitted[..before]
                .iter()
                .enumerate()
                .any(|(i, &from)| (before - i) as u128 + 1 > allowed(at - from));
            assert!(
                needed,
                "a call at {at} ns was refused though the bound allowed it"
            );
        }
        assert!(
            admitted.len() > 100 && rejected.len() > 100,
            "both cases exercised"
        );
    }
}

/// 3 per second: a turn is 333,333,333⅓ ns, and the thirds add up. After
/// a burst of 3 at 0, the next turn is 333,333,334 ns away (rounded up: never
/// early); at 999,999,999 ns two turns are free and the third is 1 ns away
/// (rounding each turn down would admit it; rounding up would delay the
/// second); at exactly 1 s it is free. Over a long run: exactly 3 per second.
#[tokio::test(start_paused = true)]
async fn a_rate_that_does_not_divide_per_is_counted_exactly() {
    let l = limiter(RateLimiter::builder().rate(3));
    for _ in 0..3 {
        l.try_acquire().unwrap();
    }
    assert_eq!(l.try_acquire(), limited(Duration::from_nanos(333_333_334)));
    advance(Duration::from_nanos(999_999_999)).await;
    assert_eq!(l.available(), 2);
    l.try_acquire().unwrap();
    l.try_acquire().unwrap();
    assert_eq!(l.try_acquire(), limited(NS));
    advance(NS).await;
    l.try_acquire().unwrap();
    assert_eq!(l.try_acquire(), limited(Duration::from_nanos(333_333_334)));
    // The bucket is empty at 1 s: the turns that follow are at 1 s + k/3 s,
    // 90 of them in the next 30 s (the last one at its very end), each
    // taken by the first call at or after it.
    let start = Instant::now();
    let mut admitted = 0;
    while start.elapsed() < Duration::from_secs(30) {
        advance(MS).await;
        if l.try_acquire().is_ok() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 90);
}

/// The next free turn counts the turns waiters hold: with 2 of burst taken
/// and waiters at 100 ms and 200 ms, a call is refused (its turn, 300 ms,
/// is beyond `max_wait`) with `retry_after` = 300 ms; one nanosecond before
/// then it is 1 ns, and then the call is admitted without waiting.
#[tokio::test(start_paused = true)]
async fn retry_after_is_the_time_to_the_next_free_turn() {
    let l = limiter(RateLimiter::builder().rate(10).burst(2).max_wait(250 * MS));
    l.try_acquire().unwrap();
    l.try_acquire().unwrap();
    let first = tokio::spawn(l.acquire());
    let second = tokio::spawn(l.acquire());
    tokio::task::yield_now().await;
    let mut third = pin!(l.acquire());
    assert_eq!(poll_once(third.as_mut()), Poll::Ready(limited(300 * MS)));
    assert_eq!(l.try_acquire(), limited(300 * MS));
    advance(300 * MS - NS).await;
    assert_eq!(l.try_acquire(), limited(NS));
    advance(NS).await;
    let mut fourth = pin!(l.acquire());
    assert_eq!(poll_once(fourth.as_mut()), Poll::Ready(Ok(())));
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
}

/// Waiters take turns in arrival order, each at its own turn (turns of
/// 100 ms here, whole timer ticks); the first whose turn is beyond
/// `max_wait` is refused at once.
#[tokio::test(start_paused = true)]
async fn waiters_take_turns_in_arrival_order_each_at_its_turn() {
    let l = limiter(
        RateLimiter::builder()
            .rate(10)
            .burst(1)
            .max_wait(Duration::from_secs(1)),
    );
    let start = Instant::now();
    l.try_acquire().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..11_u32 {
        let log = Arc::clone(&log);
        let body = async move {
            log.lock().unwrap().push((i, start.elapsed()));
            Ok::<_, ()>(())
        };
        // Half through `acquire`, half through `run`: the same queue.
        tasks.push(if i % 2 == 0 {
            tokio::spawn(async move { l.run(body).await.map_err(|_| ()) })
        } else {
            tokio::spawn(async move {
                l.acquire().await.map_err(|_| ())?;
                body.await
            })
        });
        tokio::task::yield_now().await;
    }
    let results: Vec<_> = futures_join(tasks).await;
    assert!(results[..10].iter().all(Result::is_ok));
    assert_eq!(results[10], Err(()), "the turn at 1.1 s is beyond max_wait");
    let log = log.lock().unwrap().clone();
    let expected: Vec<_> = (0..10).map(|i| (i, (i + 1) * 100 * MS)).collect();
    assert_eq!(log, expected);
}

async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Beyond `max_wait`, the call fails on its first poll: no waiting first,
/// and the body does not run.
#[tokio::test(start_paused = true)]
async fn a_call_whose_turn_is_beyond_max_wait_fails_at_once_without_running() {
    let l = limiter(RateLimiter::builder().rate(10).burst(1).max_wait(150 * MS));
    let ran = AtomicU32::new(0);
    let body = || async {
        ran.fetch_add(1, Ordering::Relaxed);
        Ok::<_, ()>(())
    };
    let start = Instant::now();
    assert_eq!(l.run(body()).await, Ok(()));
    // The next turn is 100 ms away: within max_wait, it waits.
    assert_eq!(l.run(body()).await, Ok(()));
    assert_eq!(start.elapsed(), 100 * MS);
    // Now 200 ms away from here (one turn reserved ahead): beyond.
    let _waiter = tokio::spawn(l.acquire());
    tokio::task::yield_now().await;
    let mut call = pin!(l.run(body()));
    assert_eq!(
        poll_once(call.as_mut()),
        Poll::Ready(Err(Failure::Rejected(Rejected::rate_limited(
            "test",
            200 * MS
        ))))
    );
    assert_eq!(start.elapsed(), 100 * MS);
    assert_eq!(ran.load(Ordering::Relaxed), 2);
}

/// A waiter dropped while it is the last reservation gives its turn back:
/// the next caller gets that turn.
#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_gives_its_turn_back_when_it_is_the_last() {
    let l = limiter(
        RateLimiter::builder()
            .rate(10)
            .burst(1)
            .max_wait(Duration::from_secs(1)),
    );
    l.try_acquire().unwrap();
    let ran = AtomicU32::new(0);
    {
        let mut waiter = pin!(l.run(async {
            ran.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>(())
        }));
        assert!(poll_once(waiter.as_mut()).is_pending());
        assert_eq!(l.try_acquire(), limited(200 * MS), "its turn is held");
    }
    assert_eq!(l.try_acquire(), limited(100 * MS), "given back");
    // The same through `acquire`.
    {
        let mut waiter = pin!(l.acquire());
        assert!(poll_once(waiter.as_mut()).is_pending());
    }
    assert_eq!(l.try_acquire(), limited(100 * MS));
    advance(Duration::from_secs(1)).await;
    assert_eq!(
        ran.load(Ordering::Relaxed),
        0,
        "a dropped waiter never runs"
    );
    assert!(l.is_idle());
}

/// A waiter dropped with others behind it does not give its turn back: they
/// keep their turns (none moves earlier) and its turn passes unused.
#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_with_others_behind_loses_its_turn() {
    let l = limiter(
        RateLimiter::builder()
            .rate(10)
            .burst(1)
            .max_wait(Duration::from_secs(1)),
    );
    let start = Instant::now();
    l.try_acquire().unwrap();
    let dropped = tokio::spawn(l.acquire());
    tokio::task::yield_now().await;
    let behind = tokio::spawn(async move {
        l.acquire().await.unwrap();
        start.elapsed()
    });
    tokio::task::yield_now().await;
    dropped.abort();
    assert!(dropped.await.unwrap_err().is_cancelled());
    assert_eq!(l.try_acquire(), limited(300 * MS), "both turns stay taken");
    assert_eq!(behind.await.unwrap(), 200 * MS);
}

/// Admitted at once, a call arms no timer: polled outside any tokio runtime
/// (where a sleep would panic), it completes.
#[test]
fn a_call_admitted_at_once_arms_no_timer() {
    let l = limiter(RateLimiter::builder().rate(2));
    for _ in 0..2 {
        let mut call = pin!(l.run(async { Ok::<_, ()>(7) }));
        assert_eq!(poll_once(call.as_mut()), Poll::Ready(Ok(7)));
    }
    let mut refused = pin!(l.run(async { Ok::<_, ()>(7) }));
    assert!(matches!(
        poll_once(refused.as_mut()),
        Poll::Ready(Err(Failure::Rejected(Rejected::RateLimited { .. })))
    ));
}

#[test]
fn the_futures_are_send_when_the_call_is() {
    fn send<T: Send>(_: &T) {}
    let l = limiter(RateLimiter::builder().rate(1));
    send(&l.run(async { Ok::<_, ()>(()) }));
    send(&l.acquire());
}

/// An outer breaker counts `RateLimited` as neither a success nor a failure,
/// while another rejection (`BulkheadFull`) from the same place counts as a
/// failure.
#[tokio::test(start_paused = true)]
async fn an_outer_breaker_counts_rate_limited_as_neither() {
    let breaker = CircuitBreaker::builder().window_calls(2).build();
    let l = limiter(RateLimiter::builder().rate(1));
    let always = |_: &()| true;
    assert_eq!(
        breaker.wrap(l.run(async { Ok::<_, ()>(()) }), always).await,
        Ok(())
    );
    for _ in 0..5 {
        let refused = breaker.wrap(l.run(async { Ok::<_, ()>(()) }), always).await;
        assert!(matches!(
            refused,
            Err(Failure::Rejected(Rejected::RateLimited { .. }))
        ));
    }
    let counts = breaker.window_counts();
    assert_eq!((counts.calls, counts.failures), (1, 0));
    assert_eq!(breaker.state(), crate::circuit_breaker::State::Closed);
    // The contrast: another inner rejection is a failure.
    let full = async { Err::<(), _>(Failure::<(), _>::Rejected(Rejected::bulkhead_full("b"))) };
    let _ = breaker.wrap(full, always).await;
    assert_eq!(breaker.window_counts().failures, 1);
}

/// An outer retry makes no second attempt after `RateLimited`, whatever its
/// `when` says.
#[tokio::test(start_paused = true)]
async fn an_outer_retry_never_retries_rate_limited() {
    let l = limiter(RateLimiter::builder().rate(1));
    l.try_acquire().unwrap();
    let retry = Retry::builder().attempts(5).build();
    let mut attempts = retry.start();
    let mut made = 0;
    let result = loop {
        made += 1;
        let outcome = l.run(async { Ok::<_, ()>(()) }).await;
        if let ControlFlow::Break(result) =
            attempts.next(outcome, |_: &()| true, |_: &()| None).await
        {
            break result;
        }
    };
    assert_eq!(made, 1);
    assert_eq!(
        result,
        Err(Failure::Rejected(Rejected::rate_limited(
            "test",
            Duration::from_secs(1)
        )))
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiter_keeps_the_limiter_busy_until_its_turn() {
    let l = limiter(RateLimiter::builder().rate(10).burst(1).max_wait(MS * 500));
    l.try_acquire().unwrap();
    let waiter = tokio::spawn(l.acquire());
    tokio::task::yield_now().await;
    advance(150 * MS).await;
    assert!(!l.is_idle(), "a turn is reserved up to 200 ms");
    assert_eq!(l.available(), 0);
    advance(50 * MS).await;
    waiter.await.unwrap().unwrap();
    assert!(l.is_idle());
    assert_eq!(l.available(), 1);
}

#[test]
fn call_runs_a_blocking_function_at_its_turn() {
    // Turns of 1 µs: the one wait below blocks the thread that long.
    let l = limiter(
        RateLimiter::builder()
            .rate(1_000_000)
            .burst(1)
            .max_wait(Duration::from_micros(1)),
    );
    assert_eq!(l.call(|| Ok::<_, ()>(1)), Ok(1));
    assert_eq!(l.call(|| Err::<(), _>(2)), Err(Failure::Error(2)));
    let ran = AtomicU32::new(0);
    let mut refused = 0;
    for _ in 0..3 {
        if let Err(Failure::Rejected(Rejected::RateLimited { .. })) = l.call(|| {
            ran.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>(())
        }) {
            refused += 1;
        }
    }
    assert_eq!(ran.load(Ordering::Relaxed) + refused, 3);
}

#[test]
fn health_lists_registered_limiters_and_flags_shared_names() {
    static QUOTA: RateLimiter = RateLimiter::builder()
        .name("health-quota")
        .rate(100)
        .per(Duration::from_secs(60))
        .burst(5)
        .max_wait(Duration::from_millis(50))
        .build();
    static TWIN_A: RateLimiter = RateLimiter::builder().name("health-twin").rate(1).build();
    static TWIN_B: RateLimiter = RateLimiter::builder().name("health-twin").rate(2).build();
    QUOTA.register();
    QUOTA.try_acquire().unwrap();
    TWIN_A.register();
    TWIN_B.register();
    let health = crate::health();
    let quota = health
        .rate_limiters
        .iter()
        .find(|r| r.name == "health-quota")
        .unwrap();
    assert_eq!(
        (
            quota.rate,
            quota.per,
            quota.burst,
            quota.max_wait,
            quota.available
        ),
        (100, Duration::from_secs(60), 5, 50 * MS, 4)
    );
    assert!(!quota.duplicate_name);
    let twins: Vec<_> = health
        .rate_limiters
        .iter()
        .filter(|r| r.name == "health-twin")
        .collect();
    assert_eq!(twins.len(), 2);
    assert!(twins.iter().all(|t| t.duplicate_name));
    let found = crate::health::rate_limiter("health-twin").unwrap();
    assert_eq!(
        found.iter().map(RateLimiter::rate).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(
        crate::health::rate_limiter("health-quota")
            .unwrap()
            .only()
            .is_some()
    );
    assert!(crate::health::rate_limiter("no-such-limiter").is_none());
}

#[test]
fn builder_defaults_and_a_static_limiter() {
    static LIMIT: RateLimiter = RateLimiter::builder().rate(7).build();
    assert_eq!(LIMIT.name(), "rate_limiter");
    assert_eq!(
        (LIMIT.rate(), LIMIT.per(), LIMIT.burst(), LIMIT.max_wait()),
        (7, Duration::from_secs(1), 7, Duration::ZERO)
    );
}

#[test]
#[should_panic(expected = "`rate` must be at least 1")]
fn a_rate_of_zero_is_refused() {
    let _ = RateLimiter::builder().rate(0);
}

#[test]
#[should_panic(expected = "set `rate`")]
fn a_missing_rate_is_refused() {
    let _ = RateLimiter::builder().build();
}

#[test]
#[should_panic(expected = "`burst` must be at least 1")]
fn a_burst_of_zero_is_refused() {
    let _ = RateLimiter::builder().rate(1).burst(0);
}

#[test]
#[should_panic(expected = "`per` must be longer than 0")]
fn a_zero_period_is_refused() {
    let _ = RateLimiter::builder().rate(1).per(Duration::ZERO);
}

#[test]
#[should_panic(expected = "`per` must be at most 584 years")]
fn a_period_beyond_the_clock_range_is_refused() {
    let _ = RateLimiter::builder().rate(1).per(Duration::MAX).build();
}

#[test]
#[should_panic(expected = "too long to count exactly")]
fn an_unbounded_max_wait_is_refused() {
    let _ = RateLimiter::builder()
        .rate(1)
        .max_wait(Duration::MAX)
        .build();
}

/// Overrides race the first call: whichever comes first, an override that
/// `set_limits` accepted is the one the first call fixed, and one that came
/// after is refused (never accepted and then lost).
#[test]
fn an_override_is_either_fixed_by_the_first_call_or_refused() {
    let limits = Limits::new(1, Duration::from_secs(1), 1, Duration::ZERO).unwrap();
    for _ in 0..200 {
        let l = limiter(RateLimiter::builder().rate(1000));
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let apply = {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                l.set_limits(limits)
            })
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        barrier.wait();
        let first = runtime.block_on(async { l.try_acquire() });
        let accepted = apply.join().unwrap();
        assert!(first.is_ok(), "a full bucket admits the first call");
        assert_eq!(l.rate(), if accepted { 1 } else { 1000 });
        // Fixed now: refused, and nothing changes.
        assert!(!l.set_limits(limits));
        assert!(!l.limits_open());
        // With `rate = 1, burst = 1` the second call is refused.
        assert_eq!(
            runtime.block_on(async { l.try_acquire() }).is_err(),
            accepted
        );
    }
}

#[test]
fn reading_a_new_limiter_does_not_fix_its_limits() {
    let l = limiter(RateLimiter::builder().rate(10).burst(4));
    assert!(l.is_idle());
    assert_eq!(l.available(), 4);
    assert!(l.limits_open());
    let two = Limits::new(2, Duration::from_secs(1), 2, Duration::ZERO).unwrap();
    assert!(l.set_limits(two));
    assert_eq!((l.rate(), l.burst(), l.available()), (2, 2, 2));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        l.try_acquire().unwrap();
        l.try_acquire().unwrap();
        assert!(l.try_acquire().is_err());
    });
    assert!(!l.set_limits(two));
}
