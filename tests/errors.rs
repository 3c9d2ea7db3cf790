//! Error types: the ones that work out of the box, user enums with
//! `From<Rejected>`, and what `Rejected` says.

mod common;

use std::error::Error;
use std::io;
use std::num::ParseIntError;

use common::{Probe, ms, secs};
use steadfast::{Rejected, fallback, retry, timeout};
use tokio::time::Instant;

fn rejected_in_io(e: &io::Error) -> Option<&Rejected> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Rejected>())
}

// ---------------------------------------------------------------- io::Error

#[timeout("40ms")]
async fn io_timeout(hang: bool) -> Result<u32, io::Error> {
    if hang {
        tokio::time::sleep(secs(1)).await;
    }
    Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
}

#[tokio::test(start_paused = true)]
async fn io_error_timeout_is_timed_out_and_wraps_the_rejection() {
    let start = Instant::now();
    let e = io_timeout(true).await.unwrap_err();
    assert_eq!(start.elapsed(), ms(40));
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert_eq!(rejected_in_io(&e), Some(&Rejected::timeout(ms(40))));
    assert_eq!(e.to_string(), Rejected::timeout(ms(40)).to_string());
    // The body's own io::Error is untouched.
    let e = io_timeout(false).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    assert!(rejected_in_io(&e).is_none());
}

#[retry(attempts = 3, backoff = none)]
#[timeout("1s")]
async fn io_result_alias(p: &Probe) -> io::Result<Vec<u8>> {
    p.hit();
    let bytes = std::fs::read("/definitely/not/here/steadfast")?;
    Ok(bytes)
}

#[fallback(|e: io::Error| if e.kind() == io::ErrorKind::TimedOut { Ok(0) } else { Err(e) })]
#[retry(attempts = 2, backoff = none)]
#[timeout("10ms")]
async fn io_full_stack(p: &Probe, hang: bool) -> io::Result<u32> {
    p.hit();
    if hang {
        std::future::pending::<()>().await;
    }
    Err(io::Error::other("own"))
}

#[tokio::test(start_paused = true)]
async fn io_result_alias_with_question_mark() {
    let p = Probe::new();
    let e = io_result_alias(&p).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    assert_eq!(p.calls(), 3);

    let p = Probe::new();
    assert_eq!(io_full_stack(&p, true).await.unwrap(), 0);
    assert_eq!(p.calls(), 2);
    let p = Probe::new();
    assert_eq!(
        io_full_stack(&p, false).await.unwrap_err().to_string(),
        "own"
    );
    assert_eq!(p.calls(), 2);
}

// ------------------------------------------------------------ Box<dyn Error>

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug)]
struct Custom(u32);

impl std::fmt::Display for Custom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "custom {}", self.0)
    }
}

impl Error for Custom {}

#[retry(attempts = 3, backoff = none)]
#[timeout("25ms")]
async fn boxed(p: &Probe, mode: &str) -> Result<u32, BoxError> {
    let n = p.hit();
    match mode {
        "hang" => std::future::pending::<()>().await,
        "custom" => return Err(Box::new(Custom(n))),
        "parse" => {
            let v: u32 = "nope".parse()?;
            return Ok(v);
        }
        _ => {}
    }
    Err("plain text".into())
}

#[tokio::test(start_paused = true)]
async fn boxed_dyn_error_absorbs_rejections_and_coerces() {
    let p = Probe::new();
    let start = Instant::now();
    let e = boxed(&p, "hang").await.unwrap_err();
    assert_eq!(
        e.downcast_ref::<Rejected>(),
        Some(&Rejected::timeout(ms(25)))
    );
    assert_eq!(p.calls(), 3);
    assert_eq!(start.elapsed(), ms(75));

    let p = Probe::new();
    let e = boxed(&p, "custom").await.unwrap_err();
    assert_eq!(
        e.downcast_ref::<Custom>().map(|c| c.0),
        Some(3),
        "last attempt's error"
    );

    let p = Probe::new();
    let e = boxed(&p, "parse").await.unwrap_err();
    assert!(e.downcast_ref::<ParseIntError>().is_some(), "{e}");

    let p = Probe::new();
    assert_eq!(
        boxed(&p, "text").await.unwrap_err().to_string(),
        "plain text"
    );
}

