//! Helpers shared by the behaviour tests: an attempt probe, a drop witness and
//! a test error type.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::Rejected;
use tokio::time::Instant;

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Counts the attempts of a call and records (tokio) time at which each began.
#[derive(Debug)]
pub struct Probe {
    calls: AtomicU32,
    starts: Mutex<Vec<Instant>>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe::new()
    }
}

impl Probe {
    pub const fn new() -> Self {
        Probe {
            calls: AtomicU32::new(0),
            starts: Mutex::new(Vec::new()),
        }
    }

    /// Records one attempt; returns its number, from 1.
    pub fn hit(&self) -> u32 {
        self.starts.lock().unwrap().push(Instant::now());
        self.calls.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Attempts made so far.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    /// When each attempt began, relative to `origin`.
    pub fn offsets(&self, origin: Instant) -> Vec<Duration> {
        self.starts
            .lock()
            .unwrap()
            .iter()
            .map(|t| t.duration_since(origin))
            .collect()
    }

    /// The time between consecutive attempts' starts.
    pub fn gaps(&self) -> Vec<Duration> {
        let starts = self.starts.lock().unwrap();
        starts
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .collect()
    }

    /// Forgets everything recorded.
    pub fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
        self.starts.lock().unwrap().clear();
    }
}

/// Records when it was dropped.
#[derive(Debug)]
pub struct DropWitness(Arc<Mutex<Option<Instant>>>);

impl DropWitness {
    /// A witness and the slot it fills when dropped.
    pub fn new() -> (Self, Arc<Mutex<Option<Instant>>>) {
        let slot = Arc::new(Mutex::new(None));
        (DropWitness(slot.clone()), slot)
    }
}

impl Drop for DropWitness {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(Instant::now());
    }
}

/// The error type most tests use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestError {
    /// A retryable failure of attempt `n`.
    Transient(u32),
    /// A failure that must not be retried.
    Permanent(u32),
    /// A rejection from a policy.
    Rejected(Rejected),
    /// What a fallback handler returns when it fails itself.
    Handler(String),
}

impl TestError {
    /// For `when = TestError::is_transient`.
    pub fn is_transient(&self) -> bool {
        matches!(self, TestError::Transient(_))
    }
}

/// For `when = is_transient`.
pub fn is_transient(error: &TestError) -> bool {
    error.is_transient()
}

impl From<Rejected> for TestError {
    fn from(rejected: Rejected) -> Self {
        TestError::Rejected(rejected)
    }
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for TestError {}

/// `Rejected::Timeout { after }`'s `after`, if it is one.
pub fn timeout_after(rejected: &Rejected) -> Option<Duration> {
    match rejected {
        Rejected::Timeout { after, .. } => Some(*after),
        _ => None,
    }
}

/// On a plain thread (the tests of plain functions): waits, a millisecond
/// of real time at a time, until `done` holds; fails after about two
/// seconds.
pub fn until(done: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the condition did not hold within about two seconds");
}
