//! Loading overrides (feature `config`): a TOML file and the environment.
//!
//! # The file
//!
//! A table per kind, a table per policy name (quoted: names hold `::` and
//! `-`), a value per key, numbers or strings as in the attributes:
//!
//! ```toml
//! [circuit_breaker."payments::charge"]
//! failure_ratio = 0.2
//! open_for = "30s"
//!
//! [bulkhead."db-pool"]
//! max_queue = 5
//! ```
//!
//! # The environment
//!
//! `STEADFAST__<KIND>__<POLICY>__<KEY>=<value>`, upper case, parts joined
//! by double underscores: `STEADFAST__CIRCUIT_BREAKER__PAYMENTS__CHARGE__FAILURE_RATIO=0.2`.
//! The policy part is the name upper-cased, with `::` written `__` and
//! every other character that is not a letter or digit (`-`, `.`) written
//! `_`. Kinds and keys hold no double underscore, so the first part is the
//! kind and the last the key. The policy part is matched against the
//! registered names of the kind, encoded the same way: so load the
//! environment after the policies are registered (the attributes' are from
//! the start), and if two names encode alike (`a-b` and `a_b`) the
//! variable is refused as ambiguous.

use std::path::Path;

use super::apply::known_names;
use super::error::{ConfigError, Problem};
use super::{Overrides, PolicyKind};
use crate::registry::{self, Member};
use crate::{Bulkhead, CircuitBreaker, RateLimiter};

/// The prefix of the environment variables read.
const PREFIX: &str = "STEADFAST__";

impl Overrides {
    /// Reads overrides from TOML text: a table per kind, a table per policy
    /// name (quoted: names hold `::` and `-`), a value per key, numbers or
    /// strings as in the attributes. `origin` names the source in errors.
    ///
    /// ```
    /// use steadfast_runtime::config::Overrides;
    ///
    /// let overrides = Overrides::from_toml_str(
    ///     r#"
    ///     [circuit_breaker."payments::charge"]
    ///     failure_ratio = 0.2
    ///     open_for = "30s"
    ///
    ///     [bulkhead."db-pool"]
    ///     max_queue = 5
    ///     "#,
    ///     "overrides.toml",
    /// )
    /// .unwrap();
    /// assert_eq!(overrides.len(), 3);
    /// ```
    ///
    /// # Errors
    ///
    /// Unparsable TOML, an unknown kind, or a value that is neither a
    /// number nor a string. (Names, keys and values are checked by
    /// [`apply`](crate::config::apply).)
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Overrides, ConfigError> {
        let source = |message: String| {
            ConfigError::new(vec![Problem::Source {
                origin: origin.to_owned(),
                message,
            }])
        };
        let table: toml::Table = text.parse().map_err(|e| source(format!("{e}")))?;
        let mut overrides = Overrides::new();
        let mut problems = Vec::new();
        for (kind_name, policies) in &table {
            let Some(kind) = PolicyKind::from_name(kind_name) else {
                problems.push(Problem::Source {
                    origin: origin.to_owned(),
                    message: format!(
                        "unknown kind `{kind_name}`; the kinds are: circuit_breaker, bulkhead, rate_limit"
                    ),
                });
                continue;
            };
            let Some(policies) = policies.as_table() else {
                problems.push(Problem::Source {
                    origin: origin.to_owned(),
                    message: format!("`{kind_name}` must be a table of policy names"),
                });
                continue;
            };
            for (policy, keys) in policies {
                let Some(keys) = keys.as_table() else {
                    problems.push(Problem::Source {
                        origin: origin.to_owned(),
                        message: format!(
                            "`{kind_name}.\"{policy}\"` must be a table of keys (quote a name that holds `::`)"
                        ),
                    });
                    continue;
                };
                for (key, value) in keys {
                    let text = match value {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(n) => n.to_string(),
                        toml::Value::Float(x) => x.to_string(),
                        _ => {
                            problems.push(Problem::Source {
                                origin: origin.to_owned(),
                                message: format!(
                                    "`{kind_name}.\"{policy}\".{key}` must be a number or a string"
                                ),
                            });
                            continue;
                        }
                    };
                    overrides.set(kind, policy.clone(), key.clone(), text);
                }
            }
        }
        if problems.is_empty() {
            Ok(overrides)
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// Reads overrides from the TOML file at `path`.
    ///
    /// # Errors
    ///
    /// An unreadable file, or as [`from_toml_str`](Overrides::from_toml_str).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Overrides, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(vec![Problem::Source {
                origin: origin.clone(),
                message: e.to_string(),
            }])
        })?;
        Overrides::from_toml_str(&text, &origin)
    }

    /// Reads the process's `STEADFAST__<KIND>__<POLICY>__<KEY>`
    /// environment variables, as [`from_vars`](Overrides::from_vars) says.
    ///
    /// # Errors
    ///
    /// As [`from_vars`](Overrides::from_vars).
    pub fn from_env() -> Result<Overrides, ConfigError> {
        Overrides::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Reads overrides from `(variable, value)` pairs as from the
    /// environment; pairs without the `STEADFAST__` prefix are skipped.
    ///
    /// A variable is `STEADFAST__<KIND>__<POLICY>__<KEY>`, upper case:
    /// `STEADFAST__CIRCUIT_BREAKER__PAYMENTS__CHARGE__FAILURE_RATIO=0.2`.
    /// The policy part is the name upper-cased, with `::` written `__` and
    /// any other character that is not a letter or digit (`-`, `.`) written
    /// `_`; kinds and keys hold no double underscore, so the first part is
    /// the kind and the last the key. The policy part is matched against the
    /// registered names of its kind, encoded the same way, so read the
    /// environment once the policies are registered (the attributes' are
    /// from the start).
    ///
    /// # Errors
    ///
    /// A variable with no kind, policy or key part, an unknown kind, or a
    /// policy part that matches no registered name of its kind (the error
    /// lists them) or several.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Overrides, ConfigError> {
        let mut overrides = Overrides::new();
        let mut problems = Vec::new();
        for (var, value) in vars {
            let Some(rest) = var.strip_prefix(PREFIX) else {
                continue;
            };
            match entry(rest) {
                Ok((kind, policy, key)) => {
                    overrides.set(kind, policy, key, value);
                }
                Err(problem) => problems.push(problem.at(&var)),
            }
        }
        if problems.is_empty() {
            Ok(overrides)
        } else {
            Err(ConfigError::new(problems))
        }
    }
}

