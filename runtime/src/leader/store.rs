//! What a backend implements for leader election ([`ElectionStore`]).

use core::fmt;
use core::time::Duration;

use crate::membership::{Lease, LeaseKeeper};
use crate::store::{StoreError, StoreFuture};

/// The process that holds an election, as the store answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Holder {
    /// The holder's candidate id ([`install_as`](super::install_as)).
    pub candidate: String,
    /// The holder's fencing token: the store's revision at which it won.
    pub token: u64,
}

impl Holder {
    /// `candidate`, which won at revision `token`.
    #[must_use]
    pub fn new(candidate: impl Into<String>, token: u64) -> Self {
        Holder {
            candidate: candidate.into(),
            token,
        }
    }
}

/// The answer to one campaign ([`ElectionStore::campaign`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Campaign {
    /// This candidate now holds the election, under its lease.
    Won {
        /// The fencing token: the store's revision of the write that won.
        /// Every later winner's token is greater.
        token: u64,
    },
    /// Another lease holds it (possibly one of this process).
    Held(Holder),
}

/// Where elections are held: one key per election, created under the
/// winner's lease, so that it disappears when the lease expires or is
/// revoked (the etcd backend, `steadfast-etcd`, implements it).
///
/// The runtime's [`Leader`](super::Leader) drives it: it grants a lease,
/// campaigns once, keeps the lease alive while the body runs, and revokes
/// it to resign. Every call is bounded by the runtime (a third of the TTL).
pub trait ElectionStore: Send + Sync + fmt::Debug + 'static {
    /// Grants a lease of (at least) `ttl`.
    fn grant(&self, ttl: Duration) -> StoreFuture<'_, Result<Lease, StoreError>>;

    /// Opens a keep-alive channel for `lease`.
    fn keeper(&self, lease: Lease) -> StoreFuture<'_, Result<Box<dyn LeaseKeeper>, StoreError>>;

    /// Revokes `lease` (what is written under it goes with it): resigning.
    /// A lease the store no longer knows is not an error.
    fn revoke(&self, lease: Lease) -> StoreFuture<'_, Result<(), StoreError>>;

    /// In one atomic step: if nobody holds `election`, writes `candidate`
    /// as its holder under `lease` and answers [`Campaign::Won`] with a
    /// token greater than every earlier holder's; otherwise answers the
    /// holder.
    fn campaign<'a>(
        &'a self,
        election: &'a str,
        candidate: &'a str,
        lease: Lease,
    ) -> StoreFuture<'a, Result<Campaign, StoreError>>;

    /// The holder of `election`, if any.
    fn leader<'a>(
        &'a self,
        election: &'a str,
    ) -> StoreFuture<'a, Result<Option<Holder>, StoreError>>;
}
