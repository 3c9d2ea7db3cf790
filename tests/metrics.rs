//! Metric names and labels, pinned with a recorder that keeps every value
//! (`Memory`, below). Needs the `metrics` feature:
//! `cargo test --features metrics --test metrics` (run by `.ci/run`).

#![cfg(feature = "metrics")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use steadfast::{Rejected, bulkhead, circuit_breaker, fallback, hedge, retry, timeout};

/// A metric's name and its labels, sorted.
type Id = (String, Vec<(String, String)>);

/// One metric's value. Its `Debug` text is what the tests compare:
/// `Counter(1)`, `Gauge(0.0)`, `Histogram([0.04, 0.1])`.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Counter(u64),
    Gauge(f64),
    Histogram(Vec<f64>),
}

/// One recorded value: name, sorted labels, value.
type Recorded = (String, Vec<(String, String)>, Value);

/// A recorder that keeps every metric registered through it, and its value:
/// counters add up, gauges keep their last value, histograms every sample.
/// (A few lines instead of `metrics-util`'s debugging recorder, whose
/// dependencies the demo's first build would otherwise compile: every
/// dev-dependency is built for examples too.)
#[derive(Debug, Default)]
struct Memory {
    values: Arc<Mutex<BTreeMap<Id, Value>>>,
}

/// The handle of one metric in a [`Memory`].
#[derive(Debug)]
struct Handle {
    values: Arc<Mutex<BTreeMap<Id, Value>>>,
    id: Id,
}

impl Handle {
    fn update(&self, f: impl FnOnce(&mut Value)) {
        let mut values = self.values.lock().unwrap();
        f(values.get_mut(&self.id).expect("registered"));
    }
}

impl Memory {
    /// Registers `key` with `initial` (keeping the value it has, if any) and
    /// returns its handle.
    fn register(&self, key: &Key, initial: Value) -> Arc<Handle> {
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_string(), l.value().to_string()))
            .collect();
        labels.sort();
        let id = (key.name().to_string(), labels);
        self.values
            .lock()
            .unwrap()
            .entry(id.clone())
            .or_insert(initial);
        Arc::new(Handle {
            values: Arc::clone(&self.values),
            id,
        })
    }

    /// Every metric registered so far, with its value.
    fn recorded(&self) -> Vec<Recorded> {
        let values = self.values.lock().unwrap();
        values
            .iter()
            .map(|((name, labels), value)| (name.clone(), labels.clone(), value.clone()))
            .collect()
    }
}

impl Recorder for Memory {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.register(key, Value::Counter(0)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.register(key, Value::Gauge(0.0)))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.register(key, Value::Histogram(Vec::new())))
    }
}

impl CounterFn for Handle {
    fn increment(&self, n: u64) {
        self.update(|value| {
            if let Value::Counter(total) = value {
                *total += n;
            }
        });
    }

    fn absolute(&self, n: u64) {
        self.update(|value| {
            if let Value::Counter(total) = value {
                *total = (*total).max(n);
            }
        });
    }
}

impl GaugeFn for Handle {
    fn increment(&self, by: f64) {
        self.update(|value| {
            if let Value::Gauge(level) = value {
                *level += by;
            }
        });
    }

    fn decrement(&self, by: f64) {
        self.update(|value| {
            if let Value::Gauge(level) = value {
                *level -= by;
            }
        });
    }

    fn set(&self, to: f64) {
        self.update(|value| {
            if let Value::Gauge(level) = value {
                *level = to;
            }
        });
    }
}

impl HistogramFn for Handle {
    fn record(&self, sample: f64) {
        self.update(|value| {
            if let Value::Histogram(samples) = value {
                samples.push(sample);
            }
        });
    }
}

/// Runs `body` on a paused current-thread runtime with a recorder of its own,
/// and returns every value recorded.
fn record<F: std::future::Future>(body: impl FnOnce() -> F) -> Vec<Recorded> {
    let recorder = Memory::default();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(body());
    });
    recorder.recorded()
}

/// The value recorded under `name` and exactly `labels`, as `Debug` text
/// (`Counter(1)`, `Gauge(…)`, `Histogram(…)`).
fn value(seen: &[Recorded], name: &str, labels: &[(&str, &str)]) -> Option<String> {
    let mut want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    seen.iter()
        .find(|(n, l, _)| n == name && *l == want)
        .map(|(_, _, v)| format!("{v:?}"))
}

