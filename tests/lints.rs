//! Expansions compile cleanly under strict lints in the user's crate: rustc's
//! (`deny(warnings)` here) and clippy's (`cargo clippy --all-targets`, as CI
//! runs it, checks this file with `clippy::all` and `clippy::pedantic`).

#![deny(warnings, unused_qualifications, unused_results, let_underscore_drop)]
#![deny(clippy::all, clippy::pedantic, clippy::nursery)]
// The items below are test fixtures, not API.
#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::missing_errors_doc
)]
#![allow(clippy::unnecessary_wraps)] // a fallback handler must return `Result`

use std::time::Duration;

use steadfast::{fallback, retry, timeout};

const LIMIT: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub struct ApiError(pub u16);

impl ApiError {
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        self.0 >= 500
    }

    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        if self.0 == 503 {
            Some(Duration::from_millis(5))
        } else {
            None
        }
    }
}

impl From<steadfast::Rejected> for ApiError {
    fn from(_: steadfast::Rejected) -> Self {
        Self(504)
    }
}

pub struct Client {
    calls: u32,
}

impl Client {
    #[fallback(Self::cached, when = ApiError::is_transient)]
    #[retry(
        attempts = 4,
        backoff = exponential("1ms", factor = 2.0, max = "20ms"),
        jitter = equal,
        max_elapsed = "1s",
        when = ApiError::is_transient,
        delay_from = ApiError::retry_after
    )]
    #[timeout(LIMIT)]
    pub async fn get(&mut self, id: u32) -> Result<u32, ApiError> {
        self.calls += 1;
        if self.calls < 3 {
            return Err(ApiError(503));
        }
        Ok(id)
    }

    const fn cached(_error: ApiError) -> Result<u32, ApiError> {
        Ok(0)
    }
}

#[retry(
    backoff = fibonacci("1ms", max = "4ms"),
    jitter = decorrelated,
    when = |e| e.kind() == std::io::ErrorKind::Other
)]
pub async fn plain(flag: bool) -> Result<(), std::io::Error> {
    if flag {
        Ok(())
    } else {
        Err(std::io::Error::other("no"))
    }
}

// Bodies that diverge or end in `return …;` compile without `unreachable_code`
// warnings, and one-line bodies without `unused_braces` (rustc's lints; the
// clippy style lints allowed here fire on the same code without attributes).
#[allow(
    clippy::needless_return,
    clippy::redundant_closure,
    clippy::missing_panics_doc,
    clippy::redundant_pub_crate
)]
mod rustc_lints {
    use steadfast::{fallback, retry, timeout};

    #[retry(attempts = 2, backoff = none)]
    pub(crate) async fn stub() -> Result<u32, String> {
        todo!()
    }

    #[timeout("1s")]
    pub(crate) async fn serve() -> Result<u32, steadfast::Rejected> {
        loop {
            tokio::task::yield_now().await;
        }
    }

    #[fallback(|e| Err(e))]
    pub(crate) async fn explode() -> Result<u32, String> {
        panic!("boom")
    }

    #[retry(attempts = 2, backoff = none)]
    pub(crate) async fn explicit_return(x: u32) -> Result<u32, String> {
        let y = x + 1;
        return Ok(y);
    }

    #[retry(attempts = 2, backoff = none)]
    pub(crate) async fn every_arm_returns(x: u32) -> Result<u32, String> {
        match x {
            0 => return Err("zero".into()),
            n => return Ok(n),
        }
    }

    #[retry(attempts = 2, backoff = none)]
    pub(crate) async fn one_line(x: u32) -> Result<u32, String> {
        Ok(x)
    }
}

// The same on plain functions, with the five attributes they take.
#[allow(
    clippy::needless_return,
    clippy::redundant_closure,
    clippy::missing_panics_doc,
    clippy::redundant_pub_crate
)]
mod plain_fns {
    use steadfast::{bulkhead, circuit_breaker, fallback, rate_limit, retry};

    use super::ApiError;

    pub(crate) struct Store {
        pub(crate) reads: u32,
    }

    impl Store {
        #[fallback(Self::cached, when = ApiError::is_transient)]
        #[retry(
            attempts = 4,
            backoff = exponential("1ms", factor = 2.0, max = "20ms"),
            jitter = equal,
            max_elapsed = "1s",
            when = ApiError::is_transient,
            delay_from = ApiError::retry_after
        )]
        #[circuit_breaker(failure_if = ApiError::is_transient)]
        #[bulkhead(max_concurrent = 2, max_wait = "10ms")]
        #[rate_limit(rate = 100, max_wait = "10ms")]
        pub(crate) fn read(&mut self, id: u32) -> Result<u32, ApiError> {
            self.reads += 1;
            if self.reads < 3 {
                return Err(ApiError(503));
            }
            Ok(id)
        }

        const fn cached(_error: ApiError) -> Result<u32, ApiError> {
            Ok(0)
        }
    }

    #[retry(attempts = 2, backoff = none)]
    pub(crate) fn sync_stub() -> Result<u32, String> {
        todo!()
    }

    #[retry(attempts = 2, backoff = none)]
    pub(crate) fn sync_every_arm_returns(x: u32) -> Result<u32, String> {
        match x {
            0 => return Err("zero".into()),
            n => return Ok(n),
        }
    }

    #[fallback(|e| Err(e))]
    pub(crate) fn sync_one_line(x: u32) -> Result<u32, String> {
        Ok(x)
    }
}

use rustc_lints::{every_arm_returns, explicit_return, explode, one_line, serve, stub};

#[test]
fn strict_lints_accept_the_expansions_of_plain_fns() {
    let mut store = plain_fns::Store { reads: 0 };
    assert_eq!(store.read(7).unwrap(), 7);
    assert_eq!(plain_fns::sync_every_arm_returns(0), Err("zero".into()));
    assert_eq!(plain_fns::sync_one_line(3), Ok(3));
    let stub: fn() -> Result<u32, String> = plain_fns::sync_stub;
    assert!(std::panic::catch_unwind(stub).is_err());
}

#[tokio::test(start_paused = true)]
async fn strict_lints_accept_the_expansions() {
    assert_eq!(explicit_return(1).await, Ok(2));
    assert_eq!(every_arm_returns(0).await, Err("zero".into()));
    assert_eq!(one_line(3).await, Ok(3));
    let _unused = (stub(), serve(), explode());
    let mut client = Client { calls: 0 };
    assert_eq!(client.get(7).await.unwrap(), 7);
    assert!(plain(true).await.is_ok());
}
