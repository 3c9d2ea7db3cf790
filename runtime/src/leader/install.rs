//! The process-wide election store and candidate id ([`install`]).

use std::sync::{Arc, PoisonError, RwLock};

use super::store::ElectionStore;

/// The store and this process's candidate id.
#[derive(Debug, Clone)]
pub(crate) struct Installed {
    pub(crate) store: Arc<dyn ElectionStore>,
    pub(crate) candidate: Arc<str>,
}

static INSTALLED: RwLock<Option<Installed>> = RwLock::new(None);

/// Makes `store` the store of every election of this process
/// (`#[leader]` and [`Leader`](super::Leader)), with this process's default
/// candidate id, `{host}/{pid}` ([`default_candidate`]). One line at
/// startup:
///
/// ```ignore
/// steadfast::leader::install(steadfast::etcd::EtcdStore::new(["http://127.0.0.1:2379"]));
/// ```
///
/// Installing again replaces the store for the calls that start afterwards.
pub fn install(store: impl ElectionStore) {
    install_as(store, default_candidate());
}

/// [`install`] with a candidate id of your choice (a pod name): what other
/// processes see as the leader (`Rejected::NotLeader`'s `leader`, `health()`).
/// Ids should be unique; two processes with one id are still never leaders
/// at once (each holds its own lease), but cannot tell each other apart.
pub fn install_as(store: impl ElectionStore, candidate: impl Into<String>) {
    let installed = Installed {
        store: Arc::new(store),
        candidate: Arc::from(candidate.into()),
    };
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = Some(installed);
}

/// Removes the installed store: elections then refuse every call
/// (`Rejected::NotLeader` with no known leader). For tests.
pub fn uninstall() {
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = None;
}

pub(crate) fn installed() -> Option<Installed> {
    INSTALLED
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// This process's default candidate id: `{host}/{pid}`, the host from
/// `HOSTNAME` or `/etc/hostname` (`localhost` when neither is set).
#[must_use]
pub fn default_candidate() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}/{}", std::process::id())
}
