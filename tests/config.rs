//! Configuration overrides by name (`steadfast::config`): an override
//! changes behaviour, invalid values get the attributes' messages, unknown
//! names and keys list the valid ones, nothing changes when any entry is
//! bad, running versus startup-only keys, the effective configuration in
//! `health()`, and loading from a TOML file and the environment.
//!
//! Each test has policies of its own names (the registry is per process).

use std::time::Duration;

use steadfast::config::{self, Overrides, PolicyKind, Problem};
use steadfast::{Bulkhead, CircuitBreaker, RateLimiter, Rejected, circuit_breaker, rate_limit};

const CB: PolicyKind = PolicyKind::Breakers;
const BH: PolicyKind = PolicyKind::Bulkheads;

fn overrides(entries: &[(PolicyKind, &str, &str, &str)]) -> Overrides {
    let mut o = Overrides::new();
    for (kind, policy, key, value) in entries {
        o.set(*kind, *policy, *key, *value);
    }
    o
}

/// The single problem of a refused `apply`.
fn only_problem(o: &Overrides) -> Problem {
    let err = config::apply(o).expect_err("refused");
    assert_eq!(err.problems().len(), 1, "{err}");
    err.problems()[0].clone()
}

fn message(problem: &Problem) -> String {
    match problem {
        Problem::Invalid { message, .. } => message.clone(),
        other => panic!("not an invalid value: {other:?}"),
    }
}

/// Ten calls, `failures` of them failing, through `breaker`.
fn play(breaker: &CircuitBreaker, failures: usize) {
    for i in 0..10 {
        let _ = breaker.call(|| if i < failures { Err("down") } else { Ok(()) });
    }
}

static LENIENT: CircuitBreaker = CircuitBreaker::builder()
    .name("config::lenient")
    .window_calls(10)
    .failure_ratio(0.5)
    .build();
static STRICT: CircuitBreaker = CircuitBreaker::builder()
    .name("config::strict")
    .window_calls(10)
    .failure_ratio(0.5)
    .build();

#[test]
fn a_breaker_opens_at_the_overridden_ratio_and_health_shows_it() {
    LENIENT.register();
    STRICT.register();
    let applied = config::apply(&overrides(&[
        (CB, "config::strict", "failure_ratio", "0.2"),
        (CB, "config::strict", "open_for", "30s"),
    ]))
    .unwrap();
    assert_eq!(applied.changes.len(), 2);
    play(&LENIENT, 2);
    play(&STRICT, 2);
    assert_eq!(LENIENT.state(), steadfast::circuit_breaker::State::Closed);
    assert_eq!(STRICT.state(), steadfast::circuit_breaker::State::Open);
    let health = steadfast::health();
    let strict = health
        .breakers
        .iter()
        .find(|b| b.name == "config::strict")
        .unwrap();
    assert!((strict.config.failure_ratio - 0.2).abs() < 1e-9);
    assert_eq!(strict.config.open_for, Duration::from_secs(30));
    assert_eq!(strict.config.window_calls, Some(10));
    let lenient = health
        .breakers
        .iter()
        .find(|b| b.name == "config::lenient")
        .unwrap();
    assert!((lenient.config.failure_ratio - 0.5).abs() < 1e-9);
}

#[derive(Debug)]
enum ApiError {
    Down,
    Rejected,
}

impl From<steadfast::Rejected> for ApiError {
    fn from(_: steadfast::Rejected) -> Self {
        ApiError::Rejected
    }
}

#[circuit_breaker(window = 4, failure_ratio = 1.0, open_for = "1s")]
async fn flaky(fail: bool) -> Result<(), ApiError> {
    if fail { Err(ApiError::Down) } else { Ok(()) }
}

#[tokio::test(start_paused = true)]
async fn a_running_key_changes_an_attribute_breaker_in_use_by_its_default_name() {
    // In use: calls have been recorded.
    for _ in 0..3 {
        let _ = flaky(false).await;
    }
    let name = concat!(module_path!(), "::flaky");
    config::apply(&overrides(&[
        (CB, name, "consecutive_failures", "2"),
        (CB, name, "open_for", "10s"),
    ]))
    .unwrap();
    let _ = flaky(true).await;
    assert!(matches!(flaky(true).await, Err(ApiError::Down)));
    // Two in a row opened it (the ratio alone needs four of four).
    assert!(matches!(flaky(false).await, Err(ApiError::Rejected)));
    // Still open after the built `open_for`: the overridden one holds.
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(matches!(flaky(false).await, Err(ApiError::Rejected)));
    tokio::time::advance(Duration::from_secs(8)).await;
    assert!(flaky(false).await.is_ok(), "the probe after 10s");
}

