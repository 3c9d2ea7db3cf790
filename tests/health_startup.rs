//! `health()` lists the attributes' per-function breakers and bulkheads from
//! the start of the process: the expansion submits each `static` with
//! `register_breaker!` / `register_bulkhead!`. The functions below are that
//! expansion written by hand, and none of them is ever called. A `static`
//! retry budget submitted with `register_retry_budget!` is listed from the
//! start too.
//!
//! One test only: the registry takes the startup submissions in on its first
//! use in the process, and that is when their duplicate names are reported;
//! the test must be that first use to see the warning.

// The submissions must work in crates that forbid `unsafe`.
#![forbid(unsafe_code)]

mod recorder;

use std::time::Duration;

use recorder::Recorder;

/// What `#[circuit_breaker(name = "startup-generic")]` would expand to in a
/// generic `async fn`: the `static` and its submission inside the body.
#[allow(dead_code)]
async fn generic_never_called<T: Send>(value: T) -> Result<T, steadfast::Rejected> {
    let guarded = {
        static __STEADFAST_BREAKER: ::steadfast::__private::CircuitBreaker =
            ::steadfast::__private::CircuitBreaker::builder()
                .name("startup-generic")
                .build();
        ::steadfast::__private::register_breaker!(__STEADFAST_BREAKER);
        ::steadfast::__private::breaker(&__STEADFAST_BREAKER)
    };
    guarded
        .run(async { Ok::<T, steadfast::Rejected>(value) })
        .await
        .map_err(steadfast::Failure::into_error)
}

/// A method, with the default name worked out from a `here` function in an
/// `async` block, as an expansion writes it.
#[allow(dead_code)]
struct Warehouse;

#[allow(dead_code)]
impl Warehouse {
    async fn reserve(&self) -> Result<(), steadfast::Rejected> {
        async {
            fn __steadfast_here() -> &'static str {
                ::core::any::type_name_of_val(&__steadfast_here)
            }
            static __STEADFAST_LOCATION: ::steadfast::__private::Location =
                ::steadfast::__private::Location::new(
                    ::core::module_path!(),
                    "reserve",
                    __steadfast_here,
                );
            static __STEADFAST_BULKHEAD: ::steadfast::__private::Bulkhead =
                ::steadfast::__private::Bulkhead::builder()
                    .name_located(&__STEADFAST_LOCATION)
                    .max_concurrent(4)
                    .build();
            ::steadfast::__private::register_bulkhead!(__STEADFAST_BULKHEAD);
            static __STEADFAST_BREAKER: ::steadfast::__private::CircuitBreaker =
                ::steadfast::__private::CircuitBreaker::builder()
                    .name_located(&__STEADFAST_LOCATION)
                    .open_for(Duration::from_secs(1))
                    .build();
            ::steadfast::__private::register_breaker!(__STEADFAST_BREAKER);
            let _ = ::steadfast::__private::bulkhead(&__STEADFAST_BULKHEAD);
            let _ = ::steadfast::__private::breaker(&__STEADFAST_BREAKER);
            Ok(())
        }
        .await
    }
}

/// steadfast re-exported by another crate, as `crate = "toolkit::steadfast"`
/// names it.
mod toolkit {
    pub(crate) use ::steadfast;
}

#[allow(dead_code)]
fn through_a_reexport() {
    static __STEADFAST_BULKHEAD: toolkit::steadfast::__private::Bulkhead =
        toolkit::steadfast::__private::Bulkhead::builder()
            .name("startup-reexported")
            .build();
    toolkit::steadfast::__private::register_bulkhead!(__STEADFAST_BULKHEAD);
}

/// Two functions whose breakers share a name, neither ever called.
#[allow(dead_code)]
fn twin_one() {
    static __STEADFAST_BREAKER: ::steadfast::__private::CircuitBreaker =
        ::steadfast::__private::CircuitBreaker::builder()
            .name("startup-twin")
            .build();
    ::steadfast::__private::register_breaker!(__STEADFAST_BREAKER);
}

