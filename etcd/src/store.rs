//! [`EtcdStore`]: the runtime's [`MembershipStore`] on etcd leases, keys
//! and watches.

use std::collections::VecDeque;

use core::fmt;
use core::time::Duration;
use etcd_client::{
    Client, ConnectOptions, EventType, GetOptions, PutOptions, WatchOptions, WatchStream,
};
use steadfast_runtime::membership::{
    KeepAlive, Lease, LeaseKeeper, MemberChange, MemberList, MemberWatch, MembershipStore,
};
use steadfast_runtime::store::{StoreError, StoreErrorKind, StoreFuture};
use tokio::sync::OnceCell;

use crate::error::{closed, from_etcd, invalid, timed_out};

/// The default prefix of every key this backend writes.
pub const DEFAULT_PREFIX: &str = "steadfast/members/";

/// The default prefix of election keys (`#[leader]`).
pub const DEFAULT_ELECTION_PREFIX: &str = "steadfast/elections/";

/// The value of a live member's key.
const ALIVE: &[u8] = b"alive";
/// The value a leaving member writes before it revokes its lease.
const LEAVING: &[u8] = b"leaving";

/// The default bound on one etcd call (connecting included).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Group membership on etcd: member keys under leases, kept alive by the
/// runtime's [`Membership`](steadfast_runtime::membership::Membership).
///
/// Nothing is connected when it is built: the first call connects (and a
/// call made while etcd is down fails, and the next one tries again).
/// Cloning is cheap: clones share the connection.
#[derive(Clone)]
pub struct EtcdStore {
    endpoints: Vec<String>,
    prefix: String,
    election_prefix: String,
    timeout: Duration,
    client: std::sync::Arc<OnceCell<Client>>,
}

impl fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .field("election_prefix", &self.election_prefix)
            .field("timeout", &self.timeout)
            .field("connected", &self.client.initialized())
            .finish()
    }
}

impl EtcdStore {
    /// A store on the etcd cluster at `endpoints` (`"http://127.0.0.1:2379"`
    /// or `"127.0.0.1:2379"`; several for a cluster), with keys under
    /// [`DEFAULT_PREFIX`] and calls bounded by 2 s.
    #[must_use]
    pub fn new<E: AsRef<str>>(endpoints: impl IntoIterator<Item = E>) -> Self {
        EtcdStore {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.as_ref().to_owned())
                .collect(),
            prefix: DEFAULT_PREFIX.to_owned(),
            election_prefix: DEFAULT_ELECTION_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            client: std::sync::Arc::default(),
        }
    }

    /// Keys under `prefix` instead of [`DEFAULT_PREFIX`] (say
    /// `"billing/members/"`, so that two applications on one etcd keep
    /// their groups apart). A `/` is added at its end if missing.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        self.prefix = prefix;
        self
    }

    /// Bounds every etcd call (connecting, granting, writing, listing,
    /// opening a stream) by `timeout` (default 2 s). The membership bounds
    /// its calls too, by a third of the TTL: the shorter one applies.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Election keys under `prefix` instead of [`DEFAULT_ELECTION_PREFIX`].
    /// A `/` is added at its end if missing.
    #[must_use]
    pub fn with_election_prefix(mut self, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        self.election_prefix = prefix;
        self
    }

    /// The key of `election`: `{election prefix}{election}`
    /// (`steadfast/elections/nightly-billing`).
    #[must_use]
    pub fn election_key(&self, election: &str) -> String {
        format!("{}{election}", self.election_prefix)
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of `member` in `group`: `{prefix}{group}/{member}`
    /// (`steadfast/members/billing-workers/pod-7`).
    #[must_use]
    pub fn member_key(&self, group: &str, member: &str) -> String {
        format!("{}{group}/{member}", self.prefix)
    }

    /// The prefix of every key of `group`: `{prefix}{group}/`.
    #[must_use]
    pub fn group_prefix(&self, group: &str) -> String {
        format!("{}{group}/", self.prefix)
    }

    /// A connected client (connecting on the first call).
    pub(crate) async fn client(&self) -> Result<Client, StoreError> {
        let client = self
            .client
            .get_or_try_init(|| async {
                let options = ConnectOptions::new()
                    .with_connect_timeout(self.timeout)
                    .with_keep_alive(Duration::from_secs(1), self.timeout);
                Client::connect(&self.endpoints, Some(options))
                    .await
                    .map_err(|e| from_etcd(&e))
            })
            .await?;
        Ok(client.clone())
    }

    /// `call` bounded by the store's timeout.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(timed_out(self.timeout)))
    }
}

