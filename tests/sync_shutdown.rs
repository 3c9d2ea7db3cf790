//! Shutdown on a plain `fn`: a thread blocked in a bulkhead's line, waiting
//! for a rate limiter's turn or sleeping a retry delay is woken when shutdown
//! begins, as an `async` caller is (its own binary: shutdown is process-wide).

mod common;

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::until;

use steadfast::{Bulkhead, RateLimiter, Rejected, bulkhead, rate_limit, retry};

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Busy(u32),
    Rejected(Rejected),
}

impl From<Rejected> for Error {
    fn from(rejected: Rejected) -> Self {
        Error::Rejected(rejected)
    }
}

static LINE: Bulkhead = Bulkhead::builder()
    .name("sync_shutdown::line")
    .max_concurrent(1)
    .max_queue(1)
    .build();

#[bulkhead(shared = LINE)]
fn in_line(hold: Option<mpsc::Receiver<()>>) -> Result<u32, Error> {
    if let Some(hold) = hold {
        hold.recv().unwrap();
    }
    Ok(1)
}

static TURNS: RateLimiter = RateLimiter::builder()
    .name("sync_shutdown::turns")
    .rate(1)
    .per(Duration::from_secs(3_600))
    .max_wait(Duration::from_secs(7_200))
    .build();

#[rate_limit(shared = TURNS)]
fn at_turn(ran: &AtomicU32) -> Result<u32, Error> {
    Ok(ran.fetch_add(1, SeqCst))
}

#[retry(attempts = 3, backoff = fixed("1h"))]
fn sleepy(calls: &AtomicU32) -> Result<u32, Error> {
    Err(Error::Busy(calls.fetch_add(1, SeqCst) + 1))
}

/// The result of `call` run on a thread of its own, or a failure if it has
/// not come 10 s after `wait` is called (a thread that was not woken).
fn on_a_thread<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> impl FnOnce() -> T {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || sender.send(call()).unwrap());
    move || {
        receiver
            .recv_timeout(Duration::from_secs(10))
            .expect("the blocked thread was not woken within 10 s")
    }
}

/// Three threads block — in line behind a held slot, for an hour-away turn,
/// in an hour-long retry delay — and shutdown wakes each: the waiters leave
/// with `ShuttingDown` without running, the retry returns its last error
/// without another attempt.
#[test]
fn shutdown_wakes_blocked_threads() {
    let (release, hold) = mpsc::channel();
    let holder = thread::spawn(move || in_line(Some(hold)));
    until(|| LINE.running() == 1);
    let waiter = on_a_thread(|| in_line(None));
    until(|| LINE.waiting() == 1);

    static RAN: AtomicU32 = AtomicU32::new(0);
    assert_eq!(at_turn(&RAN), Ok(0));
    let turn = on_a_thread(|| at_turn(&RAN));

    static CALLS: AtomicU32 = AtomicU32::new(0);
    let retry = on_a_thread(|| sleepy(&CALLS));
    until(|| CALLS.load(SeqCst) == 1);
    // Let the last two reach their waits (nothing to observe: a few ms).
    thread::sleep(Duration::from_millis(20));

    steadfast::shutdown::begin();
    let left = waiter().unwrap_err();
    assert!(
        matches!(left, Error::Rejected(Rejected::ShuttingDown { .. })),
        "{left:?}"
    );
    let left = turn().unwrap_err();
    assert!(
        matches!(left, Error::Rejected(Rejected::ShuttingDown { .. })),
        "{left:?}"
    );
    assert_eq!(RAN.load(SeqCst), 1, "the call sent away did not run");
    assert_eq!(retry(), Err(Error::Busy(1)));
    assert_eq!(CALLS.load(SeqCst), 1);

    // The call in flight runs to its end.
    release.send(()).unwrap();
    assert_eq!(holder.join().unwrap(), Ok(1));
    steadfast::shutdown::reset();
}
