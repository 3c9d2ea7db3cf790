//! `#[bulkhead]`: the concurrency limit, the FIFO queue and its bound,
//! `max_wait`, slot release on every way a call ends, shared state, names and
//! error conversions.
//!
//! Each test has its own annotated function (one bulkhead per function item).
//! A call "holds" its slot by waiting on a gate (a semaphore the test opens);
//! holders polled from the test's own task (`poll_once`) keep every step
//! deterministic on a paused current-thread runtime.

mod common_breaker;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use common_breaker::{
    Calls, End, Outcome, TestError, at_once, bulkhead_full_name, letter, ms, play, poll_once, secs,
    settle, settle_mt, within_an_hour, yield_a_few,
};
use steadfast::{Bulkhead, Rejected, bulkhead};
use tokio::sync::Semaphore;
use tokio::time::{Instant, advance};

// ---------------------------------------------------------------------------
// max_concurrent
// ---------------------------------------------------------------------------

#[bulkhead(max_concurrent = 4, max_queue = 196)]
async fn crowd(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// 200 concurrent callers on a multi-thread runtime: while the first 4 hold
/// their slots no fifth body starts, the other 196 fill the queue exactly
/// (none is rejected), all finish once released with never more than 4 bodies
/// running at once, and afterwards all 4 slots are back (4 new calls run at
/// once).
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn max_concurrent_caps_200_concurrent_callers() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    static STARTED: AtomicU32 = AtomicU32::new(0);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            tokio::spawn(async {
                STARTED.fetch_add(1, SeqCst);
                crowd(&CALLS, Outcome::gated(&GATE, End::Ok)).await
            })
        })
        .collect();
    settle_mt("200 callers started, 4 running", || {
        STARTED.load(SeqCst) == 200 && CALLS.entered() == 4
    })
    .await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(CALLS.entered(), 4, "no fifth call while 4 hold their slots");
    GATE.add_permits(200);
    let mut letters = String::new();
    for t in tasks {
        letters.push(letter(&t.await.unwrap()));
    }
    assert_eq!(letters, "S".repeat(200), "4 running + 196 queued all fit");
    assert_eq!(CALLS.entered(), 200);
    assert_eq!(CALLS.peak(), 4, "never more than max_concurrent at once");
    assert_eq!(CALLS.running(), 0);

    let again: Vec<_> = (0..4)
        .map(|_| tokio::spawn(crowd(&CALLS, Outcome::gated(&GATE, End::Ok))))
        .collect();
    settle_mt("every slot is back: 4 run at once", || CALLS.running() == 4).await;
    GATE.add_permits(4);
    for t in again {
        assert_eq!(letter(&t.await.unwrap()), 'S');
    }
    assert_eq!(CALLS.peak(), 4);
}

#[bulkhead]
async fn defaults(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// The defaults: `max_concurrent = 10`, `max_queue = 10`, waiting unbounded.
#[tokio::test(start_paused = true)]
async fn defaults_are_10_running_and_10_waiting() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let tasks: Vec<_> = (0..20)
        .map(|_| tokio::spawn(defaults(&CALLS, Outcome::gated(&GATE, End::Ok))))
        .collect();
    settle("10 running", || CALLS.entered() == 10).await;
    yield_a_few().await;
    assert_eq!(CALLS.entered(), 10);
    // The 10 waiters wait, however long (no default max_wait).
    advance(Duration::from_secs(3600)).await;
    assert!(tasks.iter().all(|t| !t.is_finished()));
    let start = Instant::now();
    assert_eq!(
        at_once(play(|o| defaults(&CALLS, o), "S")).await,
        "B",
        "the 21st"
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    GATE.add_permits(20);
    for t in tasks {
        assert_eq!(letter(&t.await.unwrap()), 'S');
    }
    assert_eq!(CALLS.peak(), 10);
}

// ---------------------------------------------------------------------------
// max_queue: FIFO, full, 0
// ---------------------------------------------------------------------------

#[bulkhead(max_concurrent = 1, max_queue = 3)]
async fn fifo(c: &'static Calls, tag: u32, o: Outcome) -> Result<u32, TestError> {
    c.run_tagged(tag, o).await
}

/// Waiters are served in arrival order; with 3 waiting the queue is full and
/// the next caller gets `BulkheadFull` at once, without running.
#[tokio::test(start_paused = true)]
async fn max_queue_waiters_are_served_in_fifo_order() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(fifo(&CALLS, 0, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut holder).await.is_none(), "the holder runs");
    let mut waiters = Vec::new();
    for tag in 1..=3 {
        waiters.push(tokio::spawn(fifo(&CALLS, tag, Outcome::OK)));
        yield_a_few().await;
    }
    assert_eq!(CALLS.entered(), 1, "the three wait");
    let start = Instant::now();
    let full = at_once(fifo(&CALLS, 99, Outcome::OK)).await;
    assert_eq!(letter(&full), 'B');
    assert_eq!(start.elapsed(), Duration::ZERO, "rejected at once");

    GATE.add_permits(1);
    assert_eq!(letter(&holder.await), 'S');
    for w in waiters {
        assert_eq!(letter(&within_an_hour(w).await.unwrap()), 'S');
    }
    assert_eq!(CALLS.order(), [0, 1, 2, 3]);
    assert_eq!(CALLS.peak(), 1);
}