static CHECKED: CircuitBreaker = CircuitBreaker::builder()
    .name("config::checked")
    .window_calls(10)
    .build();

/// The text of a trybuild snapshot's first error line.
fn compile_time(ui: &str) -> String {
    let text = std::fs::read_to_string(format!("tests/ui/{ui}.stderr")).unwrap();
    text.lines()
        .next()
        .unwrap()
        .trim_start_matches("error: ")
        .to_owned()
}

#[test]
fn invalid_values_get_the_compile_time_messages() {
    CHECKED.register();
    let name = "config::checked";
    let cases = [
        ("failure_ratio", "0", "circuit-breaker-failure-ratio-zero"),
        (
            "failure_ratio",
            "1.5",
            "circuit-breaker-failure-ratio-above-one",
        ),
        (
            "failure_ratio",
            "50%",
            "circuit-breaker-failure-ratio-string",
        ),
        (
            "half_open_probes",
            "0",
            "circuit-breaker-half-open-probes-zero",
        ),
        ("min_calls", "20", "circuit-breaker-min-calls-above-window"),
        (
            "slow_ratio",
            "0.8",
            "circuit-breaker-slow-ratio-without-slow-call",
        ),
    ];
    for (key, value, ui) in cases {
        let problem = only_problem(&overrides(&[(CB, name, key, value)]));
        assert_eq!(message(&problem), compile_time(ui), "{key} = {value}");
    }
    let problem = only_problem(&overrides(&[(CB, name, "half_open_probes", "70000")]));
    assert_eq!(
        message(&problem),
        "`half_open_probes` must be between 1 and 65535"
    );
    let problem = only_problem(&overrides(&[(CB, name, "open_for", "5 sec")]));
    assert!(
        message(&problem).starts_with("unparsable duration \"5 sec\""),
        "{problem}"
    );
    // With `slow_call` given too, `slow_ratio` is fine.
    config::apply(&overrides(&[
        (CB, name, "slow_call", "2s"),
        (CB, name, "slow_ratio", "0.8"),
    ]))
    .unwrap();
    assert_eq!(CHECKED.settings().slow_call, Some(Duration::from_secs(2)));
}

static POOL_CHECKED: Bulkhead = Bulkhead::builder().name("config::pool-checked").build();

#[test]
fn invalid_bulkhead_values_get_the_compile_time_messages() {
    POOL_CHECKED.register();
    let name = "config::pool-checked";
    let problem = only_problem(&overrides(&[(BH, name, "max_concurrent", "0")]));
    assert_eq!(
        message(&problem),
        compile_time("bulkhead-max-concurrent-zero")
    );
    let problem = only_problem(&overrides(&[(BH, name, "max_queue", "2000000")]));
    assert_eq!(message(&problem), "`max_queue` must be at most 1000000");
    let problem = only_problem(&overrides(&[
        (BH, name, "max_queue", "0"),
        (BH, name, "max_wait", "1s"),
    ]));
    assert_eq!(
        message(&problem),
        "`max_wait` has no effect with `max_queue = 0` (no call ever waits); remove one of them"
    );
}

static NAMED_A: CircuitBreaker = CircuitBreaker::builder().name("config::named-a").build();
static QUOTA: RateLimiter = RateLimiter::builder()
    .name("config::quota")
    .rate(10)
    .build();

