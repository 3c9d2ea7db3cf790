//! Redis failures as the runtime's [`StoreError`]s.
//!
//! The kind decides what the policy does next (`on_store_error`), so it says
//! whether the *server* could be asked, not which layer failed:
//!
//! - [`Unavailable`](StoreErrorKind::Unavailable): no usable server: the
//!   connection was refused, reset or closed, or the server says it cannot
//!   serve now (loading its data set, a cluster or primary down, a read-only
//!   replica, `TRYAGAIN`, `BUSY`), or it refused our credentials.
//! - [`Timeout`](StoreErrorKind::Timeout): no answer within the store's
//!   timeout (ours, or the connection's own, which is set to the same).
//! - [`InvalidReply`](StoreErrorKind::InvalidReply): the server answered,
//!   but not with a decision: the key holds something else (`WRONGTYPE`, or
//!   a hash that is not a limiter's or a breaker's state), the script failed,
//!   or the reply
//!   has the wrong shape.

use redis::{ErrorKind, RedisError, ServerErrorKind};
use steadfast_runtime::store::{StoreError, StoreErrorKind};

/// The store's reading of a Redis failure.
pub(crate) fn from_redis(error: &RedisError) -> StoreError {
    StoreError::new(kind(error), error.to_string())
}

/// No answer within `timeout`.
pub(crate) fn timed_out(timeout: core::time::Duration) -> StoreError {
    StoreError::new(
        StoreErrorKind::Timeout,
        format!("no answer from Redis within {timeout:?}"),
    )
}

/// A reply of the wrong shape.
pub(crate) fn invalid(detail: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::InvalidReply, detail)
}

fn kind(error: &RedisError) -> StoreErrorKind {
    if error.is_timeout() {
        return StoreErrorKind::Timeout;
    }
    if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal() {
        return StoreErrorKind::Unavailable;
    }
    match error.kind() {
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        )
        | ErrorKind::AuthenticationFailed
        | ErrorKind::ClusterConnectionNotFound => StoreErrorKind::Unavailable,
        // A script running too long on the server (another client's): it
        // cannot serve anyone until it ends or is killed.
        ErrorKind::Extension if error.code() == Some("BUSY") => StoreErrorKind::Unavailable,
        // A request the client gave up on because its connection is gone.
        ErrorKind::Client => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::InvalidReply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let refused: RedisError =
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert_eq!(kind(&refused), StoreErrorKind::Unavailable);
        let timed_out: RedisError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        assert_eq!(kind(&timed_out), StoreErrorKind::Timeout);
        let parse: RedisError = (ErrorKind::UnexpectedReturnType, "not a decision").into();
        assert_eq!(kind(&parse), StoreErrorKind::InvalidReply);
        let loading: RedisError =
            (ErrorKind::Server(ServerErrorKind::BusyLoading), "loading").into();
        assert_eq!(kind(&loading), StoreErrorKind::Unavailable);
    }
}
