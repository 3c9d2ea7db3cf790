//! Names worked out where a policy is declared (`name_located`): the builders
//! given `module_path!()`, the method's name and a `here` function declared
//! in its body name the policy `module::Type::method`, as the attributes'
//! default names are meant to read.

mod recorder;

#[cfg(not(feature = "metrics"))]
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use recorder::Recorder;
use steadfast::name::Location;
use steadfast::{Bulkhead, CircuitBreaker, Failure, Rejected, Retry, Timeout};

/// The policies one method declares, all named after it.
struct Policies {
    breaker: &'static CircuitBreaker,
    bulkhead: &'static Bulkhead,
    retry: &'static Retry,
    timeout: &'static Timeout,
}

/// Declares a `here` function and the four policies, named after `$function`
/// of the enclosing module, in the body of the method that invokes it.
macro_rules! located_policies {
    ($function:literal) => {{
        fn here() -> &'static str {
            core::any::type_name_of_val(&here)
        }
        static AT: Location = Location::new(module_path!(), $function, here);
        static BREAKER: CircuitBreaker = CircuitBreaker::builder().name_located(&AT).build();
        static BULKHEAD: Bulkhead = Bulkhead::builder().name_located(&AT).build();
        static RETRY: Retry = Retry::builder()
            .name_located(&AT)
            .attempts(2)
            .backoff(steadfast::Backoff::fixed(Duration::from_millis(10)))
            .jitter(steadfast::Jitter::None)
            .build();
        static TIMEOUT: Timeout = Timeout::new(Duration::from_millis(50)).named_located(&AT);
        Policies {
            breaker: &BREAKER,
            bulkhead: &BULKHEAD,
            retry: &RETRY,
            timeout: &TIMEOUT,
        }
    }};
}

mod shop {
    use super::*;

    pub(crate) struct Alpha;
    pub(crate) struct Beta;
    pub(crate) struct Generic<T>(pub T);

    pub(crate) trait Lookup {
        fn lookup(&self) -> &'static CircuitBreaker;
    }

    impl Alpha {
        pub(crate) fn get(&self) -> Policies {
            located_policies!("get")
        }
    }

    impl Beta {
        pub(crate) fn get(&self) -> Policies {
            located_policies!("get")
        }
    }

    impl<T> Generic<T> {
        /// Declared inside an `async` block, as an expansion would.
        pub(crate) async fn get(&self) -> Policies {
            async { located_policies!("get") }.await
        }
    }

    impl Lookup for Beta {
        fn lookup(&self) -> &'static CircuitBreaker {
            located_policies!("lookup").breaker
        }
    }

    pub(crate) fn free() -> Policies {
        located_policies!("free")
    }
}

use shop::Lookup as _;

fn names(policies: &Policies) -> [&'static str; 4] {
    [
        policies.breaker.name(),
        policies.bulkhead.name(),
        policies.retry.name(),
        policies.timeout.name(),
    ]
}

#[test]
fn two_impls_in_one_module_give_two_names() {
    assert_eq!(
        names(&shop::Alpha.get()),
        ["health_names::shop::Alpha::get"; 4]
    );
    assert_eq!(
        names(&shop::Beta.get()),
        ["health_names::shop::Beta::get"; 4]
    );
}

#[tokio::test]
async fn generic_trait_and_free_functions() {
    assert_eq!(
        names(&shop::Generic(1u8).get().await),
        ["health_names::shop::Generic::get"; 4]
    );
    assert_eq!(
        shop::Beta.lookup().name(),
        "health_names::shop::Beta::lookup"
    );
    assert_eq!(names(&shop::free()), ["health_names::shop::free"; 4]);
}

#[tokio::test(start_paused = true)]
async fn rejections_and_events_carry_the_located_name() {
    let (recorder, _guard) = Recorder::install();
    let alpha = shop::Alpha.get();
    alpha.breaker.force_open();
    assert_eq!(
        alpha.breaker.run(async { Ok::<(), ()>(()) }).await,
        Err(Failure::Rejected(Rejected::circuit_open(
            "health_names::shop::Alpha::get"
        )))
    );
    alpha.breaker.reset();

    let slow = tokio::time::sleep(Duration::from_secs(1));
    assert!(alpha.timeout.run(slow).await.is_err());
    let timed_out = recorder.events("steadfast::timeout", "call timed out");
    assert_eq!(timed_out.len(), 1);
    assert_eq!(
        timed_out[0].field("policy"),
        "health_names::shop::Alpha::get"
    );

    let beta = shop::Beta.get();
    let result: Result<(), &str> = beta.retry.run(|| async { Err("down") }).await;
    assert_eq!(result, Err("down"));
    let retried = recorder.events("steadfast::retry", "retrying after a failed attempt");
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].field("policy"), "health_names::shop::Beta::get");

    let permit = beta.bulkhead.try_acquire();
    let full: Vec<_> = (0..10).map(|_| beta.bulkhead.try_acquire()).collect();
    assert_eq!(
        full.last().unwrap().as_ref().unwrap_err(),
        &Rejected::bulkhead_full("health_names::shop::Beta::get")
    );
    drop((permit, full));
}

