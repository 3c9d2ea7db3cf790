//! One call under an election: campaign, hold (the lease kept alive while
//! the body runs), lost, resign. Rules: see the [module docs](super).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use core::future::Future;
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use super::Leader;
use super::install::{Installed, installed};
use super::state::{self, Election};
use super::store::{Campaign, ElectionStore, Holder};
use crate::membership::{KeepAlive, Lease, LeaseKeeper};
use crate::rejected::Rejected;
use crate::store::{StoreError, StoreErrorKind};

/// How often a call that waits to win asks the store again.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// The bound on one store call, and the keep-alive period: a third of the
/// TTL (so two refreshes may fail before the lease is in danger).
pub(crate) fn period(ttl: Duration) -> Duration {
    (ttl / 3).max(Duration::from_millis(10))
}

/// Runs `body` while this process holds `leader`'s election.
pub(crate) async fn call<O>(leader: &Leader, body: impl Future<Output = O>) -> Result<O, Rejected> {
    let name = leader.election;
    if crate::shutdown::is_shutting_down() {
        return Err(Rejected::shutting_down(name));
    }
    let election = state::of(name, leader.lease);
    let Some(installed) = installed() else {
        tracing::warn!(
            target: "steadfast::leader",
            election = name,
            "no election store is installed (steadfast::leader::install): the call is refused"
        );
        return Err(Rejected::not_leader(name, None));
    };
    let (won, mut resign) = campaign(leader, &installed, &election).await?;
    // `health()` stops showing this process as the leader however the call
    // ends (a drop included).
    let ended = Ended(&election);
    tracing::debug!(
        target: "steadfast::leader",
        election = name, candidate = &*installed.candidate, token = won.token, lease = won.lease.id,
        "elected"
    );
    let outcome = hold(&*installed.store, &won, body).await;
    election.ended();
    resign.now().await;
    drop(ended);
    match outcome {
        Held::Done(output) => Ok(output),
        Held::Lost(why) => {
            tracing::warn!(
                target: "steadfast::leader",
                election = name, token = won.token, lease = won.lease.id, why,
                "leadership lost: the body was cancelled"
            );
            Err(Rejected::leadership_lost(name))
        }
        Held::ShuttingDown => Err(Rejected::shutting_down(name)),
    }
}

/// Marks the election ended in `health()` when dropped.
struct Ended<'a>(&'a Election);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.0.ended();
    }
}

/// A won election.
struct Won {
    lease: Lease,
    token: u64,
    /// When the lease grant was sent: the lease lives at least until
    /// `sent + ttl` on the store.
    sent: Instant,
}

/// Campaigns until won, or until `wait` is spent (at once without it).
async fn campaign(
    leader: &Leader,
    installed: &Installed,
    election: &Election,
) -> Result<(Won, Resign), Rejected> {
    let name = leader.election;
    let until = leader.wait.map(|wait| Instant::now() + wait);
    loop {
        let holder = match try_once(leader, installed).await {
            Ok(Ok(won)) => {
                election.won(&installed.candidate, won.0.token, won.0.lease.id);
                return Ok(won);
            }
            Ok(Err(holder)) => {
                election.seen(holder.as_ref());
                holder.map(|h| h.candidate)
            }
            Err(error) => {
                tracing::debug!(
                    target: "steadfast::leader",
                    election = name, %error,
                    "campaign failed"
                );
                election.seen(None);
                None
            }
        };
        let now = Instant::now();
        let Some(until) = until.filter(|until| *until > now) else {
            return Err(Rejected::not_leader(name, holder));
        };
        let pause = POLL.min(until - now);
        let mut stop = pin!(crate::shutdown::begun());
        let mut nap = pin!(sleep(pause));
        let stopped = core::future::poll_fn(|cx| {
            if stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            nap.as_mut().poll(cx).map(|()| false)
        })
        .await;
        if stopped {
            return Err(Rejected::shutting_down(name));
        }
    }
}

/// One campaign: reads the holder; when there is none, grants a lease and
/// tries to take the election under it. `Ok(Err(holder))`: not won.
async fn try_once(
    leader: &Leader,
    installed: &Installed,
) -> Result<Result<(Won, Resign), Option<Holder>>, StoreError> {
    let store = &installed.store;
    let limit = period(leader.lease);
    if let Some(holder) = bounded(limit, store.leader(leader.election)).await? {
        return Ok(Err(Some(holder)));
    }
    let sent = Instant::now();
    let lease = bounded(limit, store.grant(leader.lease)).await?;
    // From here a drop revokes the lease (and so resigns, had we won).
    let mut resign = Resign {
        store: Some(store.clone()),
        lease,
    };
    match bounded(
        limit,
        store.campaign(leader.election, &installed.candidate, lease),
    )
    .await
    {
        Ok(Campaign::Won { token }) => Ok(Ok((Won { lease, token, sent }, resign))),
        Ok(Campaign::Held(holder)) => {
            resign.now().await;
            Ok(Err(Some(holder)))
        }
        Err(error) => {
            resign.now().await;
            Err(error)
        }
    }
}

