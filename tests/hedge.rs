//! `#[hedge]`: extra copies of a slow call, the first success wins
//! (DESIGN "`#[hedge]`"). Paused tokio time throughout.
//!
//! Shutdown (no new copy once it has begun) is in `tests/shutdown.rs`, the
//! one test binary allowed to shut down; the runtime's own rules (timer,
//! budget, every start time) are unit-tested in `runtime/src/hedge/tests.rs`.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{Bulkhead, Rejected, RetryBudget, bulkhead, hedge, retry, timeout};

use tokio::time::{Instant, sleep};

const MS: Duration = Duration::from_millis(1);

/// Counts its drops: proves when a copy goes.
struct Guard<'a>(&'a AtomicU32);
impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Each copy takes the next `(delay ms, outcome)` of its plan.
struct Backend {
    plan: Vec<(u64, Result<u32, u32>)>,
    started: AtomicU32,
    dropped: AtomicU32,
}

impl Backend {
    fn new(plan: &[(u64, Result<u32, u32>)]) -> Self {
        Backend {
            plan: plan.to_vec(),
            started: AtomicU32::new(0),
            dropped: AtomicU32::new(0),
        }
    }

    async fn answer(&self) -> Result<u32, u32> {
        let n = self.started.fetch_add(1, SeqCst) as usize;
        let _guard = Guard(&self.dropped);
        let (delay, outcome) = self.plan[n];
        sleep(MS * u32::try_from(delay).unwrap()).await;
        outcome
    }

    #[hedge(after = "50ms")]
    async fn hedged(&self) -> Result<u32, u32> {
        self.answer().await
    }

    #[hedge(after = "50ms", max = 2)]
    async fn hedged_twice(&self, tag: u32) -> Result<u32, u32> {
        self.answer().await.map(|v| v + tag)
    }
}

