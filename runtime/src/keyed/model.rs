//! Eviction against a small sequential reference model (proptest): random
//! sequences of calls, held calls, releases and failing calls on a few keys,
//! with a small `max_keys`. After each step the keys stored, the overflow
//! count and the bound agree with the model; an eviction removes one of the
//! states the documented rule ranks first (ties, states used between the
//! same two misses, may go either way: the model then follows the real one).

use core::time::Duration;
use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::CircuitBreaker;
use crate::circuit_breaker::State;

#[derive(Debug, Clone, Copy)]
enum Step {
    /// A call on the key that ends at once.
    Call(u8),
    /// A call on the key that stays in flight.
    Hold(u8),
    /// The oldest call in flight ends.
    Release,
    /// A call on the key that opens its breaker (two failures).
    Fail(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..6_u8).prop_map(Step::Call),
        2 => (0..6_u8).prop_map(Step::Hold),
        2 => Just(Step::Release),
        1 => (0..6_u8).prop_map(Step::Fail),
    ]
}

#[derive(Debug, Clone, Copy)]
struct ModelState {
    stamp: u64,
    open: bool,
    holds: u32,
}

#[derive(Debug, Default)]
struct Model {
    max_keys: usize,
    misses: u64,
    stored: BTreeMap<u8, ModelState>,
    overflows: u64,
}

impl Model {
    /// A call's arrival on `key`: whether it got a stored state (else the
    /// overflow state), and the keys it may evict (the least by rank).
    fn arrive(&mut self, key: u8) -> Arrival {
        if let Some(state) = self.stored.get_mut(&key) {
            state.holds += 1;
            return Arrival::Hit;
        }
        self.misses += 1;
        if self.stored.len() < self.max_keys {
            self.insert(key);
            return Arrival::Inserted;
        }
        let evictable: Vec<(u8, (bool, u64))> = self
            .stored
            .iter()
            .filter(|(_, state)| state.holds == 0)
            .map(|(k, state)| (*k, (state.open, state.stamp)))
            .collect();
        let Some(least) = evictable.iter().map(|(_, rank)| *rank).min() else {
            self.overflows += 1;
            return Arrival::Overflow;
        };
        Arrival::Evicts(
            evictable
                .iter()
                .filter(|(_, rank)| *rank == least)
                .map(|(k, _)| *k)
                .collect(),
        )
    }

    fn insert(&mut self, key: u8) {
        self.stored.insert(
            key,
            ModelState {
                stamp: self.misses,
                open: false,
                holds: 1,
            },
        );
    }

    /// A call on `key`'s stored state ends.
    fn leave(&mut self, key: u8) {
        if let Some(state) = self.stored.get_mut(&key) {
            state.holds -= 1;
            state.stamp = self.misses;
        }
    }
}

#[derive(Debug)]
enum Arrival {
    Hit,
    Inserted,
    Evicts(Vec<u8>),
    Overflow,
}

fn stored_keys(keyed: &Keyed<CircuitBreaker>) -> Vec<u8> {
    let mut keys: Vec<u8> = keyed
        .map()
        .iter()
        .map(|entry| {
            *entry
                .key()
                .0
                .key
                .stored()
                .and_then(|key| key.downcast_ref::<u8>())
                .expect("u8 keys")
        })
        .collect();
    keys.sort_unstable();
    keys
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn eviction_follows_the_reference_model(
        max_keys in 1..4_u32,
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let keyed: &'static Keyed<CircuitBreaker> = Box::leak(Box::new(Keyed::new(
            CircuitBreaker::builder()
                .name("keyed-model")
                .window_calls(2)
                .min_calls(2)
                .open_for(Duration::from_secs(3600)),
            max_keys,
        )));
        let mut model = Model { max_keys: max_keys as usize, ..Model::default() };
        // Calls in flight: the key (`None` when on the overflow state) and
        // the state.
        let mut held: Vec<(Option<u8>, Held<CircuitBreaker>)> = Vec::new();
        for step in steps {
            let (key, hold, fail) = match step {
                Step::Release => {
                    if !held.is_empty() {
                        let (key, state) = held.remove(0);
                        drop(state);
                        if let Some(key) = key {
                            model.leave(key);
                        }
                    }
                    continue;
                }
                Step::Call(key) => (key, false, false),
                Step::Hold(key) => (key, true, false),
                Step::Fail(key) => (key, false, true),
            };
            let before = stored_keys(keyed);
            let arrival = model.arrive(key);
            let state = keyed.get(Probe::debug(&key));
            let after = stored_keys(keyed);
            let stored = match arrival {
                Arrival::Hit | Arrival::Inserted => true,
                Arrival::Overflow => false,
                Arrival::Evicts(candidates) => {
                    let gone: Vec<u8> =
                        before.iter().copied().filter(|k| !after.contains(k)).collect();
                    prop_assert_eq!(gone.len(), 1, "one eviction");
                    prop_assert!(
                        candidates.contains(&gone[0]),
                        "evicted {} of {:?}",
                        gone[0],
                        candidates
                    );
                    model.stored.remove(&gone[0]);
                    model.insert(key);
                    true
                }
            };
            if fail {
                for _ in 0..2 {
                    let _ = state.call(|| Err::<(), _>("down"));
                }
                if stored {
                    model.stored.get_mut(&key).expect("stored").open =
                        state.state() != State::Closed;
                }
            }
            let expected: Vec<u8> = model.stored.keys().copied().collect();
            prop_assert_eq!(&after, &expected);
            prop_assert!(after.len() <= max_keys as usize);
            prop_assert_eq!(keyed.overflows(), model.overflows);
            let key = stored.then_some(key);
            if hold {
                held.push((key, state));
            } else {
                drop(state);
                if let Some(key) = key {
                    model.leave(key);
                }
            }
        }
    }
}