/// A lease of `ttl` (whole seconds, rounded up), as etcd granted it.
pub(crate) async fn grant(client: &mut Client, ttl: Duration) -> Result<Lease, StoreError> {
    let granted = client
        .lease_grant(ttl_seconds(ttl), None)
        .await
        .map_err(|e| from_etcd(&e))?;
    let seconds = u64::try_from(granted.ttl())
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| invalid(format!("etcd granted a TTL of {}", granted.ttl())))?;
    Ok(Lease::new(granted.id(), Duration::from_secs(seconds)))
}

/// Whole seconds of `ttl`, rounded up, at least 1 (etcd's unit).
pub(crate) fn ttl_seconds(ttl: Duration) -> i64 {
    let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    i64::try_from(seconds.max(1)).unwrap_or(i64::MAX)
}

impl MembershipStore for EtcdStore {
    fn register<'a>(
        &'a self,
        group: &'a str,
        member: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Result<Lease, StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            let lease = grant(&mut client, ttl).await?;
            let put = client
                .put(
                    self.member_key(group, member),
                    ALIVE,
                    Some(PutOptions::new().with_lease(lease.id)),
                )
                .await;
            if let Err(error) = put {
                let _ = client.lease_revoke(lease.id).await;
                return Err(from_etcd(&error));
            }
            Ok(lease)
        }))
    }

    fn keeper(&self, lease: Lease) -> StoreFuture<'_, Result<Box<dyn LeaseKeeper>, StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            let (keeper, stream) = client
                .lease_keep_alive(lease.id)
                .await
                .map_err(|e| from_etcd(&e))?;
            Ok(Box::new(EtcdKeeper { keeper, stream }) as Box<dyn LeaseKeeper>)
        }))
    }

    fn leave<'a>(
        &'a self,
        group: &'a str,
        member: &'a str,
        lease: Lease,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            // Marks the departure (a watcher then reports `Left`, not an
            // expiry); under the same lease, so the revoke removes it.
            client
                .put(
                    self.member_key(group, member),
                    LEAVING,
                    Some(PutOptions::new().with_lease(lease.id)),
                )
                .await
                .map_err(|e| from_etcd(&e))?;
            client
                .lease_revoke(lease.id)
                .await
                .map_err(|e| from_etcd(&e))?;
            Ok(())
        }))
    }

    fn revoke(&self, lease: Lease) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            match client.lease_revoke(lease.id).await {
                Ok(_) => Ok(()),
                // Already gone: what a revoke wants.
                Err(etcd_client::Error::GRpcStatus(status))
                    if status.code() == tonic::Code::NotFound =>
                {
                    Ok(())
                }
                Err(error) => Err(from_etcd(&error)),
            }
        }))
    }

    fn list<'a>(&'a self, group: &'a str) -> StoreFuture<'a, Result<MemberList, StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            let prefix = self.group_prefix(group);
            let answer = client
                .get(
                    prefix.as_bytes(),
                    Some(GetOptions::new().with_prefix().with_keys_only()),
                )
                .await
                .map_err(|e| from_etcd(&e))?;
            let revision = answer
                .header()
                .map(|header| header.revision())
                .and_then(|revision| u64::try_from(revision).ok())
                .ok_or_else(|| invalid("etcd answered a list without a revision"))?;
            let members = answer
                .kvs()
                .iter()
                .filter_map(|kv| member_of(&prefix, kv.key()))
                .collect();
            Ok(MemberList::new(members, revision))
        }))
    }

    fn watch<'a>(
        &'a self,
        group: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Result<Box<dyn MemberWatch>, StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            let prefix = self.group_prefix(group);
            let start = i64::try_from(revision).map_err(|_| invalid("revision out of range"))?;
            let stream = client
                .watch(
                    prefix.as_bytes(),
                    Some(WatchOptions::new().with_prefix().with_start_revision(start)),
                )
                .await
                .map_err(|e| from_etcd(&e))?;
            Ok(Box::new(EtcdWatch {
                prefix,
                stream,
                pending: VecDeque::new(),
            }) as Box<dyn MemberWatch>)
        }))
    }
}

