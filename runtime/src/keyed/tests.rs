//! Behaviour of keyed state: isolation, `max_keys`, eviction order, in-flight
//! states kept, the overflow rule, and `health()`.

use core::sync::atomic::Ordering;
use std::collections::HashSet;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64};

use super::report::Listed;
use super::*;
use crate::circuit_breaker::State;
use crate::{Bulkhead, CircuitBreaker, Failure, Rejected};

fn leak<P: KeyedPolicy>(keyed: Keyed<P>) -> &'static Keyed<P> {
    Box::leak(Box::new(keyed))
}

/// Breakers that open after two failures out of two calls.
fn breakers(name: &'static str, max_keys: u32) -> &'static Keyed<CircuitBreaker> {
    leak(Keyed::new(
        CircuitBreaker::builder()
            .name(name)
            .window_calls(2)
            .min_calls(2),
        max_keys,
    ))
}

fn key(keyed: &'static Keyed<CircuitBreaker>, key: &str) -> Held<CircuitBreaker> {
    keyed.get(Probe::debug(key))
}

fn open(breaker: &CircuitBreaker) {
    for _ in 0..2 {
        let _ = breaker.call(|| Err::<(), _>("down"));
    }
    assert_eq!(breaker.state(), State::Open);
}

/// Marks a state (one recorded success), so that a fresh one (0 calls) can be
/// told from it.
fn mark(breaker: &CircuitBreaker) {
    breaker.call(|| Ok::<_, ()>(())).unwrap();
}

fn marked(breaker: &CircuitBreaker) -> bool {
    breaker.window_counts().calls > 0
}

fn reserved<P: KeyedPolicy>(keyed: &Keyed<P>) -> u64 {
    keyed.reserved.load(Ordering::Relaxed)
}

#[tokio::test(start_paused = true)]
async fn keys_are_isolated() {
    let keyed = breakers("keyed-isolated", 16);
    for _ in 0..2 {
        let a = key(keyed, "a");
        let result = a.run(async { Err::<(), _>("down") }).await;
        assert_eq!(result, Err(Failure::Error("down")));
    }
    let a = key(keyed, "a");
    assert_eq!(
        a.run(async { Ok::<_, &str>(()) }).await,
        Err(Failure::Rejected(Rejected::circuit_open("keyed-isolated"))),
        "a's breaker opened"
    );
    let b = key(keyed, "b");
    assert_eq!(b.state(), State::Closed, "b's breaker is its own");
    assert_eq!(b.run(async { Ok::<_, &str>(7) }).await, Ok(7));
    assert_eq!(keyed.len(), 2);
    assert!(!Held::same(&a, &b));
    assert!(
        Held::same(&a, &key(keyed, "a")),
        "a hit finds the same state"
    );
}

#[test]
fn a_str_probe_finds_the_state_stored_by_a_string_probe() {
    let keyed = breakers("keyed-borrow", 16);
    let owned = String::from("tenant-1");
    let first = keyed.get(Probe::debug(owned.as_str()));
    let again = keyed.get(Probe::new("tenant-1"));
    assert!(Held::same(&first, &again));
    // A `String` probe (the value itself) hashes and compares like its `str`.
    let as_string = keyed.get(Probe::debug(&owned));
    assert!(Held::same(&first, &as_string));
    assert_eq!(keyed.len(), 1);
}

#[test]
fn keys_of_other_types_are_other_keys() {
    let keyed = breakers("keyed-types", 16);
    let number = keyed.get(Probe::debug(&7_u64));
    let text = keyed.get(Probe::debug("7"));
    assert!(!Held::same(&number, &text));
    assert!(Held::same(&number, &keyed.get(Probe::debug(&7_u64))));
    assert_eq!(keyed.len(), 2);
}

#[test]
fn max_keys_holds_under_ten_thousand_distinct_keys_from_four_threads() {
    const MAX: u32 = 64;
    let keyed = breakers("keyed-bounded", MAX);
    let done = AtomicBool::new(false);
    let most = AtomicU64::new(0);
    let start = Barrier::new(5);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            start.wait();
            while !done.load(Ordering::Relaxed) {
                most.fetch_max(reserved(keyed), Ordering::Relaxed);
            }
        });
        let workers: Vec<_> = (0..4_u64)
            .map(|thread| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    for i in 0..2_500_u64 {
                        let held = keyed.get(Probe::debug(&(thread * 10_000 + i)));
                        mark(&held);
                        assert!(reserved(keyed) <= u64::from(MAX));
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    assert!(most.load(Ordering::Relaxed) <= u64::from(MAX));
    assert_eq!(keyed.len(), MAX as usize, "full, and never more");
    assert_eq!(reserved(keyed), u64::from(MAX), "one slot per entry");
    assert_eq!(keyed.overflows(), 0, "nothing was held for long");
}

#[test]
fn racing_misses_of_one_key_store_one_state() {
    let keyed = breakers("keyed-race", 4);
    let start = Barrier::new(4);
    let states: Vec<Held<CircuitBreaker>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    key(keyed, "same")
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(states.iter().all(|held| Held::same(held, &states[0])));
    assert_eq!(keyed.len(), 1);
    assert_eq!(reserved(keyed), 1, "the losers gave their slots back");
}

#[tokio::test(start_paused = true)]
async fn a_state_in_flight_survives_ten_thousand_other_keys() {
    let keyed = breakers("keyed-in-flight", 16);
    let k = key(keyed, "k");
    mark(&k);
    let counts = k.window_counts();
    let churn = async {
        for i in 0..10_000_u32 {
            let other = keyed.get(Probe::debug(&i));
            other.run(async { Ok::<_, ()>(()) }).await.unwrap();
        }
    };
    // The call on `k` is in flight while the others churn.
    let call = k.run(async {
        churn.await;
        Ok::<_, ()>(())
    });
    call.await.unwrap();
    assert!(keyed.len() <= 16);
    let again = key(keyed, "k");
    assert!(Held::same(&k, &again), "the same state, not a fresh one");
    assert_eq!(again.window_counts().calls, counts.calls + 1);
}

#[test]
fn closed_breakers_are_evicted_before_open_ones() {
    let keyed = breakers("keyed-open-last", 3);
    open(&key(keyed, "open")); // the oldest
    mark(&key(keyed, "b"));
    mark(&key(keyed, "c"));
    drop(key(keyed, "d")); // evicts b, the oldest closed one
    assert_eq!(key(keyed, "open").state(), State::Open, "kept");
    assert!(marked(&key(keyed, "c")), "kept");
    assert!(marked(&key(keyed, "d")) || keyed.len() == 3);
    let b = key(keyed, "b");
    assert!(!marked(&b), "b was evicted and starts afresh");
    // With only open breakers left evictable, an open one goes.
    let only_open = breakers("keyed-all-open", 2);
    open(&key(only_open, "x"));
    open(&key(only_open, "y"));
    drop(key(only_open, "z"));
    assert_eq!(only_open.len(), 2);
    assert_eq!(
        key(only_open, "y").state(),
        State::Open,
        "x, the older, went"
    );
}

#[test]
fn the_state_idle_longest_is_evicted_first() {
    let keyed = breakers("keyed-idle", 3);
    for name in ["a", "b", "c"] {
        mark(&key(keyed, name));
    }
    // `a` is used again after `c`'s insertion: `b` is now idle longest.
    drop(key(keyed, "a"));
    drop(key(keyed, "d"));
    assert!(marked(&key(keyed, "a")), "kept");
    assert!(marked(&key(keyed, "c")), "kept");
    assert!(!marked(&key(keyed, "b")), "evicted");
}

#[test]
fn a_busy_bulkhead_is_not_evicted() {
    let keyed = leak(Keyed::<Bulkhead>::new(
        Bulkhead::builder().name("keyed-busy").max_queue(0),
        1,
    ));
    let held = keyed.get(Probe::debug("a"));
    let permit = held.try_acquire().unwrap();
    // A state whose calls run under a permit (held) counts as in flight.
    assert!(KeyedPolicy::busy(&*held));
    let other = keyed.get(Probe::debug("b"));
    assert_eq!(keyed.overflows(), 1, "b is served by the overflow state");
    drop(permit);
    drop((other, held));
    drop(keyed.get(Probe::debug("b")));
    assert_eq!(keyed.overflows(), 1, "once idle, a is evicted for b");
    assert_eq!(keyed.len(), 1);
}

#[test]
fn keys_that_cannot_be_stored_share_the_overflow_state() {
    let keyed = breakers("keyed-overflow", 2);
    let a = key(keyed, "a");
    let b = key(keyed, "b");
    let c = key(keyed, "c");
    let d = key(keyed, "d");
    assert_eq!(keyed.overflows(), 2);
    assert!(Held::same(&c, &d), "one overflow state for every such key");
    assert!(!Held::same(&c, &a) && !Held::same(&c, &b));
    assert_eq!(keyed.len(), 2, "never more than max_keys");
    open(&c);
    assert_eq!(d.state(), State::Open, "the overflow keys share a breaker");
    let listed = keyed.report(false);
    assert_eq!(listed.overflows, 2);
    assert!(
        listed
            .not_closed
            .iter()
            .any(|n| n.key == "(overflow)" && n.state == State::Open)
    );
    drop((a, c, d));
    // Once a call ends, its state can make room again.
    let c = key(keyed, "c");
    assert!(!Held::same(&c, &b));
    assert_eq!(keyed.overflows(), 2);
    assert_eq!(c.state(), State::Closed, "c is stored, fresh");
}

#[test]
fn health_lists_key_counts_and_every_breaker_not_closed() {
    #[derive(Hash, PartialEq, Eq, Clone)]
    struct Opaque(u32);

    static PER_HOST: Keyed<CircuitBreaker> = Keyed::new(
        CircuitBreaker::builder()
            .name("keyed-health")
            .window_calls(2)
            .min_calls(2),
        8,
    );
    static PER_ID: Keyed<CircuitBreaker> = Keyed::new(
        CircuitBreaker::builder()
            .name("keyed-health-opaque")
            .window_calls(2)
            .min_calls(2),
        8,
    );
    open(&PER_HOST.get(Probe::debug("down.example")));
    mark(&PER_HOST.get(Probe::debug("up.example")));
    open(&PER_ID.get(Probe::new(&Opaque(3))));
    let snapshot = crate::health();
    let host = snapshot
        .keyed
        .iter()
        .find(|k| k.name == "keyed-health")
        .expect("listed from its first miss");
    assert_eq!(
        (host.kind, host.keys, host.max_keys),
        ("circuit_breaker", 2, 8)
    );
    assert!(!host.duplicate_name);
    assert_eq!(
        host.not_closed,
        [NotClosed {
            key: "\"down.example\"".into(),
            state: State::Open
        }]
    );
    let id = snapshot
        .keyed
        .iter()
        .find(|k| k.name == "keyed-health-opaque")
        .unwrap();
    let described = &id.not_closed[0].key;
    assert!(
        described.contains("Opaque #"),
        "type name and hash: {described}"
    );
    // The states are not listed one by one as breakers.
    assert!(!snapshot.breakers.iter().any(|b| b.name == "keyed-health"));
}

#[test]
fn two_keyed_policies_of_one_name_are_flagged() {
    static ONE: Keyed<Bulkhead> = Keyed::new(Bulkhead::builder().name("keyed-twice"), 4);
    static TWO: Keyed<Bulkhead> = Keyed::new(Bulkhead::builder().name("keyed-twice"), 4);
    ONE.register();
    TWO.register();
    let flagged: Vec<bool> = crate::health()
        .keyed
        .iter()
        .filter(|k| k.name == "keyed-twice")
        .map(|k| k.duplicate_name)
        .collect();
    assert_eq!(flagged, [true, true]);
}

#[test]
fn held_states_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Held<CircuitBreaker>>();
    send_sync::<Held<Bulkhead>>();
    send_sync::<Keyed<CircuitBreaker>>();
}

#[test]
fn every_key_gets_its_state_until_the_map_fills() {
    let keyed = breakers("keyed-fill", 100);
    let mut seen = HashSet::new();
    for i in 0..100_u32 {
        let held = keyed.get(Probe::debug(&i));
        assert!(seen.insert(Arc::as_ptr(&held.slot).cast::<u8>() as usize));
        mark(&held);
    }
    assert_eq!(keyed.len(), 100);
    for i in 0..100_u32 {
        assert!(marked(&keyed.get(Probe::debug(&i))), "no key was evicted");
    }
}

#[test]
fn with_uses_the_state_of_the_key_without_holding_it() {
    let keyed = breakers("keyed-with", 1);
    // A miss stores the key, as `get` does.
    assert_eq!(
        keyed.with(Probe::debug("a"), CircuitBreaker::state),
        State::Closed
    );
    keyed.with(Probe::debug("a"), open);
    assert_eq!(keyed.len(), 1);
    assert_eq!(key(keyed, "a").state(), State::Open, "the same state");
    // Nothing holds it afterwards: another key may evict it.
    drop(key(keyed, "b"));
    assert_eq!(keyed.overflows(), 0);
    assert_eq!(key(keyed, "a").state(), State::Closed, "a was evicted");
}
