//! The fencing token inside a `#[leader]` body ([`fencing_token`]).

use core::future::Future;

tokio::task_local! {
    static TOKEN: u64;
}

/// The fencing token of the election whose body is running on this task:
/// the store's revision at which this process won it (with etcd, the
/// election key's creation revision). Every later leader's token is
/// greater, so storage that remembers the highest token it has seen and
/// refuses writes carrying a lower one refuses a deposed leader's writes.
///
/// `None` outside a `#[leader]` body (or [`Leader::run`](super::Leader::run)).
/// Inside nested elections, the innermost one's token. Only the body's own
/// task sees it: a task it spawns does not (pass the value along).
///
/// ```
/// assert_eq!(steadfast::leader::fencing_token(), None);
/// ```
#[must_use]
pub fn fencing_token() -> Option<u64> {
    TOKEN.try_with(|token| *token).ok()
}

/// `future` with `token` as its fencing token.
pub(crate) fn scope<F: Future>(
    token: u64,
    future: F,
) -> tokio::task::futures::TaskLocalFuture<u64, F> {
    TOKEN.scope(token, future)
}