#[timeout("5ms")]
async fn boxed_not_send() -> Result<(), Box<dyn Error>> {
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn boxed_dyn_error_without_send_sync_works_too() {
    let e = boxed_not_send().await.unwrap_err();
    assert_eq!(
        e.downcast_ref::<Rejected>(),
        Some(&Rejected::timeout(ms(5)))
    );
}

// ----------------------------------------------------------------- thiserror

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("service unavailable ({0})")]
    Unavailable(u32),
    #[error("not found")]
    NotFound,
    #[error("rejected: {0}")]
    Rejected(#[from] Rejected),
    #[error(transparent)]
    Parse(#[from] ParseIntError),
}

impl ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unavailable(_) | ApiError::Rejected(_))
    }
}

#[retry(attempts = 4, backoff = fixed("10ms"), jitter = none, when = ApiError::is_transient)]
#[timeout("50ms")]
async fn api(p: &Probe, script: &[&str]) -> Result<u32, ApiError> {
    let n = p.hit();
    match script.get(n as usize - 1).copied().unwrap_or("unavailable") {
        "hang" => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        "unavailable" => Err(ApiError::Unavailable(n)),
        "missing" => Err(ApiError::NotFound),
        number => Ok(number.parse()?),
    }
}

type ApiResult<T> = Result<T, ApiError>;

#[retry(attempts = 2, backoff = none, when = ApiError::is_transient)]
#[timeout("30ms")]
pub(crate) async fn local_alias(p: &Probe) -> ApiResult<u32> {
    p.hit();
    std::future::pending::<()>().await;
    Ok(0)
}

#[tokio::test(start_paused = true)]
async fn a_local_result_alias() {
    let p = Probe::new();
    let start = Instant::now();
    assert!(matches!(local_alias(&p).await, Err(ApiError::Rejected(_))));
    assert_eq!(p.calls(), 2);
    assert_eq!(start.elapsed(), ms(60));
}

#[tokio::test(start_paused = true)]
async fn thiserror_enum_with_from_rejected() {
    let p = Probe::new();
    let start = Instant::now();
    let e = api(&p, &["hang", "hang", "hang", "hang"])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::Rejected(r) if *r == Rejected::timeout(ms(50))),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("rejected: "), "{e}");
    assert!(e.to_string().contains("50ms"), "{e}");
    assert_eq!(start.elapsed(), ms(4 * 50 + 3 * 10));

    let p = Probe::new();
    assert_eq!(api(&p, &["unavailable", "hang", "42"]).await.unwrap(), 42);
    assert_eq!(p.calls(), 3);

    let p = Probe::new();
    assert!(matches!(
        api(&p, &["unavailable", "missing"]).await,
        Err(ApiError::NotFound)
    ));
    assert_eq!(p.calls(), 2, "`when` refused NotFound");

    let p = Probe::new();
    assert!(matches!(api(&p, &["x1"]).await, Err(ApiError::Parse(_))));
    assert_eq!(
        p.calls(),
        1,
        "a `?`-converted error is judged by `when` too"
    );
}

// -------------------------------------------------------------------- anyhow

#[retry(attempts = 3, backoff = fixed("5ms"), jitter = none)]
#[timeout("20ms")]
async fn with_anyhow(p: &Probe, mode: &str) -> anyhow::Result<u32> {
    let n = p.hit();
    match mode {
        "hang" => std::future::pending().await,
        "bail" => anyhow::bail!("bailed on attempt {n}"),
        "context" => {
            use anyhow::Context;
            let v: u32 = "x".parse().context("parsing the count")?;
            Ok(v)
        }
        _ => Ok(n),
    }
}

#[retry(attempts = 2, backoff = none)]
async fn with_anyhow_spelled_out(p: &Probe) -> Result<(), anyhow::Error> {
    p.hit();
    Err(anyhow::anyhow!("spelled out"))
}