#[test]
fn unknown_names_and_keys_list_the_valid_ones() {
    NAMED_A.register();
    QUOTA.register();
    let problem = only_problem(&overrides(&[(CB, "config::nope", "min_calls", "3")]));
    let Problem::UnknownPolicy { known, .. } = &problem else {
        panic!("{problem:?}")
    };
    assert!(known.iter().any(|n| n == "config::named-a"), "{known:?}");
    assert!(
        problem
            .to_string()
            .starts_with("no circuit breaker is named `config::nope`; the registered ones are: ")
    );
    let problem = only_problem(&overrides(&[(CB, "config::named-a", "ratio", "0.3")]));
    assert_eq!(
        problem.to_string(),
        "circuit breaker `config::named-a`: unknown key `ratio`; the keys are: failure_ratio, \
         min_calls, consecutive_failures, slow_call, slow_ratio, open_for, half_open_probes, window"
    );
    // Known keys that cannot change say why.
    let problem = only_problem(&overrides(&[(CB, "config::named-a", "window", "50")]));
    assert!(matches!(problem, Problem::Fixed { .. }), "{problem:?}");
    let problem = only_problem(&overrides(&[(RL, "config::quota", "rates", "20")]));
    assert_eq!(
        problem.to_string(),
        "rate limiter `config::quota`: unknown key `rates`; the keys are: rate, per, burst, max_wait"
    );
}

const RL: PolicyKind = PolicyKind::RateLimiters;

#[rate_limit(rate = 100)]
async fn quoted() -> Result<(), steadfast::Rejected> {
    Ok(())
}

static PACED: RateLimiter = RateLimiter::builder()
    .name("config::paced")
    .rate(10)
    .burst(5)
    .build();

