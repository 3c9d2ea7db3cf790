//! `shared = EXPR` on `#[circuit_breaker]` and `#[bulkhead]`: one policy per
//! instance (`self.breaker`, an `Arc` field), one built at run time from
//! configuration (`&*FROM_CONFIG`), one found in the user's own registry, and
//! the existing `shared = STATIC`; the expression is evaluated on each call.
//! (`#[rate_limit]`'s cases are in `tests/rate_limit.rs`; a `shared`
//! expression of the wrong type is `tests/ui/*-shared-*wrong-type.rs`.)

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, LazyLock};

use common::secs;
use steadfast::{Bulkhead, CircuitBreaker, Rejected, bulkhead, circuit_breaker};
use tokio::sync::Semaphore;

fn outage() -> Rejected {
    Rejected::timeout(secs(1))
}

/// A client with a breaker of its own and a pool it may share with others.
struct Client {
    breaker: CircuitBreaker,
    pool: Arc<Bulkhead>,
}

impl Client {
    fn new(name: &'static str, pool: Arc<Bulkhead>) -> Self {
        Client {
            breaker: CircuitBreaker::builder()
                .name(name)
                .window_calls(2)
                .min_calls(2)
                .open_for(secs(10))
                .build(),
            pool,
        }
    }

    #[circuit_breaker(shared = self.breaker)]
    #[bulkhead(shared = self.pool)]
    async fn call(&self, up: bool, gate: Option<&Semaphore>) -> Result<(), Rejected> {
        if let Some(gate) = gate {
            let _permit = gate.acquire().await.unwrap();
        }
        if up { Ok(()) } else { Err(outage()) }
    }
}

/// `shared = self.breaker`: each instance has its own breaker (one client's
/// outage opens only its breaker, and the rejection names it), while
/// `shared = self.pool` (an `Arc<Bulkhead>` field, dereferenced) lets two
/// clients share one pool.
#[tokio::test(start_paused = true)]
async fn self_fields_give_per_instance_breakers_and_a_shared_pool() {
    let pool = Arc::new(
        Bulkhead::builder()
            .name("shared-pool")
            .max_concurrent(1)
            .max_queue(0)
            .build(),
    );
    let (a, b) = (
        Client::new("client-a", pool.clone()),
        Client::new("client-b", pool),
    );
    for _ in 0..2 {
        let _ = a.call(false, None).await;
    }
    assert_eq!(
        a.call(true, None).await,
        Err(Rejected::circuit_open("client-a"))
    );
    assert_eq!(b.call(true, None).await, Ok(()), "b's breaker is its own");

    let gate = Semaphore::new(0);
    let (held, refused) = tokio::join!(b.call(true, Some(&gate)), async {
        let refused = b.call(true, None).await;
        gate.add_permits(1);
        refused
    });
    assert_eq!(held, Ok(()));
    assert_eq!(
        refused,
        Err(Rejected::bulkhead_full("shared-pool")),
        "one pool for both clients"
    );
}

static FROM_CONFIG: LazyLock<CircuitBreaker> = LazyLock::new(|| {
    let window = std::env::var("STEADFAST_TEST_WINDOW").map_or(3, |w| w.parse().unwrap());
    CircuitBreaker::builder()
        .name("configured")
        .window_calls(window)
        .min_calls(window)
        .build()
});

#[circuit_breaker(shared = &*FROM_CONFIG)]
async fn configured(up: bool) -> Result<(), Rejected> {
    if up { Ok(()) } else { Err(outage()) }
}

/// `shared = &*FROM_CONFIG`: a breaker built at run time, at first use.
#[tokio::test(start_paused = true)]
async fn a_lazy_lock_breaker_built_from_configuration_is_used() {
    for _ in 0..3 {
        let _ = configured(false).await;
    }
    assert_eq!(
        configured(true).await,
        Err(Rejected::circuit_open("configured"))
    );
    assert_eq!(FROM_CONFIG.window_counts().failures, 3);
}

/// The user's own registry of bulkheads, by name.
struct Pools(HashMap<&'static str, Bulkhead>);

static POOLS: LazyLock<Pools> = LazyLock::new(|| {
    Pools(
        ["db", "cache"]
            .into_iter()
            .map(|name| {
                (
                    name,
                    Bulkhead::builder()
                        .name(name)
                        .max_concurrent(1)
                        .max_queue(0)
                        .build(),
                )
            })
            .collect(),
    )
});

static LOOKUPS: AtomicU32 = AtomicU32::new(0);

impl Pools {
    fn get(&self, name: &str) -> &Bulkhead {
        LOOKUPS.fetch_add(1, SeqCst);
        &self.0[name]
    }
}

#[bulkhead(shared = POOLS.get(pool))]
async fn query(pool: &str, gate: &Semaphore) -> Result<(), Rejected> {
    let _permit = gate.acquire().await.unwrap();
    Ok(())
}

/// `shared = POOLS.get(pool)`: evaluated on each call, from the arguments.
#[tokio::test(start_paused = true)]
async fn a_registry_lookup_is_evaluated_per_call() {
    let gate = Semaphore::new(0);
    let before = LOOKUPS.load(SeqCst);
    let (db, db_again, cache) = tokio::join!(query("db", &gate), query("db", &gate), async {
        let cache = query("cache", &Semaphore::new(1)).await;
        gate.add_permits(2);
        cache
    });
    assert_eq!(db, Ok(()));
    assert_eq!(db_again, Err(Rejected::bulkhead_full("db")));
    assert_eq!(cache, Ok(()), "cache is another pool");
    assert_eq!(LOOKUPS.load(SeqCst) - before, 3, "one lookup per call");
}

static PAYMENTS: CircuitBreaker = CircuitBreaker::builder()
    .name("shared-static")
    .window_calls(2)
    .min_calls(2)
    .build();

#[circuit_breaker(shared = PAYMENTS)]
async fn charge(up: bool) -> Result<(), Rejected> {
    if up { Ok(()) } else { Err(outage()) }
}

/// `shared = STATIC` keeps working, and such a breaker is in `health()` once
/// called.
#[tokio::test(start_paused = true)]
async fn shared_static_keeps_working_and_is_listed() {
    for _ in 0..2 {
        let _ = charge(false).await;
    }
    assert_eq!(
        charge(true).await,
        Err(Rejected::circuit_open("shared-static"))
    );
    assert!(
        steadfast::health()
            .breakers
            .iter()
            .any(|b| b.name == "shared-static")
    );
}

#[circuit_breaker(shared = breaker)]
async fn through(breaker: &CircuitBreaker, up: bool) -> Result<(), Rejected> {
    if up { Ok(()) } else { Err(outage()) }
}

/// `shared = breaker` naming an argument is an expression evaluated per call
/// (not a `static`): each caller passes the breaker to use.
#[tokio::test(start_paused = true)]
async fn shared_naming_an_argument_uses_the_breaker_passed() {
    let (a, b) = (
        CircuitBreaker::builder()
            .name("arg-a")
            .window_calls(2)
            .min_calls(2)
            .build(),
        CircuitBreaker::builder().name("arg-b").build(),
    );
    for _ in 0..2 {
        let _ = through(&a, false).await;
    }
    assert_eq!(
        through(&a, true).await,
        Err(Rejected::circuit_open("arg-a"))
    );
    assert_eq!(through(&b, true).await, Ok(()));
}
