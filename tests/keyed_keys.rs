//! `key = EXPR` through the attribute: a per-function `static` `Keyed`,
//! registered from startup, and the key adapter evaluated at the call site.
//! Every kind of key expression compiles
//! (`&str`, a `String` field that stays usable, `u64`, a user struct with or
//! without `Debug`, `Arc<str>`), keys are isolated and `health()` describes
//! them. (A call on a present key allocates nothing: `tests/alloc.rs`.)

use std::sync::Arc;

use steadfast::keyed::{Keyed, Probe};
use steadfast::{CircuitBreaker, Rejected, circuit_breaker};

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
