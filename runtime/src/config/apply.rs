//! [`apply`]: check every override, then store them all.

use core::time::Duration;
use std::collections::BTreeMap;

use super::error::{ConfigError, Problem};
use super::settings::BreakerSettings;
use super::validate;
use super::{Overrides, PolicyKind};
use crate::keyed::KeyedPolicy;
use crate::rate_limit::Limits;
use crate::registry::{self, Member};
use crate::{Bulkhead, CircuitBreaker, RateLimiter};

/// What [`apply`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// One per key and policy (a name that several policies carry counts
    /// once per policy).
    pub changes: Vec<Change>,
}

/// One key of one policy, changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The policy's kind.
    pub kind: PolicyKind,
    /// The policy's name.
    pub policy: &'static str,
    /// The key.
    pub key: String,
    /// The value, as given.
    pub value: String,
}

/// Why `window` is fixed.
const WINDOW_FIXED: &str = "the window's ring or buckets are laid out when the breaker is built; \
     change it in the code";

/// Why a rate limiter's keys are startup settings.
const RATE_AT_STARTUP: &str = "the limiter has taken a call, which fixed its limits (its admission \
     word counts time in a unit derived from `rate` and `per`); set it before traffic";

/// Why a bulkhead's limits are startup settings.
const LIMITS_AT_STARTUP: &str = "a call has already waited, so its line is allocated \
     (at `max_queue` entries) and slots are handed over in line; set it before traffic";

/// Checks every entry of `overrides` against the registered policies (see
/// the [module docs](crate::config) for the keys and when they may change),
/// then, if all are valid, stores them.
///
/// Call it at startup, after the policies are registered (the attributes'
/// are from the start; a `static` built by hand after its
/// [`register_breaker!`](crate::register_breaker) or first call) and
/// before traffic; running keys may also change later.
///
/// # Errors
///
/// Every problem found — an unknown name (listing the registered ones), an
/// unknown key (listing the kind's keys), an invalid value (with the
/// attribute's message), a key that is fixed or that can no longer change —
/// in one [`ConfigError`]; then nothing was changed.
pub fn apply(overrides: &Overrides) -> Result<Applied, ConfigError> {
    let result = check_and_store(overrides);
    match &result {
        Ok(applied) => {
            for change in &applied.changes {
                tracing::info!(
                    target: "steadfast::config",
                    kind = change.kind.as_str(),
                    policy = change.policy,
                    key = %change.key,
                    value = %change.value,
                    "override applied"
                );
            }
        }
        Err(error) => tracing::warn!(
            target: "steadfast::config",
            problems = error.problems().len(),
            error = %error,
            "overrides refused"
        ),
    }
    result
}

