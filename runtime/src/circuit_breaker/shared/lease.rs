//! The half-open probe lease a process holds, and what its probe did.

use tokio::time::Instant;

use crate::store::ProbeOutcome;

/// A probe lease the store granted this process: its fencing token
/// (`generation`, `lease`), the local half-open generation it opened for its
/// one probe, when it was granted (local clock), and the probe's outcome
/// once it finished (until the syncer has sent it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lease {
    /// The store's half-open generation.
    pub(super) generation: u64,
    /// The lease's number within it.
    pub(super) lease: u64,
    /// The local word's half-open generation the probe is admitted in.
    pub(super) local: u32,
    /// When the store granted it, on the local clock.
    pub(super) granted_at: Instant,
    /// How the probe ended, once it has.
    pub(super) outcome: Option<ProbeOutcome>,
}
