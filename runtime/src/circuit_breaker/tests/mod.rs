use super::*;
use core::time::Duration;
use std::sync::{Arc, Barrier};

const MS: Duration = Duration::from_millis(1);

fn breaker(b: CircuitBreakerBuilder) -> CircuitBreaker {
    b.name("test").build()
}

/// Runs one call to completion with the given outcome ('S', 'F', 'I').
fn call(cb: &CircuitBreaker, outcome: char) -> Result<(), Rejected> {
    let permit = cb.try_acquire()?;
    match outcome {
        'S' => permit.success(),
        'F' => permit.failure(),
        _ => permit.ignore(),
    }
    Ok(())
}

fn calls(cb: &CircuitBreaker, outcomes: &str) {
    for c in outcomes.chars() {
        call(cb, c).expect("admitted");
    }
}

#[test]
fn tck_window_of_four_opens_on_the_fifth_call() {
    // MicroProfile FT scenario: window 4, ratio 0.5: S F S S F opens at call 5.
    let cb = breaker(CircuitBreaker::builder().window_calls(4).failure_ratio(0.5));
    calls(&cb, "SFSS");
    assert_eq!(cb.state(), State::Closed, "1 failure of 4 is below 0.5");
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open);
    assert_eq!(call(&cb, 'S'), Err(Rejected::circuit_open("test")));
}

#[test]
fn first_fill_is_judged_even_on_a_success() {
    let cb = breaker(CircuitBreaker::builder().window_calls(4).failure_ratio(0.5));
    calls(&cb, "FFS");
    assert_eq!(cb.state(), State::Closed, "3 calls < min_calls 4");
    calls(&cb, "S");
    assert_eq!(
        cb.state(),
        State::Open,
        "2 of 4 failed once the window filled"
    );
}

#[test]
fn min_calls_defers_the_decision() {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(10)
            .min_calls(5)
            .failure_ratio(0.5),
    );
    calls(&cb, "FFFF");
    assert_eq!(cb.state(), State::Closed);
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open);
}

#[test]
fn default_min_calls_is_twenty_or_the_window() {
    let cb = breaker(CircuitBreaker::builder().window_calls(100));
    calls(&cb, &"F".repeat(19));
    assert_eq!(cb.state(), State::Closed);
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open);
    let small = breaker(CircuitBreaker::builder().window_calls(3));
    calls(&small, "FF");
    assert_eq!(small.state(), State::Closed);
    calls(&small, "F");
    assert_eq!(small.state(), State::Open);
}

#[test]
fn ratio_threshold_is_exact_integer_arithmetic() {
    // ceil(0.1 × 30) = 3: three failures in thirty calls must open.
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(30)
            .failure_ratio(0.1),
    );
    calls(&cb, &"S".repeat(27));
    calls(&cb, "FF");
    assert_eq!(cb.state(), State::Closed);
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open);
    // ratio 1.0: every call must fail.
    let all = breaker(CircuitBreaker::builder().window_calls(3).failure_ratio(1.0));
    calls(&all, "FFS");
    calls(&all, "FF");
    assert_eq!(all.state(), State::Closed);
    calls(&all, "F");
    assert_eq!(all.state(), State::Open);
}

#[test]
fn the_window_slides() {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(10)
            .failure_ratio(0.5),
    );
    calls(&cb, &"S".repeat(10_000));
    calls(&cb, "FFFF");
    assert_eq!(cb.state(), State::Closed);
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open, "5 of the last 10 failed");
}

#[test]
fn consecutive_failures_open_and_successes_reset_the_run() {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(100)
            .failure_ratio(1.0)
            .consecutive_failures(3),
    );
    calls(&cb, "FFSFF");
    assert_eq!(cb.state(), State::Closed);
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open);
}

#[test]
fn ignored_outcomes_count_for_nothing() {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(2)
            .failure_ratio(0.5)
            .consecutive_failures(2),
    );
    calls(&cb, "FIIIIIII");
    assert_eq!(cb.state(), State::Closed, "one recorded call < min_calls");
    calls(&cb, "F");
    assert_eq!(cb.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn slow_calls_open_the_breaker() {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(4)
            .failure_ratio(1.0)
            .slow_call(MS * 100)
            .slow_ratio(0.5),
    );
    for slow in [false, true, false] {
        let permit = cb.try_acquire().unwrap();
        tokio::time::advance(if slow { MS * 101 } else { MS * 100 }).await;
        permit.success();
    }
    assert_eq!(cb.state(), State::Closed);
    let permit = cb.try_acquire().unwrap();
    tokio::time::advance(MS * 150).await;
    permit.success();
    assert_eq!(cb.state(), State::Open, "2 of 4 calls were slow");
}

