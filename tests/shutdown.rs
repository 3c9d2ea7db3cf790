//! Graceful shutdown (`steadfast::shutdown`): refusals, waiters leaving,
//! retry delays ending with the last error, and the drain and its report
//! (circuit-breaker calls too, with `shutdown::track_calls`).
//!
//! Shutdown is process-wide, and this test binary is one process: every
//! test takes `SERIAL` and starts from `shutdown::reset()`, and no other
//! test binary shuts down.

use std::error::Error;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steadfast::shutdown::PolicyDrain;
use steadfast::{
    Bulkhead, CircuitBreaker, RateLimiter, Rejected, Retry, ShutdownReport, bulkhead,
    circuit_breaker, rate_limit, retry, shutdown, timeout,
};
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Takes the process's shutdown state for one test, cleared.
async fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().await;
    shutdown::reset();
    guard
}

fn shutting_down(result: &Result<u32, Rejected>) -> bool {
    matches!(result, Err(Rejected::ShuttingDown { .. }))
}

/// Lets every spawned task run until it waits on the clock.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// Awaits `task`, failing (not hanging) if it has not ended within a minute
/// of tokio time.
async fn join<T>(task: JoinHandle<T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("a call hung after shutdown")
        .expect("a call panicked")
}

// ------------------------------------------- 100 in flight, 50 waiting

static POOL: Bulkhead = Bulkhead::builder()
    .name("shutdown-pool")
    .max_concurrent(100)
    .max_queue(50)
    .build();

/// Call `i` runs 103 ms + 10 ms × i: the last of the first hundred ends
/// at 1.093 s (off the drain's 10 ms backstop ticks, so that only the
/// wake-up on release ends the drain then).
#[bulkhead(shared = POOL)]
async fn pooled(i: u32) -> Result<u32, Rejected> {
    tokio::time::sleep(MS * (103 + 10 * i)).await;
    Ok(i)
}

/// 150 calls: 100 running in `POOL`, 50 waiting in its queue.
async fn hundred_and_fifty() -> Vec<JoinHandle<Result<u32, Rejected>>> {
    let calls: Vec<_> = (0..150).map(|i| tokio::spawn(pooled(i))).collect();
    settle().await;
    assert_eq!((POOL.running(), POOL.waiting()), (100, 50));
    calls
}