#[bulkhead(max_concurrent = 1, max_queue = 4)]
async fn no_overtaking(c: &'static Calls, tag: u32, o: Outcome) -> Result<u32, TestError> {
    c.run_tagged(tag, o).await
}

/// A slot released while callers wait goes to the first of them: a newcomer
/// arriving right after the release (before the woken waiter has run) joins
/// the back of the line instead of taking the slot.
#[tokio::test(start_paused = true)]
async fn a_newcomer_does_not_overtake_the_queue() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(no_overtaking(&CALLS, 0, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut holder).await.is_none());
    let mut waiters = Vec::new();
    for tag in 1..=2 {
        waiters.push(tokio::spawn(no_overtaking(&CALLS, tag, Outcome::OK)));
        yield_a_few().await;
    }
    GATE.add_permits(1);
    assert_eq!(letter(&holder.await), 'S');
    let mut newcomer = Box::pin(no_overtaking(&CALLS, 3, Outcome::OK));
    assert!(
        poll_once(&mut newcomer).await.is_none(),
        "the newcomer must queue behind the waiters, not take the released slot"
    );
    for w in waiters {
        assert_eq!(letter(&within_an_hour(w).await.unwrap()), 'S');
    }
    assert_eq!(letter(&within_an_hour(newcomer).await), 'S');
    assert_eq!(CALLS.order(), [0, 1, 2, 3]);
}