#[allow(dead_code)]
fn twin_two() {
    static __STEADFAST_BREAKER: ::steadfast::__private::CircuitBreaker =
        ::steadfast::__private::CircuitBreaker::builder()
            .name("startup-twin")
            .build();
    ::steadfast::__private::register_breaker!(__STEADFAST_BREAKER);
}

/// A `static` at module level, listed from startup and also registered on
/// its first call (as a `shared = …` breaker is): listed once.
static MODULE_LEVEL: steadfast::CircuitBreaker = steadfast::CircuitBreaker::builder()
    .name("startup-module-level")
    .build();
steadfast::register_breaker!(MODULE_LEVEL);

/// A retry budget no call ever draws from, listed from startup (in a
/// function body, as the other macros allow).
#[allow(dead_code)]
fn budget_never_used() {
    static STARTUP_BUDGET: steadfast::RetryBudget = steadfast::RetryBudget::builder()
        .name("startup-budget")
        .ratio(0.1)
        .min_per_sec(3)
        .build();
    steadfast::register_retry_budget!(STARTUP_BUDGET);
}

/// A module-level budget, listed from startup and also registered by hand
/// later (as its first `#[retry(budget = …)]` call would): listed once.
static MODULE_BUDGET: steadfast::RetryBudget = steadfast::RetryBudget::builder()
    .name("startup-module-budget")
    .build();
steadfast::register_retry_budget!(MODULE_BUDGET);

#[test]
fn policies_are_listed_from_startup_before_any_call() {
    let (recorder, _guard) = Recorder::install();
    let health = steadfast::health();
    let breakers: Vec<(&str, bool)> = health
        .breakers
        .iter()
        .map(|b| (b.name, b.duplicate_name))
        .collect();
    let bulkheads: Vec<(&str, bool, u32)> = health
        .bulkheads
        .iter()
        .map(|b| (b.name, b.duplicate_name, b.max_concurrent))
        .collect();
    for breaker in [
        ("startup-generic", false),
        ("health_startup::Warehouse::reserve", false),
        ("startup-twin", true),
        ("startup-module-level", false),
    ] {
        assert!(
            breakers.contains(&breaker),
            "{breaker:?} not in {breakers:?}"
        );
    }
    assert_eq!(breakers.len(), 5, "{breakers:?}");
    assert_eq!(breakers.iter().filter(|b| b.0 == "startup-twin").count(), 2);
    for bulkhead in [
        ("health_startup::Warehouse::reserve", false, 4),
        ("startup-reexported", false, 10),
    ] {
        assert!(
            bulkheads.contains(&bulkhead),
            "{bulkhead:?} not in {bulkheads:?}"
        );
    }
    assert_eq!(bulkheads.len(), 2, "{bulkheads:?}");
    let budgets: Vec<(&str, bool, f64, u32)> = health
        .budgets
        .iter()
        .map(|b| (b.name, b.duplicate_name, b.ratio, b.min_per_sec))
        .collect();
    for budget in [
        ("startup-budget", false, 0.1, 3),
        ("startup-module-budget", false, 0.2, 10),
    ] {
        assert!(budgets.contains(&budget), "{budget:?} not in {budgets:?}");
    }
    assert_eq!(budgets.len(), 2, "{budgets:?}");

    // The duplicate is reported when the registry takes the submissions in:
    // here, on its first use.
    assert_eq!(recorder.duplicates("startup-twin"), (1, 0));
    let _ = steadfast::health();
    assert_eq!(recorder.duplicates("startup-twin"), (1, 0), "once");

    // Registering a listed breaker again (its first call) adds nothing.
    MODULE_LEVEL.register();
    assert_eq!(
        steadfast::health()
            .breakers
            .iter()
            .filter(|b| b.name == "startup-module-level")
            .count(),
        1
    );
    assert_eq!(recorder.duplicates("startup-module-level"), (0, 0));
    MODULE_BUDGET.register();
    assert_eq!(
        steadfast::health()
            .budgets
            .iter()
            .filter(|b| b.name == "startup-module-budget")
            .count(),
        1
    );
}