/// How holding ended.
enum Held<O> {
    Done(O),
    Lost(&'static str),
    ShuttingDown,
}

/// Runs `body` until it ends, the lease is lost, or shutdown begins. Before
/// every poll of the body the lease's deadline is checked against the
/// clock, so a process resumed after a pause longer than the TTL drops the
/// body without polling it again.
async fn hold<O>(store: &dyn ElectionStore, won: &Won, body: impl Future<Output = O>) -> Held<O> {
    let base = won.sent;
    let deadline = AtomicU64::new(nanos(won.lease.ttl));
    let expired = |deadline: &AtomicU64| {
        base.elapsed() >= Duration::from_nanos(deadline.load(Ordering::Acquire))
    };
    let mut keep = pin!(keep_alive(store, won.lease, base, &deadline));
    let mut stop = pin!(crate::shutdown::begun());
    let mut body = pin!(super::token::scope(won.token, body));
    core::future::poll_fn(|cx| {
        if expired(&deadline) {
            return Poll::Ready(Held::Lost("no keep-alive succeeded for a whole TTL"));
        }
        if let Poll::Ready(why) = keep.as_mut().poll(cx) {
            return Poll::Ready(Held::Lost(why));
        }
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Held::ShuttingDown);
        }
        body.as_mut().poll(cx).map(Held::Done)
    })
    .await
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Keeps `lease` alive every third of its TTL; returns why it was lost.
/// `deadline` (nanoseconds after `base`) is `sent + ttl` of the last
/// refresh that succeeded.
async fn keep_alive(
    store: &dyn ElectionStore,
    lease: Lease,
    base: Instant,
    deadline: &AtomicU64,
) -> &'static str {
    let period = period(lease.ttl);
    let mut keeper: Option<Box<dyn LeaseKeeper>> = None;
    let mut next = Instant::now() + period;
    loop {
        let until = base + Duration::from_nanos(deadline.load(Ordering::Acquire));
        sleep_until(next.min(until)).await;
        let now = Instant::now();
        if now >= until {
            return "no keep-alive succeeded for a whole TTL";
        }
        if now < next {
            continue;
        }
        next = now + period;
        let limit = period.min(until - now);
        match timeout(
            limit,
            crate::membership::keepalive::refresh(|| store.keeper(lease), &mut keeper),
        )
        .await
        {
            Ok(Ok(KeepAlive::Alive(_))) => {
                deadline.store(nanos(now - base + lease.ttl), Ordering::Release);
            }
            Ok(Ok(KeepAlive::Gone)) => {
                return "the store no longer knows the lease (it expired or was revoked)";
            }
            Ok(Err(error)) => {
                keeper = None;
                tracing::debug!(target: "steadfast::leader", lease = lease.id, %error, "keep-alive failed");
            }
            Err(_) => {
                keeper = None;
                tracing::debug!(target: "steadfast::leader", lease = lease.id, "keep-alive timed out");
            }
        }
    }
}

/// Revokes the lease: at once with [`now`](Resign::now), or in the
/// background when dropped first (the call was cancelled).
struct Resign {
    store: Option<Arc<dyn ElectionStore>>,
    lease: Lease,
}

impl Resign {
    async fn now(&mut self) {
        if let Some(store) = self.store.take() {
            let lease = self.lease;
            if let Err(error) = bounded(period(lease.ttl), store.revoke(lease)).await {
                tracing::debug!(
                    target: "steadfast::leader",
                    lease = lease.id, %error,
                    "could not revoke the lease: it expires after its TTL"
                );
            }
        }
    }
}

impl Drop for Resign {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let lease = self.lease;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = bounded(period(lease.ttl), store.revoke(lease)).await;
            });
        }
    }
}

/// A store call bounded by `limit`.
async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    timeout(limit, call).await.unwrap_or_else(|_| {
        Err(StoreError::new(
            StoreErrorKind::Timeout,
            format!("no answer from the election store within {limit:?}"),
        ))
    })
}