/// The member id of `key` under `prefix`; `None` (and a warning) for a key
/// that is not valid UTF-8 or is empty after the prefix.
fn member_of(prefix: &str, key: &[u8]) -> Option<String> {
    let member = key
        .strip_prefix(prefix.as_bytes())
        .and_then(|rest| core::str::from_utf8(rest).ok())
        .filter(|member| !member.is_empty());
    if member.is_none() {
        tracing::warn!(
            target: "steadfast::etcd",
            prefix, key = %String::from_utf8_lossy(key),
            "a key under the group's prefix is not a member id: ignored"
        );
    }
    member.map(str::to_owned)
}

/// One lease's keep-alive stream.
struct EtcdKeeper {
    keeper: etcd_client::LeaseKeeper,
    stream: etcd_client::LeaseKeepAliveStream,
}

impl fmt::Debug for EtcdKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdKeeper")
            .field("lease", &self.keeper.id())
            .finish_non_exhaustive()
    }
}

impl LeaseKeeper for EtcdKeeper {
    fn refresh(&mut self) -> StoreFuture<'_, Result<KeepAlive, StoreError>> {
        Box::pin(async move {
            self.keeper.keep_alive().await.map_err(|e| from_etcd(&e))?;
            match self.stream.message().await.map_err(|e| from_etcd(&e))? {
                // etcd answers a TTL of 0 (or less) for a lease it does not
                // know.
                Some(answer) => Ok(match u64::try_from(answer.ttl()) {
                    Ok(seconds) if seconds > 0 => KeepAlive::Alive(Duration::from_secs(seconds)),
                    _ => KeepAlive::Gone,
                }),
                None => Err(closed("keep-alive stream")),
            }
        })
    }
}

/// One group's watch stream.
struct EtcdWatch {
    prefix: String,
    stream: WatchStream,
    pending: VecDeque<MemberChange>,
}

impl fmt::Debug for EtcdWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdWatch")
            .field("prefix", &self.prefix)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl MemberWatch for EtcdWatch {
    fn next(&mut self) -> StoreFuture<'_, Option<Result<MemberChange, StoreError>>> {
        Box::pin(async move {
            loop {
                if let Some(change) = self.pending.pop_front() {
                    return Some(Ok(change));
                }
                let answer = match self.stream.message().await {
                    Ok(Some(answer)) => answer,
                    Ok(None) => return None,
                    Err(error) => return Some(Err(from_etcd(&error))),
                };
                if answer.canceled() || answer.compact_revision() != 0 {
                    // Compacted past our revision, or cancelled by the
                    // server: the caller lists again.
                    tracing::debug!(
                        target: "steadfast::etcd",
                        prefix = %self.prefix, reason = answer.cancel_reason(),
                        compact_revision = answer.compact_revision(),
                        "etcd ended the watch"
                    );
                    return None;
                }
                for event in answer.events() {
                    let Some(kv) = event.kv() else {
                        return Some(Err(StoreError::new(
                            StoreErrorKind::InvalidReply,
                            "etcd sent a watch event without its key",
                        )));
                    };
                    let Some(member) = member_of(&self.prefix, kv.key()) else {
                        continue;
                    };
                    self.pending.push_back(match event.event_type() {
                        EventType::Put if kv.value() == LEAVING => MemberChange::Leaving(member),
                        EventType::Put => MemberChange::Joined(member),
                        EventType::Delete => MemberChange::Removed(member),
                    });
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_up_to_whole_seconds() {
        assert_eq!(ttl_seconds(Duration::from_millis(1)), 1);
        assert_eq!(ttl_seconds(Duration::from_secs(2)), 2);
        assert_eq!(ttl_seconds(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn keys() {
        let store = EtcdStore::new(["127.0.0.1:2379"]);
        assert_eq!(store.member_key("g", "a"), "steadfast/members/g/a");
        let store = store.with_prefix("billing");
        assert_eq!(store.group_prefix("g"), "billing/g/");
        assert_eq!(
            member_of("billing/g/", b"billing/g/pod-7"),
            Some("pod-7".into())
        );
        assert_eq!(member_of("billing/g/", b"billing/g/\xff"), None);
        assert_eq!(member_of("billing/g/", b"billing/g/"), None);
    }
}
