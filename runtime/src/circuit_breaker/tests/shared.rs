//! A circuit breaker shared through a store (`CircuitBreakerBuilder::store`),
//! on tokio's paused clock: several breakers of one name on one in-memory
//! store (`store.rs`) stand for several processes.

use core::time::Duration;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::time::{Instant, sleep};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use super::call;
use super::store::{MemStore, Mode};
use crate::Rejected;
use crate::circuit_breaker::shared::Status;
use crate::circuit_breaker::state::Word;
use crate::circuit_breaker::{CircuitBreaker, State};
use crate::store::{OnStoreError, ProbeOutcome};

const MS: Duration = Duration::from_millis(1);
const INTERVAL: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_millis(50);
const OPEN_FOR: Duration = Duration::from_secs(1);

/// A registered shared breaker (one "process"): a window of 10 calls,
/// deciding from 4 at a ratio of 0.5.
fn shared(
    store: &'static MemStore,
    name: &'static str,
    on_error: OnStoreError,
) -> &'static CircuitBreaker {
    with(store, name, on_error, INTERVAL, Duration::from_secs(10))
}

fn with(
    store: &'static MemStore,
    name: &'static str,
    on_error: OnStoreError,
    interval: Duration,
    lease: Duration,
) -> &'static CircuitBreaker {
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::builder()
            .name(name)
            .window_calls(10)
            .min_calls(4)
            .failure_ratio(0.5)
            .open_for(OPEN_FOR)
            .store(store)
            .on_store_error(on_error)
            .store_timeout(TIMEOUT)
            .sync_interval(interval)
            .probe_lease(lease)
            .build(),
    ));
    breaker.register();
    breaker
}

/// Lets the poked syncers run (their store answers at once).
async fn run_syncers() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

