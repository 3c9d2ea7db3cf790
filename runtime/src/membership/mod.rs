//! Membership: this process registered in a group under a lease kept alive
//! in the background, the group's live members, and events when one
//! expires.
//!
//! A [`Membership`] is a heartbeat that other processes can see: the
//! process [`join`](Membership::join)s a group under a member id with a TTL;
//! a background task keeps the lease alive; every member watches the group
//! and is told when another one joins, leaves, or *expires* (its lease ran
//! out: the process died, hung, or lost the store) — the event a lease
//! manager acts on, e.g. by taking over the dead member's work.
//!
//! The runtime holds the logic; a backend implements [`MembershipStore`]
//! (the etcd backend, `steadfast-etcd`, with etcd leases, keys and watches);
//! the runtime never depends on a backend.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast_runtime::membership::{Membership, MembershipEvent, MembershipStore};
//!
//! # async fn run(store: Arc<dyn MembershipStore>) -> Result<(), Box<dyn std::error::Error>> {
//! let membership = Membership::join(store, "billing-workers", "pod-7", Duration::from_secs(10)).await?;
//! println!("live: {:?}", membership.members().await?);
//! let mut events = membership.subscribe();
//! while let Ok(event) = events.recv().await {
//!     match event {
//!         MembershipEvent::Expired { member } => println!("{member} died: take over its shard"),
//!         MembershipEvent::LeaseLost { .. } => println!("we may have been declared dead: stop"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # The lease
//!
//! - **Keep-alive.** Every third of the TTL the task refreshes the lease
//!   (each refresh bounded by that third). The lease is known to live until
//!   `sent + TTL` of the last refresh that succeeded (the time it was *sent*,
//!   so the store expires it no earlier than this process thinks).
//! - **Lost.** When the store answers that it no longer knows the lease, or
//!   no refresh succeeded for a whole TTL (the store is down or out of
//!   reach, or the process was paused), the lease is *lost*:
//!   [`lease_alive`](Membership::lease_alive) turns false,
//!   [`MembershipEvent::LeaseLost`] is sent, a `tracing` warning logged, and
//!   `health()` shows `lease_alive: false`. Other members may have seen this
//!   process expire by then: work tied to the membership should stop.
//! - **Rejoin.** After a loss the task keeps trying, every third of the
//!   TTL, to revoke the old lease (a store that restarted may still hold
//!   it, with its key) and register under a new one; on success it sends
//!   [`MembershipEvent::Rejoined`]. Others see this process expire, then join
//!   again. A store that came back within the TTL keeps the lease (etcd
//!   restores leases on restart): nothing is lost then.
//! - **Leave.** [`leave`](Membership::leave), dropping the handle, or
//!   graceful shutdown ([`shutdown::begun`](crate::shutdown::begun)) marks
//!   the key as leaving and revokes the lease: others see
//!   [`MembershipEvent::Left`] at once, not an expiry a TTL later. A drop
//!   leaves in the background (the runtime must still be running; if it is
//!   not, the lease simply expires). [`abandon`](Membership::abandon) stops
//!   the keep-alive without revoking, as a crash would (for failover drills
//!   and tests).
//!
//! # The view of the group
//!
//! A second task lists the group, then watches it from the list's revision
//! (so no change falls between the two). A member whose key disappears
//! after it marked it as leaving is [`Left`](MembershipEvent::Left);
//! otherwise [`Expired`](MembershipEvent::Expired): the store cannot tell a
//! lease expiry from a key deleted by hand. When the watch fails (the store
//! restarted, a compaction), the task lists the group again and reports
//! the difference (a member missing from the new list is `Expired` unless
//! it was leaving), then watches anew. Events about this process's own key
//! are not sent: [`LeaseLost`](MembershipEvent::LeaseLost) and
//! [`Rejoined`](MembershipEvent::Rejoined) speak for it.
//!
//! Events go through a `tokio::sync::broadcast` channel of 256: a
//! subscriber that falls further behind gets `RecvError::Lagged` and may
//! read [`known_members`](Membership::known_members) to catch up.
//!
//! # Cost
//!
//! Nothing here touches the other policies' calls: a membership is two
//! background tasks and one entry in `health()`.

mod error;
mod event;
pub(crate) mod keepalive;
mod state;
mod store;
mod watch;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;

use core::fmt;
use core::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

