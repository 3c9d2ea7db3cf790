//! HTTP helpers for `#[retry]`: which statuses are worth another attempt, and
//! the server's `Retry-After` hint. Behind the cargo feature `http`.
//!
//! Two plain functions work on the types of the [`http`] crate (the ones
//! reqwest, hyper, axum and tonic use):
//!
//! - [`is_retryable_status`] — whether a response status is worth retrying;
//! - [`retry_after`] — the delay a `Retry-After` header asks for.
//!
//! Two generic functions apply them to your own error type, once it says where
//! its status and headers are ([`HttpError`]); they fit `when` and
//! `delay_from` as they are:
//!
//! ```
//! use std::time::Duration;
//! use steadfast::http::{HeaderMap, HttpError, StatusCode};
//! use steadfast::retry;
//! use tokio::time::Instant;
//!
//! #[derive(Debug)]
//! struct ApiError {
//!     status: StatusCode,
//!     headers: HeaderMap,
//! }
//!
//! impl HttpError for ApiError {
//!     fn status(&self) -> Option<StatusCode> {
//!         Some(self.status)
//!     }
//!     fn headers(&self) -> Option<&HeaderMap> {
//!         Some(&self.headers)
//!     }
//! }
//!
//! #[retry(
//!     attempts = 3,
//!     when = steadfast::http::is_transient,
//!     delay_from = steadfast::http::retry_after_hint,
//! )]
//! async fn call(status: StatusCode) -> Result<(), ApiError> {
//!     let mut headers = HeaderMap::new();
//!     headers.insert("retry-after", "30".parse().unwrap());
//!     Err(ApiError { status, headers })
//! }
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() {
//!     // 503 with `Retry-After: 30`: two retries, 30 s apart, as asked.
//!     let start = Instant::now();
//!     assert!(call(StatusCode::SERVICE_UNAVAILABLE).await.is_err());
//!     assert_eq!(start.elapsed(), Duration::from_secs(60));
//!     // 404 is not transient: no retry, no wait.
//!     let start = Instant::now();
//!     assert!(call(StatusCode::NOT_FOUND).await.is_err());
//!     assert_eq!(start.elapsed(), Duration::ZERO);
//! }
//! ```
//!
//! A hint is waited as given, never shortened to the backoff's `max`; one
//! longer than `max_hint` (60 s unless set), or one that would end past
//! `max_elapsed`, ends the retries at once with that error (see
//! [`Retry::run_with`](crate::Retry::run_with)).
//!
//! # With reqwest
//!
//! Keep the status and headers of a failed response in your error, and let
//! transport errors through as they are. An error without a status is not
//! [transient](is_transient) by this module's judgement: whether a failed
//! connection is worth retrying is yours to say, as below with reqwest's
//! `is_connect` and `is_timeout`.
//!
//! ```ignore
//! use steadfast::http::{self, HeaderMap, HttpError, StatusCode};
//! use steadfast::{Rejected, retry, timeout};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum ApiError {
//!     #[error("HTTP {status}")]
//!     Status { status: StatusCode, headers: HeaderMap },
//!     #[error(transparent)]
//!     Transport(#[from] reqwest::Error),
//!     #[error(transparent)]
//!     Rejected(#[from] Rejected),
//! }
//!
//! impl HttpError for ApiError {
//!     fn status(&self) -> Option<StatusCode> {
//!         match self {
//!             ApiError::Status { status, .. } => Some(*status),
//!             _ => None,
//!         }
//!     }
//!     fn headers(&self) -> Option<&HeaderMap> {
//!         match self {
//!             ApiError::Status { headers, .. } => Some(headers),
//!             _ => None,
//!         }
//!     }
//! }
//!
//! impl ApiError {
//!     fn is_transient(&self) -> bool {
//!         match self {
//!             ApiError::Transport(e) => e.is_connect() || e.is_timeout(),
//!             other => http::is_transient(other),
//!         }
//!     }
//! }
//!
//! #[retry(
//!     attempts = 4,
//!     when = ApiError::is_transient,
//!     delay_from = steadfast::http::retry_after_hint,
//!     max_hint = "2m",
//! )]
//! #[timeout("10s")]
//! async fn quote(client: &reqwest::Client, url: &str) -> Result<String, ApiError> {
//!     let response = client.get(url).send().await?;
//!     let status = response.status();
//!     if !status.is_success() {
//!         let headers = response.headers().clone();
//!         return Err(ApiError::Status { status, headers });
//!     }
//!     Ok(response.text().await?)
//! }
//! ```

use core::time::Duration;
use std::time::SystemTime;

use ::http::header::RETRY_AFTER;
pub use ::http::{HeaderMap, StatusCode};

/// Whether a response with this status is worth another attempt.
///
/// Retryable:
///
/// | status | why |
/// |---|---|
/// | 408 Request Timeout | the server gave up waiting for the request; a new one may arrive in time |
/// | 425 Too Early | the server refused a request sent in TLS early data; [RFC 8470] asks the client to repeat it |
/// | 429 Too Many Requests | rate limited: the same request succeeds later (mind its `Retry-After`) |
/// | 500 Internal Server Error, 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout | the usual transient server and proxy failures |
/// | 507 Insufficient Storage | "considered to be temporary" ([RFC 4918 §11.5]) |
/// | any other 5xx, unknown ones included (such as a CDN's 520–524) | a server-side failure, transient unless known otherwise |
///
/// Not retryable: every 1xx, 2xx and 3xx, every other 4xx (the request itself
/// is wrong, unauthorised or refused: sending it again gets the same answer),
/// and the 5xx that are permanent by definition:
///
/// | status | why |
/// |---|---|
/// | 501 Not Implemented | the server does not support the method, now or later |
/// | 505 HTTP Version Not Supported | the protocol version will not change between attempts |
/// | 506 Variant Also Negotiates | a server configuration error ([RFC 2295]) |
/// | 508 Loop Detected | the request loops on the server ([RFC 5842]), the same way every time |
/// | 510 Not Extended | the request lacks an extension it needs ([RFC 2774]) |
/// | 511 Network Authentication Required | a captive portal: someone must log in first ([RFC 6585]) |
///
/// ```
/// use steadfast::http::{StatusCode, is_retryable_status};
///
/// assert!(is_retryable_status(StatusCode::SERVICE_UNAVAILABLE));
/// assert!(is_retryable_status(StatusCode::TOO_MANY_REQUESTS));
/// assert!(!is_retryable_status(StatusCode::NOT_IMPLEMENTED));
/// assert!(!is_retryable_status(StatusCode::NOT_FOUND));
/// ```
///
/// [RFC 8470]: https://www.rfc-editor.org/rfc/rfc8470#section-5.2
/// [RFC 4918 §11.5]: https://www.rfc-editor.org/rfc/rfc4918#section-11.5
/// [RFC 2295]: https://www.rfc-editor.org/rfc/rfc2295#section-8.1
/// [RFC 5842]: https://www.rfc-editor.org/rfc/rfc5842#section-7.2
/// [RFC 2774]: https://www.rfc-editor.org/rfc/rfc2774#section-7
/// [RFC 6585]: https://www.rfc-editor.org/rfc/rfc6585#section-6
#[must_use]
pub fn is_retryable_status(status: StatusCode) -> bool {
    match status.as_u16() {
        408 | 425 | 429 => true,
        501 | 505 | 506 | 508 | 510 | 511 => false,
        code => (500..600).contains(&code),
    }
}

/// The delay that the `Retry-After` header asks for ([RFC 9110 §10.2.3]), or
/// `None` when there is no such header or no valid value.
///
/// - Delay-seconds (`Retry-After: 120`): that many seconds. Digits only; a
///   number too large for a `u64` saturates to [`Duration::MAX`] (it is far
///   past any `max_hint`).
/// - An HTTP-date (`Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`, or the
///   obsolete RFC 850 and asctime forms): the time from now
///   ([`SystemTime::now`]) to that date; a date already past gives
///   `Some(Duration::ZERO)` (retry at once).
/// - Anything else (empty, negative, fractional, a malformed date, bytes that
///   are not visible ASCII) is ignored.
///
/// `Retry-After` is a single-valued field. When a response carries it more than
/// once (a proxy that added its own), the longest valid value is taken:
/// retrying before any of them asked is pointless.
///
/// ```
/// use std::time::Duration;
/// use steadfast::http::{HeaderMap, retry_after};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(retry_after(&headers), None);
/// headers.insert("retry-after", "120".parse().unwrap());
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
/// headers.insert("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
/// assert_eq!(retry_after(&headers), Some(Duration::ZERO));
/// headers.insert("retry-after", "soon".parse().unwrap());
/// assert_eq!(retry_after(&headers), None);
/// ```
///
/// [RFC 9110 §10.2.3]: https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
#[must_use]
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

/// [`retry_after`] with `now` as the present, for HTTP-dates.
fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get_all(RETRY_AFTER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| parse_retry_after(value.trim(), now))
        .max()
}