/// Attaches each breaker (one call) and lets its syncer read the store.
async fn attach(breakers: &[&'static CircuitBreaker]) {
    for breaker in breakers {
        call(breaker, 'S').expect("a new shared breaker admits");
    }
    sleep(INTERVAL).await;
}

/// (1) The closed path makes no store call per call: 1000 calls over 100 ms
/// reach the store in a few reports (one per interval elapsed, plus the
/// first read), whose counts sum to exactly the calls made. (Successes
/// only: a report's failures land after its successes in the store's
/// window, so a batch with any failure would open a window of 10.)
#[tokio::test(start_paused = true)]
async fn the_closed_path_reports_in_batches_not_per_call() {
    let store = MemStore::leak();
    let breaker = shared(store, "shared-batches", OnStoreError::Local);
    assert!(breaker.is_shared());
    let start = Instant::now();
    for i in 0..1000 {
        call(breaker, 'S').expect("closed");
        if i % 10 == 9 {
            sleep(MS).await;
        }
    }
    sleep(2 * INTERVAL).await;
    let reports = store.reports();
    let intervals = start.elapsed().as_millis() / INTERVAL.as_millis();
    assert!(
        reports.len() as u128 <= intervals + 2,
        "{} reports in {intervals} intervals",
        reports.len()
    );
    let sum = |f: fn(&crate::store::Outcomes) -> u32| reports.iter().map(|r| f(&r.1)).sum::<u32>();
    assert_eq!((sum(|o| o.successes), sum(|o| o.failures)), (1000, 0));
    assert!(reports.iter().all(|r| r.2 || r.1.is_empty()), "all applied");
    assert_eq!(store.state(), (State::Closed, 0));
    assert_eq!(breaker.state(), State::Closed);
}

/// (2) The staleness bound, both sides: breaker A's failures open the shared
/// state; breaker B, which saw no failure, rejects within `sync_interval +
/// store_timeout` of the store's opening, and not before it. The store opens
/// at several phases of B's sync rounds, right after one of B's reads
/// included (the worst case: B's view is then a full interval old).
#[tokio::test(start_paused = true)]
async fn another_process_sees_the_store_open_within_the_staleness_bound() {
    let mut worst = Duration::ZERO;
    for phase in [1, 13, 37, 61, 89, 99] {
        let store = MemStore::leak();
        let a = shared(store, "shared-stale", OnStoreError::Local);
        let b = shared(store, "shared-stale", OnStoreError::Local);
        // B attaches first; A `phase` ms later, so that A's trip (reported
        // at once) lands `phase` ms into B's round.
        attach(&[b]).await;
        sleep(phase * MS).await;
        call(a, 'S').unwrap();
        sleep(INTERVAL).await;
        for _ in 0..4 {
            let _ = call(a, 'F');
        }
        let mut rejected_at = None;
        for _ in 0..1000 {
            if call(b, 'S') == Err(Rejected::circuit_open("shared-stale")) {
                rejected_at = Some(Instant::now());
                break;
            }
            sleep(MS).await;
        }
        let rejected_at = rejected_at.expect("B rejects");
        let [(opened_at, State::Open)] = store.changes()[..] else {
            panic!("the store opened once: {:?}", store.changes());
        };
        assert!(
            rejected_at >= opened_at,
            "phase {phase}: not before the store opened"
        );
        let lag = rejected_at - opened_at;
        assert!(
            lag <= INTERVAL + TIMEOUT,
            "phase {phase}: B rejected {lag:?} after the store opened"
        );
        worst = worst.max(lag);
        // A's local trip was reported at once (a poke), not at its next round.
        assert!(opened_at.elapsed() >= rejected_at.elapsed());
        assert_eq!(a.state(), State::Open);
    }
    assert!(
        worst >= INTERVAL - 2 * MS,
        "the worst phase was tried: {worst:?}"
    );
}

/// Runs every breaker once a millisecond for `rounds` ms, keeping every
/// permit admitted (so a probe stays running).
async fn everyone_calls<'a>(
    breakers: &[&'a CircuitBreaker],
    rounds: u32,
) -> Vec<crate::circuit_breaker::Permit<'a>> {
    let mut admitted = Vec::new();
    for _ in 0..rounds {
        for breaker in breakers {
            if let Ok(permit) = breaker.try_acquire() {
                admitted.push(permit);
            }
        }
        sleep(MS).await;
    }
    admitted
}

/// (3) Exactly one probe cluster-wide: four breakers calling all along after
/// `open_for` admit one probe per half-open generation; its failure reopens
/// everywhere, the next generation's success closes everywhere, each within
/// the staleness bound.
#[tokio::test(start_paused = true)]
async fn exactly_one_probe_runs_cluster_wide() {
    let store = MemStore::leak();
    let breakers: Vec<_> = (0..4)
        .map(|_| shared(store, "shared-probe", OnStoreError::Local))
        .collect();
    attach(&breakers).await;
    for _ in 0..4 {
        let _ = call(breakers[0], 'F');
    }
    sleep(INTERVAL + TIMEOUT).await;
    for breaker in &breakers {
        assert_eq!(breaker.state(), State::Open);
    }
    for (round, outcome) in [ProbeOutcome::Failure, ProbeOutcome::Success]
        .into_iter()
        .enumerate()
    {
        sleep(OPEN_FOR).await;
        let mut probes = everyone_calls(&breakers, 300).await;
        assert_eq!(probes.len(), 1, "round {round}: one probe cluster-wide");
        assert!(probes[0].is_probe());
        assert_eq!(store.grants().len(), round + 1, "one lease per generation");
        let probe = probes.pop().unwrap();
        if outcome == ProbeOutcome::Success {
            probe.success();
        } else {
            probe.failure();
        }
        sleep(INTERVAL + TIMEOUT).await;
        let expected = if outcome == ProbeOutcome::Success {
            State::Closed
        } else {
            State::Open
        };
        assert_eq!(store.state().0, expected, "round {round}");
        for breaker in &breakers {
            assert_eq!(breaker.state(), expected, "round {round}: everywhere");
        }
    }
    for breaker in &breakers {
        assert_eq!(call(breaker, 'S'), Ok(()));
    }
}

