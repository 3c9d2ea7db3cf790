use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use core::time::Duration;
use std::sync::Arc;
use std::sync::Mutex;

use tokio::time::{Instant, sleep};

use super::Hedge;
use crate::RetryBudget;

const MS: Duration = Duration::from_millis(1);

/// Counts its drops: proves when a copy goes.
struct Guard(Arc<AtomicUsize>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Copy `n` (0-based) sleeps `plan[n].0` then returns `plan[n].1`.
fn planned(
    plan: &'static [(u64, Result<u32, u32>)],
    started: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicUsize>,
) -> impl FnMut() -> core::pin::Pin<Box<dyn Future<Output = Result<u32, u32>>>> {
    let (started, dropped) = (started.clone(), dropped.clone());
    move || {
        let n = started.fetch_add(1, SeqCst);
        let guard = Guard(dropped.clone());
        let (wait, outcome) = plan[n];
        Box::pin(async move {
            let _guard = guard;
            sleep(MS * u32::try_from(wait).unwrap()).await;
            outcome
        })
    }
}

fn counters() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)))
}

#[tokio::test(start_paused = true)]
async fn a_fast_first_copy_starts_no_other() {
    let (started, dropped) = counters();
    let h = Hedge::<2>::new(MS * 50);
    let t0 = Instant::now();
    let r = h.run(planned(&[(10, Ok(1))], &started, &dropped)).await;
    assert_eq!(r, Ok(1));
    assert_eq!(started.load(SeqCst), 1);
    assert_eq!(t0.elapsed(), MS * 10);
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_copy_gets_a_second_and_the_winner_drops_the_loser_at_once() {
    let (started, dropped) = counters();
    let h = Hedge::<1>::new(MS * 50);
    let t0 = Instant::now();
    let r = h
        .run(planned(&[(500, Ok(1)), (20, Ok(2))], &started, &dropped))
        .await;
    assert_eq!(r, Ok(2));
    assert_eq!(t0.elapsed(), MS * 70);
    assert_eq!(started.load(SeqCst), 2);
    // Both gone by the time the call returns: the loser did not linger.
    assert_eq!(dropped.load(SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn copies_start_one_every_after_up_to_max() {
    let starts = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let h = Hedge::<3>::new(MS * 50);
    let log = starts.clone();
    let r: Result<u32, u32> = h
        .run(|| {
            log.lock().unwrap().push(t0.elapsed());
            async {
                sleep(MS * 1000).await;
                Err(0)
            }
        })
        .await;
    assert_eq!(r, Err(0));
    assert_eq!(
        *starts.lock().unwrap(),
        [Duration::ZERO, MS * 50, MS * 100, MS * 150]
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_waits_for_the_other_copies() {
    let (started, dropped) = counters();
    let h = Hedge::<1>::new(MS * 50);
    // Copy 1 fails at 60 while copy 2 (started at 50) runs: it wins at 80.
    let r = h
        .run(planned(&[(60, Err(1)), (30, Ok(2))], &started, &dropped))
        .await;
    assert_eq!(r, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn an_error_with_no_other_copy_running_ends_the_call() {
    let (started, dropped) = counters();
    let h = Hedge::<2>::new(MS * 50);
    let t0 = Instant::now();
    let r = h
        .run(planned(&[(10, Err(1)), (0, Ok(2))], &started, &dropped))
        .await;
    assert_eq!(r, Err(1));
    assert_eq!(started.load(SeqCst), 1);
    assert_eq!(t0.elapsed(), MS * 10);
}

#[tokio::test(start_paused = true)]
async fn when_all_fail_the_last_failure_returns() {
    let (started, dropped) = counters();
    let h = Hedge::<2>::new(MS * 50);
    // Copy 1 (0..300) fails last; copy 2 (50..70) and 3 (100..110) fail first.
    let r = h
        .run(planned(
            &[(300, Err(1)), (20, Err(2)), (10, Err(3))],
            &started,
            &dropped,
        ))
        .await;
    assert_eq!(r, Err(1));
    assert_eq!(started.load(SeqCst), 3);
    assert_eq!(dropped.load(SeqCst), 3);
}

#[test]
fn a_ready_first_copy_arms_no_timer() {
    // No tokio runtime here: creating a `Sleep` (or reading tokio's clock)
    // would panic. One poll with a no-op waker completes the call.
    let h = Hedge::<2>::new(MS * 50);
    let call = core::pin::pin!(h.run(|| async { Ok::<u32, ()>(7) }));
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    assert_eq!(call.poll(&mut cx), core::task::Poll::Ready(Ok(7)));
    // So does a first copy that fails at once (no copy runs, none is due).
    let call = core::pin::pin!(h.run(|| async { Err::<u32, u8>(3) }));
    assert_eq!(call.poll(&mut cx), core::task::Poll::Ready(Err(3)));
}

#[test]
#[should_panic(expected = "no reactor running")]
fn a_pending_first_copy_arms_the_timer() {
    // The converse, proving the test above can fail: a first copy that is
    // pending on its first poll makes the call create its timer.
    let h = Hedge::<1>::new(MS * 50);
    let call = core::pin::pin!(h.run(core::future::pending::<Result<u32, ()>>));
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    let _ = call.poll(&mut cx);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_drops_every_copy() {
    let (started, dropped) = counters();
    let h = Hedge::<2>::new(MS * 50);
    let call = h.run(planned(
        &[(1000, Ok(1)), (1000, Ok(2)), (1000, Ok(3))],
        &started,
        &dropped,
    ));
    let cut = tokio::time::timeout(MS * 120, call).await;
    assert!(cut.is_err());
    assert_eq!(started.load(SeqCst), 3);
    assert_eq!(dropped.load(SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_starts_no_extra_copy_and_a_budget_pays_for_each() {
    static SMALL: RetryBudget = RetryBudget::builder()
        .name("hedge-test-budget")
        .ratio(0.5)
        .min_per_sec(0)
        .window("10s")
        .build();
    let h = Hedge::<1>::new(MS * 50);
    let mut extras = 0;
    for _ in 0..10 {
        let (started, dropped) = counters();
        let r = h
            .run_budgeted(
                &SMALL,
                planned(&[(100, Ok(1)), (10, Ok(2))], &started, &dropped),
            )
            .await;
        extras += started.load(SeqCst) - 1;
        assert!(r.is_ok());
    }
    // 10 calls deposit 10 first copies: at most 0.5 × 10 extra copies.
    assert!(extras <= 5, "{extras} extra copies");
    assert!(extras >= 1);
}
