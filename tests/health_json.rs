//! The `health()` JSON (cargo feature `serde`): its exact field names and
//! value types, as documented on `health()`, so that a rename fails here.

use std::time::Duration;

use serde_json::{Value, json};
use steadfast::{Bulkhead, CircuitBreaker, RateLimiter, health};

static JSON_BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .name("json-breaker")
    .window_calls(2)
    .build();
static JSON_POOL: Bulkhead = Bulkhead::builder()
    .name("json-pool")
    .max_concurrent(3)
    .max_queue(5)
    .build();
static JSON_QUOTA: RateLimiter = RateLimiter::builder()
    .name("json-quota")
    .rate(10)
    .per(Duration::from_secs(60))
    .burst(3)
    .max_wait(Duration::from_millis(250))
    .build();

fn entry<'a>(json: &'a Value, list: &str, name: &str) -> &'a Value {
    json[list]
        .as_array()
        .unwrap_or_else(|| panic!("`{list}` is not an array: {json}"))
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}: {json}"))
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_serializes_with_the_documented_field_names() {
    JSON_BREAKER.register();
    JSON_POOL.register();
    let _ = JSON_BREAKER.call(|| Err::<(), _>("down"));
    let _ = JSON_BREAKER.call(|| Err::<(), _>("down"));
    tokio::time::advance(Duration::from_millis(1500)).await;
    let running = JSON_POOL.try_acquire().unwrap();
    JSON_QUOTA.register();
    JSON_QUOTA.try_acquire().unwrap();

    let json = serde_json::to_value(health()).unwrap();
    assert_eq!(
        keys(&json),
        [
            "breakers",
            "budgets",
            "bulkheads",
            "checks",
            "elections",
            "keyed",
            "memberships",
            "rate_limiters"
        ]
    );

    let breaker = entry(&json, "breakers", "json-breaker");
    assert_eq!(
        keys(breaker),
        [
            "config",
            "duplicate_name",
            "forced",
            "in_state_for_ms",
            "name",
            "probes_in_flight",
            "shared",
            "state",
            "store_failures",
            "store_healthy",
            "transitions",
            "window_calls",
            "window_failures",
            "window_slow",
        ]
    );
    assert_eq!(
        breaker,
        &json!({
            "name": "json-breaker",
            "duplicate_name": false,
            "state": "open",
            "forced": null,
            "window_calls": 2,
            "window_failures": 2,
            "window_slow": 0,
            "probes_in_flight": 0,
            "in_state_for_ms": 1500,
            "transitions": 1,
            "shared": false,
            "store_failures": 0,
            "store_healthy": true,
            "config": {
                "failure_ratio": 0.5,
                "window_calls": 2,
                "window_ms": null,
                "min_calls": 2,
                "consecutive_failures": 0,
                "slow_call_ms": null,
                "slow_ratio": 1.0,
                "open_for_ms": 5_000,
                "half_open_probes": 1,
            },
        })
    );

    let pool = entry(&json, "bulkheads", "json-pool");
    assert_eq!(
        pool,
        &json!({
            "name": "json-pool",
            "duplicate_name": false,
            "running": 1,
            "waiting": 0,
            "max_concurrent": 3,
            "max_queue": 5,
            "max_wait_ms": null,
        })
    );
    drop(running);

    let quota = entry(&json, "rate_limiters", "json-quota");
    assert_eq!(
        quota,
        &json!({
            "name": "json-quota",
            "duplicate_name": false,
            "rate": 10,
            "per_ms": 60_000,
            "burst": 3,
            "max_wait_ms": 250,
            "available": 2,
            "shared": false,
            "store_failures": 0,
            "store_healthy": true,
        })
    );

    // A state forced by hand, and a breaker that never changed state.
    JSON_BREAKER.force_closed();
    let json = serde_json::to_value(health()).unwrap();
    assert_eq!(entry(&json, "breakers", "json-breaker")["forced"], "closed");
    static NEVER_CHANGED: CircuitBreaker = CircuitBreaker::builder().name("json-fresh").build();
    NEVER_CHANGED.register();
    let json = serde_json::to_value(health()).unwrap();
    assert_eq!(
        entry(&json, "breakers", "json-fresh")["in_state_for_ms"],
        Value::Null
    );
}