/// Opens the store (as other processes' failures would) and lets `breakers`
/// see it and wait `open_for` out.
async fn open_and_wait_out(store: &MemStore, breakers: &[&'static CircuitBreaker]) {
    attach(breakers).await;
    store.set_state(State::Open, OPEN_FOR);
    sleep(INTERVAL + TIMEOUT).await;
    for breaker in breakers {
        assert_eq!(breaker.state(), State::Open);
    }
    sleep(OPEN_FOR).await;
}

/// (4a) Fencing: a probe slower than `probe_lease` reports its success after
/// its lease expired: the store moves nothing (still half-open), and neither
/// does the local breaker.
#[tokio::test(start_paused = true)]
async fn a_probe_result_after_its_lease_expired_moves_nothing() {
    let store = MemStore::leak();
    let a = with(
        store,
        "shared-fenced",
        OnStoreError::Local,
        Duration::from_secs(1),
        300 * MS,
    );
    attach(&[a]).await;
    store.set_state(State::Open, OPEN_FOR);
    sleep(Duration::from_secs(1) + TIMEOUT).await;
    sleep(OPEN_FOR).await;
    assert_eq!(call(a, 'S'), Err(Rejected::circuit_open("shared-fenced")));
    run_syncers().await;
    let probe = a.try_acquire().expect("the lease's probe");
    assert!(probe.is_probe());
    sleep(400 * MS).await;
    probe.success();
    run_syncers().await;
    let completions = store.completions();
    assert_eq!(completions.len(), 1);
    let (_, _, outcome, applied) = completions[0];
    assert_eq!(
        (outcome, applied),
        (ProbeOutcome::Success, false),
        "fenced off"
    );
    assert_eq!(store.state().0, State::HalfOpen);
    assert_eq!(a.state(), State::Open);
}

/// (4b) A report made for an older store generation is dropped: A's failure,
/// recorded while the store was closed in generation 0, reaches it after B's
/// failures opened it.
#[tokio::test(start_paused = true)]
async fn a_report_of_an_older_generation_is_dropped() {
    let store = MemStore::leak();
    let a = shared(store, "shared-old", OnStoreError::Local);
    let b = shared(store, "shared-old", OnStoreError::Local);
    attach(&[a, b]).await;
    // Halfway between the syncers' rounds.
    sleep(INTERVAL / 2).await;
    call(a, 'F').unwrap();
    for _ in 0..4 {
        let _ = call(b, 'F');
    }
    run_syncers().await;
    assert_eq!(store.state(), (State::Open, 1), "B's failures opened it");
    sleep(INTERVAL).await;
    let from_a = store
        .reports()
        .into_iter()
        .find(|(_, outcomes, _)| outcomes.failures == 1)
        .unwrap_or_else(|| panic!("A's report in {:?}", store.reports()));
    assert_eq!(
        (from_a.0, from_a.2),
        (0, false),
        "sent for generation 0, dropped"
    );
    assert_eq!(store.state(), (State::Open, 1));
}

/// (5) A lease no call used is given back after one sync interval; a probe
/// that is dropped gives its lease back at once; either way the slot is free
/// for another process.
#[tokio::test(start_paused = true)]
async fn unused_and_dropped_leases_are_given_back() {
    let store = MemStore::leak();
    let a = shared(store, "shared-release", OnStoreError::Local);
    let b = shared(store, "shared-release", OnStoreError::Local);
    open_and_wait_out(store, &[a, b]).await;
    assert!(call(a, 'S').is_err(), "asks for a lease");
    run_syncers().await;
    assert_eq!(a.state(), State::HalfOpen, "granted: room for one probe");
    sleep(INTERVAL - MS).await;
    assert!(store.completions().is_empty(), "kept for one interval");
    sleep(MS).await;
    run_syncers().await;
    let completions = store.completions();
    assert_eq!(completions.len(), 1);
    assert_eq!(
        (completions[0].2, completions[0].3),
        (ProbeOutcome::Released, true)
    );
    assert_eq!(a.state(), State::Open);

    assert!(call(a, 'S').is_err());
    run_syncers().await;
    let probe = a.try_acquire().expect("the probe");
    drop(probe);
    run_syncers().await;
    let completions = store.completions();
    assert_eq!(completions.len(), 2);
    assert_eq!(
        (completions[1].2, completions[1].3),
        (ProbeOutcome::Released, true)
    );
    assert_eq!(a.state(), State::Open);

    assert!(call(b, 'S').is_err());
    run_syncers().await;
    assert_eq!(store.grants().len(), 3, "B got the free slot");
    assert!(b.try_acquire().expect("B's probe").is_probe());
}

/// (6) A store that errs or hangs: within `sync_interval + store_timeout`
/// the breaker behaves as `on_store_error` says (`Local`: its own window
/// trips it; `Open`: nothing opens it; `Closed`: `StoreUnavailable`), no
/// call waits for the store, and once the store answers again the breaker
/// follows the shared state.
#[tokio::test(start_paused = true)]
async fn a_failing_store_is_handled_as_on_store_error_says() {
    for failing in [Mode::Fail, Mode::Hang] {
        for on_error in [
            OnStoreError::Local,
            OnStoreError::Open,
            OnStoreError::Closed,
        ] {
            let what = format!("{failing:?} {on_error:?}");
            let store = MemStore::leak();
            let b = shared(store, "shared-failing", on_error);
            attach(&[b]).await;
            store.set_mode(failing);
            sleep(INTERVAL + TIMEOUT).await;
            assert!(!b.store_healthy(), "{what}");
            assert!(b.store_failures() >= 1, "{what}");
            match on_error {
                OnStoreError::Local => {
                    for _ in 0..4 {
                        let _ = call(b, 'F');
                    }
                    assert_eq!(b.state(), State::Open, "{what}: tripped locally");
                    assert_eq!(call(b, 'S'), Err(Rejected::circuit_open("shared-failing")));
                }
                OnStoreError::Open => {
                    for _ in 0..20 {
                        assert_eq!(call(b, 'F'), Ok(()), "{what}: fails open");
                    }
                    assert_eq!(b.state(), State::Closed);
                }
                OnStoreError::Closed => {
                    assert_eq!(
                        call(b, 'S'),
                        Err(Rejected::store_unavailable("shared-failing")),
                        "{what}"
                    );
                }
            }
            let start = Instant::now();
            let _ = b.run(async { Ok::<_, ()>(()) }).await;
            assert_eq!(start.elapsed(), Duration::ZERO, "{what}: no call waits");
            store.set_mode(Mode::Answer);
            sleep(INTERVAL + TIMEOUT).await;
            assert!(b.store_healthy(), "{what}");
            assert_eq!(b.state(), State::Closed, "{what}: the store's state again");
            assert_eq!(call(b, 'S'), Ok(()), "{what}");
            // Shared again: the store's opening reaches it.
            store.set_state(State::Open, OPEN_FOR);
            sleep(INTERVAL + TIMEOUT).await;
            assert_eq!(
                call(b, 'S'),
                Err(Rejected::circuit_open("shared-failing")),
                "{what}"
            );
        }
    }
}

/// Only the first failure of an outage is timed from the failing call: a
/// store that hangs is declared failed exactly `store_timeout` after the
/// call that hung started, not later.
#[tokio::test(start_paused = true)]
async fn a_hanging_store_is_abandoned_at_the_timeout() {
    let store = MemStore::leak();
    let b = shared(store, "shared-hang", OnStoreError::Closed);
    attach(&[b]).await;
    // The syncer's next call starts now (its interval is up).
    store.set_mode(Mode::Hang);
    sleep(TIMEOUT - MS).await;
    assert!(b.store_healthy());
    assert_eq!(call(b, 'S'), Ok(()));
    sleep(MS).await;
    run_syncers().await;
    assert!(!b.store_healthy());
    assert_eq!(
        call(b, 'S'),
        Err(Rejected::store_unavailable("shared-hang"))
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

/// (7) A shared breaker starts detached (read as closed); its first call in a
/// runtime starts the syncer; when that runtime shuts down the word goes
/// back to detached, and a call in a second runtime starts a new syncer. A
/// call outside any runtime decides locally and leaves it detached.
#[test]
fn a_syncer_per_runtime_and_detached_in_between() {
    let store = MemStore::leak();
    let b = shared(store, "shared-detached", OnStoreError::Local);
    let detached = || Word(b.word.load(core::sync::atomic::Ordering::Acquire)).is_detached();
    assert!(detached());
    assert_eq!(b.state(), State::Closed);
    assert_eq!(call(b, 'S'), Ok(()), "no runtime: decided locally");
    assert!(detached());
    assert_eq!(b.link.status(), Status::Detached);

    let first = runtime();
    first.block_on(async {
        call(b, 'S').unwrap();
        assert!(!detached(), "attached by the first call");
        sleep(INTERVAL).await;
    });
    assert_eq!(b.link.status(), Status::Syncing);
    let reads = store.reports().len();
    assert!(reads >= 1);
    drop(first);
    assert_eq!(b.link.status(), Status::Detached);
    assert!(detached());

    let second = runtime();
    second.block_on(async {
        call(b, 'S').unwrap();
        sleep(2 * INTERVAL).await;
    });
    assert!(store.reports().len() > reads, "a new syncer reports");
    assert_eq!(b.link.status(), Status::Syncing);
}

/// (8) An operator's hold outranks the store's view, in this process only;
/// `reset` follows the store again.
#[tokio::test(start_paused = true)]
async fn an_operators_hold_outranks_the_store() {
    let store = MemStore::leak();
    let b = shared(store, "shared-hold", OnStoreError::Local);
    attach(&[b]).await;
    b.force_open();
    sleep(3 * INTERVAL).await;
    assert_eq!(b.forced(), Some(State::Open));
    assert!(
        call(b, 'S').is_err(),
        "held open though the store is closed"
    );
    assert_eq!(
        store.state(),
        (State::Closed, 0),
        "the store is not written"
    );
    b.reset();
    store.set_state(State::Open, OPEN_FOR);
    sleep(INTERVAL + TIMEOUT).await;
    assert!(call(b, 'S').is_err(), "follows the store again");
    b.force_closed();
    sleep(3 * INTERVAL).await;
    assert_eq!(call(b, 'S'), Ok(()), "held closed though the store is open");
    assert_eq!(b.state(), State::Closed);
    b.reset();
    sleep(INTERVAL + TIMEOUT).await;
    assert_eq!(b.state(), State::Open);
}

/// A snapshot lists a shared breaker, but a restore leaves it to its
/// store: its state lives there, and outlives the process.
#[tokio::test(start_paused = true)]
async fn a_restore_leaves_a_shared_breaker_to_its_store() {
    let store = MemStore::leak();
    let b = shared(store, "shared-snapshot", OnStoreError::Local);
    attach(&[b]).await;
    let mut snapshot = crate::snapshot::take();
    snapshot
        .breakers
        .retain(|entry| entry.name == "shared-snapshot");
    assert!(snapshot.breakers[0].shared);
    // As if it had been open in the process that took the snapshot.
    snapshot.breakers[0].state = State::Open;
    snapshot.breakers[0].open_left = OPEN_FOR;
    let report = crate::snapshot::restore_aged(&snapshot, Duration::ZERO).unwrap();
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].reason, crate::snapshot::Skip::Shared);
    assert!(report.restored.is_empty());
    assert_eq!(b.state(), State::Closed, "as its store says");
    assert_eq!(call(b, 'S'), Ok(()));
}

/// Keeps the events of the `steadfast::` targets: (target, fields).
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

/// One event: its target and fields.
type Seen = (String, BTreeMap<String, String>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn core::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("steadfast::")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0
            .lock()
            .unwrap()
            .push((event.metadata().target().to_owned(), fields));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    /// The breaker events with `message` about `policy`.
    fn events(&self, message: &str, policy: &str) -> Vec<BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(target, fields)| {
                target == "steadfast::circuit_breaker"
                    && fields.get("message").map(String::as_str) == Some(message)
                    && fields.get("policy").map(String::as_str) == Some(policy)
            })
            .map(|(_, fields)| fields.clone())
            .collect()
    }
}

