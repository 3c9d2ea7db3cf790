//! How a snapshot's fields are written with serde (feature `serde`): states
//! as their names (`"closed"`, `"open"`, `"half_open"`), durations as whole
//! milliseconds, and the version checked as it is read, so that a snapshot
//! of another format fails with an error naming its version rather than the
//! first field that format changed.

use core::time::Duration;

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

use super::VERSION;
use crate::circuit_breaker::State;

/// Reads `version`, refusing any but [`VERSION`].
pub(super) fn version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let found = u32::deserialize(deserializer)?;
    if found == VERSION {
        Ok(found)
    } else {
        Err(D::Error::custom(format_args!(
            "snapshot version {found} is not supported (this steadfast reads version {VERSION})"
        )))
    }
}

fn parse<E: serde::de::Error>(name: &str) -> Result<State, E> {
    match name {
        "closed" => Ok(State::Closed),
        "open" => Ok(State::Open),
        "half_open" => Ok(State::HalfOpen),
        other => Err(E::unknown_variant(other, &["closed", "open", "half_open"])),
    }
}

/// A [`State`] as its name.
pub(super) mod state {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        state: &State,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(state.as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<State, D::Error> {
        parse(&String::deserialize(deserializer)?)
    }
}

/// An optional [`State`] as its name, or `null`.
pub(super) mod forced {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        forced: &Option<State>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match forced {
            Some(state) => serializer.serialize_some(state.as_str()),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<State>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|name| parse(&name))
            .transpose()
    }
}

/// A [`Duration`] as whole milliseconds, rounded up (a time left open is
/// never shortened by its encoding).
pub(super) mod millis_up {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let millis = duration.as_nanos().div_ceil(1_000_000);
        serializer.serialize_u64(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

/// A [`Duration`] as whole milliseconds, rounded down.
pub(super) fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
