//! `key = EXPR` and `max_keys` on `#[circuit_breaker]`, `#[bulkhead]` and
//! `#[rate_limit]`, as users write them: keys isolated, the key expression
//! borrowed (never moved), memory bounded under 10,000 distinct keys,
//! eviction that never drops a state with a call in flight and forgets closed
//! breakers before open ones, and the keyed policies in `health()`.
//!
//! Each test has its own annotated function (one keyed map per function).

mod common;

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use common::secs;
use steadfast::{Rejected, bulkhead, circuit_breaker, rate_limit};
use tokio::sync::Semaphore;
use tokio::time::advance;

/// The keyed policy called `name` in `health()`.
fn keyed(name: &str) -> steadfast::health::KeyedHealth {
    steadfast::health()
        .keyed
        .into_iter()
        .find(|k| k.name == name)
        .unwrap_or_else(|| panic!("{name} is not listed in health()"))
}

// ---------------------------------------------------------------------------
// Keys isolated
// ---------------------------------------------------------------------------

#[circuit_breaker(key = host, window = 2, min_calls = 2, open_for = "30s", name = "keyed::hosts")]
async fn per_host(host: &str, up: bool) -> Result<String, Rejected> {
    if up {
        Ok(host.to_owned())
    } else {
        Err(Rejected::timeout(secs(1)))
    }
}

/// One host failing opens its own breaker only; the key is a `&str`,
/// borrowed from the caller (stored as a `String`), and a `String` built at
/// run time with the same text finds the same breaker.
#[tokio::test(start_paused = true)]
async fn a_failing_key_opens_only_its_own_breaker() {
    for _ in 0..2 {
        let _ = per_host("down", false).await;
    }
    let same_text = String::from("do") + "wn";
    assert!(matches!(
        per_host(&same_text, true).await,
        Err(Rejected::CircuitOpen {
            name: "keyed::hosts",
            ..
        })
    ));
    assert_eq!(per_host("up", true).await.unwrap(), "up");
    let listed = keyed("keyed::hosts");
    assert_eq!(listed.keys, 2);
    assert_eq!(listed.not_closed.len(), 1, "{listed:?}");
    assert!(listed.not_closed[0].key.contains("down"), "{listed:?}");
    advance(secs(30)).await;
    assert_eq!(
        per_host("down", true).await.unwrap(),
        "down",
        "the probe closes it"
    );
    assert!(keyed("keyed::hosts").not_closed.is_empty());
}

struct Request {
    tenant: String,
    body: u32,
}

#[rate_limit(rate = 1, per = "1m", key = req.tenant)]
async fn per_tenant(req: &Request) -> Result<u32, Rejected> {
    Ok(req.body)
}

#[rate_limit(rate = 1, per = "1m", key = req.tenant)]
async fn per_tenant_owned(req: Request) -> Result<String, Rejected> {
    // The key expression borrowed the field: it is still here to move.
    Ok(req.tenant)
}

/// `key = req.tenant` (a `String` field): each tenant has its own limit, and
/// the field is borrowed, so a body that takes the request by value still
/// owns it.
#[tokio::test(start_paused = true)]
async fn each_tenant_has_its_own_limit_and_the_key_is_not_moved() {
    let acme = || Request {
        tenant: "acme".into(),
        body: 1,
    };
    let globex = Request {
        tenant: "globex".into(),
        body: 2,
    };
    assert_eq!(per_tenant(&acme()).await, Ok(1));
    assert!(matches!(
        per_tenant(&acme()).await,
        Err(Rejected::RateLimited { .. })
    ));
    assert_eq!(per_tenant(&globex).await, Ok(2));
    assert_eq!(per_tenant_owned(acme()).await, Ok("acme".to_owned()));
}

#[bulkhead(max_concurrent = 1, max_queue = 0, key = shard)]
async fn per_shard(shard: u64, gate: &'static Semaphore) -> Result<u64, Rejected> {
    let _permit = gate.acquire().await.unwrap();
    Ok(shard)
}

/// A `u64` key: each shard has its own slot.
#[tokio::test(start_paused = true)]
async fn each_shard_has_its_own_bulkhead() {
    static GATE: Semaphore = Semaphore::const_new(0);
    let first = tokio::spawn(per_shard(1, &GATE));
    tokio::task::yield_now().await;
    assert!(matches!(
        per_shard(1, &GATE).await,
        Err(Rejected::BulkheadFull { .. })
    ));
    let other = tokio::spawn(per_shard(2, &GATE));
    tokio::task::yield_now().await;
    GATE.add_permits(2);
    assert_eq!(first.await.unwrap(), Ok(1));
    assert_eq!(
        other.await.unwrap(),
        Ok(2),
        "shard 2 was not blocked by shard 1"
    );
}

// ---------------------------------------------------------------------------
// max_keys
// ---------------------------------------------------------------------------

