//! `#[rate_limit]` as users write it: the admission bound over many
//! intervals, the burst after a quiet period, waiting turns in arrival order,
//! the exact `retry_after`, dropped waiters, stacking with `#[retry]`,
//! `#[circuit_breaker]` and `#[timeout]`, `shared = EXPR` and error
//! conversions. All on tokio's paused clock: every instant below is exact.
//!
//! Each test has its own annotated function (one limiter per function item).

mod common;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use common::{ms, secs};
use steadfast::{
    CircuitBreaker, RateLimiter, Rejected, circuit_breaker, rate_limit, retry, timeout,
};
use tokio::time::{Instant, advance};

/// The `retry_after` of a `RateLimited` rejection, or a panic naming what came.
fn retry_after<T: std::fmt::Debug>(result: Result<T, Rejected>) -> Duration {
    match result {
        Err(Rejected::RateLimited { retry_after, .. }) => retry_after,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The admission bound
// ---------------------------------------------------------------------------

#[rate_limit(rate = 7, per = "1s", burst = 3)]
async fn bounded() -> Result<(), Rejected> {
    Ok(())
}

/// 4,000 calls at pseudo-random instants over about 80 s (bursts, gaps, calls
/// in the same instant): for every pair of admissions `i ≤ j`, the admissions
/// in `[tᵢ, tⱼ]` number at most `burst + floor(rate × (tⱼ − tᵢ) / per)`;
/// and every rejected call was refused only when admitting it would have
/// broken that bound for some interval ending at it (the limiter is not
/// stricter than the bound). `rate = 7` does not divide a second into whole
/// nanoseconds, so a rounded emission interval would fail one or the other.
#[tokio::test(start_paused = true)]
async fn admissions_never_exceed_the_bound_in_any_interval() {
    let (rate, per, burst) = (7u128, 1_000_000_000u128, 3u128);
    let start = Instant::now();
    let mut admitted: Vec<u128> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut rejected_tight = 0;
    for _ in 0..4_000 {
        // xorshift: gaps from 0 to ~40 ms, with runs of simultaneous calls.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let gap = match seed % 4 {
            0 => 0,
            _ => (seed >> 8) % 40_000_001,
        };
        advance(Duration::from_nanos(gap)).await;
        let now = Instant::now().duration_since(start).as_nanos();
        match bounded().await {
            Ok(()) => admitted.push(now),
            Err(Rejected::RateLimited { .. }) => {
                // Admitting it would have broken the bound for some
                // interval ending now.
                let breaks = admitted.iter().enumerate().any(|(i, &t)| {
                    let count = (admitted.len() - i) as u128 + 1;
                    count > burst + rate * (now - t) / per
                });
                assert!(breaks, "rejected at {now} ns although the bound allowed it");
                rejected_tight += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    for i in 0..admitted.len() {
        for j in i..admitted.len() {
            let count = (j - i + 1) as u128;
            let allowed = burst + rate * (admitted[j] - admitted[i]) / per;
            assert!(
                count <= allowed,
                "{count} admissions in [{}, {}] ns, bound {allowed}",
                admitted[i],
                admitted[j]
            );
        }
    }
    assert!(
        admitted.len() > 300 && rejected_tight > 1_000,
        "the run tested both sides: {} admitted, {rejected_tight} refused",
        admitted.len()
    );
}

#[rate_limit(rate = 10, per = "1s", burst = 4)]
async fn quiet_then_burst() -> Result<(), Rejected> {
    Ok(())
}

/// A new limiter starts full: `burst` calls pass back to back and the next is
/// refused; after a quiet period long enough to refill, a full burst passes
/// again, and never more than `burst` however long the quiet.
#[tokio::test(start_paused = true)]
async fn a_full_burst_passes_after_a_quiet_period_and_never_more() {
    for quiet in [secs(0), secs(1), secs(3600)] {
        advance(quiet).await;
        for n in 0..4 {
            assert_eq!(quiet_then_burst().await, Ok(()), "call {n} of the burst");
        }
        assert_eq!(retry_after(quiet_then_burst().await), ms(100));
    }
}

// ---------------------------------------------------------------------------
// retry_after and waiting turns
// ---------------------------------------------------------------------------

#[rate_limit(rate = 4, per = "1s", burst = 1)]
async fn spaced() -> Result<(), Rejected> {
    Ok(())
}

/// `retry_after` is the time from the rejection to the next free turn: 250 ms
/// right after an admission, less as time passes, and a call made exactly
/// then is admitted.
#[tokio::test(start_paused = true)]
async fn retry_after_is_exactly_the_time_to_the_next_turn() {
    assert_eq!(spaced().await, Ok(()));
    assert_eq!(retry_after(spaced().await), ms(250));
    advance(ms(100)).await;
    assert_eq!(retry_after(spaced().await), ms(150));
    advance(Duration::from_nanos(149_999_999)).await;
    assert_eq!(retry_after(spaced().await), Duration::from_nanos(1));
    advance(Duration::from_nanos(1)).await;
    assert_eq!(spaced().await, Ok(()));
}

#[rate_limit(rate = 10, per = "1s", burst = 1, max_wait = "350ms")]
async fn queued(
    order: &'static std::sync::Mutex<Vec<(u32, Duration)>>,
    n: u32,
    start: Instant,
) -> Result<u32, Rejected> {
    order.lock().unwrap().push((n, start.elapsed()));
    Ok(n)
}

/// Calls over the limit whose turn comes within `max_wait` wait for it, and
/// are admitted in arrival order, each at its own turn (100 ms apart); the
/// first whose turn is beyond `max_wait` fails at once, without waiting, and
/// its `retry_after` counts the turns the waiters hold.
#[tokio::test(start_paused = true)]
async fn waiting_calls_are_admitted_in_arrival_order_each_at_its_turn() {
    static ORDER: std::sync::Mutex<Vec<(u32, Duration)>> = std::sync::Mutex::new(Vec::new());
    let start = Instant::now();
    let calls: Vec<_> = (0..4)
        .map(|n| tokio::spawn(queued(&ORDER, n, start)))
        .collect();
    // Let every call take its turn (or be refused) before time moves.
    tokio::task::yield_now().await;
    let refused_at = Instant::now();
    let late = queued(&ORDER, 4, start).await;
    assert_eq!(
        refused_at.elapsed(),
        Duration::ZERO,
        "refused without waiting"
    );
    assert_eq!(
        retry_after(late),
        ms(400),
        "after the four turns taken: 0, 100, 200, 300 ms"
    );
    for (n, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap(), Ok(n as u32));
    }
    assert_eq!(
        *ORDER.lock().unwrap(),
        vec![(0, ms(0)), (1, ms(100)), (2, ms(200)), (3, ms(300))]
    );
}

#[rate_limit(rate = 10, per = "1s", burst = 1, max_wait = "1s")]
async fn dropped_waiter(ran: &'static AtomicU32) -> Result<(), Rejected> {
    ran.fetch_add(1, SeqCst);
    Ok(())
}

/// A waiting call that is dropped does not run. Its turn goes back to the
/// limiter when it was the last one reserved (the next call takes it);
/// otherwise it is lost, the waiters behind keep theirs, and the next call
/// queues after them: never an admission earlier than the bound allows.
#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_does_not_run_and_gives_its_turn_back_only_when_last() {
    static RAN: AtomicU32 = AtomicU32::new(0);
    let start = Instant::now();
    let at = |ran: Result<(), Rejected>| {
        assert_eq!(ran, Ok(()));
        Instant::now() - start
    };
    assert_eq!(at(dropped_waiter(&RAN).await), ms(0));

    // The last reservation (turn 100 ms), dropped at 50 ms: given back.
    let waiter = tokio::spawn(dropped_waiter(&RAN));
    tokio::task::yield_now().await;
    advance(ms(50)).await;
    waiter.abort();
    assert!(waiter.await.unwrap_err().is_cancelled());
    assert_eq!(RAN.load(SeqCst), 1, "the dropped waiter never ran");
    assert_eq!(
        at(dropped_waiter(&RAN).await),
        ms(100),
        "its turn was taken by the next call"
    );

    // Two waiters (turns 200 and 300 ms); the first is dropped: its turn is
    // lost, the second keeps 300 ms and the next call queues at 400 ms.
    let first = tokio::spawn(dropped_waiter(&RAN));
    let second = tokio::spawn(dropped_waiter(&RAN));
    tokio::task::yield_now().await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    let (second, next) = tokio::join!(second, dropped_waiter(&RAN));
    second.unwrap().unwrap();
    assert_eq!(at(next), ms(400));
    assert_eq!(RAN.load(SeqCst), 4, "all but the dropped waiters ran");
}

// ---------------------------------------------------------------------------
// Stacking
// ---------------------------------------------------------------------------

#[retry(attempts = 5, backoff = fixed("10ms"), jitter = none)]
#[rate_limit(rate = 1, per = "1h")]
async fn retried(runs: &'static AtomicU32) -> Result<(), Rejected> {
    runs.fetch_add(1, SeqCst);
    Ok(())
}

/// An outer `#[retry]` never retries `RateLimited`: the refused call returns
/// at once, after one attempt, without sleeping.
#[tokio::test(start_paused = true)]
async fn an_outer_retry_never_retries_a_rate_limited_call() {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    assert_eq!(retried(&RUNS).await, Ok(()));
    let before = Instant::now();
    assert_eq!(retry_after(retried(&RUNS).await), secs(3600));
    assert_eq!(Instant::now(), before, "no retry delay was slept");
    assert_eq!(RUNS.load(SeqCst), 1);
}

static GUARDED: CircuitBreaker = CircuitBreaker::builder()
    .name("rate-limit-tests::guarded")
    .window_calls(2)
    .min_calls(2)
    .failure_ratio(0.5)
    .build();

#[circuit_breaker(shared = GUARDED)]
#[rate_limit(rate = 1, per = "1h")]
async fn guarded(fail: bool) -> Result<(), Rejected> {
    if fail {
        Err(Rejected::timeout(ms(1)))
    } else {
        Ok(())
    }
}

/// An outer `#[circuit_breaker]` counts `RateLimited` as neither success nor
/// failure: a hundred refusals leave its window empty and it closed.
#[tokio::test(start_paused = true)]
async fn an_outer_breaker_counts_a_rate_limited_call_as_neither() {
    assert_eq!(guarded(false).await, Ok(()));
    for _ in 0..100 {
        retry_after(guarded(true).await);
    }
    let counts = GUARDED.window_counts();
    assert_eq!(
        (counts.calls, counts.failures),
        (1, 0),
        "only the admitted call is recorded"
    );
    assert_eq!(GUARDED.state(), steadfast::circuit_breaker::State::Closed);
}

#[timeout("150ms")]
#[rate_limit(rate = 10, per = "1s", burst = 1, max_wait = "1s")]
async fn timed(ran: &'static AtomicU32) -> Result<(), Rejected> {
    ran.fetch_add(1, SeqCst);
    Ok(())
}

/// Under `#[timeout]`, waiting for a turn counts toward the timeout: a call
/// whose turn is 100 ms away runs; one whose turn is 200 ms away times out
/// at 150 ms without running.
#[tokio::test(start_paused = true)]
async fn waiting_for_a_turn_counts_toward_an_outer_timeout() {
    static RAN: AtomicU32 = AtomicU32::new(0);
    assert_eq!(timed(&RAN).await, Ok(()));
    let (second, third) = tokio::join!(timed(&RAN), timed(&RAN));
    assert_eq!(second, Ok(()));
    assert_eq!(third, Err(Rejected::timeout(ms(150))));
    assert_eq!(RAN.load(SeqCst), 2);
}

// ---------------------------------------------------------------------------
// State scope: shared = EXPR
// ---------------------------------------------------------------------------

struct Client {
    quota: RateLimiter,
}

impl Client {
    fn new(name: &'static str) -> Self {
        Client {
            quota: RateLimiter::builder()
                .name(name)
                .rate(2)
                .per(secs(1))
                .build(),
        }
    }

    #[rate_limit(shared = self.quota)]
    async fn call(&self) -> Result<(), Rejected> {
        Ok(())
    }
}

/// `shared = self.quota`: one limiter per instance. Each client has its own
/// two calls per second, and the rejection carries the instance's name.
#[tokio::test(start_paused = true)]
async fn shared_self_field_gives_each_instance_its_own_limiter() {
    let (a, b) = (Client::new("client-a"), Client::new("client-b"));
    for _ in 0..2 {
        assert_eq!(a.call().await, Ok(()));
    }
    assert!(matches!(
        a.call().await,
        Err(Rejected::RateLimited {
            name: "client-a",
            ..
        })
    ));
    for _ in 0..2 {
        assert_eq!(b.call().await, Ok(()), "b's limiter is its own");
    }
}

static FROM_CONFIG: LazyLock<RateLimiter> = LazyLock::new(|| {
    // Read at startup, at run time: a value no `const` could hold.
    let rate = std::env::var("STEADFAST_TEST_RATE").map_or(3, |r| r.parse().unwrap());
    RateLimiter::builder()
        .name("from-config")
        .rate(rate)
        .build()
});

#[rate_limit(shared = &*FROM_CONFIG)]
async fn configured() -> Result<(), Rejected> {
    Ok(())
}

#[rate_limit(shared = &*FROM_CONFIG)]
async fn configured_too() -> Result<(), Rejected> {
    Ok(())
}

/// `shared = &*FROM_CONFIG`: a limiter built at startup from configuration,
/// shared by two functions.
#[tokio::test(start_paused = true)]
async fn shared_lazy_lock_built_at_run_time_is_one_limiter_for_both_functions() {
    assert_eq!(configured().await, Ok(()));
    assert_eq!(configured_too().await, Ok(()));
    assert_eq!(configured().await, Ok(()));
    assert!(matches!(
        configured_too().await,
        Err(Rejected::RateLimited {
            name: "from-config",
            ..
        })
    ));
}

/// The user's own registry.
struct Limits {
    read: RateLimiter,
    write: RateLimiter,
}

impl Limits {
    fn get(&self, write: bool) -> &RateLimiter {
        if write { &self.write } else { &self.read }
    }
}

static LIMITS: LazyLock<Limits> = LazyLock::new(|| Limits {
    read: RateLimiter::builder().name("read").rate(5).build(),
    write: RateLimiter::builder().name("write").rate(1).build(),
});

#[rate_limit(shared = LIMITS.get(write))]
async fn store(write: bool) -> Result<bool, Rejected> {
    Ok(write)
}

/// `shared = LIMITS.get(write)`: the expression is evaluated on each call,
/// from the arguments.
#[tokio::test(start_paused = true)]
async fn shared_expression_is_evaluated_per_call_from_the_arguments() {
    assert_eq!(store(true).await, Ok(true));
    assert!(matches!(
        store(true).await,
        Err(Rejected::RateLimited { name: "write", .. })
    ));
    for _ in 0..5 {
        assert_eq!(store(false).await, Ok(false), "reads have their own limit");
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[rate_limit(rate = 1, per = "1m", name = "io-quota")]
async fn io_call() -> std::io::Result<u32> {
    Ok(1)
}

/// Through `std::io::Error`, the rejection keeps its kind and can be
/// recovered; `Display` is a short statement naming the limiter.
#[tokio::test(start_paused = true)]
async fn rate_limited_converts_into_io_error_and_reads_well() {
    assert_eq!(io_call().await.unwrap(), 1);
    let error = io_call().await.unwrap_err();
    let rejected = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<Rejected>())
        .expect("the rejection is recoverable");
    assert!(matches!(
        rejected,
        Rejected::RateLimited { name: "io-quota", retry_after, .. } if *retry_after == secs(60)
    ));
    assert!(error.to_string().contains("io-quota"), "{error}");
}

static COUNTED: AtomicU32 = AtomicU32::new(0);

#[rate_limit(rate = 1, per = "1s")]
async fn named_by_default() -> Result<(), Rejected> {
    COUNTED.fetch_add(1, SeqCst);
    Ok(())
}

/// Without `name`, the limiter is named `module::fn`.
#[tokio::test(start_paused = true)]
async fn the_default_name_is_module_and_fn() {
    assert_eq!(named_by_default().await, Ok(()));
    assert!(matches!(
        named_by_default().await,
        Err(Rejected::RateLimited {
            name: "rate_limit::named_by_default",
            ..
        })
    ));
    assert_eq!(COUNTED.load(SeqCst), 1);
}