pub use error::MembershipError;
pub use event::MembershipEvent;
pub use store::{
    KeepAlive, Lease, LeaseKeeper, MemberChange, MemberList, MemberWatch, MembershipStore,
};

use keepalive::End;
use state::Shared;

/// This process's membership of a group: a key under a lease kept alive in
/// the background, and a view of the group's members (see the [module
/// docs](self)).
///
/// Dropping it leaves the group (in the background).
pub struct Membership {
    shared: Arc<Shared>,
    store: Arc<dyn MembershipStore>,
    end: tokio::sync::watch::Sender<Option<End>>,
    keeper: Option<JoinHandle<Result<(), crate::store::StoreError>>>,
}

impl fmt::Debug for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Membership")
            .field("group", &self.shared.group)
            .field("member", &self.shared.member)
            .field("ttl", &self.shared.ttl)
            .field("lease_alive", &self.shared.is_alive())
            .finish_non_exhaustive()
    }
}

impl Membership {
    /// Joins `group` as `member` under a lease of `ttl` (the store may round
    /// it up: etcd grants whole seconds, 2 s at least), lists the group, and
    /// starts the keep-alive and watch tasks on the current tokio runtime.
    ///
    /// A second process joining under the same member id replaces the key:
    /// ids should be unique (a pod name, a host and pid).
    ///
    /// # Errors
    ///
    /// [`MembershipError::Invalid`] for an empty group or member, a group
    /// with a `/`, or a zero TTL; [`MembershipError::Store`] when the store
    /// failed or did not answer within the TTL (nothing is left registered).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn join(
        store: Arc<dyn MembershipStore>,
        group: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<Membership, MembershipError> {
        validate(group, member, ttl)?;
        let registered = Instant::now();
        let lease = bounded(ttl, store.register(group, member, ttl)).await?;
        let list = match bounded(ttl, store.list(group)).await {
            Ok(list) => list,
            Err(error) => {
                let _ = timeout(ttl, store.revoke(lease)).await;
                return Err(error.into());
            }
        };
        let mut members: BTreeSet<String> = list.members.into_iter().collect();
        members.insert(member.to_owned());
        let shared = Shared::new(group.to_owned(), member.to_owned(), ttl, lease, members);
        shared.state().last_keep_alive = Some(registered);
        let (end, ends) = tokio::sync::watch::channel(None);
        let keeper = tokio::spawn(keepalive::run(
            shared.clone(),
            store.clone(),
            ends.clone(),
            registered,
        ));
        tokio::spawn(watch::run(
            shared.clone(),
            store.clone(),
            ends,
            list.revision,
        ));
        tracing::info!(
            target: "steadfast::membership",
            group, member, lease = lease.id, ttl = ?lease.ttl,
            "joined the group"
        );
        Ok(Membership {
            shared,
            store,
            end,
            keeper: Some(keeper),
        })
    }

    /// The group.
    #[must_use]
    pub fn group(&self) -> &str {
        &self.shared.group
    }

    /// This process's member id.
    #[must_use]
    pub fn member(&self) -> &str {
        &self.shared.member
    }

