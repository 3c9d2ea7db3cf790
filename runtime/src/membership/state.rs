//! The state a membership's tasks share with its handle and with `health()`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use core::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::event::MembershipEvent;
use super::store::Lease;

/// Events kept for a subscriber that falls behind.
const EVENT_CAPACITY: usize = 256;

/// One membership's shared state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) group: String,
    pub(crate) member: String,
    /// The TTL asked for.
    pub(crate) ttl: Duration,
    state: Mutex<State>,
    events: broadcast::Sender<MembershipEvent>,
    alive: watch::Sender<bool>,
    /// False once the handle is gone (left, abandoned or dropped).
    active: AtomicBool,
}

/// What changes as the tasks run.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) lease: Lease,
    pub(crate) last_keep_alive: Option<Instant>,
    /// The group's members as last seen (this process included while its
    /// key is there).
    pub(crate) members: BTreeSet<String>,
    /// Members that marked their key as leaving.
    pub(crate) leaving: BTreeSet<String>,
}

impl Shared {
    pub(crate) fn new(
        group: String,
        member: String,
        ttl: Duration,
        lease: Lease,
        members: BTreeSet<String>,
    ) -> Arc<Shared> {
        let shared = Arc::new(Shared {
            group,
            member,
            ttl,
            state: Mutex::new(State {
                lease,
                last_keep_alive: None,
                members,
                leaving: BTreeSet::new(),
            }),
            events: broadcast::channel(EVENT_CAPACITY).0,
            alive: watch::channel(true).0,
            active: AtomicBool::new(true),
        });
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        registry.retain(|weak| weak.strong_count() > 0);
        registry.push(Arc::downgrade(&shared));
        shared
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `event` to the subscribers (none is fine).
    pub(crate) fn emit(&self, event: MembershipEvent) {
        let _ = self.events.send(event);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<MembershipEvent> {
        self.events.subscribe()
    }

    pub(crate) fn alive_receiver(&self) -> watch::Receiver<bool> {
        self.alive.subscribe()
    }

    pub(crate) fn is_alive(&self) -> bool {
        *self.alive.borrow()
    }

    pub(crate) fn set_alive(&self, alive: bool) {
        self.alive.send_replace(alive);
    }

    pub(crate) fn deactivate(&self) {
        self.active.store(false, Ordering::Relaxed);
    }

    fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }
}

/// Every membership of the process, for `health()`.
static REGISTRY: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// The memberships whose handle is still held, in the order they joined.
pub(crate) fn active() -> Vec<Arc<Shared>> {
    REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|shared| shared.is_active())
        .collect()
}
