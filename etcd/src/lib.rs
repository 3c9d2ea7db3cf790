//! etcd backend for [`steadfast`](https://docs.rs/steadfast): membership
//! under leases that etcd expires, kept alive in the background, and told
//! to every member; and leader election with fencing tokens for
//! `#[leader]`.
//!
//! Several replicas of a service join a group; each registers a key under
//! an etcd lease that a background task keeps alive. Every member sees the
//! others join, leave, and *expire* — a replica that died, hung, or lost
//! etcd for longer than its TTL — and can act on it (take over its shard,
//! re-run its job). This crate implements the runtime's
//! [`MembershipStore`](steadfast_runtime::membership::MembershipStore)
//! trait; the logic (keep-alive, loss, rejoin, events, `health()`) is the
//! runtime's [`Membership`](steadfast_runtime::membership::Membership), and
//! the runtime never depends on this crate.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast_etcd::EtcdStore;
//! use steadfast_runtime::membership::{Membership, MembershipEvent};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Nothing is connected yet: the first call connects.
//! let store = Arc::new(EtcdStore::new(["http://127.0.0.1:2379"]));
//! let me = Membership::join(store, "billing-workers", "pod-7", Duration::from_secs(10)).await?;
//! println!("live: {:?}", me.members().await?);
//! let mut events = me.subscribe();
//! while let Ok(event) = events.recv().await {
//!     if let MembershipEvent::Expired { member } = event {
//!         println!("{member} is gone: take over its work");
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Through the facade: feature `etcd` of `steadfast`, then
//! `steadfast::etcd::EtcdStore` and `steadfast::membership::Membership`.
//!
//! # Leader election
//!
//! [`EtcdStore`] also implements the runtime's
//! [`ElectionStore`](steadfast_runtime::leader::ElectionStore): install it
//! once per process and mark a job `#[leader(election = "…")]`.
//!
//! ```no_run
//! use steadfast_etcd::EtcdStore;
//!
//! steadfast_runtime::leader::install(EtcdStore::new(["http://127.0.0.1:2379"]));
//! ```
//!
//! One key per election, `{election prefix}{name}`, by default
//! `steadfast/elections/{name}` ([`DEFAULT_ELECTION_PREFIX`],
//! [`EtcdStore::with_election_prefix`]), holding the leader's candidate id
//! under its lease. A campaign is one transaction: if the key's
//! `create_revision` is 0 (no key), `Put(key, candidate, lease)`, else
//! `Get(key)` (the holder). The fencing token is the key's creation
//! revision: etcd's revisions only grow, so each new leader's token is
//! greater. Resigning revokes the lease, which deletes the key. (etcd's
//! `v3election` API queues campaigners and blocks until they win; a
//! `#[leader]` call wins at once or is refused, so one compare-and-create
//! fits it better, with the same token.) `cargo run -p steadfast-etcd
//! --example leader` runs three processes on an etcd of its own.
//!
//! # Building
//!
//! `etcd-client` compiles etcd's protobuf definitions at build time with
//! `protoc` (Debian: `protobuf-compiler`; or set `PROTOC` to its path).
//! Only builds that enable this crate need it: the facade's default
//! features do not.
//!
//! # Keys
//!
//! One key per member, `{prefix}{group}/{member}`, by default
//! `steadfast/members/{group}/{member}` ([`DEFAULT_PREFIX`],
//! [`EtcdStore::with_prefix`], [`EtcdStore::member_key`]). Its value is
//! `alive`, or `leaving` just before a member revokes its lease on purpose
//! (so watchers report a departure, not an expiry). The key is attached to
//! the member's lease: etcd deletes it when the lease expires or is
//! revoked. A group is a name without `/` (so that no group's keys fall
//! under another's prefix); a member id is any non-empty string, unique in
//! its group (a pod name, host and pid). Keys under a group's prefix that
//! are not valid UTF-8 are ignored, with a warning.
//!
//! # What each call does on etcd
//!
//! | runtime call | etcd |
//! |---|---|
//! | `register` | `LeaseGrant(ttl)` (whole seconds, rounded up; etcd raises it to its minimum, 2 s with default settings), then `Put(key, "alive", lease)` |
//! | keep-alive | one `LeaseKeepAlive` stream per lease; each refresh is one request and its answer (TTL 0: the lease is gone) |
//! | `leave` | `Put(key, "leaving", lease)`, then `LeaseRevoke` |
//! | `list` | `Range(prefix, keys only)`, with the answer's revision |
//! | `watch` | `Watch(prefix, from revision)`; a compacted revision or a cancelled watch ends it, and the membership lists again |
//!
//! Every call is bounded by the store's timeout ([`EtcdStore::with_timeout`],
//! 2 s) and by the membership's (a third of the TTL). Failures are
//! [`StoreError`](steadfast_runtime::store::StoreError)s: `Unavailable`
//! (etcd down, connection lost, no leader), `Timeout`, or `InvalidReply`
//! (an answer of the wrong shape); never a panic.
//!
//! # etcd restarts
//!
//! etcd keeps leases on disk and, when it comes back (a restart, a new
//! leader), extends every lease to a full TTL. So a restart shorter than
//! the TTL loses nothing: the keep-alive stream breaks, the membership
//! opens a new one, the lease lives on. A longer outage makes the
//! membership declare its lease lost a TTL after the last refresh it sent;
//! when etcd is back it revokes the old lease (etcd may have restored it,
//! key and all) and joins under a new one
//! ([`Rejoined`](steadfast_runtime::membership::MembershipEvent::Rejoined)).
//! Others see it expire and join again.

mod election;
mod error;
mod store;

pub use store::{DEFAULT_ELECTION_PREFIX, DEFAULT_PREFIX, EtcdStore};
