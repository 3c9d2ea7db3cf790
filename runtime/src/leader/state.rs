//! What `health()` shows of each election ([`ElectionHealth`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use core::time::Duration;

/// One election, as this process last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ElectionHealth {
    /// The election's name.
    pub name: String,
    /// The holder's candidate id as last seen (this process's own while it
    /// leads), `None` when nobody held it or the store could not be asked.
    pub holder: Option<String>,
    /// Whether this process holds the election now (a body is running).
    pub is_leader: bool,
    /// The holder's fencing token as last seen.
    pub token: Option<u64>,
    /// This process's lease while it leads.
    pub lease: Option<i64>,
    /// The lease TTL asked for. In JSON: `ttl_ms`, whole milliseconds.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "ttl_ms", serialize_with = "crate::millis::whole")
    )]
    pub ttl: Duration,
}

/// One election's line, updated by its calls.
#[derive(Debug)]
pub(crate) struct Election(Mutex<ElectionHealth>);

impl Election {
    pub(crate) fn line(&self) -> MutexGuard<'_, ElectionHealth> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Another holds it (or nobody, with `None`).
    pub(crate) fn seen(&self, holder: Option<&super::Holder>) {
        let mut line = self.line();
        line.holder = holder.map(|h| h.candidate.clone());
        line.token = holder.map(|h| h.token);
    }

    pub(crate) fn won(&self, candidate: &str, token: u64, lease: i64) {
        let mut line = self.line();
        line.holder = Some(candidate.to_owned());
        line.token = Some(token);
        line.is_leader = true;
        line.lease = Some(lease);
    }

    pub(crate) fn ended(&self) {
        let mut line = self.line();
        if line.is_leader {
            line.holder = None;
        }
        line.is_leader = false;
        line.lease = None;
    }
}

static ELECTIONS: Mutex<Vec<Arc<Election>>> = Mutex::new(Vec::new());

/// The line of election `name` (created on its first call).
pub(crate) fn of(name: &str, ttl: Duration) -> Arc<Election> {
    let mut all = ELECTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = all.iter().find(|e| e.line().name == name) {
        return found.clone();
    }
    let election = Arc::new(Election(Mutex::new(ElectionHealth {
        name: name.to_owned(),
        holder: None,
        is_leader: false,
        token: None,
        lease: None,
        ttl,
    })));
    all.push(election.clone());
    election
}

/// Every election called so far, in the order of their first calls.
pub(crate) fn report_snapshot() -> Vec<ElectionHealth> {
    ELECTIONS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|e| e.line().clone())
        .collect()
}
