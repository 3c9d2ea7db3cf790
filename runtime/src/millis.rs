//! Durations in `health()`'s JSON: whole milliseconds (the fields named
//! `…_ms`), for `#[serde(serialize_with = …)]`.

use core::time::Duration;

use serde::Serializer;

/// Whole milliseconds (saturating at `u64::MAX`).
#[allow(clippy::trivially_copy_pass_by_ref)]
pub(crate) fn whole<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// Whole milliseconds, or `null`.
#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)]
pub(crate) fn optional<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => {
            serializer.serialize_some(&u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
        }
        None => serializer.serialize_none(),
    }
}
