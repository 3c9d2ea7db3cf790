//! `health::reset_all()` starts every registered breaker afresh (between
//! tests), and leaves what it documents it cannot reset.
//!
//! One test only: `reset_all` acts on every breaker of the process, so it
//! would disturb tests running beside it.

use std::time::Duration;

use steadfast::circuit_breaker::State;
use steadfast::keyed::{Keyed, Probe};
use steadfast::{Bulkhead, CircuitBreaker, Rejected, circuit_breaker, health};

#[circuit_breaker(window = 2, name = "reset-opened")]
async fn opened(ok: bool) -> Result<(), Rejected> {
    if ok {
        Ok(())
    } else {
        Err(Rejected::timeout(Duration::from_millis(1)))
    }
}

static FORCED_OPEN: CircuitBreaker = CircuitBreaker::builder().name("reset-forced-open").build();
static FORCED_CLOSED: CircuitBreaker = CircuitBreaker::builder()
    .name("reset-forced-closed")
    .window_calls(4)
    .build();
static PROBING: CircuitBreaker = CircuitBreaker::builder()
    .name("reset-probing")
    .window_calls(2)
    .open_for(Duration::from_secs(1))
    .build();
static PER_HOST: Keyed<CircuitBreaker> = Keyed::new(
    CircuitBreaker::builder()
        .name("reset-keyed")
        .window_calls(2),
    4,
);
static POOL: Bulkhead = Bulkhead::builder()
    .name("reset-pool")
    .max_concurrent(1)
    .build();

fn snapshot(name: &str) -> steadfast::health::BreakerHealth {
    health()
        .breakers
        .into_iter()
        .find(|b| b.name == name)
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn reset_all_closes_empties_and_unforces_every_breaker() {
    // Open through the attribute.
    let _ = opened(false).await;
    let _ = opened(false).await;
    assert!(matches!(
        opened(true).await,
        Err(Rejected::CircuitOpen { .. })
    ));

    FORCED_OPEN.register();
    FORCED_OPEN.force_open();

    FORCED_CLOSED.register();
    FORCED_CLOSED.force_closed();
    for _ in 0..3 {
        let _ = FORCED_CLOSED.call(|| Err::<(), _>("down"));
    }
    assert_eq!(FORCED_CLOSED.window_counts().failures, 3);

    // Half-open with a probe in flight.
    PROBING.register();
    let _ = PROBING.call(|| Err::<(), _>("down"));
    let _ = PROBING.call(|| Err::<(), _>("down"));
    tokio::time::advance(Duration::from_secs(1)).await;
    let probe = PROBING.try_acquire().unwrap();
    assert_eq!(
        (PROBING.state(), PROBING.probes_in_flight()),
        (State::HalfOpen, 1)
    );

    // A bulkhead with a call running.
    POOL.register();
    let running = POOL.try_acquire().unwrap();

    // A keyed breaker, open for one key.
    let down = PER_HOST.get(Probe::debug("down.example"));
    let _ = down.call(|| Err::<(), _>("down"));
    let _ = down.call(|| Err::<(), _>("down"));
    assert_eq!(down.state(), State::Open);

    let transitions_before = snapshot("reset-opened").transitions;
    health::reset_all();

    assert_eq!(down.state(), State::Closed, "each key's breaker is reset");
    assert_eq!(PER_HOST.len(), 1, "the key stays stored");

    for name in [
        "reset-opened",
        "reset-forced-open",
        "reset-forced-closed",
        "reset-probing",
    ] {
        let b = snapshot(name);
        assert_eq!(
            (
                b.state,
                b.forced,
                b.window_calls,
                b.window_failures,
                b.probes_in_flight
            ),
            (State::Closed, None, 0, 0, 0),
            "{name}"
        );
        assert_eq!(b.in_state_for, Some(Duration::ZERO), "{name}");
    }
    // Not reset: the transitions count goes on (the reset is one more change).
    assert_eq!(snapshot("reset-opened").transitions, transitions_before + 1);

    // The probe admitted before the reset does not move the fresh state.
    probe.failure();
    assert_eq!(PROBING.state(), State::Closed);
    assert_eq!(PROBING.window_counts().calls, 0);

    // A forced-closed breaker opens again once reset.
    for _ in 0..4 {
        let _ = FORCED_CLOSED.call(|| Err::<(), _>("down"));
    }
    assert_eq!(FORCED_CLOSED.state(), State::Open);
    assert!(opened(true).await.is_ok());

    // Not reset: a bulkhead's running calls belong to them.
    let pool = health()
        .bulkheads
        .into_iter()
        .find(|b| b.name == "reset-pool")
        .unwrap();
    assert_eq!(pool.running, 1);
    drop(running);
    assert_eq!(POOL.running(), 0);
}