/// (9) `health()` shows the store's status, and events report an outage
/// (once), the breaker's own `StoreUnavailable` rejections, and the end of
/// the outage.
#[tokio::test(start_paused = true)]
async fn health_and_events_show_the_stores_status() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let store = MemStore::leak();
    let b = shared(store, "shared-health", OnStoreError::Closed);
    let entry = || {
        crate::health()
            .breakers
            .into_iter()
            .find(|e| e.name == "shared-health")
            .unwrap()
    };
    attach(&[b]).await;
    let e = entry();
    assert_eq!(
        (e.shared, e.store_failures, e.store_healthy),
        (true, 0, true)
    );

    store.set_mode(Mode::Fail);
    sleep(3 * INTERVAL).await;
    let e = entry();
    assert!(e.store_failures >= 3, "{}", e.store_failures);
    assert!(!e.store_healthy);
    let failed = recorder.events("store failed", "shared-health");
    assert_eq!(failed.len(), 1, "once per outage");
    assert_eq!(failed[0]["then"], "closed");
    assert_eq!(failed[0]["error"], "store unavailable: connection refused");
    assert!(call(b, 'S').is_err());
    let rejected = recorder.events("call rejected", "shared-health");
    assert_eq!(rejected.last().unwrap()["rejection"], "store_unavailable");

    store.set_mode(Mode::Answer);
    sleep(INTERVAL + TIMEOUT).await;
    assert_eq!(recorder.events("store recovered", "shared-health").len(), 1);
    assert!(entry().store_healthy);

    static LOCAL: CircuitBreaker = CircuitBreaker::builder()
        .name("shared-health-local")
        .build();
    LOCAL.register();
    let local = crate::health()
        .breakers
        .into_iter()
        .find(|e| e.name == "shared-health-local")
        .unwrap();
    assert_eq!(
        (local.shared, local.store_failures, local.store_healthy),
        (false, 0, true)
    );
}

/// The spec a breaker sends is its configuration.
#[test]
fn the_spec_is_the_breakers_configuration() {
    use crate::store::{BreakerSpec, BreakerWindow};
    let store = MemStore::leak();
    let b = shared(store, "shared-spec", OnStoreError::Local);
    assert_eq!(
        b.store_spec(),
        BreakerSpec::new(
            BreakerWindow::Calls(10),
            4,
            500_000,
            None,
            0,
            OPEN_FOR,
            1,
            Duration::from_secs(10)
        )
    );
    let slow = CircuitBreaker::builder()
        .window_duration(Duration::from_secs(60))
        .slow_call(Duration::from_secs(2))
        .slow_ratio(0.8)
        .consecutive_failures(5)
        .half_open_probes(3)
        .build();
    let spec = slow.store_spec();
    assert_eq!(spec.window, BreakerWindow::Time(Duration::from_secs(60)));
    assert_eq!(
        (
            spec.slow_ratio_ppm,
            spec.consecutive_failures,
            spec.half_open_probes
        ),
        (Some(800_000), 5, 3)
    );
    assert!(!slow.is_shared());
}
