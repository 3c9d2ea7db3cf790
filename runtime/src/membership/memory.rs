//! An in-memory [`MembershipStore`] for the unit tests: leases expire on
//! tokio time, a switch makes every call fail as if the store were down.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use core::time::Duration;
use tokio::time::{Instant, sleep};

use super::store::{
    KeepAlive, Lease, LeaseKeeper, MemberChange, MemberList, MemberWatch, MembershipStore,
};
use crate::store::{StoreError, StoreErrorKind, StoreFuture};

#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryStore(Arc<Memory>);

#[derive(Debug, Default)]
struct Memory {
    down: AtomicBool,
    data: Mutex<Data>,
}

#[derive(Debug, Default)]
struct Data {
    next_lease: i64,
    leases: HashMap<i64, (Instant, Duration)>,
    /// (group, member) → lease.
    keys: BTreeMap<(String, String), i64>,
    revision: u64,
    log: Vec<(u64, String, MemberChange)>,
}

impl Data {
    fn record(&mut self, group: &str, change: MemberChange) {
        self.revision += 1;
        self.log.push((self.revision, group.to_owned(), change));
    }

    fn expire(&mut self) {
        let now = Instant::now();
        let expired: Vec<i64> = self
            .leases
            .iter()
            .filter(|(_, (until, _))| *until <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.drop_lease(id);
        }
    }

    fn drop_lease(&mut self, id: i64) {
        self.leases.remove(&id);
        let gone: Vec<(String, String)> = self
            .keys
            .iter()
            .filter(|(_, lease)| **lease == id)
            .map(|(key, _)| key.clone())
            .collect();
        for (group, member) in gone {
            self.keys.remove(&(group.clone(), member.clone()));
            self.record(&group, MemberChange::Removed(member));
        }
    }
}

impl MemoryStore {
    /// Makes every call fail (true) or work again (false).
    pub(crate) fn set_down(&self, down: bool) {
        self.0.down.store(down, Ordering::SeqCst);
    }

    /// Revokes `lease` behind the members' backs.
    pub(crate) fn drop_lease(&self, id: i64) {
        self.0.data.lock().unwrap().drop_lease(id);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> Result<T, StoreError> {
        if self.0.down.load(Ordering::SeqCst) {
            return Err(StoreError::new(StoreErrorKind::Unavailable, "store down"));
        }
        let mut data = self.0.data.lock().unwrap();
        data.expire();
        Ok(f(&mut data))
    }
}

impl MembershipStore for MemoryStore {
    fn register<'a>(
        &'a self,
        group: &'a str,
        member: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Result<Lease, StoreError>> {
        Box::pin(async move {
            self.with(|data| {
                data.next_lease += 1;
                let id = data.next_lease;
                data.leases.insert(id, (Instant::now() + ttl, ttl));
                data.keys.insert((group.to_owned(), member.to_owned()), id);
                data.record(group, MemberChange::Joined(member.to_owned()));
                Lease::new(id, ttl)
            })
        })
    }

    fn keeper(&self, lease: Lease) -> StoreFuture<'_, Result<Box<dyn LeaseKeeper>, StoreError>> {
        Box::pin(async move {
            self.with(|_| ())?;
            Ok(Box::new(Keeper {
                store: self.clone(),
                lease: lease.id,
            }) as Box<dyn LeaseKeeper>)
        })
    }

    fn leave<'a>(
        &'a self,
        group: &'a str,
        member: &'a str,
        lease: Lease,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.with(|data| {
                if data.keys.get(&(group.to_owned(), member.to_owned())) == Some(&lease.id) {
                    data.record(group, MemberChange::Leaving(member.to_owned()));
                }
                data.drop_lease(lease.id);
            })
        })
    }

    fn revoke(&self, lease: Lease) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.with(|data| data.drop_lease(lease.id)) })
    }

    fn list<'a>(&'a self, group: &'a str) -> StoreFuture<'a, Result<MemberList, StoreError>> {
        Box::pin(async move {
            self.with(|data| {
                let members = data
                    .keys
                    .keys()
                    .filter(|(g, _)| g == group)
                    .map(|(_, m)| m.clone())
                    .collect();
                MemberList::new(members, data.revision)
            })
        })
    }

    fn watch<'a>(
        &'a self,
        group: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Result<Box<dyn MemberWatch>, StoreError>> {
        Box::pin(async move {
            self.with(|_| ())?;
            Ok(Box::new(Watch {
                store: self.clone(),
                group: group.to_owned(),
                next: revision,
            }) as Box<dyn MemberWatch>)
        })
    }
}

#[derive(Debug)]
struct Keeper {
    store: MemoryStore,
    lease: i64,
}

impl LeaseKeeper for Keeper {
    fn refresh(&mut self) -> StoreFuture<'_, Result<KeepAlive, StoreError>> {
        Box::pin(async move {
            self.store
                .with(|data| match data.leases.get_mut(&self.lease) {
                    Some((until, ttl)) => {
                        *until = Instant::now() + *ttl;
                        KeepAlive::Alive(*ttl)
                    }
                    None => KeepAlive::Gone,
                })
        })
    }
}

#[derive(Debug)]
struct Watch {
    store: MemoryStore,
    group: String,
    next: u64,
}

impl MemberWatch for Watch {
    fn next(&mut self) -> StoreFuture<'_, Option<Result<MemberChange, StoreError>>> {
        Box::pin(async move {
            loop {
                let found = self.store.with(|data| {
                    data.log
                        .iter()
                        .find(|(revision, group, _)| *revision >= self.next && *group == self.group)
                        .map(|(revision, _, change)| (*revision, change.clone()))
                });
                match found {
                    Err(error) => return Some(Err(error)),
                    Ok(Some((revision, change))) => {
                        self.next = revision + 1;
                        return Some(Ok(change));
                    }
                    Ok(None) => sleep(Duration::from_millis(10)).await,
                }
            }
        })
    }
}
