//! [`EtcdStore`] as the runtime's [`ElectionStore`]: one key per election,
//! created in a transaction under the winner's lease.
//!
//! Why a transaction rather than etcd's election API (`v3election`
//! `Campaign`): `Campaign` blocks until the candidate wins, queueing every
//! candidate under its own key, while a `#[leader]` call either wins at once
//! or is refused (and asks again every 100 ms when it waits). One key and
//! one compare-and-create give exactly that, with the same fencing token:
//!
//! | runtime call | etcd |
//! |---|---|
//! | `grant` | `LeaseGrant(ttl)` (whole seconds, rounded up; 2 s at least with etcd's defaults) |
//! | keep-alive | one `LeaseKeepAlive` stream per lease, as for membership |
//! | `campaign` | `Txn(if create_revision(key) == 0 then Put(key, candidate, lease) else Get(key))` |
//! | `leader` | `Get(key)` |
//! | `revoke` (resign) | `LeaseRevoke`: the key goes with the lease |
//!
//! The fencing token is the key's `create_revision`: the revision of the
//! `Put` that won. etcd's revisions only grow (restarts and compactions
//! included), and a key is created again only after the previous holder's
//! key is gone, so every leader's token is greater than every earlier one's.

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};
use steadfast_runtime::leader::{Campaign, ElectionStore, Holder};
use steadfast_runtime::membership::{Lease, LeaseKeeper};
use steadfast_runtime::store::{StoreError, StoreFuture};

use crate::error::{from_etcd, invalid};
use crate::store::{EtcdStore, grant};

impl ElectionStore for EtcdStore {
    fn grant(&self, ttl: core::time::Duration) -> StoreFuture<'_, Result<Lease, StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            grant(&mut client, ttl).await
        }))
    }

    fn keeper(&self, lease: Lease) -> StoreFuture<'_, Result<Box<dyn LeaseKeeper>, StoreError>> {
        steadfast_runtime::membership::MembershipStore::keeper(self, lease)
    }

    fn revoke(&self, lease: Lease) -> StoreFuture<'_, Result<(), StoreError>> {
        steadfast_runtime::membership::MembershipStore::revoke(self, lease)
    }

    fn campaign<'a>(
        &'a self,
        election: &'a str,
        candidate: &'a str,
        lease: Lease,
    ) -> StoreFuture<'a, Result<Campaign, StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            let key = self.election_key(election);
            let txn = Txn::new()
                .when([Compare::create_revision(key.as_str(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(
                    key.as_str(),
                    candidate,
                    Some(PutOptions::new().with_lease(lease.id)),
                )])
                .or_else([TxnOp::get(key.as_str(), None)]);
            let answer = client.txn(txn).await.map_err(|e| from_etcd(&e))?;
            if answer.succeeded() {
                let revision = answer
                    .header()
                    .map(|header| header.revision())
                    .and_then(|revision| u64::try_from(revision).ok())
                    .ok_or_else(|| invalid("etcd answered a campaign without a revision"))?;
                return Ok(Campaign::Won { token: revision });
            }
            let holder = answer.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Get(get) => get.kvs().first().map(holder_of),
                _ => None,
            });
            match holder {
                Some(holder) => Ok(Campaign::Held(holder)),
                // Gone between the compare and the get: cannot be, both are
                // one transaction; answer as a lost race.
                None => Err(invalid(
                    "etcd answered a failed campaign without the holder",
                )),
            }
        }))
    }

    fn leader<'a>(
        &'a self,
        election: &'a str,
    ) -> StoreFuture<'a, Result<Option<Holder>, StoreError>> {
        Box::pin(self.bounded(async move {
            let mut client = self.client().await?;
            let answer = client
                .get(self.election_key(election), None)
                .await
                .map_err(|e| from_etcd(&e))?;
            Ok(answer.kvs().first().map(holder_of))
        }))
    }
}

fn holder_of(kv: &etcd_client::KeyValue) -> Holder {
    Holder::new(
        String::from_utf8_lossy(kv.value()).into_owned(),
        u64::try_from(kv.create_revision()).unwrap_or(0),
    )
}