/// A variable's problem, before its name is attached.
enum VarProblem {
    Source(String),
    Unknown(PolicyKind, Vec<String>),
}

impl VarProblem {
    fn at(self, var: &str) -> Problem {
        match self {
            VarProblem::Source(message) => Problem::Source {
                origin: var.to_owned(),
                message,
            },
            VarProblem::Unknown(kind, known) => Problem::UnknownPolicy {
                kind,
                name: var.to_owned(),
                known,
            },
        }
    }
}

/// Kind, registered policy name and key of `rest` (the variable after the
/// prefix).
fn entry(rest: &str) -> Result<(PolicyKind, String, String), VarProblem> {
    let Some((kind, rest)) = PolicyKind::ALL.into_iter().find_map(|kind| {
        let upper = kind.as_str().to_ascii_uppercase();
        rest.strip_prefix(&upper)?
            .strip_prefix("__")
            .map(|rest| (kind, rest))
    }) else {
        return Err(VarProblem::Source(
            "expected STEADFAST__<KIND>__<POLICY>__<KEY>, <KIND> one of CIRCUIT_BREAKER, BULKHEAD, RATE_LIMIT".into(),
        ));
    };
    let Some((policy, key)) = rest.rsplit_once("__") else {
        return Err(VarProblem::Source(
            "expected STEADFAST__<KIND>__<POLICY>__<KEY>: no key part".into(),
        ));
    };
    if policy.is_empty() || key.is_empty() {
        return Err(VarProblem::Source(
            "expected STEADFAST__<KIND>__<POLICY>__<KEY>: an empty part".into(),
        ));
    }
    let key = key.to_ascii_lowercase();
    let names = match kind {
        PolicyKind::Breakers => names_of::<CircuitBreaker>(),
        PolicyKind::Bulkheads => names_of::<Bulkhead>(),
        PolicyKind::RateLimiters => names_of::<RateLimiter>(),
    };
    let matching: Vec<&String> = names.iter().filter(|n| encode(n) == policy).collect();
    match matching.as_slice() {
        [name] => Ok((kind, (*name).clone(), key)),
        [] => Err(VarProblem::Unknown(
            kind,
            names
                .iter()
                .map(|n| format!("{n} ({})", encode(n)))
                .collect(),
        )),
        several => Err(VarProblem::Source(format!(
            "`{policy}` matches several {} names: {}",
            kind.noun(),
            several
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn names_of<T: Member>() -> Vec<String> {
    known_names(&registry::members::<T>())
}

/// A policy name as the environment writes it: upper case, `::` as `__`,
/// other characters that are not letters or digits as `_`.
pub(crate) fn encode(name: &str) -> String {
    name.replace("::", "__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn encodes_names_for_the_environment() {
        assert_eq!(encode("payments::charge"), "PAYMENTS__CHARGE");
        assert_eq!(encode("app::Stock::db-pool"), "APP__STOCK__DB_POOL");
    }
}