#[tokio::test(start_paused = true)]
async fn anyhow_error_and_result_alias() {
    let p = Probe::new();
    let start = Instant::now();
    let e = with_anyhow(&p, "hang").await.unwrap_err();
    assert_eq!(
        e.downcast_ref::<Rejected>(),
        Some(&Rejected::timeout(ms(20)))
    );
    assert_eq!(start.elapsed(), ms(20 + 5 + 20 + 5 + 20));

    let p = Probe::new();
    assert_eq!(
        with_anyhow(&p, "bail").await.unwrap_err().to_string(),
        "bailed on attempt 3"
    );

    let p = Probe::new();
    let e = with_anyhow(&p, "context").await.unwrap_err();
    assert_eq!(e.to_string(), "parsing the count");
    assert!(e.downcast_ref::<ParseIntError>().is_some());
    assert_eq!(p.calls(), 3);

    let p = Probe::new();
    assert_eq!(with_anyhow(&p, "ok").await.unwrap(), 1);

    let p = Probe::new();
    assert_eq!(
        with_anyhow_spelled_out(&p).await.unwrap_err().to_string(),
        "spelled out"
    );
    assert_eq!(p.calls(), 2);
}

// ------------------------------------ no `From<Rejected>` needed without one

#[derive(Debug, PartialEq)]
struct Plain(u8);

#[fallback(|e: Plain| if e.0 > 1 { Ok(e.0) } else { Err(e) })]
#[retry(attempts = 3, backoff = none)]
async fn plain_error(p: &Probe) -> Result<u8, Plain> {
    Err(Plain(p.hit() as u8))
}

#[retry(attempts = 2, backoff = none)]
async fn unit_error(p: &Probe) -> Result<u8, ()> {
    p.hit();
    Err(())
}

#[tokio::test(start_paused = true)]
async fn retry_and_fallback_alone_need_no_from_rejected() {
    let p = Probe::new();
    assert_eq!(plain_error(&p).await, Ok(3));
    assert_eq!(p.calls(), 3);
    let p = Probe::new();
    assert_eq!(unit_error(&p).await, Err(()));
    assert_eq!(p.calls(), 2);
}

// ---------------------------------------------------------- Rejected itself

#[test]
fn rejected_display_messages_say_what_happened() {
    let t = Rejected::timeout(ms(800)).to_string();
    assert!(t.contains("timed out"), "{t}");
    assert!(t.contains("800ms"), "{t}");
    let t = Rejected::timeout(secs(90)).to_string();
    assert!(t.contains("90s"), "{t}");

    let c = Rejected::circuit_open("payments::charge").to_string();
    assert!(c.contains("payments::charge"), "{c}");
    assert!(c.contains("open"), "{c}");

    let b = Rejected::bulkhead_full("db::query").to_string();
    assert!(b.contains("db::query"), "{b}");
    assert!(b.contains("full"), "{b}");

    let r = Rejected::rate_limited("upstream", ms(120)).to_string();
    assert!(r.contains("upstream"), "{r}");
    assert!(r.contains("120ms"), "{r}");

    // Distinct messages for distinct rejections.
    assert_ne!(
        Rejected::circuit_open("x").to_string(),
        Rejected::bulkhead_full("x").to_string()
    );
    assert_ne!(
        Rejected::bulkhead_full("x").to_string(),
        Rejected::rate_limited("x", ms(1)).to_string()
    );
}

#[test]
fn rejected_is_error_display_clone_send_sync_static() {
    fn bounds<T: Error + std::fmt::Display + Clone + Send + Sync + 'static>(t: &T) -> T {
        t.clone()
    }
    let r = Rejected::timeout(ms(3));
    assert_eq!(bounds(&r), r);
    let boxed: BoxError = Box::new(r.clone());
    assert_eq!(boxed.to_string(), r.to_string());
    match r {
        Rejected::Timeout { after, .. } => assert_eq!(after, ms(3)),
        other => panic!("{other:?}"),
    }
}