/// One `Retry-After` value, without surrounding whitespace.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only, so the only possible failure is overflow.
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An error that may carry an HTTP response's status and headers, so that
/// [`is_transient`] and [`retry_after_hint`] can judge it.
///
/// Implement it for your error type; see the [module docs](self) for its use
/// with `#[retry]`, and with reqwest.
pub trait HttpError {
    /// The response's status, or `None` when the error did not come from a
    /// response (a failed connection, a timeout, a decoding error).
    fn status(&self) -> Option<StatusCode>;

    /// The response's headers, where the error kept them. Without them there
    /// is no `Retry-After` hint.
    fn headers(&self) -> Option<&HeaderMap> {
        None
    }
}

/// Whether the error's status [is worth retrying](is_retryable_status); `false`
/// for an error without a status. Fits `#[retry(when = …)]` as it is:
/// `when = steadfast::http::is_transient`.
///
/// An error without a status (no response arrived) is not judged transient
/// here, since only your error type knows whether it was a refused connection
/// (worth retrying) or a malformed request (not): combine the two in your own
/// predicate, as the [module docs](self) show.
#[must_use]
pub fn is_transient<E: HttpError + ?Sized>(error: &E) -> bool {
    error.status().is_some_and(is_retryable_status)
}

/// The error's [`Retry-After`](retry_after) hint, read from its headers. Fits
/// `#[retry(delay_from = …)]` as it is:
/// `delay_from = steadfast::http::retry_after_hint`.
///
/// The hint is taken whatever the status (servers send it with 429 and 503,
/// and some with other statuses); `delay_from` is only asked about the errors
/// that `when` accepts.
#[must_use]
pub fn retry_after_hint<E: HttpError + ?Sized>(error: &E) -> Option<Duration> {
    error.headers().and_then(retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::HeaderValue;

    const SEC: Duration = Duration::from_secs(1);

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// 1994-11-06 08:49:37 UTC, the RFC's example date.
    fn rfc_example() -> SystemTime {
        SystemTime::UNIX_EPOCH + SEC * 784_111_777
    }

    fn at(values: &[&str], now: SystemTime) -> Option<Duration> {
        retry_after_at(&headers(values), now)
    }

    #[test]
    fn retryable_statuses() {
        for code in [408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 524, 599] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(is_retryable_status(status), "{code} should be retryable");
        }
    }

    #[test]
    fn permanent_statuses() {
        for code in [
            100, 101, 200, 204, 301, 304, 400, 401, 403, 404, 405, 409, 410, 413, 422, 428, 431,
            451, 501, 505, 506, 508, 510, 511, 600, 999,
        ] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(!is_retryable_status(status), "{code} should not be retried");
        }
    }

    #[test]
    fn delta_seconds() {
        let now = rfc_example();
        assert_eq!(at(&["120"], now), Some(SEC * 120));
        assert_eq!(at(&["0"], now), Some(Duration::ZERO));
        assert_eq!(at(&[" 30 "], now), Some(SEC * 30), "surrounding whitespace");
        assert_eq!(at(&["007"], now), Some(SEC * 7));
        assert_eq!(
            at(&["99999999999999999999999"], now),
            Some(Duration::MAX),
            "too large saturates"
        );
    }

    #[test]
    fn http_dates_in_every_form_are_relative_to_now() {
        let now = rfc_example() - SEC * 90;
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
            "Sunday, 06-Nov-94 08:49:37 GMT", // obsolete RFC 850
            "Sun Nov  6 08:49:37 1994",       // obsolete asctime
        ] {
            assert_eq!(at(&[date], now), Some(SEC * 90), "{date}");
        }
        // Sub-second precision of `now` is kept.
        let now = rfc_example() - Duration::from_millis(1_500);
        assert_eq!(
            at(&["Sun, 06 Nov 1994 08:49:37 GMT"], now),
            Some(Duration::from_millis(1_500))
        );
    }

    #[test]
    fn a_past_date_means_now() {
        let now = rfc_example() + SEC * 3_600;
        assert_eq!(
            at(&["Sun, 06 Nov 1994 08:49:37 GMT"], now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            at(&["Sun, 06 Nov 1994 08:49:37 GMT"], rfc_example()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_ignored() {
        let now = rfc_example();
        for bad in [
            "",
            "  ",
            "-5",
            "+5",
            "1.5",
            "5s",
            "0x10",
            "soon",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "06 Nov 1994 08:49:37",
        ] {
            assert_eq!(at(&[bad], now), None, "{bad:?}");
        }
        // Not visible ASCII: `to_str` refuses it.
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_bytes(b"12\xff").unwrap());
        assert_eq!(retry_after_at(&map, now), None);
        assert_eq!(retry_after_at(&HeaderMap::new(), now), None);
    }

    #[test]
    fn several_headers_give_the_longest_valid_value() {
        let now = rfc_example() - SEC * 90;
        assert_eq!(at(&["30", "120", "5"], now), Some(SEC * 120));
        assert_eq!(
            at(&["30", "Sun, 06 Nov 1994 08:49:37 GMT"], now),
            Some(SEC * 90)
        );
        assert_eq!(at(&["garbage", "30", ""], now), Some(SEC * 30));
        assert_eq!(at(&["garbage", "later"], now), None);
    }

    #[test]
    fn other_headers_are_not_read() {
        let mut map = HeaderMap::new();
        map.insert("x-retry-after", HeaderValue::from_static("30"));
        map.insert(
            ::http::header::DATE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&map), None);
    }

    #[test]
    fn retry_after_reads_the_real_clock() {
        // A date far in the future: the hint is long; one long past: zero.
        let future = headers(&["Fri, 01 Jan 2100 00:00:00 GMT"]);
        assert!(retry_after(&future).is_some_and(|d| d > SEC * 3_600 * 24 * 365));
        let past = headers(&["Thu, 01 Jan 1970 00:00:01 GMT"]);
        assert_eq!(retry_after(&past), Some(Duration::ZERO));
    }

    /// A response error, a transport error (no status) and one with a status
    /// but no headers kept.
    #[derive(Debug)]
    enum ApiError {
        Response(StatusCode, HeaderMap),
        Transport,
        Bare(StatusCode),
    }

    impl HttpError for ApiError {
        fn status(&self) -> Option<StatusCode> {
            match self {
                ApiError::Response(status, _) | ApiError::Bare(status) => Some(*status),
                ApiError::Transport => None,
            }
        }

        fn headers(&self) -> Option<&HeaderMap> {
            match self {
                ApiError::Response(_, headers) => Some(headers),
                _ => None,
            }
        }
    }

    #[test]
    fn adapters_read_the_error() {
        let busy = ApiError::Response(StatusCode::TOO_MANY_REQUESTS, headers(&["30"]));
        assert!(is_transient(&busy));
        assert_eq!(retry_after_hint(&busy), Some(SEC * 30));
        let gone = ApiError::Response(StatusCode::GONE, headers(&["30"]));
        assert!(!is_transient(&gone));
        assert_eq!(retry_after_hint(&gone), Some(SEC * 30));
        assert!(!is_transient(&ApiError::Transport));
        assert_eq!(retry_after_hint(&ApiError::Transport), None);
        let bare = ApiError::Bare(StatusCode::BAD_GATEWAY);
        assert!(is_transient(&bare));
        assert_eq!(retry_after_hint(&bare), None, "no headers, no hint");
        // Unsized errors too.
        let dynamic: &dyn HttpError = &busy;
        assert!(is_transient(dynamic));
    }

    #[tokio::test(start_paused = true)]
    async fn adapters_drive_a_retry() {
        use crate::Retry;
        use tokio::time::Instant;

        // 503 with `Retry-After: 20` (above the default backoff's 10 s max),
        // then 503 without a hint, then 404 (not transient).
        let mut replies = vec![
            ApiError::Response(StatusCode::SERVICE_UNAVAILABLE, headers(&["20"])),
            ApiError::Bare(StatusCode::SERVICE_UNAVAILABLE),
            ApiError::Bare(StatusCode::NOT_FOUND),
        ]
        .into_iter();
        let policy = Retry::builder()
            .attempts(5)
            .jitter(crate::Jitter::None)
            .build();
        let start = Instant::now();
        let error = policy
            .run_with(
                || {
                    let reply = replies.next().unwrap();
                    async move { Err::<(), _>(reply) }
                },
                is_transient,
                retry_after_hint,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ApiError::Bare(StatusCode::NOT_FOUND)));
        // 20 s as hinted, then the schedule's second delay (200 ms).
        assert_eq!(start.elapsed(), SEC * 20 + Duration::from_millis(200));
    }
}