#[rate_limit(rate = 1, per = "1h", key = id, max_keys = 64, name = "keyed::churn")]
async fn churn(id: u64) -> Result<u64, Rejected> {
    Ok(id)
}

/// 10,000 distinct keys from 8 tasks on 4 threads: the map never holds more
/// than `max_keys` states (checked while they run and at the end), and every
/// new key starts with a full bucket (each first call is admitted).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_keys_is_never_exceeded_under_ten_thousand_distinct_keys() {
    let tasks: Vec<_> = (0..8u64)
        .map(|t| {
            tokio::spawn(async move {
                let mut most = 0;
                for i in 0..1_250u64 {
                    assert_eq!(churn(t * 1_250 + i).await, Ok(t * 1_250 + i));
                    if i % 50 == 0 {
                        most = most.max(keyed("keyed::churn").keys);
                    }
                }
                most
            })
        })
        .collect();
    for task in tasks {
        let most = task.await.unwrap();
        assert!(most <= 64, "{most} keys held at once");
    }
    let listed = keyed("keyed::churn");
    assert_eq!(listed.keys, 64, "full, never over");
    assert_eq!(listed.max_keys, 64);
}

#[bulkhead(max_concurrent = 1, max_queue = 0, key = id, max_keys = 4)]
async fn held(
    id: u64,
    gate: &'static Semaphore,
    entered: &'static AtomicU32,
) -> Result<u64, Rejected> {
    entered.fetch_add(1, SeqCst);
    let _permit = gate.acquire().await.unwrap();
    Ok(id)
}

/// A call in flight keeps its key's state: while key 0's call holds its only
/// slot, 10,000 other keys churn through a map of 4; afterwards key 0's
/// bulkhead is still the one with the slot taken (a second call on key 0 is
/// refused), and once the call ends the slot comes back.
#[tokio::test(start_paused = true)]
async fn eviction_never_drops_a_state_with_a_call_in_flight() {
    static GATE: Semaphore = Semaphore::const_new(0);
    static OPEN: Semaphore = Semaphore::const_new(1_000_000);
    static ENTERED: AtomicU32 = AtomicU32::new(0);
    let in_flight = tokio::spawn(held(0, &GATE, &ENTERED));
    tokio::task::yield_now().await;
    assert_eq!(ENTERED.load(SeqCst), 1);
    for id in 1..=10_000 {
        assert_eq!(held(id, &OPEN, &ENTERED).await, Ok(id));
    }
    assert!(
        matches!(
            held(0, &OPEN, &ENTERED).await,
            Err(Rejected::BulkheadFull { .. })
        ),
        "key 0's state, with its call in flight, survived the churn"
    );
    GATE.add_permits(1);
    assert_eq!(in_flight.await.unwrap(), Ok(0));
    assert_eq!(held(0, &OPEN, &ENTERED).await, Ok(0));
}

#[circuit_breaker(key = id, window = 1, min_calls = 1, open_for = "1h", max_keys = 2, name = "keyed::order")]
async fn ordered(id: u32, up: bool) -> Result<u32, Rejected> {
    if up {
        Ok(id)
    } else {
        Err(Rejected::timeout(secs(1)))
    }
}

/// Closed breakers are evicted before open ones, even when the open one has
/// been idle longer: key 1 opens, key 2 is used later and stays closed; key 3
/// arrives and evicts key 2, so key 1 still rejects.
#[tokio::test(start_paused = true)]
async fn closed_breakers_are_evicted_before_open_ones_and_idle_longest_first() {
    assert!(ordered(1, false).await.is_err());
    assert!(matches!(
        ordered(1, true).await,
        Err(Rejected::CircuitOpen { .. })
    ));
    assert_eq!(ordered(2, true).await, Ok(2));
    assert_eq!(ordered(3, true).await, Ok(3));
    assert!(
        matches!(ordered(1, true).await, Err(Rejected::CircuitOpen { .. })),
        "the open breaker was kept"
    );
    let listed = keyed("keyed::order");
    assert_eq!((listed.keys, listed.not_closed.len()), (2, 1));
}

#[rate_limit(rate = 1, per = "1h", key = id, max_keys = 2)]
async fn lru(id: char) -> Result<char, Rejected> {
    Ok(id)
}

/// The state idle longest goes first: `a` and `b` spend their hour, `a` is
/// used again (refused, but used), so `c` evicts `b`: `a` is still spent and
/// `b` starts afresh with a full bucket.
#[tokio::test(start_paused = true)]
async fn the_state_idle_longest_is_evicted_first() {
    assert_eq!(lru('a').await, Ok('a'));
    assert_eq!(lru('b').await, Ok('b'));
    assert!(lru('a').await.is_err());
    assert_eq!(lru('c').await, Ok('c'));
    assert!(
        lru('a').await.is_err(),
        "a was used more recently than b: kept"
    );
    assert_eq!(lru('b').await, Ok('b'), "b was evicted: it starts afresh");
}
