use super::*;
use core::pin::Pin;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

const MS: Duration = Duration::from_millis(1);

fn bulkhead(b: BulkheadBuilder) -> Arc<Bulkhead> {
    Arc::new(b.name("test").build())
}

#[tokio::test]
async fn limits_running_calls_and_rejects_without_a_queue() {
    let b = bulkhead(Bulkhead::builder().max_concurrent(2).max_queue(0));
    let p1 = b.acquire().await.unwrap();
    let _p2 = b.acquire().await.unwrap();
    assert_eq!(b.running(), 2);
    assert_eq!(
        b.acquire().await.err(),
        Some(Rejected::bulkhead_full("test"))
    );
    drop(p1);
    assert_eq!(b.running(), 1);
    assert!(b.acquire().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_fifo_order() {
    let b = bulkhead(Bulkhead::builder().max_concurrent(1).max_queue(10));
    let first = b.acquire().await.unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..5 {
        let (b, order) = (b.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = b.acquire().await.unwrap();
            order.lock().unwrap().push(i);
            tokio::time::sleep(MS).await;
        }));
        // Let each task queue up before the next one starts.
        tokio::task::yield_now().await;
    }
    assert_eq!(b.waiting(), 5);
    drop(first);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    assert_eq!((b.running(), b.waiting()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_rejects_at_once() {
    let b = bulkhead(Bulkhead::builder().max_concurrent(1).max_queue(1));
    let _running = b.acquire().await.unwrap();
    let waiter = tokio::spawn({
        let b = b.clone();
        async move { b.acquire().await.map(drop) }
    });
    tokio::task::yield_now().await;
    assert_eq!(b.waiting(), 1);
    let start = tokio::time::Instant::now();
    assert!(b.acquire().await.is_err());
    assert_eq!(start.elapsed(), Duration::ZERO);
    waiter.abort();
}

#[tokio::test(start_paused = true)]
async fn max_wait_gives_up_and_never_takes_a_slot_later() {
    let b = bulkhead(
        Bulkhead::builder()
            .max_concurrent(1)
            .max_queue(5)
            .max_wait(MS * 100),
    );
    let running = b.acquire().await.unwrap();
    let start = tokio::time::Instant::now();
    assert!(b.acquire().await.is_err());
    assert_eq!(start.elapsed(), MS * 100);
    assert_eq!(b.waiting(), 0);
    drop(running);
    assert_eq!(
        b.running(),
        0,
        "the slot went back to the pool, not to the gone waiter"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_leaves_the_queue() {
    let b = bulkhead(Bulkhead::builder().max_concurrent(1).max_queue(5));
    let running = b.acquire().await.unwrap();
    let waiter = tokio::spawn({
        let b = b.clone();
        async move { b.acquire().await.map(drop) }
    });
    tokio::task::yield_now().await;
    assert_eq!(b.waiting(), 1);
    waiter.abort();
    let _ = waiter.await;
    assert_eq!(b.waiting(), 0);
    drop(running);
    assert_eq!((b.running(), b.waiting()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_slot_granted_to_a_waiter_that_gives_up_is_passed_on() {
    let b = bulkhead(Bulkhead::builder().max_concurrent(1).max_queue(5));
    let running = b.acquire().await.unwrap();
    let mut first = Box::pin(b.acquire());
    // Queue the first waiter, then a second one behind it.
    assert!(futures_poll(&mut first).is_none());
    let second = tokio::spawn({
        let b = b.clone();
        async move { b.acquire().await.map(drop) }
    });
    tokio::task::yield_now().await;
    assert_eq!(b.waiting(), 2);
    // The slot goes to `first`, which is dropped before it looks.
    drop(running);
    drop(first);
    second
        .await
        .unwrap()
        .expect("the slot was passed on to the next waiter");
    assert_eq!((b.running(), b.waiting()), (0, 0));
}

/// Issue 10, defect 10: leaving the line scanned it from the head, so
/// 100,000 waiters giving up newest-first touched ~5·10⁹ entries under the
/// lock. Each one now touches at most three (itself and its neighbours),
/// wherever it stands: counted, not timed.
#[test]
fn waiters_leave_the_line_in_constant_work_wherever_they_stand() {
    const N: u32 = 100_000;
    for order in ["newest first", "oldest first", "from the middle"] {
        let b = Bulkhead::builder().max_concurrent(1).max_queue(N).build();
        let held = b.try_acquire().unwrap();
        let mut line: VecDeque<Acquiring<'_>> = (0..N)
            .map(|_| {
                let mut waiting: Acquiring<'_> = Box::pin(b.acquire());
                assert!(futures_poll(&mut waiting).is_none());
                waiting
            })
            .collect();
        assert_eq!(b.waiting(), N);
        let visited = || b.slots.queue.lock().unwrap().visited();
        let start = visited();
        while let Some(waiting) = match order {
            "newest first" => line.pop_back(),
            "oldest first" => line.pop_front(),
            // The middle one, the last one taking its place in `line`: all
            // from around the middle of the bulkhead's line.
            _ => line.swap_remove_back(line.len() / 2),
        } {
            let before = visited();
            drop(waiting);
            let touched = visited() - before;
            assert!(
                touched <= 3,
                "{order}: a waiter leaving a line of {} touched {touched} entries",
                b.waiting() + 1
            );
        }
        let total = visited() - start;
        assert!(
            total <= 3 * u64::from(N),
            "{order}: {total} entries touched"
        );
        assert_eq!((b.running(), b.waiting()), (1, 0));
        drop(held);
        assert_eq!(b.running(), 0, "the slot went back to the pool");
    }
}

type Acquiring<'a> = Pin<Box<dyn Future<Output = Result<BulkheadPermit<'a>, Rejected>> + 'a>>;

/// Polls once with a no-op waker.
fn futures_poll<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match Pin::new(future).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

#[tokio::test(start_paused = true)]
async fn slots_are_released_on_error_panic_and_cancellation() {
    let b = bulkhead(Bulkhead::builder().max_concurrent(1).max_queue(0));
    let r: Result<(), Failure<&str>> = b.run(async { Err("no") }).await;
    assert_eq!(r, Err(Failure::Error("no")));
    assert_eq!(b.running(), 0);
    let panicked = tokio::spawn({
        let b = b.clone();
        async move {
            b.run(async { panic!("boom") as Result<(), ()> })
                .await
                .map_err(|_: Failure<()>| ())
        }
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(b.running(), 0);
    let cancelled = tokio::time::timeout(
        MS,
        b.run(async {
            tokio::time::sleep(MS * 10).await;
            Ok::<_, ()>(())
        }),
    )
    .await;
    assert!(cancelled.is_err());
    assert_eq!(b.running(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_concurrency_never_exceeds_the_limit_and_every_slot_comes_back() {
    let b = bulkhead(Bulkhead::builder().max_concurrent(7).max_queue(1_000));
    let now = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (b, now, peak) = (b.clone(), now.clone(), peak.clone());
            tokio::spawn(async move {
                let run = b.run(async {
                    // Counts this call as running until it ends or is dropped.
                    struct Running(Arc<AtomicU32>);
                    impl Drop for Running {
                        fn drop(&mut self) {
                            self.0.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    let _running = Running(now.clone());
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    if i % 5 == 0 { Err(()) } else { Ok(()) }
                });
                if i % 7 == 0 {
                    // Some callers give up mid-way.
                    let _ = tokio::time::timeout(Duration::from_micros(50), run).await;
                } else {
                    let _ = run.await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        peak.load(Ordering::SeqCst) <= 7,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert!(
        peak.load(Ordering::SeqCst) >= 2,
        "the test never ran calls concurrently"
    );
    assert_eq!((b.running(), b.waiting()), (0, 0));
}

#[test]
#[should_panic(expected = "`max_concurrent` must be at least 1")]
fn zero_concurrency_is_rejected() {
    let _ = Bulkhead::builder().max_concurrent(0).build();
}

#[test]
fn defaults() {
    let b = Bulkhead::builder().build();
    assert_eq!(
        (b.max_concurrent(), b.max_queue(), b.max_wait()),
        (10, 10, None)
    );
}

/// The bulkhead against a sequential reference model: random sequences of
/// arrivals, releases, cancelled waiters (from anywhere in line: the head, the
/// middle, the newest) and polls, checked after every step (FIFO hand-over,
/// no slot lost or created, a waiter that gave up never holds a slot, and the
/// queue's own structure: its invariants hold and its line is the model's).
mod model {
    use super::*;
    use std::collections::VecDeque;

    use proptest::prelude::*;

    type Acquire = Pin<Box<dyn Future<Output = Result<BulkheadPermit<'static>, Rejected>>>>;

    #[derive(Debug, Clone)]
    enum Op {
        Arrive,
        Release(usize),
        Cancel(usize),
        CancelNewest,
        CancelOldest,
        Poll,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Arrive),
            2 => any::<usize>().prop_map(Op::Release),
            1 => any::<usize>().prop_map(Op::Cancel),
            1 => Just(Op::CancelNewest),
            1 => Just(Op::CancelOldest),
            2 => Just(Op::Poll),
        ]
    }

    fn poll(future: &mut Acquire) -> Poll<Result<BulkheadPermit<'static>, Rejected>> {
        future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn bulkhead_matches_the_reference_model(
            max_concurrent in 1u32..4,
            max_queue in 0u32..6,
            ops in proptest::collection::vec(op(), 1..120),
        ) {
            let bulkhead: &'static Bulkhead = Box::leak(Box::new(
                Bulkhead::builder().max_concurrent(max_concurrent).max_queue(max_queue).build(),
            ));
            // The model: slots held (by running calls and by waiters granted a
            // slot they have not seen yet) and the line, by waiter id. A
            // waiter's id is the serial its ticket was stamped with: they
            // count the waiters that joined the line, from 1.
            let mut held: u32 = 0;
            let mut line: VecDeque<u64> = VecDeque::new();
            let mut granted: Vec<u64> = Vec::new();
            // The real thing.
            let mut running: Vec<BulkheadPermit<'static>> = Vec::new();
            let mut waiting: Vec<(u64, Acquire)> = Vec::new();
            let mut joined = 0u64;
            for op in ops {
                match op {
                    Op::Arrive => {
                        let mut future: Acquire = Box::pin(bulkhead.acquire());
                        match poll(&mut future) {
                            Poll::Ready(Ok(permit)) => {
                                prop_assert!(held < max_concurrent && line.is_empty(), "admitted past the limit or the line");
                                held += 1;
                                running.push(permit);
                            }
                            Poll::Ready(Err(_)) => {
                                prop_assert!(held == max_concurrent || !line.is_empty());
                                prop_assert!(line.len() as u32 >= max_queue, "rejected with room in the queue");
                            }
                            Poll::Pending => {
                                prop_assert!(held == max_concurrent && (line.len() as u32) < max_queue);
                                joined += 1;
                                line.push_back(joined);
                                waiting.push((joined, future));
                            }
                        }
                    }
                    Op::Release(i) if !running.is_empty() => {
                        drop(running.swap_remove(i % running.len()));
                        // The slot goes to the first in line, or back to the pool.
                        match line.pop_front() {
                            Some(first) => granted.push(first),
                            None => held -= 1,
                        }
                    }
                    Op::Cancel(_) | Op::CancelNewest | Op::CancelOldest if !waiting.is_empty() => {
                        let at = match op {
                            Op::Cancel(i) => i % waiting.len(),
                            // The newest (or oldest) waiter, granted or in line.
                            _ => {
                                let ids = waiting.iter().map(|(id, _)| *id);
                                let id = if matches!(op, Op::CancelNewest) { ids.max() } else { ids.min() };
                                waiting.iter().position(|(w, _)| Some(*w) == id).expect("not empty")
                            }
                        };
                        let (id, future) = waiting.swap_remove(at);
                        drop(future);
                        if let Some(at) = granted.iter().position(|g| *g == id) {
                            // Granted but gone: the slot is passed on.
                            granted.swap_remove(at);
                            match line.pop_front() {
                                Some(first) => granted.push(first),
                                None => held -= 1,
                            }
                        } else {
                            line.retain(|w| *w != id);
                        }
                    }
                    Op::Release(_) | Op::Cancel(_) | Op::CancelNewest | Op::CancelOldest => {}
                    Op::Poll => {
                        let mut still = Vec::new();
                        for (id, mut future) in waiting.drain(..) {
                            match poll(&mut future) {
                                Poll::Ready(Ok(permit)) => {
                                    let at = granted.iter().position(|g| *g == id);
                                    prop_assert!(at.is_some(), "waiter {} got a slot out of turn", id);
                                    granted.swap_remove(at.unwrap_or_default());
                                    running.push(permit);
                                }
                                Poll::Ready(Err(_)) => prop_assert!(false, "no max_wait, yet a waiter gave up"),
                                Poll::Pending => {
                                    prop_assert!(!granted.contains(&id), "granted waiter {} not woken", id);
                                    still.push((id, future));
                                }
                            }
                        }
                        waiting = still;
                    }
                }
                prop_assert_eq!(bulkhead.running(), held);
                prop_assert_eq!(bulkhead.waiting(), line.len() as u32);
                prop_assert!(held <= max_concurrent);
                let queued = bulkhead.slots.queue.lock().unwrap().check();
                prop_assert_eq!(&queued, &Vec::from(line.clone()), "the queue's line is not the model's");
            }
            drop(waiting);
            drop(running);
            prop_assert_eq!((bulkhead.running(), bulkhead.waiting()), (0, 0));
        }
    }
}

#[test]
fn try_acquire_never_waits_and_never_overtakes() {
    let b = Bulkhead::builder()
        .name("t")
        .max_concurrent(1)
        .max_queue(1)
        .build();
    let held = b.try_acquire().unwrap();
    assert_eq!(b.try_acquire().err(), Some(Rejected::bulkhead_full("t")));
    let mut waiter = Box::pin(b.acquire());
    assert!(futures_poll(&mut waiter).is_none());
    drop(held);
    // The freed slot went to the waiter in line, not to a newcomer.
    assert!(b.try_acquire().is_err());
    assert!(futures_poll(&mut waiter).is_some());
}
