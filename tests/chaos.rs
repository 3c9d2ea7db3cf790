//! `#[chaos]` with the feature on (`.ci/run`: `cargo test --features chaos
//! --test chaos`): seeded runs replay, rates hold, the run-time controls reach
//! the policies by name, and the policies stacked around it treat injected
//! faults as real ones.

#![cfg(feature = "chaos")]

mod recorder;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use recorder::Recorder;
use steadfast::chaos::Settings;
use steadfast::{Rejected, chaos, circuit_breaker, retry, timeout};
use tokio::time::Instant;
use tracing::Level;

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Injected,
    Rejected(Rejected),
}

impl From<Rejected> for ApiError {
    fn from(rejected: Rejected) -> Self {
        ApiError::Rejected(rejected)
    }
}

fn injected() -> ApiError {
    ApiError::Injected
}

/// Tests that draw from the seeded streams run one at a time: `seed`
/// restarts every name's stream.
static SEEDED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MS: Duration = Duration::from_millis(1);

#[chaos(error = injected, error_rate = 0.1, name = "tests::tenth")]
async fn tenth() -> Result<u32, ApiError> {
    Ok(1)
}

/// The outcome of each of `n` calls: `true` for an injected error.
async fn errors_of_tenth(n: usize) -> Vec<bool> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(tenth().await.is_err());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_replays_the_same_faults() {
    let _serial = SEEDED.lock().await;
    chaos::seed(42);
    let first = errors_of_tenth(500).await;
    chaos::seed(42);
    let again = errors_of_tenth(500).await;
    assert_eq!(first, again, "same seed, same sequence");
    chaos::seed(43);
    let other = errors_of_tenth(500).await;
    assert_ne!(first, other, "another seed, another sequence");
    assert_eq!(chaos::seed_in_use(), 43);
}

#[tokio::test(start_paused = true)]
async fn a_names_faults_do_not_depend_on_other_names_calls() {
    let _serial = SEEDED.lock().await;
    chaos::seed(5);
    let alone = errors_of_tenth(300).await;
    chaos::seed(5);
    let mut interleaved = Vec::new();
    for _ in 0..300 {
        interleaved.push(tenth().await.is_err());
        // Another name draws from its own stream.
        let _ = quarter_slow().await;
        let _ = quarter_slow().await;
    }
    assert_eq!(alone, interleaved);
}

#[tokio::test(start_paused = true)]
async fn the_error_rate_holds_with_an_exact_count_for_the_seed() {
    let _serial = SEEDED.lock().await;
    chaos::seed(7);
    let hits = errors_of_tenth(10_000).await.iter().filter(|&&e| e).count();
    // 10% of 10 000: the binomial's standard deviation is 30.
    assert!((850..=1150).contains(&hits), "{hits} injected errors");
    assert_eq!(hits, EXACT_ERRORS_SEED_7, "the count for seed 7");
}

const EXACT_ERRORS_SEED_7: usize = 990;

#[chaos(latency = "100ms", latency_rate = 0.25, name = "tests::quarter_slow")]
async fn quarter_slow() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn the_latency_rate_holds_and_latency_is_tokio_time() {
    let _serial = SEEDED.lock().await;
    chaos::seed(7);
    let mut slow = 0;
    for _ in 0..4_000 {
        let start = Instant::now();
        assert_eq!(quarter_slow().await, Ok(1), "latency alone never fails");
        match start.elapsed() {
            d if d == Duration::ZERO => {}
            d if d == MS * 100 => slow += 1,
            d => panic!("waited {d:?}"),
        }
    }
    // 25% of 4 000: the standard deviation is about 27.
    assert!((880..=1120).contains(&slow), "{slow} slowed calls");
    assert_eq!(slow, EXACT_SLOW_SEED_7, "the count for seed 7");
}

const EXACT_SLOW_SEED_7: usize = 1038;

static BODY_RUNS: AtomicU32 = AtomicU32::new(0);

