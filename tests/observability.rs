//! Events, health and manual control: every event's target, message and
//! fields, and the health snapshot's contents, pinned so that a renamed field
//! fails here.

mod recorder;

use std::time::Duration;

use recorder::Recorder;
use steadfast::circuit_breaker::State;
use steadfast::{Rejected, bulkhead, circuit_breaker, fallback, health, retry, timeout};
use tracing::Level;

#[derive(Debug, PartialEq)]
struct Boom;

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}

#[retry(attempts = 3, backoff = fixed("10ms"), jitter = none)]
async fn always_boom() -> Result<(), Boom> {
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn retry_events_name_the_policy_attempt_delay_and_error() {
    let (recorder, _guard) = Recorder::install();
    assert_eq!(always_boom().await, Err(Boom));
    let retries = recorder.events("steadfast::retry", "retrying after a failed attempt");
    assert_eq!(retries.len(), 2);
    for (i, event) in retries.iter().enumerate() {
        assert_eq!(event.level, Level::DEBUG);
        assert_eq!(event.field("policy"), "observability::always_boom");
        assert_eq!(event.field("attempt"), (i + 1).to_string());
        assert_eq!(event.field("delay"), "10ms");
        assert_eq!(event.field("error"), "boom");
    }
    let stop = recorder.events("steadfast::retry", "not retrying");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0].field("attempts"), "3");
    assert_eq!(stop[0].field("reason"), "attempts_exhausted");
}

#[derive(Debug)]
struct Opaque;

#[retry(attempts = 2, backoff = none, when = |_e| false)]
async fn not_retried() -> Result<(), Opaque> {
    Err(Opaque)
}

#[tokio::test]
async fn an_error_without_display_is_named_by_its_type() {
    let (recorder, _guard) = Recorder::install();
    assert!(not_retried().await.is_err());
    let stop = recorder.events("steadfast::retry", "not retrying");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0].field("reason"), "not_retryable");
    assert_eq!(
        stop[0].field("error"),
        "an error of type `observability::Opaque`"
    );
}

#[retry(attempts = 5, backoff = fixed("1s"), jitter = none, max_elapsed = "1500ms")]
async fn over_budget() -> Result<(), Boom> {
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_is_the_reason() {
    let (recorder, _guard) = Recorder::install();
    assert!(over_budget().await.is_err());
    let stop = recorder.events("steadfast::retry", "not retrying");
    assert_eq!(stop[0].field("reason"), "budget_exhausted");
    assert_eq!(stop[0].field("attempts"), "2");
}

#[retry(attempts = 5, delay_from = |_e: &Boom| Some(Duration::from_secs(3_600)))]
async fn asked_to_wait_an_hour() -> Result<(), Boom> {
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn a_hint_past_max_hint_is_the_reason() {
    let (recorder, _guard) = Recorder::install();
    assert_eq!(asked_to_wait_an_hour().await, Err(Boom));
    let stop = recorder.events("steadfast::retry", "not retrying");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0].field("reason"), "hint_too_long");
    assert_eq!(stop[0].field("attempts"), "1");
}

#[timeout("50ms")]
async fn slow() -> Result<(), Rejected> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn timeout_event_names_the_limit() {
    let (recorder, _guard) = Recorder::install();
    assert!(slow().await.is_err());
    let events = recorder.events("steadfast::timeout", "call timed out");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].field("policy"), "observability::slow");
    assert_eq!(events[0].field("after"), "50ms");
}

#[circuit_breaker(window = 2, open_for = "1s", name = "events-breaker")]
async fn flaky(ok: bool) -> Result<(), Rejected> {
    if ok {
        Ok(())
    } else {
        Err(Rejected::timeout(Duration::from_millis(1)))
    }
}

