//! An in-memory [`ElectionStore`] on tokio time, for the runtime's tests.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use core::time::Duration;
use tokio::time::Instant;

use super::store::{Campaign, ElectionStore, Holder};
use crate::membership::{KeepAlive, Lease, LeaseKeeper};
use crate::store::{StoreError, StoreErrorKind, StoreFuture};

#[derive(Debug, Default)]
struct Inner {
    next_lease: i64,
    revision: u64,
    /// Lease id → (expiry, ttl).
    leases: HashMap<i64, (Instant, Duration)>,
    /// Election → (candidate, revision, lease).
    keys: HashMap<String, (String, u64, i64)>,
    /// Leases whose refreshes fail (as if the store were out of reach).
    unreachable: HashSet<i64>,
}

impl Inner {
    fn expire(&mut self) {
        let now = Instant::now();
        self.leases.retain(|_, (expiry, _)| *expiry > now);
        let leases = &self.leases;
        self.keys
            .retain(|_, (_, _, lease)| leases.contains_key(lease));
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Memory(Arc<Mutex<Inner>>);

impl Memory {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lease holding `election`, if any.
    pub(crate) fn lease_of(&self, election: &str) -> Option<i64> {
        let mut inner = self.inner();
        inner.expire();
        inner.keys.get(election).map(|(_, _, lease)| *lease)
    }

    /// Refreshes of `lease` fail from now on.
    pub(crate) fn cut_off(&self, lease: i64) {
        self.inner().unreachable.insert(lease);
    }

    /// Revokes `lease` behind its holder's back.
    pub(crate) fn revoke_now(&self, lease: i64) {
        let mut inner = self.inner();
        inner.leases.remove(&lease);
        inner.expire();
    }
}

impl ElectionStore for Memory {
    fn grant(&self, ttl: Duration) -> StoreFuture<'_, Result<Lease, StoreError>> {
        Box::pin(async move {
            let mut inner = self.inner();
            inner.next_lease += 1;
            let id = inner.next_lease;
            inner.leases.insert(id, (Instant::now() + ttl, ttl));
            Ok(Lease::new(id, ttl))
        })
    }

    fn keeper(&self, lease: Lease) -> StoreFuture<'_, Result<Box<dyn LeaseKeeper>, StoreError>> {
        Box::pin(async move {
            Ok(Box::new(Keeper {
                store: self.clone(),
                lease: lease.id,
            }) as Box<dyn LeaseKeeper>)
        })
    }

    fn revoke(&self, lease: Lease) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.revoke_now(lease.id);
            Ok(())
        })
    }

    fn campaign<'a>(
        &'a self,
        election: &'a str,
        candidate: &'a str,
        lease: Lease,
    ) -> StoreFuture<'a, Result<Campaign, StoreError>> {
        Box::pin(async move {
            let mut inner = self.inner();
            inner.expire();
            if let Some((holder, token, _)) = inner.keys.get(election) {
                return Ok(Campaign::Held(Holder::new(holder.clone(), *token)));
            }
            if !inner.leases.contains_key(&lease.id) {
                return Err(StoreError::new(
                    StoreErrorKind::InvalidReply,
                    "no such lease",
                ));
            }
            inner.revision += 1;
            let token = inner.revision;
            inner
                .keys
                .insert(election.to_owned(), (candidate.to_owned(), token, lease.id));
            Ok(Campaign::Won { token })
        })
    }

    fn leader<'a>(
        &'a self,
        election: &'a str,
    ) -> StoreFuture<'a, Result<Option<Holder>, StoreError>> {
        Box::pin(async move {
            let mut inner = self.inner();
            inner.expire();
            Ok(inner
                .keys
                .get(election)
                .map(|(candidate, token, _)| Holder::new(candidate.clone(), *token)))
        })
    }
}

#[derive(Debug)]
struct Keeper {
    store: Memory,
    lease: i64,
}

impl LeaseKeeper for Keeper {
    fn refresh(&mut self) -> StoreFuture<'_, Result<KeepAlive, StoreError>> {
        Box::pin(async move {
            let mut inner = self.store.inner();
            if inner.unreachable.contains(&self.lease) {
                return Err(StoreError::new(StoreErrorKind::Unavailable, "cut off"));
            }
            inner.expire();
            match inner.leases.get_mut(&self.lease) {
                Some((expiry, ttl)) => {
                    *expiry = Instant::now() + *ttl;
                    Ok(KeepAlive::Alive(*ttl))
                }
                None => Ok(KeepAlive::Gone),
            }
        })
    }
}
