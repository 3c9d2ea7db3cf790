//! `#[retry(budget = …)]`: the retry storm of an outage, with and without a
//! budget; the event, the metric's reason and `health()`'s entry of a spent
//! budget; the forms `budget = …` accepts; duplicate names.

mod recorder;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use recorder::Recorder;
use steadfast::{RetryBudget, health, retry};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Down;

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("down")
    }
}

// ------------------------------------------------------------------ storm

const WINDOW: Duration = Duration::from_secs(10);
const RATIO: f64 = 0.2;
const MIN_PER_SEC: u32 = 10;
const DELAY: Duration = Duration::from_millis(100);

static STORM: RetryBudget = RetryBudget::builder()
    .name("storm")
    .ratio(RATIO)
    .min_per_sec(MIN_PER_SEC)
    .window_duration(WINDOW)
    .build();

/// One attempt: when (since the test's start), and whether it was a call's
/// first.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    at: Duration,
    first: bool,
}

/// A dependency that fails every call until `up_at`.
struct Backend {
    start: Instant,
    up_at: Instant,
    log: Mutex<Vec<Attempt>>,
}

impl Backend {
    fn hit(&self, tries: &AtomicU32) -> Result<(), Down> {
        let first = tries.fetch_add(1, Ordering::Relaxed) == 0;
        let now = Instant::now();
        self.log.lock().unwrap().push(Attempt {
            at: now - self.start,
            first,
        });
        if now < self.up_at { Err(Down) } else { Ok(()) }
    }

    #[retry(attempts = 3, backoff = fixed("100ms"), jitter = none)]
    async fn plain(&self, tries: &AtomicU32) -> Result<(), Down> {
        self.hit(tries)
    }

    #[retry(attempts = 3, backoff = fixed("100ms"), jitter = none, budget = STORM)]
    async fn budgeted(&self, tries: &AtomicU32) -> Result<(), Down> {
        self.hit(tries)
    }
}