#[tokio::test(start_paused = true)]
async fn breaker_events_show_every_transition_and_rejection() {
    let (recorder, _guard) = Recorder::install();
    let _ = flaky(false).await;
    let _ = flaky(false).await;
    assert!(matches!(
        flaky(true).await,
        Err(Rejected::CircuitOpen { .. })
    ));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(flaky(true).await.is_ok());
    let transitions: Vec<_> = recorder
        .all()
        .iter()
        .filter(|e| e.target == "steadfast::circuit_breaker" && e.fields.contains_key("to"))
        .map(|e| {
            (
                e.level,
                e.field("from").to_string(),
                e.field("to").to_string(),
                e.field("message").to_string(),
            )
        })
        .collect();
    assert_eq!(
        transitions,
        [
            (
                Level::WARN,
                "closed".into(),
                "open".into(),
                "circuit breaker opened".into()
            ),
            (
                Level::INFO,
                "open".into(),
                "half_open".into(),
                "circuit breaker half-open".into()
            ),
            (
                Level::INFO,
                "half_open".into(),
                "closed".into(),
                "circuit breaker closed".into()
            ),
        ]
    );
    let transitions = health()
        .breakers
        .into_iter()
        .find(|b| b.name == "events-breaker")
        .map(|b| b.transitions);
    assert_eq!(transitions, Some(3), "open, half-open, closed");
    let rejected = recorder.events("steadfast::circuit_breaker", "call rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].field("policy"), "events-breaker");
    assert_eq!(rejected[0].field("rejection"), "circuit_open");
}

#[bulkhead(max_concurrent = 1, max_queue = 0, name = "events-bulkhead")]
async fn narrow() -> Result<(), Rejected> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

#[fallback(|_e| Ok(0))]
async fn rescued() -> Result<u32, Boom> {
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn bulkhead_and_fallback_events() {
    let (recorder, _guard) = Recorder::install();
    let (a, b) = tokio::join!(narrow(), narrow());
    assert!(a.is_ok() && b.is_err());
    let rejected = recorder.events("steadfast::bulkhead", "call rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].field("policy"), "events-bulkhead");
    assert_eq!(rejected[0].field("rejection"), "bulkhead_full");
    assert_eq!(rescued().await, Ok(0));
    let applied = recorder.events("steadfast::fallback", "fallback applied");
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].field("policy"), "observability::rescued");
    assert_eq!(applied[0].field("error"), "boom");
}

static EVENTS_LIMITER: steadfast::RateLimiter = steadfast::RateLimiter::builder()
    .name("events-limiter")
    .rate(2)
    .build();

#[tokio::test(start_paused = true)]
async fn rate_limit_rejection_event() {
    let (recorder, _guard) = Recorder::install();
    EVENTS_LIMITER.try_acquire().unwrap();
    EVENTS_LIMITER.try_acquire().unwrap();
    assert!(EVENTS_LIMITER.try_acquire().is_err());
    let rejected = recorder.events("steadfast::rate_limit", "call rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].level, Level::DEBUG);
    assert_eq!(rejected[0].field("policy"), "events-limiter");
    assert_eq!(rejected[0].field("rejection"), "rate_limited");
    assert_eq!(rejected[0].field("retry_after"), "500ms");
}

#[circuit_breaker(window = 4, name = "health-breaker")]
#[bulkhead(max_concurrent = 3, max_queue = 2, name = "health-bulkhead")]
async fn watched(ok: bool) -> Result<(), Rejected> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if ok {
        Ok(())
    } else {
        Err(Rejected::timeout(Duration::from_millis(1)))
    }
}

#[tokio::test(start_paused = true)]
async fn health_lists_used_breakers_and_bulkheads_with_their_state() {
    // Listed from startup, before its first call.
    let before = health();
    let unused = before
        .breakers
        .iter()
        .find(|b| b.name == "health-breaker")
        .expect("listed before its first call");
    assert_eq!((unused.window_calls, unused.transitions), (0, 0));
    assert!(before.bulkheads.iter().any(|b| b.name == "health-bulkhead"));
    let (_, _) = tokio::join!(watched(true), watched(false));
    let snapshot = health();
    let breaker = snapshot
        .breakers
        .iter()
        .find(|b| b.name == "health-breaker")
        .unwrap();
    assert_eq!((breaker.state, breaker.forced), (State::Closed, None));
    assert_eq!((breaker.window_calls, breaker.window_failures), (2, 1));
    let bulkhead = snapshot
        .bulkheads
        .iter()
        .find(|b| b.name == "health-bulkhead")
        .unwrap();
    assert_eq!(
        (
            bulkhead.running,
            bulkhead.waiting,
            bulkhead.max_concurrent,
            bulkhead.max_queue
        ),
        (0, 0, 3, 2)
    );
    // While calls run, the bulkhead shows them.
    let running = tokio::spawn(watched(true));
    tokio::task::yield_now().await;
    let bulkhead = health()
        .bulkheads
        .into_iter()
        .find(|b| b.name == "health-bulkhead")
        .unwrap();
    assert_eq!(bulkhead.running, 1);
    running.await.unwrap().unwrap();
}

#[circuit_breaker(window = 2, name = "controlled")]
async fn controlled(ok: bool) -> Result<(), Rejected> {
    if ok {
        Ok(())
    } else {
        Err(Rejected::timeout(Duration::from_millis(1)))
    }
}

#[tokio::test(start_paused = true)]
async fn a_breaker_can_be_forced_open_or_closed_and_reset_by_name() {
    controlled(true).await.unwrap();
    let handle = steadfast::health::breaker("controlled").expect("registered on first use");
    let only = handle.only().expect("one breaker has that name");
    handle.force_open();
    assert!(matches!(
        controlled(true).await,
        Err(Rejected::CircuitOpen { .. })
    ));
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert!(controlled(true).await.is_err(), "forced open stays open");
    let snapshot = health();
    let b = snapshot
        .breakers
        .iter()
        .find(|b| b.name == "controlled")
        .unwrap();
    assert_eq!((b.state, b.forced), (State::Open, Some(State::Open)));
    assert_eq!(b.in_state_for, Some(Duration::from_secs(3600)));
    handle.force_closed();
    for _ in 0..10 {
        let _ = controlled(false).await;
    }
    assert_eq!(only.state(), State::Closed, "forced closed never opens");
    handle.reset();
    assert_eq!(only.forced(), None);
    let _ = controlled(false).await;
    let _ = controlled(false).await;
    assert_eq!(only.state(), State::Open, "after reset it opens again");
    assert!(steadfast::health::breaker("no-such-breaker").is_none());
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_serializes_with_serde() {
    controlled(true).await.ok();
    let json = serde_json::to_value(health()).unwrap();
    let breakers = json["breakers"].as_array().unwrap();
    let b = breakers.iter().find(|b| b["name"] == "controlled").unwrap();
    for key in [
        "state",
        "forced",
        "window_calls",
        "window_failures",
        "window_slow",
        "probes_in_flight",
        "in_state_for_ms",
        "transitions",
    ] {
        assert!(b.get(key).is_some(), "missing {key} in {b}");
    }
    assert!(["closed", "open", "half_open"].contains(&b["state"].as_str().unwrap()));
    assert!(json["bulkheads"].is_array());
}
