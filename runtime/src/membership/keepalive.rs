//! The background task that keeps this process's lease alive, declares it
//! lost, rejoins, and leaves (rules: see the [module docs](super)).

use core::future::Future;
use std::sync::Arc;

use core::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

use super::event::MembershipEvent;
use super::state::Shared;
use super::store::{KeepAlive, Lease, LeaseKeeper, MembershipStore};
use super::{Race, race};
use crate::store::{StoreError, StoreErrorKind};

/// How the task was told to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Leave: mark the key as leaving and revoke the lease.
    Leave,
    /// Stop keeping the lease alive and touch nothing (it expires).
    Abandon,
}

/// The keep-alive period for a lease of `ttl`: a third of it, so that two
/// refreshes may fail before the lease is in danger.
pub(crate) fn period(ttl: Duration) -> Duration {
    (ttl / 3).max(Duration::from_millis(10))
}

/// Runs until `end` says what to do (or shutdown begins: leave), then does
/// it; answers the leave's result.
pub(crate) async fn run(
    shared: Arc<Shared>,
    store: Arc<dyn MembershipStore>,
    mut end: watch::Receiver<Option<End>>,
    registered: Instant,
) -> Result<(), StoreError> {
    let mut lease = shared.state().lease;
    // A keep-alive that succeeds proves the lease lives until at least
    // `sent + ttl` on the store (the store refreshed it after we sent):
    // that is the deadline, never `received + ttl`. Likewise for the
    // registration.
    let mut deadline = registered + lease.ttl;
    let mut keeper: Option<Box<dyn LeaseKeeper>> = None;
    let mut next = Instant::now() + period(lease.ttl);
    let ending = loop {
        let wake = if shared.is_alive() {
            next.min(deadline)
        } else {
            next
        };
        let stop = race(end.changed(), crate::shutdown::begun());
        match race(stop, sleep_until(wake)).await {
            // Told to end; or the handle is gone without a word: leave.
            Race::First(Race::First(changed)) => {
                break match changed {
                    Ok(()) => (*end.borrow()).unwrap_or(End::Leave),
                    Err(_) => End::Leave,
                };
            }
            Race::First(Race::Second(())) => break End::Leave,
            Race::Second(()) => {}
        }
        let now = Instant::now();
        if shared.is_alive() && now >= deadline {
            keeper = None;
            lost(&shared, lease, "no keep-alive succeeded for a whole TTL");
            next = now;
            continue;
        }
        if now < next {
            continue;
        }
        next = now + period(lease.ttl);
        if shared.is_alive() {
            let limit = period(lease.ttl).min(deadline.saturating_duration_since(now));
            match timeout(limit, refresh(|| store.keeper(lease), &mut keeper)).await {
                Ok(Ok(KeepAlive::Alive(_))) => {
                    deadline = now + lease.ttl;
                    shared.state().last_keep_alive = Some(Instant::now());
                }
                Ok(Ok(KeepAlive::Gone)) => {
                    keeper = None;
                    lost(&shared, lease, "the store no longer knows the lease");
                    next = Instant::now();
                }
                Ok(Err(error)) => {
                    keeper = None;
                    tracing::debug!(
                        target: "steadfast::membership",
                        group = %shared.group, member = %shared.member, %error,
                        "keep-alive failed"
                    );
                }
                Err(_) => {
                    keeper = None;
                    tracing::debug!(
                        target: "steadfast::membership",
                        group = %shared.group, member = %shared.member,
                        "keep-alive timed out"
                    );
                }
            }
        } else if let Some(new) = rejoin(&shared, &*store, lease).await {
            lease = new;
            deadline = now + lease.ttl;
            next = now + period(lease.ttl);
        }
    };
    match ending {
        End::Abandon => Ok(()),
        End::Leave if shared.is_alive() => {
            let result = timeout(lease.ttl, store.leave(&shared.group, &shared.member, lease))
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::new(
                        StoreErrorKind::Timeout,
                        format!("leaving took longer than the TTL ({:?})", lease.ttl),
                    ))
                });
            shared.set_alive(false);
            match &result {
                Ok(()) => tracing::info!(
                    target: "steadfast::membership",
                    group = %shared.group, member = %shared.member,
                    "left the group"
                ),
                Err(error) => tracing::warn!(
                    target: "steadfast::membership",
                    group = %shared.group, member = %shared.member, %error,
                    "could not leave the group: the key stays until its lease expires"
                ),
            }
            result
        }
        // Lost: the key is gone, or goes within a TTL; revoke in case the
        // store still has it.
        End::Leave => {
            let _ = timeout(period(lease.ttl), store.revoke(lease)).await;
            Ok(())
        }
    }
}

/// One keep-alive, opening the keeper (with `open`) first if needed.
pub(crate) async fn refresh<F>(
    open: impl FnOnce() -> F,
    keeper: &mut Option<Box<dyn LeaseKeeper>>,
) -> Result<KeepAlive, StoreError>
where
    F: Future<Output = Result<Box<dyn LeaseKeeper>, StoreError>>,
{
    if keeper.is_none() {
        *keeper = Some(open().await?);
    }
    match keeper.as_mut() {
        Some(keeper) => keeper.refresh().await,
        None => Ok(KeepAlive::Gone),
    }
}

/// Marks the lease lost and says so.
fn lost(shared: &Shared, lease: Lease, why: &str) {
    shared.set_alive(false);
    {
        let mut state = shared.state();
        state.members.remove(&shared.member);
    }
    tracing::warn!(
        target: "steadfast::membership",
        group = %shared.group, member = %shared.member, lease = lease.id, why,
        "membership lease lost"
    );
    shared.emit(MembershipEvent::LeaseLost { lease: lease.id });
}

/// Revokes the lost lease (its key may still be on the store, e.g. after
/// the store restarted) and registers anew: the new lease, or `None` (tried
/// again on the next period).
async fn rejoin(shared: &Shared, store: &dyn MembershipStore, old: Lease) -> Option<Lease> {
    let limit = period(old.ttl);
    let _ = timeout(limit, store.revoke(old)).await;
    match timeout(
        limit,
        store.register(&shared.group, &shared.member, shared.ttl),
    )
    .await
    {
        Ok(Ok(lease)) => {
            {
                let mut state = shared.state();
                state.lease = lease;
                state.last_keep_alive = Some(Instant::now());
                state.members.insert(shared.member.clone());
            }
            shared.set_alive(true);
            tracing::info!(
                target: "steadfast::membership",
                group = %shared.group, member = %shared.member, lease = lease.id,
                "rejoined the group under a new lease"
            );
            shared.emit(MembershipEvent::Rejoined { lease: lease.id });
            Some(lease)
        }
        _ => None,
    }
}
