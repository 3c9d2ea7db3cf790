//! What a membership reports to its subscribers ([`MembershipEvent`]).

/// A change in the group, or in this process's own lease, as
/// [`Membership::subscribe`](super::Membership::subscribe) delivers it (and a
/// `tracing` event, target `steadfast::membership`, logs it).
///
/// Events about other members come from the store's watch; this process's
/// own key is left out of them (its lease events say what happened to it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipEvent {
    /// Another member joined the group (or rejoined under a new lease).
    Joined {
        /// Its id.
        member: String,
    },
    /// Another member left on purpose ([`Membership::leave`](super::Membership::leave),
    /// drop, or graceful shutdown).
    Left {
        /// Its id.
        member: String,
    },
    /// Another member's key is gone without a departure: its lease expired
    /// (the process died, hung, or lost the store for longer than its TTL),
    /// or the key was deleted by hand. The event to act on: take over its
    /// work.
    Expired {
        /// Its id.
        member: String,
    },
    /// This process's lease is lost: the store said it no longer knows it,
    /// or no keep-alive succeeded for a whole TTL. Other members may already
    /// have seen this process expire; work tied to the membership should
    /// stop. The membership keeps trying to rejoin under a new lease.
    LeaseLost {
        /// The lost lease's id.
        lease: i64,
    },
    /// This process joined again, under a new lease, after losing its
    /// lease.
    Rejoined {
        /// The new lease's id.
        lease: i64,
    },
}
