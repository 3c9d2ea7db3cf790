//! Leader election with fencing: a body that runs on one process at a time
//! across a cluster (`#[leader]`, [`Leader`]).
//!
//! Jobs that must run on exactly one replica — a nightly billing run, a
//! queue consumer, a cache warmer — hold an *election* while they run.
//! A call campaigns once: if no process holds the election, it takes it
//! under a fresh lease and runs the body; otherwise it fails at once with
//! [`Rejected::NotLeader`] naming the holder
//! (or, with `wait`, asks again every 100 ms until it wins or the wait is
//! spent). While the body runs the lease is kept alive; when the body ends
//! (success, error, panic or drop) the lease is revoked: the process
//! resigns, and another may take the election at once.
//!
//! ```no_run
//! use std::time::Duration;
//! use steadfast::leader::{Leader, fencing_token};
//!
//! static BILLING: Leader = Leader::new("nightly-billing", Duration::from_secs(10));
//!
//! # async fn run() -> Result<(), steadfast::Rejected> {
//! // Once at startup (feature `etcd`):
//! // steadfast::leader::install(steadfast::etcd::EtcdStore::new(["http://127.0.0.1:2379"]));
//! BILLING
//!     .run(async {
//!         let token = fencing_token().expect("inside the body");
//!         // … write to storage, passing `token` along …
//!     })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! The runtime holds the logic; a backend implements [`ElectionStore`] (the
//! etcd backend, `steadfast-etcd`); one store per process is installed at
//! startup with [`install`]. A call made with no store installed is refused
//! (`NotLeader` with no known leader), with a warning.
//!
//! # The lease, and losing it
//!
//! The lease is refreshed every third of its TTL. It is known to live until
//! `sent + TTL` of the last refresh that succeeded (the time the refresh was
//! *sent*: the store expires it no earlier). When that deadline passes —
//! the store is down or out of reach, the process was paused (`SIGSTOP`, a
//! long GC-like stall, a VM migration) — or the store answers that it no
//! longer knows the lease (it expired, or was revoked by hand), leadership
//! is **lost**: the body is cancelled (dropped at its next `.await`) and the
//! call returns [`Rejected::LeadershipLost`].
//! The deadline is checked against the clock before every poll of the
//! body, so a process resumed after a pause longer than the TTL drops the
//! body without running it further.
//!
//! # Fencing: what it protects, and what it cannot
//!
//! Inside the body, [`fencing_token`] is the store's revision at which this
//! process won (etcd: the election key's creation revision). Every later
//! leader's token is greater. Pass it with every write to the storage the
//! job changes, and have that storage refuse a token lower than the
//! highest it has seen (a conditional update, a column compared in the
//! `WHERE`, a check in the service that owns the data).
//!
//! That matters because no lease can stop a process that is not running:
//! a leader paused longer than its TTL (or cut off from the store) is
//! deposed by the cluster *before* it can notice; when it resumes, a write
//! it had already started — or one its body issues before its next
//! `.await` — reaches storage after the new leader's. Fencing makes storage
//! refuse those writes. It **cannot** protect storage that does not check
//! the token: there, a paused leader can still write after it lost, and the
//! only guarantee is the one of time (the body is dropped as soon as the
//! process runs again and sees its deadline passed).
//!
//! Neither can the runtime cancel a body that does not yield: a loop that
//! runs for seconds without an `.await` keeps running past a loss. Work
//! spawned by the body (`tokio::spawn`) is not cancelled with it.
//!
//! # Choosing the TTL
//!
//! The TTL trades failover time against false failovers. After a leader
//! dies (`kill -9`, a crashed host), another process can lead once its
//! lease expires: within the TTL (plus etcd's expiry check, up to 0.5 s,
//! plus a waiting caller's 100 ms poll). But a leader that cannot refresh
//! for a whole TTL — a pause, a network hiccup, an etcd leader election —
//! loses leadership though it was alive: a false failover, and a job cut
//! off mid-way. A short TTL (2–5 s) fails over fast and suits cheap,
//! restartable jobs; a long one (15–60 s) rides out pauses and store
//! restarts and suits long jobs that are costly to restart. etcd grants
//! whole seconds, 2 s at least with its default settings.
//!
//! # One body at a time, this process included
//!
//! The election is held by a call, not by the process: a second call made
//! while the first runs (in this process or another) is refused. After a
//! store restart shorter than the TTL nothing is lost (etcd keeps leases
//! on disk and extends them to a full TTL on restart); a longer outage
//! makes the leader give up at its deadline, which is never later than the
//! store's own expiry of the lease, so two bodies never run at once.
//!
//! # Shutdown
//!
//! Once graceful shutdown has begun ([`shutdown`](crate::shutdown())), a
//! new call is refused and a running body is cancelled, both with
//! [`Rejected::ShuttingDown`], and the
//! lease is revoked: another replica takes over at once instead of a TTL
//! later.
//!
//! # Health
//!
//! `health()` lists each election called in this process
//! ([`ElectionHealth`]): its name, the holder as last seen, whether this
//! process leads, the token and the lease.