#[retry(attempts = 3, backoff = none)]
async fn flaky(fail_first: bool, calls: &mut u32) -> Result<(), String> {
    *calls += 1;
    if fail_first && *calls == 1 {
        Err("once".into())
    } else {
        Ok(())
    }
}

#[retry(attempts = 2, backoff = none)]
async fn never() -> Result<(), String> {
    Err("no".into())
}

#[test]
fn retry_metrics() {
    let seen = record(|| async {
        flaky(false, &mut 0).await.unwrap();
        flaky(true, &mut 0).await.unwrap();
        never().await.unwrap_err();
    });
    let calls = |retried, result| {
        value(
            &seen,
            "steadfast_retry_calls_total",
            &[
                ("policy", "metrics::flaky"),
                ("retried", retried),
                ("result", result),
            ],
        )
    };
    assert_eq!(calls("false", "success"), Some("Counter(1)".into()));
    assert_eq!(calls("true", "success"), Some("Counter(1)".into()));
    assert_eq!(
        value(
            &seen,
            "steadfast_retry_calls_total",
            &[
                ("policy", "metrics::never"),
                ("retried", "true"),
                ("result", "attempts_exhausted")
            ]
        ),
        Some("Counter(1)".into())
    );
    assert_eq!(
        value(
            &seen,
            "steadfast_retry_retries_total",
            &[("policy", "metrics::flaky")]
        ),
        Some("Counter(1)".into())
    );
    assert_eq!(
        value(
            &seen,
            "steadfast_retry_retries_total",
            &[("policy", "metrics::never")]
        ),
        Some("Counter(1)".into())
    );
}

#[timeout("100ms")]
async fn sometimes_slow(delay: Duration) -> Result<(), Rejected> {
    tokio::time::sleep(delay).await;
    Ok(())
}

#[test]
fn timeout_metrics() {
    let seen = record(|| async {
        sometimes_slow(Duration::from_millis(40)).await.unwrap();
        sometimes_slow(Duration::from_secs(1)).await.unwrap_err();
    });
    let policy = ("policy", "metrics::sometimes_slow");
    assert_eq!(
        value(
            &seen,
            "steadfast_timeout_calls_total",
            &[policy, ("timed_out", "false")]
        ),
        Some("Counter(1)".into())
    );
    assert_eq!(
        value(
            &seen,
            "steadfast_timeout_calls_total",
            &[policy, ("timed_out", "true")]
        ),
        Some("Counter(1)".into())
    );
    let durations = seen
        .iter()
        .find(|(n, _, _)| n == "steadfast_timeout_duration_seconds")
        .map(|(_, _, v)| v);
    let Some(Value::Histogram(durations)) = durations else {
        panic!("no duration histogram in {seen:?}")
    };
    let mut durations = durations.clone();
    durations.sort_by(f64::total_cmp);
    assert_eq!(durations, [0.04, 0.1]);
}

#[circuit_breaker(window = 2, open_for = "1s", name = "metered")]
async fn metered(ok: bool) -> Result<(), Rejected> {
    if ok {
        Ok(())
    } else {
        Err(Rejected::timeout(Duration::from_millis(1)))
    }
}

#[test]
fn breaker_metrics() {
    let seen = record(|| async {
        metered(true).await.unwrap();
        // One failure in a full window of two: it opens (ceil(0.5 × 2) = 1).
        metered(false).await.unwrap_err();
        metered(false).await.unwrap_err();
        metered(true).await.unwrap_err();
    });
    let policy = ("policy", "metered");
    let calls = |result| {
        value(
            &seen,
            "steadfast_circuit_breaker_calls_total",
            &[policy, ("result", result)],
        )
    };
    assert_eq!(calls("success"), Some("Counter(1)".into()));
    assert_eq!(calls("failure"), Some("Counter(1)".into()));
    assert_eq!(calls("rejected"), Some("Counter(2)".into()));
    assert_eq!(
        value(&seen, "steadfast_circuit_breaker_opened_total", &[policy]),
        Some("Counter(1)".into())
    );
    let state = |s| {
        value(
            &seen,
            "steadfast_circuit_breaker_state",
            &[policy, ("state", s)],
        )
    };
    assert_eq!(state("open"), Some("Gauge(1.0)".into()));
    assert_eq!(state("closed"), Some("Gauge(0.0)".into()));
    assert_eq!(state("half_open"), Some("Gauge(0.0)".into()));
}

#[bulkhead(max_concurrent = 1, max_queue = 0, name = "metered-bulkhead")]
async fn narrow() -> Result<(), Rejected> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

