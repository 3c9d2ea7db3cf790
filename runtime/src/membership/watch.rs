//! The background task that follows the group's members through the
//! store's watch and turns changes into [`MembershipEvent`]s.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::{sleep, timeout};

use super::event::MembershipEvent;
use super::keepalive::{End, period};
use super::state::Shared;
use super::store::{MemberChange, MembershipStore};
use super::{Race, race};

/// Runs until the membership ends: list, watch from the list's revision,
/// and on any failure list again (reporting the difference) and watch anew.
pub(crate) async fn run(
    shared: Arc<Shared>,
    store: Arc<dyn MembershipStore>,
    mut end: watch::Receiver<Option<End>>,
    mut revision: u64,
) {
    let retry = period(shared.ttl);
    let mut relist = false;
    loop {
        if relist {
            if let Race::First(_) = race(end.changed(), sleep(retry)).await {
                return;
            }
            match timeout(retry, store.list(&shared.group)).await {
                Ok(Ok(list)) => {
                    revision = list.revision;
                    resync(&shared, list.members.into_iter().collect());
                }
                _ => continue,
            }
        }
        relist = true;
        let opened = match race(
            end.changed(),
            timeout(retry, store.watch(&shared.group, revision + 1)),
        )
        .await
        {
            Race::First(_) => return,
            Race::Second(opened) => opened,
        };
        let Ok(Ok(mut changes)) = opened else {
            continue;
        };
        loop {
            let change = match race(end.changed(), changes.next()).await {
                Race::First(_) => return,
                Race::Second(change) => change,
            };
            match change {
                Some(Ok(change)) => apply(&shared, change),
                Some(Err(error)) => {
                    tracing::debug!(
                        target: "steadfast::membership",
                        group = %shared.group, %error,
                        "membership watch failed; listing the group again"
                    );
                    break;
                }
                None => break,
            }
        }
    }
}

/// Applies one watched change.
fn apply(shared: &Shared, change: MemberChange) {
    let event = {
        let mut state = shared.state();
        match change {
            MemberChange::Joined(member) => {
                state.leaving.remove(&member);
                state
                    .members
                    .insert(member.clone())
                    .then_some(MembershipEvent::Joined { member })
            }
            MemberChange::Leaving(member) => {
                state.leaving.insert(member);
                None
            }
            MemberChange::Removed(member) => {
                let left = state.leaving.remove(&member);
                if !state.members.remove(&member) {
                    None
                } else if left {
                    Some(MembershipEvent::Left { member })
                } else {
                    Some(MembershipEvent::Expired { member })
                }
            }
        }
    };
    if let Some(event) = event {
        report(shared, event);
    }
}

/// Replaces the view with a fresh list: members missing from it expired
/// (or left, if they said so), new ones joined.
fn resync(shared: &Shared, fresh: BTreeSet<String>) {
    let events: Vec<MembershipEvent> = {
        let mut state = shared.state();
        let mut events = Vec::new();
        for member in state.members.difference(&fresh) {
            events.push(if state.leaving.contains(member) {
                MembershipEvent::Left {
                    member: member.clone(),
                }
            } else {
                MembershipEvent::Expired {
                    member: member.clone(),
                }
            });
        }
        for member in fresh.difference(&state.members) {
            events.push(MembershipEvent::Joined {
                member: member.clone(),
            });
        }
        state.leaving.retain(|member| fresh.contains(member));
        state.members = fresh;
        events
    };
    for event in events {
        report(shared, event);
    }
}

/// Logs and sends an event about another member (this process's own key is
/// left out: its lease events speak for it).
fn report(shared: &Shared, event: MembershipEvent) {
    let member = match &event {
        MembershipEvent::Joined { member }
        | MembershipEvent::Left { member }
        | MembershipEvent::Expired { member } => member,
        _ => return shared.emit(event),
    };
    if *member == shared.member {
        return;
    }
    match &event {
        MembershipEvent::Expired { .. } => tracing::warn!(
            target: "steadfast::membership",
            group = %shared.group, member = %member,
            "a member expired"
        ),
        _ => tracing::info!(
            target: "steadfast::membership",
            group = %shared.group, member = %member, ?event,
            "membership changed"
        ),
    }
    shared.emit(event);
}