#[tokio::test(start_paused = true)]
async fn hundred_in_flight_finish_fifty_waiting_leave_and_the_drain_ends_with_the_last() {
    let _serial = serial().await;
    let calls = hundred_and_fifty().await;
    let start = Instant::now();

    let report = shutdown(Duration::from_secs(5)).await;
    // The drain ends when the last call in flight does (1.093 s), not at
    // its deadline, and not on a polling tick.
    assert_eq!(start.elapsed(), MS * 1093);
    assert!(!report.timed_out);
    assert_eq!((report.finished, report.still_running), (100, 0));

    for (i, call) in (0..).zip(calls) {
        let result = join(call).await;
        if i < 100 {
            assert_eq!(result, Ok(i), "call {i} was in flight: it finishes");
        } else {
            assert!(shutting_down(&result), "call {i} was waiting: {result:?}");
        }
    }
    assert_eq!((POOL.running(), POOL.waiting()), (0, 0));
    // And the report says which policy drained what.
    let pool = report
        .policies
        .iter()
        .find(|p| p.name == "shutdown-pool")
        .expect("the pool is in the report");
    assert_eq!(
        (
            pool.kind,
            pool.running_at_start,
            pool.finished,
            pool.still_running
        ),
        ("bulkhead", 100, 100, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn the_drain_stops_at_its_deadline_and_reports_the_calls_still_running() {
    let _serial = serial().await;
    let calls = hundred_and_fifty().await;
    let start = Instant::now();

    let report = shutdown(MS * 505).await;
    assert_eq!(start.elapsed(), MS * 505);
    assert!(report.timed_out);
    // Calls 0..=40 (103 ms to 503 ms) finished in time; 41..100 did not.
    assert_eq!((report.finished, report.still_running), (41, 59));
    assert_eq!(POOL.running(), 59);
    assert!(
        report.to_string().starts_with(
            "shutdown stopped at its deadline in 505ms: 41 calls finished, 59 still running"
        ),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("\n  bulkhead \"shutdown-pool\": 41 finished, 59 still running"),
        "{report}"
    );

    // The drain does not cancel them: they still end with their result.
    for (i, call) in (0..).zip(calls) {
        let result = join(call).await;
        assert_eq!(result.is_ok(), i < 100, "call {i}: {result:?}");
    }
    assert_eq!(start.elapsed(), MS * 1093);
}

#[tokio::test(start_paused = true)]
async fn an_idle_process_drains_at_once() {
    let _serial = serial().await;
    let start = Instant::now();
    let drain = shutdown(Duration::from_secs(5));
    assert!(
        shutdown::is_shutting_down(),
        "it begins at the call, before the drain is awaited"
    );
    let report: ShutdownReport = drain.await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!((report.finished, report.still_running), (0, 0));
    assert!(!report.timed_out);
    assert!(report.policies.iter().all(|p| p.running_at_start == 0));
}

// ------------------------------------------------------ rate-limit waiters

static TURNS: RateLimiter = RateLimiter::builder()
    .name("shutdown-turns")
    .rate(1)
    .per(Duration::from_secs(1))
    .burst(1)
    .max_wait(Duration::from_secs(120))
    .build();

#[rate_limit(shared = TURNS)]
async fn limited(i: u32) -> Result<u32, Rejected> {
    Ok(i)
}

#[tokio::test(start_paused = true)]
async fn rate_limit_waiters_leave_at_once() {
    let _serial = serial().await;
    let start = Instant::now();
    // One admitted now; fifty waiting up to fifty seconds for their turns.
    let calls: Vec<_> = (0..51).map(|i| tokio::spawn(limited(i))).collect();
    settle().await;
    tokio::time::sleep(MS * 100).await;

    let _ = shutdown(Duration::from_secs(5)).await;
    let mut left = 0;
    for (i, call) in (0..).zip(calls) {
        let result = join(call).await;
        if i == 0 {
            assert_eq!(result, Ok(0));
        } else {
            assert!(shutting_down(&result), "call {i}: {result:?}");
            left += 1;
        }
    }
    assert_eq!(left, 50);
    assert_eq!(start.elapsed(), MS * 100, "nobody waited for a turn");
}

// ------------------------------------------------------ new calls refused

static RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "shutdown-breaker")]
async fn guarded() -> Result<u32, Rejected> {
    Ok(RUNS.fetch_add(1, Ordering::SeqCst))
}

#[bulkhead(name = "shutdown-bulkhead")]
async fn slotted() -> Result<u32, Rejected> {
    Ok(RUNS.fetch_add(1, Ordering::SeqCst))
}

#[rate_limit(rate = 10, name = "shutdown-limit")]
async fn rated() -> Result<u32, Rejected> {
    Ok(RUNS.fetch_add(1, Ordering::SeqCst))
}

#[timeout("1s")]
async fn timed() -> Result<u32, Rejected> {
    Ok(RUNS.fetch_add(1, Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn new_calls_into_any_policy_are_refused_without_running() {
    let _serial = serial().await;
    RUNS.store(0, Ordering::SeqCst);
    assert_eq!(guarded().await, Ok(0), "before shutdown, calls run");
    let _ = shutdown(Duration::from_secs(1)).await;
    assert!(shutdown::is_shutting_down());

    let refused = [
        guarded().await,
        slotted().await,
        rated().await,
        timed().await,
    ];
    assert_eq!(
        refused.map(|r| match r {
            Err(Rejected::ShuttingDown { name, .. }) => name,
            other => panic!("not refused: {other:?}"),
        }),
        [
            "shutdown-breaker",
            "shutdown-bulkhead",
            "shutdown-limit",
            "shutdown::timed"
        ]
    );
    assert_eq!(RUNS.load(Ordering::SeqCst), 1, "no refused body ran");

    // The programmatic API refuses too.
    static BREAKER: CircuitBreaker = CircuitBreaker::builder().build();
    assert!(matches!(
        BREAKER.try_acquire(),
        Err(Rejected::ShuttingDown { .. })
    ));
    assert!(matches!(
        POOL.try_acquire(),
        Err(Rejected::ShuttingDown { .. })
    ));
    assert!(matches!(
        POOL.acquire().await,
        Err(Rejected::ShuttingDown { .. })
    ));
    assert!(matches!(
        TURNS.try_acquire(),
        Err(Rejected::ShuttingDown { .. })
    ));

    // And `begun` is ready.
    tokio::time::timeout(MS, shutdown::begun())
        .await
        .expect("shutdown has begun");
}

static GATE: Bulkhead = Bulkhead::builder()
    .name("shutdown-gate")
    .max_concurrent(1)
    .max_queue(1)
    .build();

#[circuit_breaker(name = "shutdown-outer-breaker", window = 2, min_calls = 1)]
#[bulkhead(shared = GATE)]
async fn gated() -> Result<u32, Rejected> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn an_outer_breaker_counts_a_waiter_sent_away_as_neither_success_nor_failure() {
    let _serial = serial().await;
    let running = tokio::spawn(gated());
    let waiting = tokio::spawn(gated());
    settle().await;
    assert_eq!((GATE.running(), GATE.waiting()), (1, 1));

    let report = shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.finished, 1);
    assert_eq!(join(running).await, Ok(1));
    assert!(shutting_down(&join(waiting).await));
    let health = steadfast::health();
    let counts = health
        .breakers
        .iter()
        .find(|b| b.name == "shutdown-outer-breaker")
        .expect("listed");
    // One success recorded; the refusal is not a failure: still closed.
    assert_eq!(
        (counts.window_calls, counts.window_failures),
        (1, 0),
        "{counts:?}"
    );
    assert_eq!(counts.state, steadfast::circuit_breaker::State::Closed);
}

// ------------------------------------------------------------ retry delays

static TRIES: AtomicU32 = AtomicU32::new(0);

/// Each attempt takes 1 s and fails; retries wait 10 s.
#[retry(attempts = 5, backoff = fixed("10s"), jitter = none)]
async fn flaky() -> Result<u32, String> {
    let n = TRIES.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(format!("attempt {n} failed"))
}

#[tokio::test(start_paused = true)]
async fn a_retry_delay_ends_at_once_with_the_last_error() {
    let _serial = serial().await;
    TRIES.store(0, Ordering::SeqCst);
    let start = Instant::now();
    let call = tokio::spawn(flaky());
    // The first attempt failed at 1 s; the call sleeps until 11 s.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = shutdown(Duration::from_secs(5)).await;
    assert_eq!(join(call).await, Err("attempt 1 failed".to_owned()));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(TRIES.load(Ordering::SeqCst), 1, "no attempt after shutdown");
}

#[tokio::test(start_paused = true)]
async fn an_attempt_failing_after_shutdown_began_is_not_retried() {
    let _serial = serial().await;
    TRIES.store(0, Ordering::SeqCst);
    let start = Instant::now();
    let call = tokio::spawn(flaky());
    tokio::time::sleep(MS * 500).await;
    let _ = shutdown(Duration::from_secs(5)).await;
    // The attempt in flight runs to its end; its error ends the call.
    assert_eq!(join(call).await, Err("attempt 1 failed".to_owned()));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(TRIES.load(Ordering::SeqCst), 1);
}

static LOCAL_TRIES: AtomicU32 = AtomicU32::new(0);

/// As `flaky`, with an error that is not `Send`.
#[retry(attempts = 5, backoff = fixed("10s"), jitter = none)]
async fn flaky_local() -> Result<u32, Box<dyn Error>> {
    let n = LOCAL_TRIES.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(format!("attempt {n} failed").into())
}

/// The documented exception: an error that is not `Send` is not kept
/// across the delay (the future stays `Send`), so the delay ends early and
/// one more attempt is made.
#[tokio::test(start_paused = true)]
async fn with_an_error_that_is_not_send_the_delay_ends_and_one_last_attempt_runs() {
    let _serial = serial().await;
    LOCAL_TRIES.store(0, Ordering::SeqCst);
    let start = Instant::now();
    let (result, _) = tokio::join!(flaky_local(), async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        shutdown(Duration::from_secs(5)).await
    });
    assert_eq!(result.unwrap_err().to_string(), "attempt 2 failed");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(LOCAL_TRIES.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_programmatic_retry_ends_its_delay_with_the_last_error() {
    let _serial = serial().await;
    static RETRY: Retry = Retry::builder()
        .attempts(5)
        .backoff(steadfast::Backoff::fixed(Duration::from_secs(10)))
        .jitter(steadfast::Jitter::None)
        .build();
    let mut made = 0;
    let start = Instant::now();
    let (result, _) = tokio::join!(
        RETRY.run(|| {
            made += 1;
            let n = made;
            async move { Err::<(), u32>(n) }
        }),
        async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            shutdown(Duration::from_secs(5)).await
        }
    );
    assert_eq!(result, Err(1));
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

// ------------------------------------------------------- CancellationToken

#[tokio::test(start_paused = true)]
async fn a_cancellation_token_starts_it() {
    let _serial = serial().await;
    let token = tokio_util::sync::CancellationToken::new();
    let drain = tokio::spawn(shutdown::shutdown_on(token.clone(), Duration::from_secs(5)));
    let begun = tokio::spawn(shutdown::begun());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!shutdown::is_shutting_down(), "not before the token says");
    assert!(!begun.is_finished());
    token.cancel();
    let report = join(drain).await;
    assert!(!report.timed_out);
    assert!(shutdown::is_shutting_down());
    join(begun).await;
}

// ------------------------------------------- a shared limiter's reserved turn

/// A store that reserves every call a turn 10 s away.
#[derive(Debug)]
struct FarTurns;

impl steadfast::store::RateStore for FarTurns {
    fn take<'a>(
        &'a self,
        _: &'a str,
        _: steadfast::store::RateSpec,
    ) -> steadfast::store::StoreFuture<
        'a,
        Result<steadfast::store::RateDecision, steadfast::store::StoreError>,
    > {
        Box::pin(async {
            Ok(steadfast::store::RateDecision::Wait(Duration::from_secs(
                10,
            )))
        })
    }
}

static FAR_TURNS: FarTurns = FarTurns;

static SHARED_TURNS: RateLimiter = RateLimiter::builder()
    .name("shutdown-shared-turns")
    .rate(1)
    .max_wait(Duration::from_secs(60))
    .store(&FAR_TURNS)
    .build();

#[tokio::test(start_paused = true)]
async fn a_shared_limiters_waiter_leaves_too() {
    let _serial = serial().await;
    let start = Instant::now();
    let call = tokio::spawn(SHARED_TURNS.run(async { Ok::<_, Rejected>(1) }));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = shutdown(Duration::from_secs(5)).await;
    let result = join(call).await;
    assert!(
        matches!(
            result,
            Err(steadfast::Failure::Rejected(Rejected::ShuttingDown { .. }))
        ),
        "{result:?}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

// ------------------------------------------------------------ keyed policies

#[circuit_breaker(key = host, name = "shutdown-keyed")]
async fn keyed_call(host: &str) -> Result<usize, Rejected> {
    Ok(host.len())
}

#[tokio::test(start_paused = true)]
async fn keyed_policies_refuse_new_calls_too() {
    let _serial = serial().await;
    assert_eq!(keyed_call("a").await, Ok(1));
    let _ = shutdown(Duration::from_secs(1)).await;
    for host in ["a", "b"] {
        let result = keyed_call(host).await;
        assert!(
            matches!(
                result,
                Err(Rejected::ShuttingDown {
                    name: "shutdown-keyed",
                    ..
                })
            ),
            "{host}: {result:?}"
        );
    }
}

// ------------------------------------------------------------ the report

#[tokio::test(start_paused = true)]
async fn the_report_serializes_for_an_http_answer() {
    let _serial = serial().await;
    let running = tokio::spawn(gated());
    settle().await;
    let report = shutdown(Duration::from_secs(5)).await;
    assert_eq!(join(running).await, Ok(1));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "finished": 1,
            "still_running": 0,
            "elapsed": { "secs": 1, "nanos": 0 },
            "timed_out": false,
            "policies": [{
                "name": "shutdown-gate",
                "kind": "bulkhead",
                "running_at_start": 1,
                "finished": 1,
                "still_running": 0,
            }],
        })
    );
}

// ------------------------------------------------ on a multi-thread runtime

static MT_POOL: Bulkhead = Bulkhead::builder()
    .name("shutdown-mt-pool")
    .max_concurrent(100)
    .max_queue(50)
    .build();

/// Permits that let the calls of `held` finish.
static RELEASE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

#[bulkhead(shared = MT_POOL)]
async fn held(i: u32) -> Result<u32, Rejected> {
    RELEASE.acquire().await.expect("never closed").forget();
    Ok(i)
}

/// Slots handed to waiters race the shutdown signal on four threads: every
/// call still ends (with its result, or `ShuttingDown` if it was still
/// waiting), no slot is lost, and the drain returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_four_threads_hand_overs_race_the_signal_and_every_call_ends() {
    let _serial = serial().await;
    let calls: Vec<_> = (0..150).map(|i| tokio::spawn(held(i))).collect();
    tokio::time::timeout(Duration::from_secs(60), async {
        while (MT_POOL.running(), MT_POOL.waiting()) != (100, 50) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("100 calls running and 50 waiting");

    // The first hundred finish while shutdown begins: their slots go to
    // waiters at the same moment the waiters are told to leave.
    RELEASE.add_permits(150);
    let report = shutdown(Duration::from_secs(30)).await;
    assert!(!report.timed_out, "{report}");

    let mut finished = 0;
    for call in calls {
        match join(call).await {
            Ok(_) => finished += 1,
            Err(Rejected::ShuttingDown { .. }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(finished >= 100, "the calls in flight finished: {finished}");
    assert_eq!((MT_POOL.running(), MT_POOL.waiting()), (0, 0));
}

// ------------------------------- circuit-breaker calls, with `track_calls`
//
// `serial()` resets tracking with the rest: the tests below that want it
// turn it on first thing, and every call they start ends before they do, so
// that no breaker count is left over for the next test.

/// The entry of `name` in `report`.
fn policy<'r>(report: &'r ShutdownReport, name: &str) -> &'r PolicyDrain {
    report
        .policies
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the report: {report}"))
}

fn entry(policy: &PolicyDrain) -> (&'static str, u32, u32, u32) {
    (
        policy.kind,
        policy.running_at_start,
        policy.finished,
        policy.still_running,
    )
}

/// Call `i` runs 1.005 s + 10 ms × i: off the drain's 10 ms backstop ticks,
/// so that only the wake-up when the last call leaves ends the drain then.
#[circuit_breaker(name = "shutdown-tracked")]
async fn tracked(i: u32) -> Result<u32, Rejected> {
    tokio::time::sleep(MS * (1005 + 10 * i)).await;
    Ok(i)
}

#[tokio::test(start_paused = true)]
async fn with_tracking_breaker_calls_in_flight_are_drained_and_reported() {
    let _serial = serial().await;
    shutdown::track_calls();
    shutdown::track_calls(); // idempotent
    let calls: Vec<_> = (0..5).map(|i| tokio::spawn(tracked(i))).collect();
    settle().await;
    let start = Instant::now();

    let report = shutdown(Duration::from_secs(5)).await;
    // No bulkhead: the drain waits for the breaker's calls, and ends with
    // the last (1.045 s).
    assert_eq!(start.elapsed(), MS * 1045, "{report}");
    assert!(!report.timed_out);
    assert_eq!((report.finished, report.still_running), (5, 0));
    assert_eq!(
        entry(policy(&report, "shutdown-tracked")),
        ("circuit_breaker", 5, 5, 0)
    );
    for (i, call) in (0..).zip(calls) {
        assert_eq!(
            join(call).await,
            Ok(i),
            "call {i} was in flight: it finishes"
        );
    }
    assert!(shutting_down(&tracked(9).await), "new calls are refused");
}

/// Runs `ms` milliseconds.
#[circuit_breaker(name = "shutdown-tracked-slow")]
async fn tracked_for(ms: u32) -> Result<u32, Rejected> {
    tokio::time::sleep(MS * ms).await;
    Ok(ms)
}

#[tokio::test(start_paused = true)]
async fn with_tracking_the_drain_stops_at_its_deadline_with_a_breaker_call_still_running() {
    let _serial = serial().await;
    shutdown::track_calls();
    let quick = tokio::spawn(tracked_for(1005));
    let slow = tokio::spawn(tracked_for(20_000));
    settle().await;
    let start = Instant::now();

    let report = shutdown(Duration::from_secs(5)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(report.timed_out);
    assert_eq!((report.finished, report.still_running), (1, 1));
    assert_eq!(
        entry(policy(&report, "shutdown-tracked-slow")),
        ("circuit_breaker", 2, 1, 1)
    );
    // The drain cancels nothing: the slow call still ends with its result.
    assert_eq!(join(quick).await, Ok(1005));
    assert_eq!(join(slow).await, Ok(20_000));
}

#[circuit_breaker(name = "shutdown-tracked-cancelled")]
async fn tracked_long() -> Result<u32, Rejected> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(60)
}

#[tokio::test(start_paused = true)]
async fn with_tracking_a_breaker_call_dropped_while_running_counts_as_finished() {
    let _serial = serial().await;
    shutdown::track_calls();
    let call = tokio::spawn(tracked_long());
    settle().await;
    let start = Instant::now();
    let drain = tokio::spawn(shutdown(Duration::from_secs(30)));

    tokio::time::sleep(MS * 1005).await;
    call.abort(); // the call was admitted: dropping it leaves the count
    let report = join(drain).await;
    assert_eq!(start.elapsed(), MS * 1005, "{report}");
    assert!(!report.timed_out);
    assert_eq!((report.finished, report.still_running), (1, 0));
    assert_eq!(
        entry(policy(&report, "shutdown-tracked-cancelled")),
        ("circuit_breaker", 1, 1, 0)
    );
    assert!(call.await.unwrap_err().is_cancelled());
}

#[circuit_breaker(name = "shutdown-tracked-panicking")]
async fn tracked_panicking() -> Result<u32, Rejected> {
    tokio::time::sleep(MS * 1005).await;
    panic!("a breaker call panics during the drain");
}

#[tokio::test(start_paused = true)]
async fn with_tracking_a_panicking_breaker_call_leaves_the_count() {
    let _serial = serial().await;
    shutdown::track_calls();
    let call = tokio::spawn(tracked_panicking());
    settle().await;
    let start = Instant::now();

    let report = shutdown(Duration::from_secs(30)).await;
    assert_eq!(start.elapsed(), MS * 1005, "{report}");
    assert!(!report.timed_out);
    assert_eq!(
        entry(policy(&report, "shutdown-tracked-panicking")),
        ("circuit_breaker", 1, 1, 0)
    );
    assert!(call.await.unwrap_err().is_panic());
}

static PERMITS: CircuitBreaker = CircuitBreaker::builder()
    .name("shutdown-tracked-permits")
    .build();

#[tokio::test(start_paused = true)]
async fn with_tracking_every_way_a_permit_ends_leaves_the_count() {
    let _serial = serial().await;
    shutdown::track_calls();
    PERMITS.register();
    // Calls that end before shutdown, every way, leave nothing in the count
    // (the drain below finds exactly the four permits held then).
    assert_eq!(PERMITS.call(|| Ok::<_, ()>(1)).ok(), Some(1));
    assert!(PERMITS.call(|| Err::<u32, _>(())).is_err());
    let panicked = std::panic::catch_unwind(|| {
        PERMITS.call(|| -> Result<u32, ()> { panic!("a sync call panics") })
    });
    assert!(panicked.is_err());
    assert_eq!(PERMITS.run(async { Ok::<_, ()>(2) }).await.ok(), Some(2));
    let cancelled =
        tokio::time::timeout(MS, PERMITS.run(std::future::pending::<Result<u32, ()>>())).await;
    assert!(cancelled.is_err(), "dropped while running");
    drop(PERMITS.try_acquire().unwrap()); // unused

    let permits: Vec<_> = (0..4).map(|_| PERMITS.try_acquire().unwrap()).collect();
    let start = Instant::now();
    let drain = tokio::spawn(shutdown(Duration::from_secs(30)));
    settle().await;
    assert!(matches!(
        PERMITS.try_acquire(),
        Err(Rejected::ShuttingDown { .. })
    ));

    tokio::time::sleep(MS * 1005).await;
    let mut permits = permits.into_iter();
    permits.next().unwrap().success();
    permits.next().unwrap().failure();
    permits.next().unwrap().ignore();
    drop(permits); // the last, unused (and the iterator)
    let report = join(drain).await;
    assert_eq!(start.elapsed(), MS * 1005, "{report}");
    assert!(!report.timed_out);
    assert_eq!(
        entry(policy(&report, "shutdown-tracked-permits")),
        ("circuit_breaker", 4, 4, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn without_tracking_breaker_calls_are_neither_waited_for_nor_listed() {
    let _serial = serial().await;
    let call = tokio::spawn(tracked(0));
    settle().await;
    let start = Instant::now();

    let report = shutdown(Duration::from_secs(5)).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!((report.finished, report.still_running), (0, 0));
    assert!(
        report.policies.iter().all(|p| p.kind != "circuit_breaker"),
        "{report}"
    );
    assert_eq!(join(call).await, Ok(0), "the call still finishes");
}

#[circuit_breaker(key = host, name = "shutdown-tracked-keyed")]
async fn tracked_keyed(host: &str) -> Result<usize, Rejected> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(host.len())
}

#[tokio::test(start_paused = true)]
async fn with_tracking_keyed_breaker_calls_are_not_waited_for() {
    let _serial = serial().await;
    shutdown::track_calls();
    let call = tokio::spawn(tracked_keyed("a"));
    settle().await;
    let start = Instant::now();

    // Per-key states are not in the registry (as keyed bulkheads).
    let report = shutdown(Duration::from_secs(5)).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert!(report.policies.is_empty(), "{report}");
    assert_eq!(join(call).await, Ok(1));
}

/// Permits that let the calls of `tracked_gated` finish.
static TRACKED_RELEASE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

#[circuit_breaker(name = "shutdown-tracked-mt")]
async fn tracked_gated(i: u32) -> Result<u32, Rejected> {
    TRACKED_RELEASE
        .acquire()
        .await
        .expect("never closed")
        .forget();
    Ok(i)
}

/// Calls are admitted on four threads while shutdown begins: each is
/// refused or counted by the drain (a call that runs uncounted would let
/// the drain report fewer calls finished than ran), and the drain returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_four_threads_breaker_calls_racing_shutdown_are_refused_or_counted() {
    let _serial = serial().await;
    shutdown::track_calls();
    let calls: Vec<_> = (0..200).map(|i| tokio::spawn(tracked_gated(i))).collect();
    tokio::task::yield_now().await;
    let drain = tokio::spawn(shutdown(Duration::from_secs(30)));
    TRACKED_RELEASE.add_permits(200);
    let report = join(drain).await;
    assert!(!report.timed_out, "{report}");

    let mut ran = 0;
    for call in calls {
        match join(call).await {
            Ok(_) => ran += 1,
            Err(Rejected::ShuttingDown { .. }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    let counted = report
        .policies
        .iter()
        .find(|p| p.name == "shutdown-tracked-mt")
        .map_or(0, |p| p.finished);
    assert!(
        counted >= ran,
        "{ran} calls ran, the drain counted {counted}: {report}"
    );
}

// ------------------------------------------------------------------ hedge

static HEDGE_COPIES: AtomicU32 = AtomicU32::new(0);

#[steadfast::hedge(after = "50ms", max = 3)]
async fn hedged_slow() -> Result<u32, Rejected> {
    let n = HEDGE_COPIES.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(MS * 200).await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn a_hedge_starts_no_new_copy_once_shutdown_has_begun() {
    let _serial = serial().await;
    HEDGE_COPIES.store(0, Ordering::SeqCst);
    let start = Instant::now();
    let call = tokio::spawn(hedged_slow());
    settle().await;
    // Copies start at 0 and 50; shutdown begins at 70: none at 100 or 150.
    tokio::time::sleep(MS * 70).await;
    assert_eq!(HEDGE_COPIES.load(Ordering::SeqCst), 2);
    assert!(shutdown::begin());
    // The running copies finish: the first one's answer, at 200.
    assert_eq!(join(call).await, Ok(0));
    assert_eq!(start.elapsed(), MS * 200);
    assert_eq!(HEDGE_COPIES.load(Ordering::SeqCst), 2);
}