fn check_and_store(overrides: &Overrides) -> Result<Applied, ConfigError> {
    let mut problems = Vec::new();
    let mut breakers: Vec<(&'static CircuitBreaker, BreakerSettings)> = Vec::new();
    let mut bulkheads: Vec<BulkheadPlan> = Vec::new();
    let mut limiters: Vec<(&'static RateLimiter, Limits, Vec<String>)> = Vec::new();
    let mut changes = Vec::new();
    // Keyed policies whose template changes: their states adopt it after.
    let mut keyed: Vec<Box<dyn Fn()>> = Vec::new();
    for (kind, name, keys) in overrides.policies() {
        let unknown_keys = keys
            .keys()
            .filter(|key| !kind.keys().contains(&key.as_str()))
            .map(|key| Problem::UnknownKey {
                kind,
                policy: name.to_owned(),
                key: key.clone(),
                known: kind.keys().to_vec(),
            });
        problems.extend(unknown_keys);
        let known = |key: &str| kind.keys().contains(&key);
        match kind {
            PolicyKind::Breakers => {
                let Some(found) = named::<CircuitBreaker>(kind, name, &mut keyed, &mut problems)
                else {
                    continue;
                };
                for breaker in found {
                    let mut settings = breaker.settings();
                    let before = problems.len();
                    for (key, value) in keys.iter().filter(|(key, _)| known(key)) {
                        if key == "window" {
                            problems.push(fixed(kind, name, key, WINDOW_FIXED));
                        } else if let Err(message) =
                            validate::breaker_key(&mut settings, key, value)
                        {
                            problems.push(invalid(kind, name, key, message));
                        }
                    }
                    if problems.len() == before
                        && let Err((key, message)) =
                            validate::breaker_together(&settings, keys.contains_key("slow_ratio"))
                    {
                        problems.push(invalid(kind, name, key, message));
                    }
                    changes.extend(changed(kind, breaker.name(), keys, known));
                    breakers.push((breaker, settings));
                }
            }
            PolicyKind::Bulkheads => {
                let Some(found) = named::<Bulkhead>(kind, name, &mut keyed, &mut problems) else {
                    continue;
                };
                for bulkhead in found {
                    let plan = bulkhead_plan(bulkhead, name, keys, &mut problems);
                    changes.extend(changed(kind, bulkhead.name(), keys, known));
                    bulkheads.push(plan);
                }
            }
            PolicyKind::RateLimiters => {
                let Some(found) = named::<RateLimiter>(kind, name, &mut keyed, &mut problems)
                else {
                    continue;
                };
                for limiter in found {
                    if let Some(limits) = limiter_plan(limiter, name, keys, &mut problems) {
                        let given = keys.keys().filter(|key| known(key)).cloned().collect();
                        changes.extend(changed(kind, limiter.name(), keys, known));
                        limiters.push((limiter, limits, given));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::new(problems));
    }
    // The changes that can still be refused (a first call came between the
    // check and now) go first.
    for (limiter, limits, given) in &limiters {
        if !limiter.set_limits(*limits) {
            problems.extend(given.iter().map(|key| Problem::StartupOnly {
                kind: PolicyKind::RateLimiters,
                policy: limiter.name().to_owned(),
                key: key.clone(),
                reason: RATE_AT_STARTUP,
            }));
        }
    }
    for plan in &bulkheads {
        if let Some((max_concurrent, max_queue)) = plan.limits
            && !plan.bulkhead.set_limits(max_concurrent, max_queue)
        {
            let key = if plan.bulkhead.max_queue() == max_queue {
                "max_concurrent"
            } else {
                "max_queue"
            };
            problems.push(Problem::StartupOnly {
                kind: PolicyKind::Bulkheads,
                policy: plan.bulkhead.name().to_owned(),
                key: key.to_owned(),
                reason: LIMITS_AT_STARTUP,
            });
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::new(problems));
    }
    for plan in &bulkheads {
        if let Some(max_wait) = plan.max_wait {
            plan.bulkhead.set_max_wait(max_wait);
        }
    }
    for (breaker, settings) in &breakers {
        breaker.set_settings(settings);
    }
    for adopt in &keyed {
        adopt();
    }
    Ok(Applied { changes })
}

/// The limits `keys` give `limiter`, or `None` with the problems.
fn limiter_plan(
    limiter: &'static RateLimiter,
    name: &str,
    keys: &BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) -> Option<Limits> {
    let kind = PolicyKind::RateLimiters;
    let Limits {
        mut rate,
        mut per,
        mut burst,
        mut max_wait,
        burst_is_rate,
        ..
    } = limiter.effective();
    let before = problems.len();
    for (key, value) in keys {
        let result = match key.as_str() {
            "rate" => validate::at_least_one(value, "rate").map(|n| rate = n),
            "burst" => validate::at_least_one(value, "burst").map(|n| burst = n),
            "per" => validate::duration(value, Some("`per`")).map(|d| per = d),
            "max_wait" => validate::duration(value, None).map(|d| max_wait = d),
            _ => continue,
        };
        if let Err(message) = result {
            problems.push(invalid(kind, name, key, message));
        }
    }
    if problems.len() > before {
        return None;
    }
    // A limiter whose `burst` was left to its default, `rate`, keeps it so:
    // a new `rate` alone moves the burst with it.
    let follows = burst_is_rate && !keys.contains_key("burst");
    if follows {
        burst = rate;
    }
    let limits = Limits::new(rate, per, burst, max_wait).map(|mut limits| {
        limits.burst_is_rate = follows;
        limits
    });
    if limits.is_none() {
        let key = ["max_wait", "burst", "per", "rate"]
            .into_iter()
            .find(|key| keys.contains_key(*key))
            .unwrap_or("rate");
        problems.push(invalid(kind, name, key, validate::RATE_HORIZON.into()));
    }
    if keys.keys().any(|key| kind.keys().contains(&key.as_str())) && !limiter.limits_open() {
        for key in keys
            .keys()
            .filter(|key| kind.keys().contains(&key.as_str()))
        {
            problems.push(Problem::StartupOnly {
                kind,
                policy: name.to_owned(),
                key: key.clone(),
                reason: RATE_AT_STARTUP,
            });
        }
        return None;
    }
    limits
}

/// What to change in one bulkhead.
struct BulkheadPlan {
    bulkhead: &'static Bulkhead,
    /// `max_concurrent` and `max_queue`, if either is overridden.
    limits: Option<(u32, u32)>,
    /// `max_wait`, if overridden.
    max_wait: Option<Option<Duration>>,
}

fn bulkhead_plan(
    bulkhead: &'static Bulkhead,
    name: &str,
    keys: &BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) -> BulkheadPlan {
    let kind = PolicyKind::Bulkheads;
    let mut max_concurrent = bulkhead.max_concurrent();
    let mut max_queue = bulkhead.max_queue();
    let mut max_wait = None;
    let mut limits_given = false;
    let before = problems.len();
    for (key, value) in keys {
        let result = match key.as_str() {
            "max_concurrent" => validate::max_concurrent(value).map(|n| max_concurrent = n),
            "max_queue" => validate::max_queue(value).map(|n| max_queue = n),
            "max_wait" => {
                validate::duration(value, Some("`max_wait`")).map(|d| max_wait = Some(Some(d)))
            }
            _ => continue,
        };
        match result {
            Err(message) => problems.push(invalid(kind, name, key, message)),
            Ok(()) if key != "max_wait" => limits_given = true,
            Ok(()) => {}
        }
    }
    if problems.len() == before {
        let waits = max_wait.map_or(bulkhead.max_wait(), |given| given);
        if max_queue == 0 && waits.is_some() && (max_wait.is_some() || limits_given) {
            problems.push(invalid(
                kind,
                name,
                "max_wait",
                validate::MAX_WAIT_WITHOUT_QUEUE.into(),
            ));
        }
        if limits_given && !bulkhead.limits_open() {
            for key in ["max_concurrent", "max_queue"] {
                if keys.contains_key(key) {
                    problems.push(Problem::StartupOnly {
                        kind,
                        policy: name.to_owned(),
                        key: key.to_owned(),
                        reason: LIMITS_AT_STARTUP,
                    });
                }
            }
        }
    }
    BulkheadPlan {
        bulkhead,
        limits: limits_given.then_some((max_concurrent, max_queue)),
        max_wait,
    }
}

/// The registered policies of `T` named `name` — the plain ones, and the
/// template of each keyed one (whose states adopt it: `keyed` collects what
/// tells them, to run once everything is stored) — or `None` with the
/// problem listing the registered names.
fn named<T: Member + KeyedPolicy>(
    kind: PolicyKind,
    name: &str,
    keyed: &mut Vec<Box<dyn Fn()>>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<&'static T>> {
    let members = registry::members::<T>();
    let mut found: Vec<&'static T> = members
        .iter()
        .copied()
        .filter(|m| m.name() == name)
        .collect();
    for policy in crate::keyed::named::<T>(name) {
        found.push(policy.template());
        keyed.push(Box::new(move || policy.overridden()));
    }
    if found.is_empty() {
        let mut known = known_names(&members);
        known.extend(crate::keyed::names::<T>().into_iter().map(str::to_owned));
        known.sort();
        known.dedup();
        problems.push(Problem::UnknownPolicy {
            kind,
            name: name.to_owned(),
            known,
        });
        return None;
    }
    Some(found)
}

/// The names of `members`, sorted, once each.
pub(crate) fn known_names<T: Member>(members: &[&'static T]) -> Vec<String> {
    let mut names: Vec<String> = members.iter().map(|m| m.name().to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

fn changed<'a>(
    kind: PolicyKind,
    policy: &'static str,
    keys: &'a BTreeMap<String, String>,
    known: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = Change> + 'a {
    keys.iter()
        .filter(move |(key, _)| known(key))
        .map(move |(key, value)| Change {
            kind,
            policy,
            key: key.clone(),
            value: value.clone(),
        })
}

fn invalid(kind: PolicyKind, policy: &str, key: &str, message: String) -> Problem {
    Problem::Invalid {
        kind,
        policy: policy.to_owned(),
        key: key.to_owned(),
        message,
    }
}

fn fixed(kind: PolicyKind, policy: &str, key: &str, reason: &'static str) -> Problem {
    Problem::Fixed {
        kind,
        policy: policy.to_owned(),
        key: key.to_owned(),
        reason,
    }
}
