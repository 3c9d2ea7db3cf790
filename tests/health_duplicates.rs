//! One name, one policy: two breakers (or bulkheads) registered under one
//! name are reported with a `tracing` warning when the second joins, flagged
//! in `health()`, and both are reached by the name-based controls.

mod recorder;

use recorder::Recorder;
use steadfast::circuit_breaker::State;
use steadfast::{Bulkhead, CircuitBreaker, Rejected, bulkhead, circuit_breaker, health};

static FIRST: CircuitBreaker = CircuitBreaker::builder().name("dup-breaker").build();
static SECOND: CircuitBreaker = CircuitBreaker::builder().name("dup-breaker").build();
static THIRD: CircuitBreaker = CircuitBreaker::builder().name("dup-breaker").build();
static ALONE: CircuitBreaker = CircuitBreaker::builder().name("alone-breaker").build();
// The control test's own (tests run in parallel, and the warning goes to the
// thread that registers the second breaker).
static CONTROLLED: [CircuitBreaker; 3] = [
    CircuitBreaker::builder().name("dup-controlled").build(),
    CircuitBreaker::builder().name("dup-controlled").build(),
    CircuitBreaker::builder().name("dup-controlled").build(),
];

#[test]
fn a_second_breaker_under_a_taken_name_is_warned_once_and_flagged() {
    let (recorder, _guard) = Recorder::install();
    FIRST.register();
    ALONE.register();
    assert_eq!(recorder.duplicates("dup-breaker"), (0, 0));
    SECOND.register();
    assert_eq!(
        recorder.duplicates("dup-breaker"),
        (1, 0),
        "warned at the second one's registration"
    );
    SECOND.register();
    FIRST.register();
    assert_eq!(
        recorder.duplicates("dup-breaker"),
        (1, 0),
        "once per duplicate"
    );
    THIRD.register();
    assert_eq!(recorder.duplicates("dup-breaker"), (2, 0));
    assert_eq!(recorder.duplicates("alone-breaker"), (0, 0));

    let snapshot = health();
    let flagged: Vec<bool> = snapshot
        .breakers
        .iter()
        .filter(|b| b.name == "dup-breaker")
        .map(|b| b.duplicate_name)
        .collect();
    assert_eq!(flagged, [true, true, true]);
    let alone = snapshot
        .breakers
        .iter()
        .find(|b| b.name == "alone-breaker")
        .unwrap();
    assert!(!alone.duplicate_name);
}

#[tokio::test(start_paused = true)]
async fn the_name_reaches_every_breaker_that_carries_it() {
    for breaker in &CONTROLLED {
        breaker.register();
    }
    ALONE.register();
    let all = steadfast::health::breaker("dup-controlled").unwrap();
    assert_eq!(all.iter().len(), 3);
    assert!(
        all.only().is_none(),
        "no single breaker behind a duplicated name"
    );
    all.force_open();
    for breaker in &CONTROLLED {
        assert_eq!(
            (breaker.state(), breaker.forced()),
            (State::Open, Some(State::Open))
        );
    }
    assert_eq!(ALONE.state(), State::Closed, "another name is not touched");
    all.force_closed();
    assert!(all.iter().all(|b| b.forced() == Some(State::Closed)));
    all.reset();
    assert!(
        all.iter()
            .all(|b| b.forced().is_none() && b.state() == State::Closed)
    );
    let alone = steadfast::health::breaker("alone-breaker").unwrap();
    assert!(core::ptr::eq(alone.only().unwrap(), &ALONE));
    assert!(steadfast::health::breaker("no-such-breaker").is_none());
}

#[circuit_breaker(name = "dup-attribute")]
async fn charge() -> Result<(), Rejected> {
    Ok(())
}

#[circuit_breaker(name = "dup-attribute")]
async fn refund() -> Result<(), Rejected> {
    Ok(())
}

// The attributes list their breakers from startup, so the duplicate is found
// (and warned, once, by whichever thread first reads the registry: see
// `tests/health_startup.rs`) before either function is called.
#[tokio::test]
async fn two_attributes_under_one_name_are_flagged_before_their_first_call() {
    let snapshot = steadfast::health();
    let both: Vec<_> = snapshot
        .breakers
        .iter()
        .filter(|b| b.name == "dup-attribute")
        .collect();
    assert_eq!(both.len(), 2, "listed from startup");
    assert!(both.iter().all(|b| b.duplicate_name));
    charge().await.unwrap();
    refund().await.unwrap();
    let both = steadfast::health::breaker("dup-attribute").unwrap();
    assert_eq!(both.iter().count(), 2);
    both.force_open();
    assert!(charge().await.is_err() && refund().await.is_err());
    both.reset();
    assert!(charge().await.is_ok() && refund().await.is_ok());
}

static POOL_A: Bulkhead = Bulkhead::builder().name("dup-pool").build();
static POOL_B: Bulkhead = Bulkhead::builder()
    .name("dup-pool")
    .max_concurrent(3)
    .build();

#[bulkhead(shared = POOL_B)]
async fn pooled() -> Result<(), Rejected> {
    Ok(())
}

#[tokio::test]
async fn bulkheads_under_one_name_are_warned_flagged_and_both_found() {
    let (recorder, _guard) = Recorder::install();
    POOL_A.register();
    assert_eq!(recorder.duplicates("dup-pool"), (0, 0));
    pooled().await.unwrap();
    assert_eq!(
        recorder.duplicates("dup-pool"),
        (0, 1),
        "warned on the shared bulkhead's first call"
    );
    let flagged: Vec<(bool, u32)> = health()
        .bulkheads
        .iter()
        .filter(|b| b.name == "dup-pool")
        .map(|b| (b.duplicate_name, b.max_concurrent))
        .collect();
    assert_eq!(flagged, [(true, 10), (true, 3)]);
    let both = steadfast::health::bulkhead("dup-pool").unwrap();
    let limits: Vec<u32> = both.iter().map(Bulkhead::max_concurrent).collect();
    assert_eq!(limits, [10, 3]);
    assert!(both.only().is_none());
    assert!(steadfast::health::bulkhead("no-such-pool").is_none());
}

static QUOTA_A: steadfast::RateLimiter = steadfast::RateLimiter::builder()
    .name("dup-quota")
    .rate(1)
    .build();
static QUOTA_B: steadfast::RateLimiter = steadfast::RateLimiter::builder()
    .name("dup-quota")
    .rate(2)
    .build();

#[test]
fn rate_limiters_under_one_name_are_warned_flagged_and_both_found() {
    let (recorder, _guard) = Recorder::install();
    let warnings = || {
        recorder
            .events("steadfast::rate_limit", "two rate limiters share a name")
            .iter()
            .filter(|e| e.level == tracing::Level::WARN && e.field("policy") == "dup-quota")
            .count()
    };
    QUOTA_A.register();
    assert_eq!(warnings(), 0);
    QUOTA_B.register();
    assert_eq!(warnings(), 1, "warned at the second one's registration");
    let flagged: Vec<(bool, u32)> = health()
        .rate_limiters
        .iter()
        .filter(|r| r.name == "dup-quota")
        .map(|r| (r.duplicate_name, r.rate))
        .collect();
    assert_eq!(flagged, [(true, 1), (true, 2)]);
    let both = steadfast::health::rate_limiter("dup-quota").unwrap();
    assert_eq!(both.iter().count(), 2);
    assert!(both.only().is_none());
}