    /// The TTL asked for (the lease's own may be longer: [`lease`](Self::lease)).
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.shared.ttl
    }

    /// The current lease (a new one after a rejoin).
    #[must_use]
    pub fn lease(&self) -> Lease {
        self.shared.state().lease
    }

    /// Whether the lease is alive: false from its loss until a rejoin.
    #[must_use]
    pub fn lease_alive(&self) -> bool {
        self.shared.is_alive()
    }

    /// A receiver that sees [`lease_alive`](Self::lease_alive) change: await
    /// `changed()` to stop work the moment the lease is lost.
    #[must_use]
    pub fn lease_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared.alive_receiver()
    }

    /// The group's live members, asked of the store now (sorted; this
    /// process included while its key is there).
    ///
    /// # Errors
    ///
    /// [`MembershipError::Store`] when the store failed or did not answer
    /// within a third of the TTL.
    pub async fn members(&self) -> Result<Vec<String>, MembershipError> {
        let limit = keepalive::period(self.shared.ttl);
        Ok(bounded(limit, self.store.list(&self.shared.group))
            .await?
            .members)
    }

    /// The group's members as the watch last saw them (sorted), without a
    /// round trip: what `health()` counts.
    #[must_use]
    pub fn known_members(&self) -> Vec<String> {
        self.shared.state().members.iter().cloned().collect()
    }

    /// Events from now on: members joining, leaving and expiring, and this
    /// process's lease lost and regained.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<MembershipEvent> {
        self.shared.subscribe()
    }

    /// Leaves the group: marks the key as leaving and revokes the lease,
    /// and waits for it (others see [`MembershipEvent::Left`]).
    ///
    /// # Errors
    ///
    /// [`MembershipError::Store`] when the store failed or did not answer
    /// within the TTL: the key then stays until the lease expires.
    pub async fn leave(mut self) -> Result<(), MembershipError> {
        self.finish(End::Leave).await
    }

    /// Stops keeping the lease alive *without* revoking it, as a crashed
    /// process would: the key expires after the TTL and the others see
    /// [`MembershipEvent::Expired`]. For failover drills and tests.
    pub async fn abandon(mut self) {
        let _ = self.finish(End::Abandon).await;
    }

    async fn finish(&mut self, how: End) -> Result<(), MembershipError> {
        self.shared.deactivate();
        self.end.send_replace(Some(how));
        match self.keeper.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(MembershipError::from),
                Err(_) => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// This membership's line in `health()`.
    pub(crate) fn report(shared: &Shared) -> MembershipHealth {
        let state = shared.state();
        MembershipHealth {
            group: shared.group.clone(),
            member: shared.member.clone(),
            ttl: state.lease.ttl,
            lease: state.lease.id,
            lease_alive: shared.is_alive(),
            live_members: state.members.len(),
            last_keep_alive: state.last_keep_alive.map(|at| at.elapsed()),
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if self.keeper.is_some() {
            self.shared.deactivate();
            self.end.send_replace(Some(End::Leave));
        }
    }
}

/// One membership in a [`Health`](crate::health::Health) snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct MembershipHealth {
    /// The group.
    pub group: String,
    /// This process's member id.
    pub member: String,
    /// The lease's TTL, as the store granted it. In JSON: `ttl_ms`, whole
    /// milliseconds.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "ttl_ms", serialize_with = "crate::millis::whole")
    )]
    pub ttl: Duration,
    /// The lease's id on the store.
    pub lease: i64,
    /// Whether the lease is alive (false from its loss until a rejoin).
    pub lease_alive: bool,
    /// Members of the group as the watch last saw them, this process
    /// included while its key is there.
    pub live_members: usize,
    /// Time since the last keep-alive that succeeded (or the registration).
    /// In JSON: `last_keep_alive_ms_ago`, whole milliseconds, or `null`.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "last_keep_alive_ms_ago",
            serialize_with = "crate::millis::optional"
        )
    )]
    pub last_keep_alive: Option<Duration>,
}

/// Every membership this process holds, in the order they joined.
pub(crate) fn report_snapshot() -> Vec<MembershipHealth> {
    state::active()
        .iter()
        .map(|shared| Membership::report(shared))
        .collect()
}

/// A store call bounded by `limit`.
async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, crate::store::StoreError>>,
) -> Result<T, crate::store::StoreError> {
    timeout(limit, call).await.unwrap_or_else(|_| {
        Err(crate::store::StoreError::new(
            crate::store::StoreErrorKind::Timeout,
            format!("no answer from the membership store within {limit:?}"),
        ))
    })
}

fn validate(group: &str, member: &str, ttl: Duration) -> Result<(), MembershipError> {
    if group.is_empty() {
        return Err(MembershipError::invalid("the group is empty"));
    }
    if group.contains('/') {
        return Err(MembershipError::invalid(format!(
            "the group {group:?} has a '/': it would overlap another group's keys"
        )));
    }
    if member.is_empty() {
        return Err(MembershipError::invalid("the member id is empty"));
    }
    if ttl.is_zero() {
        return Err(MembershipError::invalid("the TTL is zero"));
    }
    Ok(())
}

/// Which of two futures finished first.
#[derive(Debug)]
enum Race<A, B> {
    First(A),
    Second(B),
}

/// Runs `first` and `second` together (the runtime does without tokio's
/// `macros` feature): the output of the one that finishes first, `first`
/// when both are ready.
async fn race<A: Future, B: Future>(first: A, second: B) -> Race<A::Output, B::Output> {
    let mut first = core::pin::pin!(first);
    let mut second = core::pin::pin!(second);
    core::future::poll_fn(|cx| {
        if let core::task::Poll::Ready(output) = first.as_mut().poll(cx) {
            return core::task::Poll::Ready(Race::First(output));
        }
        second.as_mut().poll(cx).map(Race::Second)
    })
    .await
}
