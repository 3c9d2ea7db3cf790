//! What [`apply`](crate::config::apply) and the loaders report.

use core::fmt;

use super::PolicyKind;

/// Why a set of overrides was refused: every problem found, in the order
/// of the entries. When there is one, nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        ConfigError { problems }
    }

    /// Every problem found.
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// One problem in a set of overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// No registered policy of `kind` carries `name`; `known` lists the
    /// names that do.
    UnknownPolicy {
        /// The kind asked for.
        kind: PolicyKind,
        /// The name asked for.
        name: String,
        /// The registered names of that kind.
        known: Vec<String>,
    },
    /// `key` is not a setting of `kind`; `known` lists the ones that are.
    UnknownKey {
        /// The policy's kind.
        kind: PolicyKind,
        /// The policy's name.
        policy: String,
        /// The key asked for.
        key: String,
        /// The keys an override may set for that kind.
        known: Vec<&'static str>,
    },
    /// The value is not valid for its key: `message` is the attributes'
    /// compile-time message for the same mistake.
    Invalid {
        /// The policy's kind.
        kind: PolicyKind,
        /// The policy's name.
        policy: String,
        /// The key.
        key: String,
        /// What is wrong, as the attribute says it.
        message: String,
    },
    /// The key can only change before the policy is in use, and it is.
    StartupOnly {
        /// The policy's kind.
        kind: PolicyKind,
        /// The policy's name.
        policy: String,
        /// The key.
        key: String,
        /// Why, and since when, it is fixed.
        reason: &'static str,
    },
    /// The key is fixed when the policy is built.
    Fixed {
        /// The policy's kind.
        kind: PolicyKind,
        /// The policy's name.
        policy: String,
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A source (a file, the environment) could not be read.
    Source {
        /// Where it came from (a path, an environment variable).
        origin: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownPolicy { kind, name, known } => {
                write!(f, "no {} is named `{name}`; ", kind.noun())?;
                if known.is_empty() {
                    write!(f, "none is registered")
                } else {
                    write!(f, "the registered ones are: {}", known.join(", "))
                }
            }
            Problem::UnknownKey {
                kind,
                policy,
                key,
                known,
            } => write!(
                f,
                "{} `{policy}`: unknown key `{key}`; the keys are: {}",
                kind.noun(),
                known.join(", ")
            ),
            Problem::Invalid {
                kind,
                policy,
                message,
                ..
            } => write!(f, "{} `{policy}`: {message}", kind.noun()),
            Problem::StartupOnly {
                kind,
                policy,
                key,
                reason,
            } => write!(
                f,
                "{} `{policy}`: `{key}` can only change before the policy is in use: {reason}",
                kind.noun()
            ),
            Problem::Fixed {
                kind,
                policy,
                key,
                reason,
            } => write!(
                f,
                "{} `{policy}`: `{key}` cannot be overridden: {reason}",
                kind.noun()
            ),
            Problem::Source { origin, message } => write!(f, "{origin}: {message}"),
        }
    }
}
