//! etcd failures as the runtime's [`StoreError`]s.
//!
//! - [`Unavailable`](StoreErrorKind::Unavailable): no usable server: the
//!   connection was refused, reset or closed, a stream ended, or the server
//!   says it cannot serve now (no leader, too many requests).
//! - [`Timeout`](StoreErrorKind::Timeout): no answer within the backend's
//!   timeout, or the server's deadline passed.
//! - [`InvalidReply`](StoreErrorKind::InvalidReply): the server answered,
//!   but not as expected (a refused request, an answer of the wrong shape).

use etcd_client::Error;
use steadfast_runtime::store::{StoreError, StoreErrorKind};
use tonic::Code;

/// The backend's reading of an etcd-client failure.
pub(crate) fn from_etcd(error: &Error) -> StoreError {
    StoreError::new(kind(error), error.to_string())
}

/// No answer within `timeout`.
pub(crate) fn timed_out(timeout: core::time::Duration) -> StoreError {
    StoreError::new(
        StoreErrorKind::Timeout,
        format!("no answer from etcd within {timeout:?}"),
    )
}

/// A stream that ended.
pub(crate) fn closed(what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unavailable,
        format!("etcd closed the {what}"),
    )
}

/// An answer of the wrong shape.
pub(crate) fn invalid(detail: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::InvalidReply, detail)
}

fn kind(error: &Error) -> StoreErrorKind {
    match error {
        Error::IoError(_)
        | Error::TransportError(_)
        | Error::LeaseKeepAliveError(_)
        | Error::WatchError(_) => StoreErrorKind::Unavailable,
        Error::GRpcStatus(status) => match status.code() {
            Code::DeadlineExceeded => StoreErrorKind::Timeout,
            Code::Unavailable
            | Code::Cancelled
            | Code::Unknown
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Unauthenticated => StoreErrorKind::Unavailable,
            _ => StoreErrorKind::InvalidReply,
        },
        _ => StoreErrorKind::InvalidReply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let io = Error::IoError(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(kind(&io), StoreErrorKind::Unavailable);
        let down = Error::GRpcStatus(tonic::Status::unavailable("no leader"));
        assert_eq!(kind(&down), StoreErrorKind::Unavailable);
        let late = Error::GRpcStatus(tonic::Status::deadline_exceeded("late"));
        assert_eq!(kind(&late), StoreErrorKind::Timeout);
        let refused = Error::GRpcStatus(tonic::Status::invalid_argument("bad"));
        assert_eq!(kind(&refused), StoreErrorKind::InvalidReply);
        assert_eq!(
            from_etcd(&refused).to_string(),
            format!("store answered garbage: {refused}")
        );
    }
}
