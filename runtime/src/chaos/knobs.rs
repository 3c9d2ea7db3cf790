//! One chaos name's live state: its [`Settings`], as atomics a call reads
//! without a lock, its random stream, and its fault counts.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;
use std::sync::{Mutex, PoisonError};

use rand::SeedableRng;
use rand::rngs::StdRng;

/// A name's settings, as the run-time controls read and write them.
///
/// ```
/// use std::time::Duration;
/// use steadfast_runtime::chaos::{self, Settings};
///
/// #[steadfast::chaos(latency = "10ms", name = "payments")]
/// async fn pay(cents: u64) -> std::io::Result<u64> {
///     Ok(cents)
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// pay(1).await.unwrap();
/// chaos::set("payments", Settings {
///     enabled: true,
///     error_rate: 0.0,
///     latency: Duration::from_millis(200),
///     latency_rate: 0.05,
/// })
/// .unwrap();
/// assert_eq!(chaos::settings("payments").unwrap().latency_rate, 0.05);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Whether any fault is injected.
    pub enabled: bool,
    /// The share of calls that fail with the injected error, in `[0, 1]`
    /// (a policy without an `error` function injects none).
    pub error_rate: f64,
    /// The latency injected.
    pub latency: Duration,
    /// The share of calls that wait `latency` first, in `[0, 1]`.
    pub latency_rate: f64,
}

/// One name's live settings and random stream.
#[derive(Debug)]
pub(crate) struct Knobs {
    pub(super) name: &'static str,
    /// The settings of the attribute that ran first under this name.
    pub(super) origin: Settings,
    pub(super) enabled: AtomicBool,
    /// `f64` bits.
    pub(super) error_rate: AtomicU64,
    pub(super) latency_nanos: AtomicU64,
    /// `f64` bits.
    pub(super) latency_rate: AtomicU64,
    pub(super) rng: Mutex<StdRng>,
    /// Faults injected so far.
    pub(super) errors: AtomicU64,
    pub(super) latencies: AtomicU64,
}

impl Knobs {
    pub(super) fn load(&self) -> Settings {
        Settings {
            enabled: self.enabled.load(Ordering::Relaxed),
            error_rate: f64::from_bits(self.error_rate.load(Ordering::Relaxed)),
            latency: Duration::from_nanos(self.latency_nanos.load(Ordering::Relaxed)),
            latency_rate: f64::from_bits(self.latency_rate.load(Ordering::Relaxed)),
        }
    }

    pub(super) fn store(&self, settings: Settings) {
        self.enabled.store(settings.enabled, Ordering::Relaxed);
        self.error_rate
            .store(settings.error_rate.to_bits(), Ordering::Relaxed);
        let nanos = u64::try_from(settings.latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency_nanos.store(nanos, Ordering::Relaxed);
        self.latency_rate
            .store(settings.latency_rate.to_bits(), Ordering::Relaxed);
    }

    pub(super) fn reseed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(PoisonError::into_inner) = stream(seed, self.name);
    }
}

/// The random stream of `name` under `seed`: FNV-1a of the name mixed into
/// the seed, so that each name has a stream of its own.
pub(super) fn stream(seed: u64, name: &str) -> StdRng {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    StdRng::seed_from_u64(seed ^ hash)
}
