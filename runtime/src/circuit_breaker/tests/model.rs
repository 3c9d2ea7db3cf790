//! The breaker against a small sequential reference model, on random
//! sequences of admissions, outcomes (success, failure, ignored, dropped,
//! panicked) and clock advances.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum ModelState {
    Closed,
    Open { until: u64 },
    HalfOpen,
}

#[derive(Debug)]
struct Model {
    size: usize,
    min_calls: usize,
    ratio_ppm: u64,
    consecutive_failures: u32,
    open_for: u64,
    probes: u32,
    state: ModelState,
    generation: u32,
    window: VecDeque<bool>,
    run: u32,
    in_flight: u32,
    successes: u32,
    now: u64,
}

impl Model {
    fn acquire(&mut self) -> Option<(u32, bool)> {
        match self.state {
            ModelState::Closed => Some((self.generation, false)),
            ModelState::Open { until } if self.now >= until => {
                self.state = ModelState::HalfOpen;
                self.generation += 1;
                (self.in_flight, self.successes) = (1, 0);
                Some((self.generation, true))
            }
            ModelState::Open { .. } => None,
            ModelState::HalfOpen if self.in_flight + self.successes < self.probes => {
                self.in_flight += 1;
                Some((self.generation, true))
            }
            ModelState::HalfOpen => None,
        }
    }

    fn finish(&mut self, (generation, probe): (u32, bool), outcome: Outcome) {
        if generation != self.generation {
            return;
        }
        if probe {
            if self.state != ModelState::HalfOpen {
                return;
            }
            match outcome {
                Outcome::Failure => self.open(),
                Outcome::Ignored => self.in_flight -= 1,
                Outcome::Success => {
                    self.in_flight -= 1;
                    self.successes += 1;
                    if self.successes >= self.probes {
                        self.state = ModelState::Closed;
                        self.generation += 1;
                        self.window.clear();
                        self.run = 0;
                    }
                }
            }
            return;
        }
        if self.state != ModelState::Closed {
            return;
        }
        let failure = match outcome {
            Outcome::Ignored => return,
            Outcome::Success => false,
            Outcome::Failure => true,
        };
        self.run = if failure { self.run + 1 } else { 0 };
        self.window.push_back(failure);
        if self.window.len() > self.size {
            self.window.pop_front();
        }
        let calls = self.window.len() as u64;
        let failures = self.window.iter().filter(|f| **f).count() as u64;
        let by_ratio = self.window.len() >= self.min_calls
            && failures * 1_000_000 >= self.ratio_ppm * calls
            && failures >= (self.ratio_ppm * calls).div_ceil(1_000_000);
        let by_run = self.consecutive_failures != 0 && self.run >= self.consecutive_failures;
        if by_ratio || by_run {
            self.open();
        }
    }

    fn open(&mut self) {
        self.state = ModelState::Open {
            until: self.now + self.open_for,
        };
        self.generation += 1;
    }

    fn state(&self) -> State {
        match self.state {
            ModelState::Closed => State::Closed,
            ModelState::Open { .. } => State::Open,
            ModelState::HalfOpen => State::HalfOpen,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    /// Finish the outstanding call at this index (modulo their number).
    Finish(usize, u8),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Acquire),
        4 => (any::<usize>(), 0u8..5).prop_map(|(i, o)| Op::Finish(i, o)),
        1 => (0u64..40).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn breaker_matches_the_reference_model(
        size in 1u32..8,
        min_calls_offset in 0u32..8,
        ratio_pct in 1u64..=100,
        consecutive_failures in 0u32..4,
        open_for in 0u64..30,
        probes in 1u32..4,
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        let min_calls = 1 + min_calls_offset % size;
        let cb = CircuitBreaker::builder()
            .window_calls(size)
            .min_calls(min_calls)
            .failure_ratio(ratio_pct as f64 / 100.0)
            .consecutive_failures(consecutive_failures)
            .open_for(Duration::from_millis(open_for))
            .half_open_probes(probes)
            .build();
        let mut model = Model {
            size: size as usize,
            min_calls: min_calls as usize,
            ratio_ppm: ratio_pct * 10_000,
            consecutive_failures,
            open_for,
            probes,
            state: ModelState::Closed,
            generation: 0,
            window: VecDeque::new(),
            run: 0,
            in_flight: 0,
            successes: 0,
            now: 0,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut outstanding = Vec::new();
            for op in ops {
                match op {
                    Op::Acquire => {
                        let real = cb.try_acquire();
                        let expected = model.acquire();
                        prop_assert_eq!(real.is_ok(), expected.is_some(), "admission in {:?}", model.state);
                        if let (Ok(permit), Some(ticket)) = (real, expected) {
                            prop_assert_eq!(permit.is_probe(), ticket.1);
                            outstanding.push((permit, ticket));
                        }
                    }
                    Op::Finish(i, how) if !outstanding.is_empty() => {
                        let (permit, ticket) = outstanding.swap_remove(i % outstanding.len());
                        let outcome = match how {
                            0 => { permit.success(); Outcome::Success }
                            1 => { permit.failure(); Outcome::Failure }
                            2 => { permit.ignore(); Outcome::Ignored }
                            3 => { drop(permit); Outcome::Ignored }
                            _ => {
                                // Dropped while panicking: a failure.
                                let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                                    let _permit = permit;
                                    panic!("injected");
                                }));
                                prop_assert!(caught.is_err());
                                Outcome::Failure
                            }
                        };
                        model.finish(ticket, outcome);
                    }
                    Op::Finish(..) => {}
                    Op::Advance(ms) => {
                        tokio::time::advance(Duration::from_millis(ms)).await;
                        model.now += ms;
                    }
                }
                prop_assert_eq!(cb.state(), model.state());
            }
            for (permit, _) in outstanding {
                std::mem::forget(permit);
            }
            Ok(())
        })?;
    }
}
