//! Why joining or listing a group failed ([`MembershipError`]).

use core::fmt;

use crate::store::StoreError;

/// Why [`Membership::join`](super::Membership::join) or
/// [`Membership::members`](super::Membership::members) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipError {
    /// A group or member id that cannot be a key: empty, or a group with a
    /// `/` (it would overlap another group's keys), or a zero TTL.
    Invalid {
        /// What is wrong, with the value.
        detail: String,
    },
    /// The store failed, timed out or answered garbage.
    Store(StoreError),
}

impl MembershipError {
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        MembershipError::Invalid {
            detail: detail.into(),
        }
    }
}

impl From<StoreError> for MembershipError {
    fn from(error: StoreError) -> Self {
        MembershipError::Store(error)
    }
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipError::Invalid { detail } => write!(f, "invalid membership: {detail}"),
            MembershipError::Store(error) => write!(f, "membership store: {error}"),
        }
    }
}

impl std::error::Error for MembershipError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MembershipError::Invalid { .. } => None,
            MembershipError::Store(error) => Some(error),
        }
    }
}
