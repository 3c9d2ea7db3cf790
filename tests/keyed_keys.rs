//! `key = EXPR` through the attribute: a per-function `static` `Keyed`,
//! registered from startup, and the key adapter evaluated at the call site.
//! Every kind of key expression compiles
//! (`&str`, a `String` field that stays usable, `u64`, a user struct with or
//! without `Debug`, `Arc<str>`), keys are isolated, `health()` describes them,
//! and a call on a present key allocates nothing.

// `GlobalAlloc` is an unsafe trait: the counting allocator (as in
// `tests/alloc.rs`) only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use steadfast::keyed::{Keyed, Probe};
use steadfast::{CircuitBreaker, Rejected, circuit_breaker};

// ---------------------------------------------------------------- allocator

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn record() {
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------- functions

/// The body's own error, or a rejection.
#[derive(Debug, PartialEq)]
enum Error {
    Down,
    Rejected(Rejected),
}

impl From<Rejected> for Error {
    fn from(rejected: Rejected) -> Self {
        Error::Rejected(rejected)
    }
}

type Outcome = Result<u32, Error>;

async fn body(fail: bool) -> Outcome {
    if fail { Err(Error::Down) } else { Ok(1) }
}

#[circuit_breaker(key = host, window = 2, min_calls = 2, name = "keys-host")]
async fn by_host(host: &str, fail: bool) -> Outcome {
    body(fail).await
}

struct Request {
    tenant: String,
}

#[circuit_breaker(key = request.tenant, window = 2, min_calls = 2, name = "keys-field")]
async fn by_tenant_field(request: &Request, fail: bool) -> Outcome {
    body(fail).await
}

#[circuit_breaker(key = request.tenant, window = 2, min_calls = 2, name = "keys-owned-field")]
async fn by_owned_field(request: Request, fail: bool) -> Outcome {
    let outcome = body(fail).await;
    // The key expression borrowed the field: it is still ours.
    drop(request.tenant);
    outcome
}

#[circuit_breaker(key = id, window = 2, min_calls = 2, name = "keys-u64")]
async fn by_number(id: u64, fail: bool) -> Outcome {
    body(fail).await
}

#[derive(Debug, Hash, PartialEq, Eq, Clone)]
struct TenantId(u32);

#[circuit_breaker(key = tenant, window = 2, min_calls = 2, name = "keys-struct")]
async fn by_tenant(tenant: TenantId, fail: bool) -> Outcome {
    body(fail).await
}

#[circuit_breaker(key = tenant, window = 2, min_calls = 2, name = "keys-struct-ref")]
async fn by_tenant_ref(tenant: &TenantId, fail: bool) -> Outcome {
    body(fail).await
}

/// A key type without `Debug`: described by its type name and a hash.
#[derive(Hash, PartialEq, Eq, Clone)]
struct Region(u8);

// A reference to a key type without `Debug` is keyed by its value.
#[circuit_breaker(key = *region, window = 2, min_calls = 2, name = "keys-no-debug")]
async fn by_region(region: &Region, fail: bool) -> Outcome {
    body(fail).await
}

#[circuit_breaker(key = name, window = 2, min_calls = 2, name = "keys-arc-str")]
async fn by_shared_name(name: Arc<str>, fail: bool) -> Outcome {
    body(fail).await
}

/// Two failures open one key's breaker; the other key's still runs.
async fn isolated<K: Clone>(
    call: impl Fn(K, bool) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome>>>,
    down: K,
    up: K,
    name: &'static str,
) {
    for _ in 0..2 {
        assert_eq!(call(down.clone(), true).await, Err(Error::Down));
    }
    assert_eq!(
        call(down.clone(), false).await,
        Err(Error::Rejected(Rejected::circuit_open(name))),
        "{name}: the failing key's breaker is open"
    );
    assert_eq!(
        call(up, false).await,
        Ok(1),
        "{name}: the other key's is not"
    );
}

#[tokio::test(start_paused = true)]
async fn every_kind_of_key_expression_compiles_and_isolates() {
    isolated(
        |k: &'static str, f| Box::pin(by_host(k, f)),
        "a",
        "b",
        "keys-host",
    )
    .await;
    isolated(
        |k: String, f| Box::pin(async move { by_tenant_field(&Request { tenant: k }, f).await }),
        "acme".to_string(),
        "globex".to_string(),
        "keys-field",
    )
    .await;
    isolated(
        |k: String, f| Box::pin(by_owned_field(Request { tenant: k }, f)),
        "acme".to_string(),
        "globex".to_string(),
        "keys-owned-field",
    )
    .await;
    isolated(|k: u64, f| Box::pin(by_number(k, f)), 7, 8, "keys-u64").await;
    isolated(
        |k: TenantId, f| Box::pin(by_tenant(k, f)),
        TenantId(1),
        TenantId(2),
        "keys-struct",
    )
    .await;
    isolated(
        |k: TenantId, f| Box::pin(async move { by_tenant_ref(&k, f).await }),
        TenantId(1),
        TenantId(2),
        "keys-struct-ref",
    )
    .await;
    isolated(
        |k: Region, f| Box::pin(async move { by_region(&k, f).await }),
        Region(1),
        Region(2),
        "keys-no-debug",
    )
    .await;
    isolated(
        |k: Arc<str>, f| Box::pin(by_shared_name(k, f)),
        Arc::from("eu"),
        Arc::from("us"),
        "keys-arc-str",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_str_key_and_a_string_key_of_the_same_text_are_one_key() {
    static STATE: Keyed<CircuitBreaker> = Keyed::new(CircuitBreaker::builder().name("keys-one"), 8);
    let owned = String::from("same");
    let borrowed: &str = "same";
    let a = STATE.get(Probe::debug(owned.as_str()));
    let b = STATE.get(Probe::debug(borrowed));
    assert!(steadfast::keyed::Held::same(&a, &b));
    assert_eq!(STATE.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn health_lists_the_keyed_policy_from_startup_and_describes_its_keys() {
    fn listed(name: &str) -> Option<steadfast::health::KeyedHealth> {
        steadfast::health()
            .keyed
            .into_iter()
            .find(|k| k.name == name)
    }
    // `register_keyed!` listed these before their first call.
    let startup = listed("keys-health").expect("listed from startup");
    assert_eq!((startup.keys, startup.max_keys), (0, 1024));
    assert!(listed("keys-health-no-debug").is_some());

    #[circuit_breaker(key = host, window = 2, min_calls = 2, name = "keys-health")]
    async fn call(host: &str, fail: bool) -> Outcome {
        body(fail).await
    }
    #[circuit_breaker(key = *region, window = 2, min_calls = 2, name = "keys-health-no-debug")]
    async fn call_region(region: &Region, fail: bool) -> Outcome {
        body(fail).await
    }
    for _ in 0..2 {
        let _ = call("down.example", true).await;
        let _ = call_region(&Region(9), true).await;
    }
    call("up.example", false).await.unwrap();
    let host = listed("keys-health").unwrap();
    assert_eq!((host.kind, host.keys), ("circuit_breaker", 2));
    assert_eq!(host.not_closed.len(), 1);
    assert_eq!(host.not_closed[0].key, "\"down.example\"");
    assert_eq!(host.not_closed[0].state.as_str(), "open");
    let region = listed("keys-health-no-debug").unwrap();
    assert!(
        region.not_closed[0].key.starts_with("keyed_keys::Region #"),
        "{}",
        region.not_closed[0].key
    );
}

#[test]
fn the_call_future_stays_send() {
    fn send<T: Send>(_: &T) {}
    let request = Request { tenant: "t".into() };
    send(&by_host("a", false));
    send(&by_tenant_field(&request, false));
    send(&by_number(1, false));
    send(&by_shared_name(Arc::from("x"), false));
}

/// Allocations made on this thread by `calls` calls of `call`, after a
/// warm-up call that stores the key.
fn allocations<F: std::future::Future<Output = Outcome>>(
    calls: u32,
    mut call: impl FnMut() -> F,
) -> u64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        call().await.unwrap();
        ALLOCATIONS.with(|n| n.set(0));
        COUNTING.with(|c| c.set(true));
        for _ in 0..calls {
            call().await.unwrap();
        }
        COUNTING.with(|c| c.set(false));
        ALLOCATIONS.with(Cell::get)
    })
}

#[test]
fn a_call_on_a_present_key_allocates_nothing() {
    // Keys of their own: the other tests open breakers of these functions.
    let request = Request {
        tenant: "alloc-tenant".into(),
    };
    assert_eq!(allocations(1000, || by_host("alloc.example", false)), 0);
    assert_eq!(allocations(1000, || by_tenant_field(&request, false)), 0);
    assert_eq!(allocations(1000, || by_number(4242, false)), 0);
    assert_eq!(allocations(1000, || by_tenant(TenantId(4242), false)), 0);
    // The counter counts: a new key allocates its state (and its `String`).
    let mut fresh = 0_u64;
    let new_keys = allocations(10, || {
        fresh += 1;
        let host = format!("new-{fresh}.example");
        async move { by_host(&host, false).await }
    });
    assert!(new_keys >= 10, "{new_keys}");
}

#[test]
fn a_use_with_on_a_present_key_allocates_nothing() {
    static STATE: Keyed<CircuitBreaker> =
        Keyed::new(CircuitBreaker::builder().name("keys-with"), 8);
    let admit = |id: u64| STATE.with(Probe::debug(&id), |b| b.try_acquire().is_ok());
    assert!(admit(1), "the miss stores the key");
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let admitted = (0..1000).filter(|_| admit(1)).count();
    COUNTING.with(|c| c.set(false));
    assert_eq!(admitted, 1000);
    assert_eq!(ALLOCATIONS.with(Cell::get), 0);
}