mod hold;
mod install;
mod state;
mod store;
mod token;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

use core::future::Future;
use core::time::Duration;

pub use install::{default_candidate, install, install_as, uninstall};
pub use state::ElectionHealth;
pub(crate) use state::report_snapshot;
pub use store::{Campaign, ElectionStore, Holder};
pub use token::fencing_token;

use crate::failure::Failure;
use crate::rejected::Rejected;

/// An election: its name, the TTL of the lease a winner holds, and how long
/// a call waits to win (see the [module docs](self)). Configuration only:
/// the state is the store's, so a `Leader` is `const`-built and cheap to
/// copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leader {
    election: &'static str,
    lease: Duration,
    wait: Option<Duration>,
}

impl Leader {
    /// The lease of `#[leader]` without `lease = …`: 10 s.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

    /// The election `election` (its key on the store) with a lease of
    /// `lease`; a call that does not win fails at once.
    ///
    /// # Panics
    ///
    /// For an empty name or a zero lease (at compile time in a `const`).
    #[must_use]
    pub const fn new(election: &'static str, lease: Duration) -> Self {
        assert!(!election.is_empty(), "an election needs a name");
        assert!(
            !lease.is_zero(),
            "an election's lease must be longer than zero"
        );
        Leader {
            election,
            lease,
            wait: None,
        }
    }

    /// A call that does not win waits up to `wait` for the election,
    /// asking the store every 100 ms.
    #[must_use]
    pub const fn wait(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }

    /// The election's name.
    #[must_use]
    pub const fn election(&self) -> &'static str {
        self.election
    }

    /// The lease's TTL.
    #[must_use]
    pub const fn lease(&self) -> Duration {
        self.lease
    }

    /// How long a call waits to win, if it does.
    #[must_use]
    pub const fn wait_for(&self) -> Option<Duration> {
        self.wait
    }

    /// Runs `body` while this process holds the election.
    ///
    /// # Errors
    ///
    /// [`Rejected::NotLeader`] when another holds it (after `wait`, if
    /// set), or the store could not be reached; [`Rejected::LeadershipLost`]
    /// when the lease was lost while the body ran (the body was dropped);
    /// [`Rejected::ShuttingDown`] once shutdown has begun.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (with its time driver).
    pub async fn run<O>(&self, body: impl Future<Output = O>) -> Result<O, Rejected> {
        hold::call(self, body).await
    }

    /// [`run`](Self::run) for the attribute's layers.
    #[doc(hidden)]
    pub async fn wrap<T, E, F>(&self, future: F) -> Result<T, Failure<E, Rejected>>
    where
        F: Future<Output = Result<T, Failure<E, Rejected>>>,
    {
        match hold::call(self, future).await {
            Ok(output) => output,
            Err(rejected) => {
                crate::events::rejected(&rejected);
                Err(Failure::Rejected(rejected))
            }
        }
    }
}