#[bulkhead(max_concurrent = 1, max_queue = 1)]
async fn one_place(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A slot handed to the only waiter frees its place in the queue at once (the
/// waiting count drops), so a caller arriving before that waiter has run may
/// queue. It must wait (or be refused) like any caller, not panic.
#[tokio::test(start_paused = true)]
async fn a_caller_queueing_before_the_granted_waiter_runs_is_served_in_turn() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(one_place(&CALLS, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut holder).await.is_none());
    let waiter = tokio::spawn(one_place(&CALLS, Outcome::OK));
    yield_a_few().await;
    GATE.add_permits(1);
    assert_eq!(letter(&holder.await), 'S'); // the slot goes to `waiter`
    // Same task, right away: the waiter has not run yet. (This panicked in
    // the queue, out of tickets, before commit c12e940.)
    let newcomer = within_an_hour(one_place(&CALLS, Outcome::OK)).await;
    assert_eq!(letter(&newcomer), 'S');
    assert_eq!(letter(&within_an_hour(waiter).await.unwrap()), 'S');
    assert_eq!(CALLS.peak(), 1);
}

#[bulkhead(max_concurrent = 1, max_queue = 2)]
async fn small_queue(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `max_queue = 2`: two callers wait, the third waiting caller is refused at
/// once with `BulkheadFull` (never waits, body not run).
#[tokio::test(start_paused = true)]
async fn max_queue_full_rejects_at_once() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(small_queue(&CALLS, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut holder).await.is_none());
    let mut first = Box::pin(small_queue(&CALLS, Outcome::OK));
    let mut second = Box::pin(small_queue(&CALLS, Outcome::OK));
    assert!(poll_once(&mut first).await.is_none(), "queued");
    assert!(poll_once(&mut second).await.is_none(), "queued");
    let start = Instant::now();
    let third = tokio::time::timeout(secs(60), small_queue(&CALLS, Outcome::OK))
        .await
        .expect("a caller beyond the queue must not wait");
    assert_eq!(letter(&third), 'B');
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(CALLS.entered(), 1);
    GATE.add_permits(1);
    assert_eq!(letter(&holder.await), 'S');
    assert_eq!(letter(&within_an_hour(first).await), 'S');
    assert_eq!(letter(&within_an_hour(second).await), 'S');
}

#[bulkhead(max_concurrent = 2, max_queue = 0)]
async fn no_queue(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `max_queue = 0`: never wait. With both slots taken a call is refused at
/// once; as soon as one is free, a call runs.
#[tokio::test(start_paused = true)]
async fn max_queue_zero_never_waits() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut a = Box::pin(no_queue(&CALLS, Outcome::gated(&GATE, End::Ok)));
    let mut b = Box::pin(no_queue(&CALLS, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut a).await.is_none());
    assert!(poll_once(&mut b).await.is_none());
    let start = Instant::now();
    let refused = tokio::time::timeout(secs(60), no_queue(&CALLS, Outcome::OK))
        .await
        .expect("max_queue = 0 must not wait");
    assert_eq!(letter(&refused), 'B');
    assert_eq!(start.elapsed(), Duration::ZERO);
    GATE.add_permits(1);
    assert_eq!(letter(&a.await), 'S');
    assert_eq!(play(|o| no_queue(&CALLS, o), "S").await, "S");
    GATE.add_permits(1);
    assert_eq!(letter(&b.await), 'S');
}

// ---------------------------------------------------------------------------
// max_wait
// ---------------------------------------------------------------------------

#[bulkhead(max_concurrent = 1, max_queue = 4, max_wait = "100ms")]
async fn patient(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `max_wait = "100ms"`: a waiter gives up with `BulkheadFull` after exactly
/// 100 ms (not before), and never takes a slot afterwards: when the holder
/// finishes, the next call runs at once and the waiter's body never runs.
#[tokio::test(start_paused = true)]
async fn max_wait_gives_up_after_exactly_that_long() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(patient(&CALLS, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut holder).await.is_none());
    let waiter = tokio::spawn(async {
        let start = Instant::now();
        let result = patient(&CALLS, Outcome::OK).await;
        (result, start.elapsed())
    });
    yield_a_few().await;
    advance(ms(99)).await;
    yield_a_few().await;
    assert!(!waiter.is_finished(), "still waiting at 99 ms");
    advance(ms(1)).await;
    let (result, waited) = tokio::time::timeout(secs(60), waiter)
        .await
        .expect("the waiter must give up after max_wait")
        .unwrap();
    assert_eq!(letter(&result), 'B');
    assert_eq!(
        bulkhead_full_name(&result),
        concat!(module_path!(), "::patient")
    );
    assert_eq!(waited, ms(100));

    GATE.add_permits(1);
    assert_eq!(letter(&holder.await), 'S');
    assert_eq!(CALLS.entered(), 1, "the waiter that gave up never ran");
    let start = Instant::now();
    assert_eq!(play(|o| patient(&CALLS, o), "S").await, "S");
    assert_eq!(start.elapsed(), Duration::ZERO, "its slot was not taken");
}

#[bulkhead(max_concurrent = 1, max_queue = 4, max_wait = "100ms")]
async fn deadline_race(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A slot freed at the very instant a waiter's `max_wait` runs out: whichever
/// wins, the slot is not lost (a call runs at once afterwards), and a waiter
/// that reports `BulkheadFull` did not run.
#[tokio::test(start_paused = true)]
async fn a_slot_freed_as_max_wait_ends_is_not_lost() {
    static CALLS: Calls = Calls::new();
    let holder = tokio::spawn(deadline_race(&CALLS, Outcome::after(ms(100), End::Ok)));
    settle("the holder runs", || CALLS.entered() == 1).await;
    let waiter = tokio::spawn(deadline_race(&CALLS, Outcome::OK));
    assert_eq!(letter(&holder.await.unwrap()), 'S');
    let waited = within_an_hour(waiter).await.unwrap();
    match letter(&waited) {
        'S' => assert_eq!(CALLS.entered(), 2),
        'B' => assert_eq!(CALLS.entered(), 1, "a waiter that gave up ran"),
        other => panic!("unexpected {other}"),
    }
    let start = Instant::now();
    assert_eq!(play(|o| deadline_race(&CALLS, o), "S").await, "S");
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(CALLS.peak(), 1);
}

// ---------------------------------------------------------------------------
// Slots are released on success, error, panic and cancellation
// ---------------------------------------------------------------------------

#[bulkhead(max_concurrent = 1, max_queue = 0)]
async fn released_on_outcome(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// With one slot and no queue, any slot not given back would turn the next
/// call into `BulkheadFull`: successes and errors give it back.
#[tokio::test(start_paused = true)]
async fn slot_is_released_on_success_and_error() {
    static CALLS: Calls = Calls::new();
    assert_eq!(
        play(|o| released_on_outcome(&CALLS, o), "SSFFSFIS").await,
        "SSFFSFIS"
    );
}

#[bulkhead(max_concurrent = 1, max_queue = 0)]
async fn released_on_panic(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A panicking call gives its slot back, and the panic propagates.
#[tokio::test(start_paused = true)]
async fn slot_is_released_on_panic() {
    static CALLS: Calls = Calls::new();
    for _ in 0..3 {
        let error = tokio::spawn(released_on_panic(&CALLS, Outcome::PANIC))
            .await
            .unwrap_err();
        assert!(error.is_panic());
    }
    assert_eq!(play(|o| released_on_panic(&CALLS, o), "S").await, "S");
}

#[bulkhead(max_concurrent = 1, max_queue = 0)]
async fn released_on_cancel(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// A running call that is cancelled (its task aborted, or its future dropped)
/// gives its slot back.
#[tokio::test(start_paused = true)]
async fn slot_is_released_on_cancellation() {
    static CALLS: Calls = Calls::new();
    let task = tokio::spawn(released_on_cancel(&CALLS, Outcome::HANG));
    settle("the call runs", || CALLS.entered() == 1).await;
    assert_eq!(
        at_once(play(|o| released_on_cancel(&CALLS, o), "S")).await,
        "B"
    );
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(play(|o| released_on_cancel(&CALLS, o), "S").await, "S");

    let dropped = tokio::time::timeout(ms(10), released_on_cancel(&CALLS, Outcome::HANG)).await;
    assert!(dropped.is_err());
    assert_eq!(play(|o| released_on_cancel(&CALLS, o), "S").await, "S");
    assert_eq!(CALLS.entered(), 4);
}

#[bulkhead(max_concurrent = 1, max_queue = 1)]
async fn cancelled_waiter(c: &'static Calls, tag: u32, o: Outcome) -> Result<u32, TestError> {
    c.run_tagged(tag, o).await
}

/// A waiter that is cancelled gives up its place (the queue has room again)
/// and never runs; one cancelled just after a slot was handed to it passes
/// the slot on to the next waiter.
#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_gives_its_place_and_slot_away() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(cancelled_waiter(&CALLS, 0, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut holder).await.is_none());
    let mut quitter = Box::pin(cancelled_waiter(&CALLS, 1, Outcome::OK));
    assert!(poll_once(&mut quitter).await.is_none(), "queued");
    assert_eq!(
        at_once(play(|o| cancelled_waiter(&CALLS, 99, o), "S")).await,
        "B"
    );
    drop(quitter);
    // Its place is free again.
    let mut next = Box::pin(cancelled_waiter(&CALLS, 2, Outcome::OK));
    assert!(poll_once(&mut next).await.is_none(), "queued, not refused");
    GATE.add_permits(1);
    assert_eq!(letter(&holder.await), 'S');
    // The slot was handed to `next`; it is dropped before it could run.
    drop(next);
    let mut last = Box::pin(cancelled_waiter(&CALLS, 3, Outcome::OK));
    assert_eq!(
        poll_once(&mut last).await.map(|r| letter(&r)),
        Some('S'),
        "the slot handed to a dropped waiter is passed on, not lost"
    );
    assert_eq!(CALLS.order(), [0, 3]);
}

// ---------------------------------------------------------------------------
// shared, name
// ---------------------------------------------------------------------------

static DATABASE: Bulkhead = Bulkhead::builder()
    .name("database")
    .max_concurrent(1)
    .max_queue(0)
    .build();

#[bulkhead(shared = DATABASE)]
async fn read(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

#[bulkhead(shared = DATABASE)]
async fn write(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `shared = STATIC`: two functions draw on one bulkhead, configured and
/// named where the static is built.
#[tokio::test(start_paused = true)]
async fn shared_static_bulkhead_is_one_limit_for_two_functions() {
    static READS: Calls = Calls::new();
    static WRITES: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut reading = Box::pin(read(&READS, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut reading).await.is_none());
    let refused = at_once(write(&WRITES, Outcome::OK)).await;
    assert_eq!(bulkhead_full_name(&refused), "database");
    assert_eq!(WRITES.entered(), 0);
    assert_eq!(DATABASE.running(), 1);
    GATE.add_permits(1);
    assert_eq!(letter(&reading.await), 'S');
    assert_eq!(play(|o| write(&WRITES, o), "S").await, "S");
}

#[bulkhead(max_concurrent = 1, max_queue = 0, name = "image-resizer")]
async fn named(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

#[bulkhead(max_concurrent = 1, max_queue = 0)]
async fn default_named(c: &'static Calls, o: Outcome) -> Result<u32, TestError> {
    c.run(o).await
}

/// `name = "…"` appears in `Rejected::BulkheadFull { name }` and its
/// message; the default name is `module_path!()::fn_name`.
#[tokio::test(start_paused = true)]
async fn name_appears_in_bulkhead_full() {
    static CALLS: Calls = Calls::new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(named(&CALLS, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut holder).await.is_none());
    let refused = at_once(named(&CALLS, Outcome::OK)).await;
    assert_eq!(bulkhead_full_name(&refused), "image-resizer");
    assert_eq!(
        refused,
        Err(TestError::Rejected(Rejected::bulkhead_full(
            "image-resizer"
        )))
    );
    let message = refused.unwrap_err().to_string();
    assert_eq!(message, "bulkhead \"image-resizer\" is full");

    let mut other = Box::pin(default_named(&CALLS, Outcome::gated(&GATE, End::Ok)));
    assert!(poll_once(&mut other).await.is_none());
    assert_eq!(
        bulkhead_full_name(&at_once(default_named(&CALLS, Outcome::OK)).await),
        concat!(module_path!(), "::default_named")
    );
    GATE.add_permits(2);
    assert_eq!(letter(&holder.await), 'S');
    assert_eq!(letter(&other.await), 'S');
}

// ---------------------------------------------------------------------------
// Error conversions
// ---------------------------------------------------------------------------

#[bulkhead(max_concurrent = 1, max_queue = 0, name = "uploads")]
async fn io_bulkhead(gate: Option<&'static Semaphore>) -> std::io::Result<u32> {
    if let Some(gate) = gate {
        gate.acquire().await.expect("gate").forget();
    }
    Ok(1)
}

/// With `std::io::Error`, `BulkheadFull` becomes `ErrorKind::ResourceBusy`,
/// names the bulkhead, and keeps the `Rejected` as its source.
#[tokio::test(start_paused = true)]
async fn bulkhead_full_converts_to_io_resource_busy() {
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(io_bulkhead(Some(&GATE)));
    assert!(poll_once(&mut holder).await.is_none());
    let error = at_once(io_bulkhead(None)).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ResourceBusy);
    assert_eq!(error.to_string(), "bulkhead \"uploads\" is full");
    let inner = error.get_ref().and_then(|e| e.downcast_ref::<Rejected>());
    assert_eq!(inner, Some(&Rejected::bulkhead_full("uploads")));
    GATE.add_permits(1);
    assert_eq!(holder.await.unwrap(), 1);
}

#[bulkhead(max_concurrent = 1, max_queue = 0, name = "thumbnails")]
async fn anyhow_bulkhead(gate: Option<&'static Semaphore>) -> anyhow::Result<u32> {
    if let Some(gate) = gate {
        gate.acquire().await?.forget();
    }
    Ok(1)
}

/// With `anyhow::Error`, `BulkheadFull` is kept as the `Rejected` (downcast).
#[tokio::test(start_paused = true)]
async fn bulkhead_full_converts_to_anyhow() {
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut holder = Box::pin(anyhow_bulkhead(Some(&GATE)));
    assert!(poll_once(&mut holder).await.is_none());
    let error = at_once(anyhow_bulkhead(None)).await.unwrap_err();
    assert_eq!(
        error.downcast_ref::<Rejected>(),
        Some(&Rejected::bulkhead_full("thumbnails"))
    );
    assert_eq!(error.to_string(), "bulkhead \"thumbnails\" is full");
    GATE.add_permits(1);
    assert_eq!(holder.await.unwrap(), 1);
}

// ---------------------------------------------------------------------------
// Known bugs
// ---------------------------------------------------------------------------

static HANDOFF: Bulkhead = Bulkhead::builder()
    .name("handoff")
    .max_concurrent(1)
    .max_queue(4)
    .build();

static HOLDING: AtomicU32 = AtomicU32::new(0);
static GO: AtomicU32 = AtomicU32::new(0);
static DONE: AtomicU32 = AtomicU32::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// Holds the one slot for round `round` until the taker is about to call, then
/// a little longer (a different delay each round) and returns, releasing it.
#[bulkhead(shared = HANDOFF)]
async fn handoff_hold(round: u32) -> Result<(), TestError> {
    HOLDING.store(round, SeqCst);
    while GO.load(SeqCst) != round && !STOP.load(SeqCst) {
        std::hint::spin_loop();
    }
    for i in 0..round % 2048 {
        std::hint::black_box(i);
    }
    Ok(())
}

#[bulkhead(shared = HANDOFF)]
async fn handoff_take() -> Result<(), TestError> {
    Ok(())
}

/// A slot released exactly as another thread's caller finds it taken and
/// joins the queue must reach that caller: two threads hand one slot back and
/// forth, the release sweeping across the moment of the other's call. Before
/// the fix the caller could wait forever with no call running (`running = 0,
/// waiting = 1`), and every later caller queued behind it; with the old code
/// this failed within a few dozen rounds.
#[test]
fn a_release_racing_a_new_waiter_is_never_lost() {
    const ROUNDS: u32 = 20_000;
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    };
    let stuck = std::thread::scope(|s| {
        let holder = s.spawn(|| {
            runtime().block_on(async {
                for round in 1..=ROUNDS {
                    while DONE.load(SeqCst) != round - 1 {
                        if STOP.load(SeqCst) {
                            return;
                        }
                        std::hint::spin_loop();
                    }
                    handoff_hold(round).await.unwrap();
                }
            });
        });
        let taker = s.spawn(|| {
            runtime().block_on(async {
                for round in 1..=ROUNDS {
                    while HOLDING.load(SeqCst) != round {
                        std::hint::spin_loop();
                    }
                    GO.store(round, SeqCst);
                    // A guard against a hang, not a measurement. The call is
                    // polled through `&mut` so that it is still waiting when
                    // the counts are read.
                    let mut take = Box::pin(handoff_take());
                    match tokio::time::timeout(Duration::from_secs(5), &mut take).await {
                        Ok(result) => result.unwrap(),
                        Err(_) => {
                            let counts = (HANDOFF.running(), HANDOFF.waiting());
                            STOP.store(true, SeqCst);
                            return Some((round, counts));
                        }
                    }
                    DONE.store(round, SeqCst);
                }
                None
            })
        });
        let stuck = taker.join().unwrap();
        holder.join().unwrap();
        stuck
    });
    assert_eq!(
        stuck, None,
        "(round, (running, waiting)) of a caller that never got the free slot"
    );
}