#[tokio::test(start_paused = true)]
async fn a_rate_limit_is_overridden_before_its_first_call_and_fixed_by_it() {
    // An attribute's limiter, by its default name. Its `burst` was left to
    // `rate`, so a new `rate` alone moves it too.
    config::apply(&overrides(&[(RL, "config::quoted", "rate", "2")])).unwrap();
    let shown = |name: &str| {
        let health = steadfast::health();
        let r = health
            .rate_limiters
            .iter()
            .find(|r| r.name == name)
            .unwrap();
        (r.rate, r.per, r.burst, r.available)
    };
    assert_eq!(shown("config::quoted"), (2, Duration::from_secs(1), 2, 2));
    assert!(quoted().await.is_ok());
    assert!(quoted().await.is_ok());
    assert_eq!(
        quoted().await,
        Err(steadfast::Rejected::rate_limited(
            "config::quoted",
            Duration::from_millis(500)
        ))
    );
    // The first call fixed the limits: a later override is refused, and
    // nothing changes.
    let problem = only_problem(&overrides(&[(RL, "config::quoted", "rate", "50")]));
    assert!(
        matches!(problem, Problem::StartupOnly { .. }),
        "{problem:?}"
    );
    assert!(
        problem.to_string().starts_with(
            "rate limiter `config::quoted`: `rate` can only change before the policy is in use: \
             the limiter has taken a call"
        ),
        "{problem}"
    );
    assert_eq!(shown("config::quoted").0, 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(quoted().await.is_ok());

    // An explicit `burst` stays; `per` and `max_wait` change too. Reading
    // `health()` does not fix the limits (the override above came after it).
    PACED.register();
    assert_eq!(shown("config::paced"), (10, Duration::from_secs(1), 5, 5));
    config::apply(&overrides(&[
        (RL, "config::paced", "rate", "1"),
        (RL, "config::paced", "per", "2s"),
        (RL, "config::paced", "max_wait", "3s"),
    ]))
    .unwrap();
    assert_eq!(shown("config::paced"), (1, Duration::from_secs(2), 5, 5));
    assert_eq!(PACED.max_wait(), Duration::from_secs(3));
    for _ in 0..5 {
        PACED.try_acquire().unwrap();
    }
    // One turn every 2 s now; the sixth call waits for it (within 3 s).
    let started = tokio::time::Instant::now();
    PACED.acquire().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

static BOUNDED: RateLimiter = RateLimiter::builder()
    .name("config::bounded")
    .rate(10)
    .build();

#[test]
fn invalid_rate_limit_values_get_the_compile_time_messages() {
    BOUNDED.register();
    let name = "config::bounded";
    for (key, value, ui) in [
        ("rate", "0", "rate-limit-rate-zero"),
        ("burst", "0", "rate-limit-burst-zero"),
        ("per", "0s", "rate-limit-per-zero"),
    ] {
        let problem = only_problem(&overrides(&[(RL, name, key, value)]));
        assert_eq!(message(&problem), compile_time(ui), "{key} = {value}");
    }
    // Beyond what the admission word counts exactly: the builder's message.
    let problem = only_problem(&overrides(&[(RL, name, "max_wait", "2000000h")]));
    assert!(
        message(&problem)
            .starts_with("`burst × per / rate + max_wait` is too long to count exactly"),
        "{problem}"
    );
    // Nothing was kept.
    assert_eq!((BOUNDED.rate(), BOUNDED.max_wait()), (10, Duration::ZERO));
}

static KEPT: CircuitBreaker = CircuitBreaker::builder().name("config::kept").build();

#[test]
fn nothing_changes_when_any_entry_is_bad() {
    KEPT.register();
    let before = KEPT.settings();
    let err = config::apply(&overrides(&[
        (CB, "config::kept", "failure_ratio", "0.1"),
        (CB, "config::kept", "open_for", "1m"),
        (CB, "config::missing", "failure_ratio", "0.1"),
        (CB, "config::kept", "min_calls", "0"),
    ]))
    .expect_err("refused");
    assert_eq!(err.problems().len(), 2, "{err}");
    assert_eq!(KEPT.settings(), before);
}

static LINE: Bulkhead = Bulkhead::builder()
    .name("config::line")
    .max_concurrent(1)
    .max_queue(5)
    .build();

#[tokio::test(start_paused = true)]
async fn a_bulkhead_queue_limit_is_a_startup_key_and_max_wait_a_running_one() {
    LINE.register();
    // Before any call waits: accepted.
    config::apply(&overrides(&[(BH, "config::line", "max_queue", "1")])).unwrap();
    assert_eq!(LINE.max_queue(), 1);
    let held = LINE.acquire().await.unwrap();
    let mut waiter = Box::pin(LINE.acquire());
    assert!(futures_poll(&mut waiter).is_none(), "waits in line");
    // The line (of one) is full: the third call is refused at once.
    assert!(LINE.acquire().await.is_err());
    // Now that a call has waited, the limits are fixed; `max_wait` is not.
    let problem = only_problem(&overrides(&[(BH, "config::line", "max_queue", "5")]));
    assert!(
        matches!(problem, Problem::StartupOnly { .. }),
        "{problem:?}"
    );
    assert!(
        problem
            .to_string()
            .contains("`max_queue` can only change before")
    );
    assert_eq!(LINE.max_queue(), 1);
    config::apply(&overrides(&[(BH, "config::line", "max_wait", "1s")])).unwrap();
    drop(held);
    let first = waiter.await.unwrap();
    // A new waiter gives up after the overridden `max_wait`.
    let started = tokio::time::Instant::now();
    assert!(LINE.acquire().await.is_err());
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    drop(first);
    let health = steadfast::health();
    let line = health
        .bulkheads
        .iter()
        .find(|b| b.name == "config::line")
        .unwrap();
    assert_eq!(
        (line.max_queue, line.max_wait),
        (1, Some(Duration::from_secs(1)))
    );
}

/// Polls `future` once.
fn futures_poll<F: std::future::Future + Unpin>(future: &mut F) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match std::pin::Pin::new(future).poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

static FROM_FILE: CircuitBreaker = CircuitBreaker::builder().name("config::from-file").build();
static FROM_ENV: Bulkhead = Bulkhead::builder().name("config::from-env").build();

#[test]
fn overrides_load_from_a_toml_file_and_the_environment() {
    FROM_FILE.register();
    FROM_ENV.register();
    let path = std::env::temp_dir().join(format!("steadfast-config-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        r#"
[circuit_breaker."config::from-file"]
failure_ratio = 0.25
min_calls = 7
open_for = "45s"

[bulkhead."config::from-env"]
max_wait = "9s"
"#,
    )
    .unwrap();
    let mut loaded = Overrides::from_file(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let env = Overrides::from_vars([
        (
            "STEADFAST__BULKHEAD__CONFIG__FROM_ENV__MAX_WAIT".to_owned(),
            "3s".to_owned(),
        ),
        (
            "STEADFAST__CIRCUIT_BREAKER__CONFIG__FROM_FILE__MIN_CALLS".to_owned(),
            "8".to_owned(),
        ),
        ("PATH".to_owned(), "/bin".to_owned()),
    ])
    .unwrap();
    assert_eq!(env.len(), 2);
    loaded.merge(env);
    config::apply(&loaded).unwrap();
    let settings = FROM_FILE.settings();
    assert!((settings.failure_ratio - 0.25).abs() < 1e-9);
    assert_eq!(settings.min_calls, 8, "the environment wins over the file");
    assert_eq!(settings.open_for, Duration::from_secs(45));
    assert_eq!(FROM_ENV.max_wait(), Some(Duration::from_secs(3)));

    // A variable naming no registered policy lists them, spelled for the
    // environment.
    let err = Overrides::from_vars([(
        "STEADFAST__BULKHEAD__CONFIG__NOPE__MAX_WAIT".to_owned(),
        "1s".to_owned(),
    )])
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("config::from-env (CONFIG__FROM_ENV)"),
        "{err}"
    );
    // A bad file says where.
    let err =
        Overrides::from_toml_str("[retry.x]\nmax_attempts = 3", "overrides.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "overrides.toml: unknown kind `retry`; the kinds are: circuit_breaker, bulkhead, rate_limit"
    );
}

static TWIN_A: CircuitBreaker = CircuitBreaker::builder()
    .name("config::twin")
    .window_calls(4)
    .build();
static TWIN_B: CircuitBreaker = CircuitBreaker::builder()
    .name("config::twin")
    .window_calls(4)
    .build();

#[tokio::test(start_paused = true)]
async fn every_policy_of_a_name_gets_the_overrides_and_probes_follow_them() {
    TWIN_A.register();
    TWIN_B.register();
    let applied = config::apply(&overrides(&[
        (CB, "config::twin", "half_open_probes", "2"),
        (CB, "config::twin", "open_for", "1s"),
    ]))
    .unwrap();
    assert_eq!(applied.changes.len(), 4, "two keys, two breakers");
    assert_eq!(TWIN_B.settings().half_open_probes, 2);
    for _ in 0..4 {
        let _ = TWIN_A.call(|| Err::<(), _>("down"));
    }
    tokio::time::advance(Duration::from_secs(1)).await;
    // Two probes at once now, where the built breaker admitted one.
    let first = TWIN_A.try_acquire().unwrap();
    let second = TWIN_A.try_acquire().unwrap();
    assert!(TWIN_A.try_acquire().is_err());
    first.success();
    second.success();
    assert_eq!(TWIN_A.state(), steadfast::circuit_breaker::State::Closed);
}

#[circuit_breaker(key = host, name = "config::per-host", consecutive_failures = 5)]
async fn per_host(host: &str, fail: bool) -> Result<(), Rejected> {
    let _ = host;
    if fail {
        Err(Rejected::timeout(Duration::from_millis(1)))
    } else {
        Ok(())
    }
}

#[rate_limit(key = tenant, name = "config::per-tenant", rate = 100)]
async fn per_tenant(tenant: &str) -> Result<(), Rejected> {
    let _ = tenant;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_keyed_policy_takes_overrides_for_every_key_by_its_name() {
    // A breaker: every key, stored or new, takes the running keys.
    per_host("old", false).await.unwrap();
    config::apply(&overrides(&[(
        CB,
        "config::per-host",
        "consecutive_failures",
        "1",
    )]))
    .unwrap();
    let _ = per_host("old", true).await;
    assert!(
        matches!(
            per_host("old", false).await,
            Err(Rejected::CircuitOpen { .. })
        ),
        "a stored key opens after one failure now"
    );
    let _ = per_host("new", true).await;
    assert!(
        matches!(
            per_host("new", false).await,
            Err(Rejected::CircuitOpen { .. })
        ),
        "so does a key first seen after the override"
    );
    // A limiter: its limits are fixed by each key's first call, so a stored
    // key keeps its rate, and keys first seen afterwards take the new one.
    per_tenant("old").await.unwrap();
    config::apply(&overrides(&[(RL, "config::per-tenant", "rate", "1")])).unwrap();
    for _ in 0..10 {
        per_tenant("old").await.unwrap();
    }
    per_tenant("new").await.unwrap();
    assert!(
        matches!(per_tenant("new").await, Err(Rejected::RateLimited { .. })),
        "a new key has a rate (and default burst) of 1"
    );
    // Unknown names list the keyed ones too.
    let problem = only_problem(&overrides(&[(RL, "config::per-nobody", "rate", "1")]));
    let Problem::UnknownPolicy { known, .. } = &problem else {
        panic!("{problem:?}")
    };
    assert!(known.iter().any(|n| n == "config::per-tenant"), "{known:?}");
}