/// 200 callers, each calling once a second for 25 s (staggered over the
/// first second), while the backend is down for the first 20 s; the log of
/// every attempt.
async fn storm(budgeted: bool) -> Vec<Attempt> {
    let start = Instant::now();
    let backend = Arc::new(Backend {
        start,
        up_at: start + Duration::from_secs(20),
        log: Mutex::new(Vec::new()),
    });
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..200_u64 {
        let backend = Arc::clone(&backend);
        callers.spawn(async move {
            tokio::time::sleep(Duration::from_millis(caller * 5)).await;
            for _ in 0..25 {
                let tries = AtomicU32::new(0);
                let _ = if budgeted {
                    backend.budgeted(&tries).await
                } else {
                    backend.plain(&tries).await
                };
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    while callers.join_next().await.is_some() {}
    backend.log.lock().unwrap().clone()
}

fn amplification(log: &[Attempt]) -> f64 {
    let calls = log.iter().filter(|a| a.first).count();
    log.len() as f64 / calls as f64
}

#[tokio::test(start_paused = true)]
async fn a_budget_caps_the_retry_storm_of_an_outage() {
    let without = storm(false).await;
    let with = storm(true).await;
    let calls = 200 * 25;
    assert_eq!(without.iter().filter(|a| a.first).count(), calls);
    assert_eq!(with.iter().filter(|a| a.first).count(), calls);
    let (a_without, a_with) = (amplification(&without), amplification(&with));
    println!(
        "storm: {calls} calls, 20 s outage of 25 s; amplification (attempts / calls): \
         without a budget {a_without:.3} ({} attempts), with one (ratio {RATIO}, \
         min_per_sec {MIN_PER_SEC}, window {WINDOW:?}) {a_with:.3} ({} attempts)",
        without.len(),
        with.len()
    );
    // Without: every call of the outage made its 3 attempts (2 for those
    // whose first retry, 100 ms later, found the backend up).
    let first_at = |from: u64, to: u64| {
        without
            .iter()
            .filter(|a| {
                a.first && a.at >= Duration::from_millis(from) && a.at < Duration::from_millis(to)
            })
            .count()
    };
    let in_outage = first_at(0, 20_000);
    assert_eq!(
        without.len(),
        calls + 2 * first_at(0, 19_900) + first_at(19_900, 20_000)
    );

    // With: the budget's bound, at every retry, over the window ending at
    // its draw (the decision, a delay before the attempt).
    let firsts: Vec<Duration> = with.iter().filter(|a| a.first).map(|a| a.at).collect();
    let draws: Vec<Duration> = with
        .iter()
        .filter(|a| !a.first)
        .map(|a| a.at - DELAY)
        .collect();
    let within = |times: &[Duration], t: Duration| {
        times.iter().filter(|&&s| s <= t && s + WINDOW > t).count() as f64
    };
    for &t in &draws {
        let (retries, first) = (within(&draws, t), within(&firsts, t));
        let bound = RATIO * first + f64::from(MIN_PER_SEC) * WINDOW.as_secs_f64();
        assert!(
            retries <= bound,
            "{retries} retries in the window ending at {t:?}, over {bound} ({first} first attempts)"
        );
    }
    // Over the whole run: 25 s is at most 3 windows of floor.
    let floor = f64::from(MIN_PER_SEC) * WINDOW.as_secs_f64() * 3.0;
    assert!(draws.len() as f64 <= RATIO * calls as f64 + floor);
    assert!(a_with < 1.3, "{a_with}");
    // And the budget did allow retries (the floor and the ratio are used).
    assert!(
        draws.len() as f64 >= RATIO * in_outage as f64,
        "{}",
        draws.len()
    );
    let spent = health()
        .budgets
        .into_iter()
        .find(|b| b.name == "storm")
        .expect("listed")
        .spent;
    assert!(spent > 0);
}

// ----------------------------------------------- event, health, metric

static TIGHT: RetryBudget = RetryBudget::builder()
    .name("tight")
    .ratio(0.5)
    .min_per_sec(0)
    .build();

#[retry(attempts = 3, backoff = fixed("1s"), jitter = none, budget = TIGHT)]
async fn tight(tries: &AtomicU32) -> Result<(), Down> {
    tries.fetch_add(1, Ordering::Relaxed);
    Err(Down)
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_ends_the_call_at_once_with_an_event_and_its_level_in_health() {
    let (recorder, _guard) = Recorder::install();
    let start = Instant::now();
    let tries = AtomicU32::new(0);
    // One first attempt × 0.5: no retry.
    assert_eq!(tight(&tries).await, Err(Down));
    assert_eq!(tries.load(Ordering::Relaxed), 1);
    assert_eq!(start.elapsed(), Duration::ZERO, "no delay slept");
    let spent = recorder.events("steadfast::retry", "not retrying");
    assert_eq!(spent.len(), 1);
    assert_eq!(spent[0].level, tracing::Level::DEBUG);
    assert_eq!(spent[0].field("policy"), "retry_budget::tight");
    assert_eq!(spent[0].field("reason"), "budget_spent");
    assert_eq!(spent[0].field("budget"), "tight");
    assert_eq!(spent[0].field("attempts"), "1");
    assert_eq!(spent[0].field("error"), "down");
    // A second call: two first attempts pay for one retry, then spent.
    let tries = AtomicU32::new(0);
    assert_eq!(tight(&tries).await, Err(Down));
    assert_eq!(tries.load(Ordering::Relaxed), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(1));

    let entry = health()
        .budgets
        .into_iter()
        .find(|b| b.name == "tight")
        .expect("a budget named with `budget = PATH` is listed");
    assert_eq!(entry.ratio, 0.5);
    assert_eq!(entry.min_per_sec, 0);
    assert_eq!(entry.window, Duration::from_secs(10));
    assert_eq!((entry.deposits, entry.withdrawals), (2, 1));
    assert_eq!(entry.available, 0);
    assert_eq!(entry.spent, 2);
    assert!(!entry.duplicate_name);
}

// ---------------------------------------------------- forms of `budget`

struct Client {
    budget: RetryBudget,
}

impl Client {
    #[retry(attempts = 2, backoff = none, budget = self.budget)]
    async fn get(&self, tries: &AtomicU32) -> Result<(), Down> {
        tries.fetch_add(1, Ordering::Relaxed);
        Err(Down)
    }
}

static FROM_CONFIG: LazyLock<RetryBudget> =
    LazyLock::new(|| RetryBudget::builder().ratio(1.0).min_per_sec(0).build());

#[retry(attempts = 2, backoff = none, budget = &*FROM_CONFIG)]
async fn configured(tries: &AtomicU32) -> Result<(), Down> {
    tries.fetch_add(1, Ordering::Relaxed);
    Err(Down)
}

#[retry(attempts = 2, backoff = none, budget = budget)]
async fn handed(budget: &RetryBudget, tries: &AtomicU32) -> Result<(), Down> {
    tries.fetch_add(1, Ordering::Relaxed);
    Err(Down)
}

#[tokio::test(start_paused = true)]
async fn budget_takes_a_field_a_deref_or_an_argument() {
    let client = Client {
        budget: RetryBudget::builder().ratio(1.0).min_per_sec(0).build(),
    };
    let tries = AtomicU32::new(0);
    let _ = client.get(&tries).await;
    assert_eq!(tries.load(Ordering::Relaxed), 2);
    assert_eq!(client.budget.level().withdrawals, 1);

    let tries = AtomicU32::new(0);
    let _ = configured(&tries).await;
    assert_eq!(tries.load(Ordering::Relaxed), 2);
    assert_eq!(FROM_CONFIG.level().withdrawals, 1);

    let own = RetryBudget::builder().ratio(0.5).min_per_sec(0).build();
    let tries = AtomicU32::new(0);
    let _ = handed(&own, &tries).await;
    assert_eq!(tries.load(Ordering::Relaxed), 1, "0.5 × 1: spent");
}

// ---------------------------------------------------------------- names

static DUP_A: RetryBudget = RetryBudget::builder().name("dup-budget").build();
static DUP_B: RetryBudget = RetryBudget::builder().name("dup-budget").build();

#[retry(attempts = 1, budget = DUP_A)]
async fn dup_a() -> Result<(), Down> {
    Ok(())
}

#[retry(attempts = 1, budget = DUP_B)]
async fn dup_b() -> Result<(), Down> {
    Ok(())
}

#[tokio::test]
async fn two_budgets_under_one_name_are_warned_and_flagged() {
    let (recorder, _guard) = Recorder::install();
    dup_a().await.unwrap();
    dup_b().await.unwrap();
    let warned = recorder.events("steadfast::retry", "two retry budgets share a name");
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0].level, tracing::Level::WARN);
    assert_eq!(warned[0].field("policy"), "dup-budget");
    let flagged: Vec<bool> = health()
        .budgets
        .into_iter()
        .filter(|b| b.name == "dup-budget")
        .map(|b| b.duplicate_name)
        .collect();
    assert_eq!(flagged, [true, true]);
}
