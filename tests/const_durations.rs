//! DURATIONS: "any const expression of type `Duration`" — also one that names
//! `Self` or depends on the function's generics, which cannot be evaluated in
//! a `static` (E0401).

mod common;

use std::time::Duration;

use common::{Probe, TestError, ms};
use steadfast::{Rejected, bulkhead, circuit_breaker, retry, timeout};
use tokio::time::Instant;

trait Limits {
    const LIMIT: Duration;
}

struct Fast;
struct Slow;

impl Limits for Fast {
    const LIMIT: Duration = Duration::from_millis(10);
}

impl Limits for Slow {
    const LIMIT: Duration = Duration::from_millis(100);
}

struct Client {
    probe: Probe,
}

impl Client {
    const LIMIT: Duration = Duration::from_millis(40);
    const PAUSE: Duration = Duration::from_millis(25);
    const BUDGET: Duration = Duration::from_millis(60);
    const OPEN: Duration = Duration::from_millis(500);
    const WAIT: Duration = Duration::from_millis(30);

    #[timeout(Self::LIMIT)]
    async fn limited(&self, work: Duration) -> Result<(), TestError> {
        tokio::time::sleep(work).await;
        Ok(())
    }

    #[retry(attempts = 10, backoff = fixed(Self::PAUSE), jitter = none, max_elapsed = Self::BUDGET)]
    async fn budgeted(&self) -> Result<u32, TestError> {
        Err(TestError::Transient(self.probe.hit()))
    }

    #[circuit_breaker(window = 1, min_calls = 1, open_for = Self::OPEN, name = "const_durations::opened")]
    async fn guarded(&self) -> Result<u32, TestError> {
        Err(TestError::Transient(self.probe.hit()))
    }

    #[bulkhead(max_concurrent = 1, max_queue = 1, max_wait = Self::WAIT)]
    async fn pooled(&self, work: Duration) -> Result<(), TestError> {
        tokio::time::sleep(work).await;
        Ok(())
    }
}

#[timeout(L::LIMIT)]
async fn generic_limit<L: Limits>(work: Duration) -> Result<(), TestError> {
    tokio::time::sleep(work).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timeout_of_self_const() {
    let client = Client {
        probe: Probe::new(),
    };
    assert_eq!(client.limited(ms(39)).await, Ok(()));
    let start = Instant::now();
    assert_eq!(
        client.limited(ms(41)).await,
        Err(TestError::Rejected(Rejected::timeout(ms(40))))
    );
    assert_eq!(start.elapsed(), ms(40));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_that_depends_on_generics_takes_each_instantiation_s_value() {
    assert_eq!(
        generic_limit::<Fast>(ms(50)).await,
        Err(TestError::Rejected(Rejected::timeout(ms(10))))
    );
    assert_eq!(generic_limit::<Slow>(ms(50)).await, Ok(()));
    assert_eq!(
        generic_limit::<Slow>(ms(150)).await,
        Err(TestError::Rejected(Rejected::timeout(ms(100))))
    );
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_and_max_elapsed_of_self_consts() {
    let client = Client {
        probe: Probe::new(),
    };
    let start = Instant::now();
    // Attempts at 0, 25, 50 ms; a fourth would start at 75 > 60 ms.
    assert_eq!(client.budgeted().await, Err(TestError::Transient(3)));
    assert_eq!(client.probe.offsets(start), vec![ms(0), ms(25), ms(50)]);
}

#[tokio::test(start_paused = true)]
async fn a_breaker_open_for_a_self_const() {
    let client = Client {
        probe: Probe::new(),
    };
    assert_eq!(client.guarded().await, Err(TestError::Transient(1)));
    assert!(matches!(
        client.guarded().await,
        Err(TestError::Rejected(Rejected::CircuitOpen { .. }))
    ));
    tokio::time::advance(ms(499)).await;
    assert!(matches!(
        client.guarded().await,
        Err(TestError::Rejected(Rejected::CircuitOpen { .. }))
    ));
    tokio::time::advance(ms(1)).await;
    assert_eq!(
        client.guarded().await,
        Err(TestError::Transient(2)),
        "probe admitted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_max_wait_of_a_self_const() {
    let client = Client {
        probe: Probe::new(),
    };
    let start = Instant::now();
    let (first, second) = tokio::join!(client.pooled(ms(100)), client.pooled(ms(1)));
    assert_eq!(first, Ok(()));
    assert!(
        matches!(
            second,
            Err(TestError::Rejected(Rejected::BulkheadFull { .. }))
        ),
        "{second:?}"
    );
    assert_eq!(start.elapsed(), ms(100));
}