#[tokio::test(start_paused = true)]
async fn a_fast_call_starts_one_copy() {
    let b = Backend::new(&[(10, Ok(1))]);
    let t0 = Instant::now();
    assert_eq!(b.hedged().await, Ok(1));
    assert_eq!(t0.elapsed(), MS * 10);
    assert_eq!(b.started.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_first_ok_wins_and_the_loser_is_dropped_at_once() {
    let b = Backend::new(&[(1000, Ok(1)), (20, Ok(2))]);
    let t0 = Instant::now();
    assert_eq!(b.hedged().await, Ok(2));
    assert_eq!(t0.elapsed(), MS * 70);
    // Both copies gone when the call returns: the slow one did not linger.
    assert_eq!(b.dropped.load(SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn copies_start_every_after_up_to_max() {
    let b = Backend::new(&[(1000, Ok(1)), (1000, Ok(2)), (1000, Ok(3))]);
    let t0 = Instant::now();
    // Copy 1 answers first: 150 ms later, no fourth copy.
    assert_eq!(b.hedged_twice(10).await, Ok(11));
    assert_eq!(t0.elapsed(), MS * 1000);
    assert_eq!(b.started.load(SeqCst), 3);
    assert_eq!(b.dropped.load(SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn an_error_waits_for_a_running_copy() {
    let b = Backend::new(&[(60, Err(1)), (30, Ok(2))]);
    assert_eq!(b.hedged().await, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn an_error_with_no_other_copy_running_ends_the_call() {
    // A hedge is not a retry: the copy due at 50 ms is not started early.
    let b = Backend::new(&[(10, Err(1)), (0, Ok(2))]);
    let t0 = Instant::now();
    assert_eq!(b.hedged().await, Err(1));
    assert_eq!(t0.elapsed(), MS * 10);
    assert_eq!(b.started.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn when_all_fail_the_copy_that_failed_last_returns_its_error() {
    let b = Backend::new(&[(300, Err(1)), (20, Err(2)), (10, Err(3))]);
    assert_eq!(b.hedged_twice(0).await, Err(1));
    let b = Backend::new(&[(60, Err(1)), (100, Err(2))]);
    assert_eq!(b.hedged().await, Err(2));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_caller_drops_every_copy() {
    let b = Backend::new(&[(1000, Ok(1)), (1000, Ok(2)), (1000, Ok(3))]);
    let cut = tokio::time::timeout(MS * 120, b.hedged_twice(0)).await;
    assert!(cut.is_err());
    assert_eq!(b.started.load(SeqCst), 3);
    assert_eq!(b.dropped.load(SeqCst), 3);
}

/// The body's error, or a rejection from a layer below.
#[derive(Debug, PartialEq)]
enum Failed {
    Body(u32),
    Rejected(String),
}
impl From<Rejected> for Failed {
    fn from(rejected: Rejected) -> Self {
        Failed::Rejected(rejected.to_string())
    }
}

static POOL: Bulkhead = Bulkhead::builder().max_concurrent(4).build();
static RUNNING_PEAK: AtomicU32 = AtomicU32::new(0);

#[hedge(after = "50ms", max = 2)]
#[bulkhead(shared = POOL)]
async fn pooled(b: &Backend) -> Result<u32, Failed> {
    RUNNING_PEAK.fetch_max(POOL.running(), SeqCst);
    b.answer().await.map_err(Failed::Body)
}

#[tokio::test(start_paused = true)]
async fn layers_below_run_per_copy_a_bulkhead_slot_each() {
    let b = Backend::new(&[(1000, Ok(1)), (1000, Ok(2)), (30, Ok(3))]);
    assert_eq!(pooled(&b).await, Ok(3));
    // Three copies held three slots at once, and gave them all back.
    assert_eq!(RUNNING_PEAK.load(SeqCst), 3);
    assert_eq!(POOL.running(), 0);
}

#[hedge(after = "50ms")]
#[timeout("80ms")]
async fn bounded_per_copy(b: &Backend) -> Result<u32, Failed> {
    b.answer().await.map_err(Failed::Body)
}

#[tokio::test(start_paused = true)]
async fn a_timeout_below_bounds_each_copy() {
    // Copy 1 times out at 80, copy 2 (50..) wins at 120 < 130.
    let b = Backend::new(&[(1000, Ok(1)), (70, Ok(2))]);
    let t0 = Instant::now();
    assert_eq!(bounded_per_copy(&b).await, Ok(2));
    assert_eq!(t0.elapsed(), MS * 120);
}

#[retry(attempts = 2, backoff = none)]
#[hedge(after = "50ms")]
async fn retried_hedge(b: &Backend) -> Result<u32, u32> {
    b.answer().await
}

#[tokio::test(start_paused = true)]
async fn stacking_in_written_order_retry_above_hedge_hedges_each_attempt() {
    // Attempt 1: copies 1 and 2 both fail; attempt 2: copy 3 succeeds.
    let b = Backend::new(&[(60, Err(1)), (20, Err(2)), (5, Ok(3))]);
    assert_eq!(retried_hedge(&b).await, Ok(3));
    assert_eq!(b.started.load(SeqCst), 3);
}

static SPARE: RetryBudget = RetryBudget::builder()
    .name("tests::hedge::SPARE")
    .ratio(0.1)
    .min_per_sec(0)
    .window("10s")
    .build();

#[hedge(after = "50ms", budget = SPARE)]
async fn budgeted(b: &Backend) -> Result<u32, u32> {
    b.answer().await
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_starts_no_extra_copy() {
    // 20 slow calls deposit 20: at most 0.1 × 20 = 2 extra copies.
    let mut extra = 0;
    for _ in 0..20 {
        let b = Backend::new(&[(100, Ok(1)), (10, Ok(2))]);
        assert!(budgeted(&b).await.is_ok());
        extra += b.started.load(SeqCst) - 1;
    }
    assert!((1..=2).contains(&extra), "{extra} extra copies");
}

#[hedge(after = "50ms")]
async fn copy_arguments(n: u64, name: &str, tags: &[u32]) -> Result<usize, std::io::Error> {
    sleep(MS * 10).await;
    Ok(usize::try_from(n).unwrap() + name.len() + tags.len())
}

#[tokio::test(start_paused = true)]
async fn copy_and_borrowed_arguments_work_and_the_future_is_send() {
    let tags = vec![1, 2];
    assert_eq!(copy_arguments(1, "ab", &tags).await.unwrap(), 5);
    let handle = tokio::spawn(async { copy_arguments(1, "a", &[]).await.unwrap() });
    assert_eq!(handle.await.unwrap(), 2);
}
