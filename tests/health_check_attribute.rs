//! `#[health_check]` on paused time: the attribute declares a check with its
//! arguments, `health::start_checks()` starts every declared check, and the
//! check then probes, reports and acts as `HealthCheck` does. One binary of
//! its own: `start_checks()` starts every check declared in it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use steadfast::circuit_breaker::State;
use steadfast::health::{CheckHealth, CheckStatus};
use steadfast::{circuit_breaker, health, health_check, retry};
use tokio::time::Instant;

static INVENTORY_UP: AtomicBool = AtomicBool::new(true);
static INVENTORY_PROBES: AtomicU32 = AtomicU32::new(0);

const PERIOD: Duration = Duration::from_secs(2);

/// Every 2 s (a const expression), 250 ms each, down after 2 failures, up
/// after 1 success, acting on the `inventory` breaker.
#[health_check(every = PERIOD, timeout = "250ms", failures_to_act = 2, successes_to_release = 1, breaker = "inventory")]
async fn ping_inventory() -> Result<(), String> {
    INVENTORY_PROBES.fetch_add(1, Ordering::Relaxed);
    if INVENTORY_UP.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err("inventory refused".to_owned())
    }
}

#[circuit_breaker(name = "inventory")]
async fn stock(sku: u32) -> std::io::Result<u32> {
    Ok(sku)
}

static CACHE_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Named, not gating readiness, its probe retried once (the attributes
/// below `#[health_check]` apply to each probe); the defaults otherwise
/// (every 5 s, 1 s timeout).
#[health_check(name = "cache", gates_readiness = false)]
#[retry(attempts = 2, backoff = none)]
async fn ping_cache() -> std::io::Result<()> {
    if CACHE_ATTEMPTS
        .fetch_add(1, Ordering::Relaxed)
        .is_multiple_of(2)
    {
        Err(std::io::Error::other("first attempt fails"))
    } else {
        Ok(())
    }
}

/// Hangs: every probe times out (default timeout, 1 s).
#[health_check(every = "10s", failures_to_act = 1, gates_readiness = false)]
async fn ping_hung() -> Result<(), String> {
    std::future::pending().await
}

fn check(name: &str) -> CheckHealth {
    health()
        .checks
        .into_iter()
        .find(|check| check.name == name)
        .unwrap_or_else(|| panic!("{name} not in health()"))
}

#[tokio::test(start_paused = true)]
async fn declared_checks_start_together_and_act_with_their_arguments() {
    let declared: Vec<_> = health::declared_checks().iter().map(|c| c.name()).collect();
    assert_eq!(declared.len(), 3, "{declared:?}");
    assert!(health().checks.is_empty(), "not listed before they start");

    let start = Instant::now();
    let at = |ms: u64| tokio::time::sleep_until(start + Duration::from_millis(ms));
    let handles = health::start_checks();
    assert_eq!(handles.len(), 3);

    at(10).await;
    let inventory = check("health_check_attribute::ping_inventory");
    assert_eq!(inventory.status, CheckStatus::Up);
    assert_eq!(
        (inventory.every, inventory.timeout),
        (PERIOD, Duration::from_millis(250))
    );
    assert_eq!(inventory.breaker, Some("inventory"));
    assert!(inventory.gates_readiness);
    let cache = check("cache");
    assert_eq!(cache.status, CheckStatus::Up, "the retry inside the probe");
    assert!(!cache.gates_readiness);
    assert_eq!(
        (cache.every, cache.timeout),
        (Duration::from_secs(5), Duration::from_secs(1))
    );
    assert!(health().ready());

    // Down after two failed probes (at 2 s and 4 s): the breaker held open.
    INVENTORY_UP.store(false, Ordering::Relaxed);
    at(2010).await;
    assert_eq!(INVENTORY_PROBES.load(Ordering::Relaxed), 2);
    assert_eq!(
        check("health_check_attribute::ping_inventory").status,
        CheckStatus::Up
    );
    at(4010).await;
    let inventory = check("health_check_attribute::ping_inventory");
    assert_eq!(inventory.status, CheckStatus::Down);
    assert_eq!(inventory.last_error.as_deref(), Some("inventory refused"));
    assert!(stock(1).await.is_err(), "held open");
    assert!(!health().ready());
    assert!(health().live());

    // The hung probe timed out at 1 s: down, but it gates nothing.
    let hung = check("health_check_attribute::ping_hung");
    assert_eq!(hung.status, CheckStatus::Down);
    assert_eq!(hung.last_error.as_deref(), Some("timed out after 1s"));

    // One success (at 6 s) releases the breaker.
    INVENTORY_UP.store(true, Ordering::Relaxed);
    at(6010).await;
    assert_eq!(
        check("health_check_attribute::ping_inventory").status,
        CheckStatus::Up
    );
    let breaker = health::breaker("inventory").unwrap().only().unwrap();
    assert_eq!((breaker.forced(), breaker.state()), (None, State::Closed));
    assert_eq!(stock(2).await.unwrap(), 2);
    assert!(health().ready());

    // The probe fn is still an ordinary fn.
    assert!(ping_inventory().await.is_ok());
    for handle in handles {
        handle.abort();
    }
}