#[fallback(|_e| Ok(0), when = |e: &String| e == "cached")]
async fn rescued(error: &str) -> Result<u32, String> {
    Err(error.to_string())
}

#[test]
fn bulkhead_and_fallback_metrics() {
    let seen = record(|| async {
        let (a, b) = tokio::join!(narrow(), narrow());
        assert!(a.is_ok() && b.is_err());
        assert_eq!(rescued("cached").await, Ok(0));
        assert!(rescued("other").await.is_err());
    });
    let policy = ("policy", "metered-bulkhead");
    assert_eq!(
        value(
            &seen,
            "steadfast_bulkhead_calls_total",
            &[policy, ("result", "accepted")]
        ),
        Some("Counter(1)".into())
    );
    assert_eq!(
        value(
            &seen,
            "steadfast_bulkhead_calls_total",
            &[policy, ("result", "rejected")]
        ),
        Some("Counter(1)".into())
    );
    assert_eq!(
        value(&seen, "steadfast_bulkhead_running", &[policy]),
        Some("Gauge(0.0)".into())
    );
    assert_eq!(
        value(&seen, "steadfast_bulkhead_waiting", &[policy]),
        Some("Gauge(0.0)".into())
    );
    let fallback = |applied| {
        value(
            &seen,
            "steadfast_fallback_calls_total",
            &[("policy", "metrics::rescued"), ("applied", applied)],
        )
    };
    assert_eq!(fallback("true"), Some("Counter(1)".into()));
    assert_eq!(fallback("false"), Some("Counter(1)".into()));
}

static METERED_LIMITER: steadfast::RateLimiter = steadfast::RateLimiter::builder()
    .name("metered-limiter")
    .rate(10)
    .burst(1)
    .max_wait(Duration::from_millis(100))
    .build();

#[test]
fn rate_limit_metrics() {
    let seen = record(|| async {
        METERED_LIMITER.try_acquire().unwrap();
        // The next turn is 100 ms away: within `max_wait`.
        METERED_LIMITER.acquire().await.unwrap();
        assert!(METERED_LIMITER.try_acquire().is_err());
    });
    let calls = |result| {
        value(
            &seen,
            "steadfast_rate_limit_calls_total",
            &[("policy", "metered-limiter"), ("result", result)],
        )
    };
    assert_eq!(calls("admitted"), Some("Counter(1)".into()));
    assert_eq!(calls("waited"), Some("Counter(1)".into()));
    assert_eq!(calls("rejected"), Some("Counter(1)".into()));
}

static METERED_BUDGET: steadfast::RetryBudget = steadfast::RetryBudget::builder()
    .name("metered-budget")
    .ratio(0.5)
    .min_per_sec(0)
    .build();

#[retry(attempts = 3, backoff = none, budget = METERED_BUDGET)]
async fn spent() -> Result<(), String> {
    Err("no".into())
}

#[test]
fn retry_budget_metrics() {
    // One first attempt × 0.5: the retry is refused.
    let seen = record(|| async {
        spent().await.unwrap_err();
    });
    assert_eq!(
        value(
            &seen,
            "steadfast_retry_calls_total",
            &[
                ("policy", "metrics::spent"),
                ("retried", "false"),
                ("result", "budget_spent")
            ]
        ),
        Some("Counter(1)".into())
    );
    assert_eq!(
        value(
            &seen,
            "steadfast_retry_budget_spent_total",
            &[("budget", "metered-budget")]
        ),
        Some("Counter(1)".into())
    );
}

static HEDGE_BUDGET: steadfast::RetryBudget = steadfast::RetryBudget::builder()
    .name("metered-hedge-budget")
    .ratio(0.5)
    .min_per_sec(0)
    .build();

/// Slow enough that a copy is due after 10 ms, and up to two.
#[hedge(after = "10ms", max = 2, budget = HEDGE_BUDGET)]
async fn hedged_read() -> Result<u32, String> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(7)
}

#[test]
fn hedge_budget_metrics() {
    // One call × 0.5: its first extra copy is refused, and so no second one
    // is asked for; the first copy answers.
    let seen = record(|| async {
        assert_eq!(hedged_read().await, Ok(7));
    });
    assert_eq!(
        value(
            &seen,
            "steadfast_retry_budget_spent_total",
            &[("budget", "metered-hedge-budget")]
        ),
        Some("Counter(1)".into()),
        "the refused copy is counted as a refused retry is: {seen:?}"
    );
    assert_eq!(HEDGE_BUDGET.spent(), 1);
}
