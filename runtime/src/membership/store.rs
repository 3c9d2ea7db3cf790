//! What a backend implements for membership ([`MembershipStore`]).

use core::fmt;
use core::time::Duration;

use crate::store::{StoreError, StoreFuture};

/// A lease granted by the store: the member key lives as long as it is kept
/// alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Lease {
    /// The store's id of the lease.
    pub id: i64,
    /// The time to live the store granted (it may round the one asked up,
    /// etcd to whole seconds and to its minimum).
    pub ttl: Duration,
}

impl Lease {
    /// A lease `id` of `ttl`.
    #[must_use]
    pub const fn new(id: i64, ttl: Duration) -> Self {
        Lease { id, ttl }
    }
}

/// The live members of a group, as the store answered at `revision`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MemberList {
    /// Member ids, sorted.
    pub members: Vec<String>,
    /// The store's revision of the answer: a watch from `revision + 1`
    /// misses no change after it.
    pub revision: u64,
}

impl MemberList {
    /// The list `members` at `revision`.
    #[must_use]
    pub fn new(mut members: Vec<String>, revision: u64) -> Self {
        members.sort();
        members.dedup();
        MemberList { members, revision }
    }
}

/// A change in a group, as a watch reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberChange {
    /// A member key was written: a member joined (or rejoined).
    Joined(String),
    /// A member marked its key as leaving ([`MembershipStore::leave`]): the
    /// removal that follows is a departure, not an expiry.
    Leaving(String),
    /// A member key is gone: its lease expired or was revoked, or the key
    /// was deleted.
    Removed(String),
}

/// The answer to one keep-alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAlive {
    /// The lease was refreshed: it now lives this long.
    Alive(Duration),
    /// The store no longer knows the lease (it expired, or was revoked):
    /// the member key is gone.
    Gone,
}

/// A keep-alive channel for one lease, opened by
/// [`MembershipStore::keeper`] (etcd: one keep-alive stream).
pub trait LeaseKeeper: Send + fmt::Debug {
    /// Refreshes the lease once and waits for the store's answer.
    fn refresh(&mut self) -> StoreFuture<'_, Result<KeepAlive, StoreError>>;
}

/// A watch on a group's member keys, opened by [`MembershipStore::watch`].
pub trait MemberWatch: Send + fmt::Debug {
    /// The next change; `None` when the watch ended (the store closed it,
    /// or the revision it started from was compacted away): the caller lists
    /// the group again and opens another.
    fn next(&mut self) -> StoreFuture<'_, Option<Result<MemberChange, StoreError>>>;
}

/// Where a group's members live: member keys under leases that expire unless
/// kept alive (the etcd backend, `steadfast-etcd`, implements it).
///
/// A backend keeps one key per `(group, member)`; the key lives under the
/// member's lease, so it disappears when the lease expires or is revoked.
/// Every call is one or a few round trips; the runtime's [`Membership`]
/// bounds each with a timeout and decides what a failure means (see
/// [`Membership`] for the rules).
///
/// [`Membership`]: super::Membership
pub trait MembershipStore: Send + Sync + fmt::Debug + 'static {
    /// Grants a lease of (at least) `ttl` and writes `member`'s key in
    /// `group` under it, replacing any key of that member.
    fn register<'a>(
        &'a self,
        group: &'a str,
        member: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Result<Lease, StoreError>>;

    /// Opens a keep-alive channel for `lease`.
    fn keeper(&self, lease: Lease) -> StoreFuture<'_, Result<Box<dyn LeaseKeeper>, StoreError>>;

    /// Leaves: marks `member`'s key as leaving (watchers then report a
    /// departure, not an expiry), then revokes `lease`, which removes the
    /// key.
    fn leave<'a>(
        &'a self,
        group: &'a str,
        member: &'a str,
        lease: Lease,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Revokes `lease` without marking anything (a lease this process gave
    /// up as lost: its key, if the store still has it, goes at once).
    fn revoke(&self, lease: Lease) -> StoreFuture<'_, Result<(), StoreError>>;

    /// The group's live members.
    fn list<'a>(&'a self, group: &'a str) -> StoreFuture<'a, Result<MemberList, StoreError>>;

    /// Watches the group's member keys from `revision` (inclusive).
    fn watch<'a>(
        &'a self,
        group: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Result<Box<dyn MemberWatch>, StoreError>>;
}