#[test]
fn registered_located_breakers_and_bulkheads_are_listed_under_their_names() {
    for policies in [shop::Alpha.get(), shop::Beta.get()] {
        policies.breaker.register();
        policies.bulkhead.register();
    }
    let health = steadfast::health();
    for name in [
        "health_names::shop::Alpha::get",
        "health_names::shop::Beta::get",
    ] {
        let breaker = health.breakers.iter().find(|b| b.name == name).unwrap();
        assert!(!breaker.duplicate_name, "{name}");
        let bulkhead = health.bulkheads.iter().find(|b| b.name == name).unwrap();
        assert!(!bulkhead.duplicate_name, "{name}");
    }
}

/// How often `counted_here` ran: it is called only to work out a name.
#[cfg(not(feature = "metrics"))]
static HERE_CALLS: AtomicU32 = AtomicU32::new(0);

#[cfg(not(feature = "metrics"))]
fn counted_here() -> &'static str {
    HERE_CALLS.fetch_add(1, Ordering::Relaxed);
    core::any::type_name_of_val(&counted_here)
}

/// A successful call does not work out the name (without metrics, which
/// label every call with it).
#[cfg(not(feature = "metrics"))]
#[tokio::test(start_paused = true)]
async fn successful_calls_never_read_a_located_name() {
    static AT: Location = Location::new(module_path!(), "counted_here", counted_here);
    static BREAKER: CircuitBreaker = CircuitBreaker::builder().name_located(&AT).build();
    static BULKHEAD: Bulkhead = Bulkhead::builder().name_located(&AT).build();
    static RETRY: Retry = Retry::builder().name_located(&AT).build();
    static TIMEOUT: Timeout = Timeout::new(Duration::from_secs(1)).named_located(&AT);
    for _ in 0..3 {
        let call = async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok::<u32, std::io::Error>(1)
        };
        let guarded = BULKHEAD.wrap(BREAKER.wrap(TIMEOUT.wrap(call.into_failure()), |_| true));
        let retried = RETRY.run(|| async { Ok::<u32, ()>(2) });
        assert_eq!(guarded.await.unwrap(), 1);
        assert_eq!(retried.await, Ok(2));
    }
    assert_eq!(HERE_CALLS.load(Ordering::Relaxed), 0);
    assert_eq!(BREAKER.name(), "health_names::counted_here");
    assert_eq!(HERE_CALLS.load(Ordering::Relaxed), 1);
    assert_eq!(BREAKER.name(), "health_names::counted_here");
    assert_eq!(
        HERE_CALLS.load(Ordering::Relaxed),
        1,
        "the breaker keeps it"
    );
}

/// `Result<T, E>` as `Result<T, Failure<E, Rejected>>`, as `wrap` takes it.
#[cfg(not(feature = "metrics"))]
trait IntoFailure<T, E>: Sized {
    fn into_failure(self) -> impl Future<Output = Result<T, Failure<E, Rejected>>>;
}

#[cfg(not(feature = "metrics"))]
impl<T, E, F: Future<Output = Result<T, E>>> IntoFailure<T, E> for F {
    async fn into_failure(self) -> Result<T, Failure<E, Rejected>> {
        self.await.map_err(Failure::Error)
    }
}

struct Quotes;

impl Quotes {
    #[steadfast::fallback(|_e| Ok(0))]
    #[steadfast::retry(attempts = 2, backoff = none)]
    async fn price(&self) -> Result<u32, String> {
        Err("down".to_string())
    }
}

// The attributes on one method share its name: the fallback's events name
// `module::Type::fn` like the retry's.
#[tokio::test]
async fn a_methods_fallback_and_retry_carry_its_type() {
    let (recorder, _guard) = Recorder::install();
    assert_eq!(Quotes.price().await, Ok(0));
    let expected = concat!(module_path!(), "::Quotes::price");
    let applied = recorder.events("steadfast::fallback", "fallback applied");
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].field("policy"), expected);
    let retried = recorder.events("steadfast::retry", "retrying after a failed attempt");
    assert!(!retried.is_empty());
    assert!(retried.iter().all(|e| e.field("policy") == expected));
}
