//! Metric names and labels, pinned with `metrics-util`'s debugging recorder.
//! Needs the `metrics` feature: `cargo test --features metrics --test metrics`
//! (run by `.ci/run`).

#![cfg(feature = "metrics")]

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use steadfast::{Rejected, bulkhead, circuit_breaker, fallback, retry, timeout};

/// One recorded value: name, sorted labels, value.
type Recorded = (String, Vec<(String, String)>, DebugValue);

/// Runs `body` on a paused current-thread runtime with a recorder of its own,
/// and returns every value recorded.
fn record<F: std::future::Future>(body: impl FnOnce() -> F) -> Vec<Recorded> {
    let recorder = DebuggingRecorder::new();
    let snapshotter: Snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(body());
    });
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let mut labels: Vec<_> = key
                .key()
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            labels.sort();
            (key.key().name().to_string(), labels, value)
        })
        .collect()
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
    let Some(DebugValue::Histogram(durations)) = durations else {
        panic!("no duration histogram in {seen:?}")
    };
    let mut durations: Vec<f64> = durations.iter().map(|d| d.into_inner()).collect();
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