#[tokio::test(start_paused = true)]
async fn open_for_then_half_open() {
    let cb = breaker(CircuitBreaker::builder().window_calls(1).open_for(MS * 500));
    calls(&cb, "F");
    tokio::time::advance(MS * 499).await;
    assert!(call(&cb, 'S').is_err());
    tokio::time::advance(MS).await;
    let probe = cb.try_acquire().expect("half-open admits a probe");
    assert!(probe.is_probe());
    assert_eq!(cb.state(), State::HalfOpen);
    probe.success();
    assert_eq!(cb.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_exactly_n_and_any_failure_reopens() {
    // TCK: three probes, two successes then a failure reopens.
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(1)
            .open_for(MS)
            .half_open_probes(3),
    );
    calls(&cb, "F");
    tokio::time::advance(MS).await;
    let probes: Vec<_> = (0..3).map(|_| cb.try_acquire().unwrap()).collect();
    assert!(cb.try_acquire().is_err(), "a fourth caller is rejected");
    let mut probes = probes.into_iter();
    probes.next().unwrap().success();
    probes.next().unwrap().success();
    assert!(
        cb.try_acquire().is_err(),
        "finished probes do not free slots"
    );
    probes.next().unwrap().failure();
    assert_eq!(cb.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn all_probes_succeeding_close_with_a_fresh_window() {
    let cb = breaker(
        CircuitBreaker::builder()
            .window_calls(4)
            .open_for(MS)
            .half_open_probes(2),
    );
    calls(&cb, "FFFF");
    tokio::time::advance(MS).await;
    calls(&cb, "SS");
    assert_eq!(cb.state(), State::Closed);
    calls(&cb, "FSS");
    assert_eq!(
        cb.state(),
        State::Closed,
        "old failures left with the old window"
    );
}

#[tokio::test(start_paused = true)]
async fn dropped_and_ignored_probes_give_their_slot_back() {
    let cb = breaker(CircuitBreaker::builder().window_calls(1).open_for(MS));
    calls(&cb, "F");
    tokio::time::advance(MS).await;
    drop(cb.try_acquire().unwrap());
    assert_eq!(cb.state(), State::HalfOpen);
    call(&cb, 'I').unwrap();
    call(&cb, 'S').expect("the slot came back twice");
    assert_eq!(cb.state(), State::Closed);
}

/// The breaker's future keeps its permit in a `Slot` (pending, holding,
/// empty): dropped while it holds a probe's permit it gives the slot back;
/// rejected, it holds nothing, and dropping it gives back nothing.
#[tokio::test(start_paused = true)]
async fn a_future_gives_back_only_the_probe_slot_it_holds() {
    use core::task::{Context, Poll, Waker};
    let cb = breaker(CircuitBreaker::builder().window_calls(1).open_for(MS));
    calls(&cb, "F");
    tokio::time::advance(MS).await;
    let mut cx = Context::from_waker(Waker::noop());
    let mut admitted = Box::pin(cb.run(core::future::pending::<Result<(), ()>>()));
    assert!(admitted.as_mut().poll(&mut cx).is_pending());
    assert_eq!((cb.state(), cb.probes_in_flight()), (State::HalfOpen, 1));
    let mut rejected = Box::pin(cb.run(async { Ok::<(), ()>(()) }));
    assert!(matches!(
        rejected.as_mut().poll(&mut cx),
        Poll::Ready(Err(Failure::Rejected(Rejected::CircuitOpen { .. })))
    ));
    drop(rejected);
    assert_eq!(cb.probes_in_flight(), 1, "a rejected call held no slot");
    drop(admitted);
    assert_eq!((cb.state(), cb.probes_in_flight()), (State::HalfOpen, 0));
    call(&cb, 'S').expect("the dropped probe's slot came back");
    assert_eq!(cb.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_call_counts_as_a_failure() {
    let cb = Arc::new(breaker(
        CircuitBreaker::builder().window_calls(1).open_for(MS),
    ));
    let inner = cb.clone();
    let joined = std::thread::spawn(move || {
        let _permit = inner.try_acquire().unwrap();
        panic!("boom");
    })
    .join();
    assert!(joined.is_err());
    assert_eq!(cb.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn results_from_an_older_generation_are_ignored() {
    let cb = breaker(CircuitBreaker::builder().window_calls(2).open_for(MS));
    let late_failure = cb.try_acquire().unwrap();
    let late_success = cb.try_acquire().unwrap();
    calls(&cb, "FF");
    assert_eq!(cb.state(), State::Open);
    tokio::time::advance(MS).await;
    let probe = cb.try_acquire().unwrap();
    // Admitted while closed, finishing during half-open: no effect.
    late_failure.failure();
    late_success.success();
    assert_eq!(cb.state(), State::HalfOpen);
    assert!(
        cb.try_acquire().is_err(),
        "the late success did not free or fill a probe slot"
    );
    probe.success();
    assert_eq!(cb.state(), State::Closed);
}

#[test]
fn builder_defaults() {
    let cb = CircuitBreaker::builder().build();
    assert_eq!(cb.config.failure_ratio_ppm(), 500_000);
    assert_eq!(cb.config.min_calls(), 20);
    assert_eq!(cb.config.open_for(), Duration::from_secs(5));
    assert_eq!(cb.config.half_open_probes(), 1);
    assert!(matches!(cb.window, Window::Count(_)));
    assert_eq!(cb.name(), "circuit_breaker");
}

#[test]
#[should_panic(expected = "ratios must be in (0, 1]")]
fn zero_ratio_is_rejected() {
    let _ = CircuitBreaker::builder().failure_ratio(0.0).build();
}

#[test]
#[should_panic(expected = "cannot exceed a count window")]
fn min_calls_above_window_is_rejected() {
    let _ = CircuitBreaker::builder()
        .window_calls(5)
        .min_calls(6)
        .build();
}

#[test]
#[should_panic(expected = "`slow_ratio` needs `slow_call`")]
fn slow_ratio_needs_slow_call() {
    let _ = CircuitBreaker::builder().slow_ratio(0.5).build();
}

#[test]
#[should_panic(expected = "`half_open_probes`")]
fn zero_probes_are_rejected() {
    let _ = CircuitBreaker::builder().half_open_probes(0).build();
}

#[test]
fn concurrent_callers_get_exactly_n_probes() {
    for probes in [1u32, 3, 8] {
        let cb = Arc::new(breaker(
            CircuitBreaker::builder()
                .window_calls(1)
                .open_for(Duration::ZERO)
                .half_open_probes(probes),
        ));
        calls(&cb, "F");
        let threads = 16;
        let barrier = Arc::new(Barrier::new(threads));
        let admitted: usize = (0..threads)
            .map(|_| {
                let (cb, barrier) = (cb.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut held = Vec::new();
                    for _ in 0..50 {
                        if let Ok(p) = cb.try_acquire() {
                            held.push(p);
                        }
                    }
                    let n = held.len();
                    // Keep the permits until every thread has tried.
                    barrier.wait();
                    for p in held {
                        std::mem::forget(p);
                    }
                    n
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(admitted, probes as usize);
    }
}

#[test]
fn concurrent_recording_keeps_the_window_exact() {
    let cb = Arc::new(breaker(
        CircuitBreaker::builder()
            .window_calls(64)
            .failure_ratio(1.0),
    ));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let cb = cb.clone();
            std::thread::spawn(move || {
                for i in 0..10_000 {
                    let p = cb.try_acquire().unwrap();
                    if (i + t) % 3 == 0 {
                        p.failure()
                    } else {
                        p.success()
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Whatever the interleaving, the failure count matches the ring's bits.
    let Window::Count(w) = &cb.window else {
        unreachable!()
    };
    assert_eq!(cb.window_counts().failures, w.failed_bits());
    assert_eq!(cb.window_counts().calls, 64);
}

mod force;
mod model;
mod panic;
mod shared;
mod store;

#[test]
fn call_records_success_failure_and_panic_and_refuses_while_open() {
    let cb = breaker(CircuitBreaker::builder().window_calls(2).failure_ratio(0.5));
    assert_eq!(cb.call(|| Ok::<_, u8>(1)), Ok(1));
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.call(|| Err::<u8, _>(7)), Err(Failure::Error(7)));
    assert_eq!(cb.state(), State::Open, "1 failure of 2 at ratio 0.5");
    let mut ran = false;
    let refused = cb.call(|| {
        ran = true;
        Ok::<_, u8>(1)
    });
    assert_eq!(
        refused,
        Err(Failure::Rejected(Rejected::circuit_open("test")))
    );
    assert!(!ran, "a refused call does not run");

    let cb = breaker(CircuitBreaker::builder().window_calls(1));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cb.call(|| -> Result<u8, u8> { panic!("boom") })
    }));
    assert!(panicked.is_err(), "the panic propagates");
    assert_eq!(cb.state(), State::Open, "and counts as a failure");
}
mod window_wrap;