#[chaos(error = injected, error_rate = 1.0, enabled = false, name = "tests::switched")]
async fn switched() -> Result<u32, ApiError> {
    BODY_RUNS.fetch_add(1, Ordering::Relaxed);
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn controls_switch_and_retune_by_name() {
    // The attribute's values are where it starts: disabled.
    assert_eq!(switched().await, Ok(1));
    assert_eq!(
        chaos::settings("tests::switched"),
        Some(Settings {
            enabled: false,
            error_rate: 1.0,
            latency: Duration::ZERO,
            latency_rate: 0.0,
        })
    );
    chaos::enable("tests::switched");
    let runs = BODY_RUNS.load(Ordering::Relaxed);
    for _ in 0..50 {
        assert_eq!(switched().await, Err(ApiError::Injected));
    }
    assert_eq!(
        BODY_RUNS.load(Ordering::Relaxed),
        runs,
        "an injected error replaces the call"
    );
    assert_eq!(
        chaos::injected("tests::switched"),
        Some(chaos::Injected {
            errors: 50,
            latencies: 0
        })
    );

    // Retuned: no error, but latency, which the attribute did not declare.
    chaos::set(
        "tests::switched",
        Settings {
            enabled: true,
            error_rate: 0.0,
            latency: MS * 30,
            latency_rate: 1.0,
        },
    )
    .unwrap();
    let start = Instant::now();
    assert_eq!(switched().await, Ok(1));
    assert_eq!(start.elapsed(), MS * 30);
    assert_eq!(chaos::injected("tests::switched").unwrap().latencies, 1);

    chaos::disable("tests::switched");
    let start = Instant::now();
    for _ in 0..50 {
        assert_eq!(switched().await, Ok(1));
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "disabled: untouched");
}

#[test]
fn invalid_rates_are_refused_and_change_nothing() {
    let bad = Settings {
        enabled: true,
        error_rate: 1.5,
        latency: MS,
        latency_rate: 0.0,
    };
    let error = chaos::set("tests::never_set", bad).unwrap_err();
    assert_eq!(error.settings, bad);
    assert!(error.to_string().contains("[0, 1]"), "{error}");
    let nan = Settings {
        latency_rate: f64::NAN,
        error_rate: 0.0,
        ..bad
    };
    assert!(chaos::set("tests::never_set", nan).is_err());
    assert_eq!(chaos::settings("tests::never_set"), None);
}

#[chaos(error = injected, error_rate = 0.0, name = "tests::early")]
async fn set_before_its_first_call() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn a_control_call_before_the_first_call_applies_then() {
    assert_eq!(chaos::settings("tests::early"), None, "not run yet");
    chaos::set(
        "tests::early",
        Settings {
            enabled: true,
            error_rate: 1.0,
            latency: Duration::ZERO,
            latency_rate: 0.0,
        },
    )
    .unwrap();
    assert_eq!(set_before_its_first_call().await, Err(ApiError::Injected));
    assert_eq!(chaos::settings("tests::early").unwrap().error_rate, 1.0);
}

#[chaos(error = injected, error_rate = 0.0, name = "tests::shared_name")]
async fn one_of_two() -> Result<u32, ApiError> {
    Ok(1)
}

#[chaos(error = || ApiError::Injected, error_rate = 0.0, name = "tests::shared_name")]
async fn two_of_two() -> Result<u32, ApiError> {
    Ok(2)
}

#[tokio::test(start_paused = true)]
async fn one_name_is_one_policy() {
    assert_eq!(one_of_two().await, Ok(1));
    let mut all = chaos::settings("tests::shared_name").unwrap();
    all.error_rate = 1.0;
    chaos::set("tests::shared_name", all).unwrap();
    assert_eq!(one_of_two().await, Err(ApiError::Injected));
    assert_eq!(two_of_two().await, Err(ApiError::Injected));
}

#[chaos(latency = "10ms")]
async fn default_name() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn the_default_name_is_module_fn_and_rates_default_to_one() {
    let start = Instant::now();
    assert_eq!(default_name().await, Ok(1));
    assert_eq!(start.elapsed(), MS * 10);
    let settings = chaos::settings("chaos::default_name").expect("named module::fn");
    assert_eq!((settings.latency, settings.latency_rate), (MS * 10, 1.0));
}

// ---- the policies around it react to injected faults as to real ones ----

static INJECTED_BELOW_RETRY: AtomicU32 = AtomicU32::new(0);

fn counted() -> ApiError {
    INJECTED_BELOW_RETRY.fetch_add(1, Ordering::Relaxed);
    ApiError::Injected
}

#[retry(attempts = 4, backoff = fixed("10ms"), jitter = none)]
#[chaos(error = counted, error_rate = 1.0)]
async fn retried() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn a_retry_above_retries_injected_errors() {
    let start = Instant::now();
    assert_eq!(retried().await, Err(ApiError::Injected));
    assert_eq!(
        INJECTED_BELOW_RETRY.load(Ordering::Relaxed),
        4,
        "one per attempt"
    );
    assert_eq!(start.elapsed(), MS * 30, "with the retry's delays");
}

static INJECTED_ABOVE_RETRY: AtomicU32 = AtomicU32::new(0);
static RUNS_BELOW: AtomicU32 = AtomicU32::new(0);

fn counted_above() -> ApiError {
    INJECTED_ABOVE_RETRY.fetch_add(1, Ordering::Relaxed);
    ApiError::Injected
}

#[chaos(error = counted_above, error_rate = 1.0)]
#[retry(attempts = 4, backoff = none)]
async fn around_the_retry() -> Result<u32, ApiError> {
    RUNS_BELOW.fetch_add(1, Ordering::Relaxed);
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn above_a_retry_it_injects_once_around_all_attempts() {
    assert_eq!(around_the_retry().await, Err(ApiError::Injected));
    assert_eq!(INJECTED_ABOVE_RETRY.load(Ordering::Relaxed), 1);
    assert_eq!(RUNS_BELOW.load(Ordering::Relaxed), 0, "nothing below ran");
}

#[circuit_breaker(
    window = 4,
    failure_ratio = 0.5,
    open_for = "30s",
    name = "tests::broken"
)]
#[chaos(error = injected, error_rate = 1.0, enabled = false, name = "tests::breaking")]
async fn guarded() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn a_breaker_above_opens_on_injected_errors_and_closes_after() {
    for _ in 0..4 {
        assert_eq!(guarded().await, Ok(1));
    }
    chaos::enable("tests::breaking");
    // Two failures in the last four calls reach the ratio.
    for _ in 0..2 {
        assert_eq!(guarded().await, Err(ApiError::Injected));
    }
    chaos::disable("tests::breaking");
    assert!(
        matches!(
            guarded().await,
            Err(ApiError::Rejected(Rejected::CircuitOpen { .. }))
        ),
        "the injected errors opened it"
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(guarded().await, Ok(1), "the probe passes: closed again");
}

#[timeout("50ms")]
#[chaos(latency = "200ms", latency_rate = 1.0)]
async fn slowed() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn a_timeout_above_fires_on_injected_latency() {
    let start = Instant::now();
    assert_eq!(
        slowed().await,
        Err(ApiError::Rejected(Rejected::timeout(MS * 50)))
    );
    assert_eq!(start.elapsed(), MS * 50);
}

#[tokio::test(start_paused = true)]
async fn an_annotated_future_stays_send() {
    let task = tokio::spawn(retried());
    assert!(task.await.is_ok());
}

// ---- names, events, threads ----

struct Client;

impl Client {
    #[chaos(latency = "5ms")]
    async fn get(&self, id: u32) -> Result<u32, ApiError> {
        Ok(id)
    }

    #[chaos(error = injected)]
    async fn generic<T: Send>(&self, value: T) -> Result<T, ApiError> {
        Ok(value)
    }
}

#[tokio::test(start_paused = true)]
async fn a_method_is_named_module_type_fn_and_generics_work() {
    let start = Instant::now();
    assert_eq!(Client.get(3).await, Ok(3));
    assert_eq!(start.elapsed(), MS * 5);
    assert!(chaos::settings("chaos::Client::get").is_some());
    assert_eq!(Client.generic("x").await, Err(ApiError::Injected));
    assert_eq!(Client.generic(1u8).await, Err(ApiError::Injected));
}

#[chaos(error = injected, error_rate = 1.0, latency = "7ms", name = "tests::observed")]
async fn observed() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn each_injected_fault_is_an_event() {
    let (recorder, _guard) = Recorder::install();
    assert_eq!(observed().await, Err(ApiError::Injected));
    let events = recorder.events("steadfast::chaos", "fault injected");
    let faults: Vec<(&str, &str, Level)> = events
        .iter()
        .map(|e| (e.field("policy"), e.field("fault"), e.level))
        .collect();
    assert_eq!(
        faults,
        [
            ("tests::observed", "latency", Level::DEBUG),
            ("tests::observed", "error", Level::DEBUG)
        ]
    );
    assert_eq!(events[0].field("latency"), "7ms");
}

#[chaos(latency = "1s", name = "tests::homonyms")]
async fn first_homonym() -> Result<u32, ApiError> {
    Ok(1)
}

#[chaos(latency = "1s", name = "tests::homonyms")]
async fn same_settings_homonym() -> Result<u32, ApiError> {
    Ok(2)
}

#[chaos(latency = "2s", name = "tests::homonyms")]
async fn other_settings_homonym() -> Result<u32, ApiError> {
    Ok(3)
}

#[tokio::test(start_paused = true)]
async fn a_name_shared_with_other_settings_is_warned_once() {
    let (recorder, _guard) = Recorder::install();
    let warnings = || {
        recorder
            .all()
            .iter()
            .filter(|e| e.target == "steadfast::chaos" && e.level == Level::WARN)
            .map(|e| e.field("policy").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(first_homonym().await, Ok(1));
    assert_eq!(same_settings_homonym().await, Ok(2));
    assert!(warnings().is_empty(), "the same settings are no conflict");
    let start = Instant::now();
    assert_eq!(other_settings_homonym().await, Ok(3));
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(1),
        "the first one's settings"
    );
    assert_eq!(other_settings_homonym().await, Ok(3));
    assert_eq!(warnings(), ["tests::homonyms"], "warned once");
}

static CONCURRENT_RUNS: AtomicU32 = AtomicU32::new(0);

#[chaos(error = injected, error_rate = 0.5, name = "tests::threads")]
async fn on_many_threads() -> Result<u32, ApiError> {
    CONCURRENT_RUNS.fetch_add(1, Ordering::Relaxed);
    Ok(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_on_many_threads_share_the_rate() {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async {
                let mut injected = 0u32;
                for _ in 0..500 {
                    if on_many_threads().await.is_err() {
                        injected += 1;
                    }
                }
                injected
            })
        })
        .collect();
    let mut injected = 0;
    for task in tasks {
        injected += task.await.unwrap();
    }
    assert_eq!(injected + CONCURRENT_RUNS.load(Ordering::Relaxed), 4_000);
    // Half of 4 000 (the standard deviation is about 32), whatever the seed.
    assert!((1_800..=2_200).contains(&injected), "{injected}");
}

mod paths {
    use super::ApiError;
    use std::sync::atomic::{AtomicU32, Ordering};
    use steadfast as sf;

    static MADE: AtomicU32 = AtomicU32::new(0);

    fn counted() -> ApiError {
        MADE.fetch_add(1, Ordering::Relaxed);
        ApiError::Injected
    }

    #[sf::retry(attempts = 3, backoff = none)]
    #[steadfast::chaos(error = counted, error_rate = 1.0)]
    async fn through_paths() -> Result<u32, ApiError> {
        Ok(1)
    }

    #[tokio::test(start_paused = true)]
    async fn it_stacks_whatever_path_names_it() {
        assert_eq!(through_paths().await, Err(ApiError::Injected));
        assert_eq!(MADE.load(Ordering::Relaxed), 3, "inside the retry");
    }
}

mod more_stacks {
    use super::{ApiError, MS, injected};
    use steadfast::{Rejected, bulkhead, chaos, fallback};
    use tokio::time::Instant;

    #[bulkhead(max_concurrent = 1, max_queue = 0)]
    #[chaos(latency = "100ms")]
    async fn held() -> Result<u32, ApiError> {
        Ok(1)
    }

    #[tokio::test(start_paused = true)]
    async fn a_bulkhead_above_is_held_by_injected_latency() {
        let start = Instant::now();
        let (first, second) = tokio::join!(held(), held());
        assert_eq!(first, Ok(1));
        assert!(
            matches!(
                second,
                Err(ApiError::Rejected(Rejected::BulkheadFull { .. }))
            ),
            "{second:?}"
        );
        assert_eq!(start.elapsed(), MS * 100);
    }

    #[fallback(|_e| Ok(0))]
    #[chaos(error = injected)]
    async fn recovered() -> Result<u32, ApiError> {
        Ok(1)
    }

    #[tokio::test(start_paused = true)]
    async fn a_fallback_above_answers_for_an_injected_error() {
        assert_eq!(recovered().await, Ok(0));
    }
}

#[chaos(error = injected, error_rate = 1.0, latency = "3s", latency_rate = 0.0, name = "tests::shown")]
async fn shown() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn health_shows_each_chaos_name_its_settings_and_its_faults() {
    let listed = || {
        steadfast::health()
            .chaos
            .into_iter()
            .find(|c| c.name == "tests::shown")
    };
    assert_eq!(listed(), None, "listed once it has run");
    for _ in 0..3 {
        assert_eq!(shown().await, Err(ApiError::Injected));
    }
    let entry = listed().unwrap();
    assert!(entry.enabled);
    assert_eq!(
        (entry.error_rate, entry.latency, entry.latency_rate),
        (1.0, Duration::from_secs(3), 0.0)
    );
    assert_eq!(
        entry.injected,
        chaos::Injected {
            errors: 3,
            latencies: 0
        }
    );
    chaos::disable("tests::shown");
    assert!(!listed().unwrap().enabled);
}
