//! [`Chaos`] and its `const` builder.

use core::future::Future;
use core::time::Duration;

use crate::Failure;
use crate::name::{Location, PolicyName};

/// The faults one `#[chaos]` function injects, as configured in its
/// attribute (see [the module](crate::chaos)).
///
/// Built with [`Chaos::builder`] in a `static`. Without the cargo feature
/// `chaos` it is zero-sized and [`wrap`](Chaos::wrap) hands the call back
/// untouched.
pub struct Chaos {
    /// Only the builder makes one (with or without the feature).
    _private: (),
    #[cfg(feature = "chaos")]
    pub(super) config: ChaosBuilder,
    #[cfg(feature = "chaos")]
    pub(super) knobs: std::sync::OnceLock<&'static super::knobs::Knobs>,
}

impl core::fmt::Debug for Chaos {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut out = f.debug_struct("Chaos");
        #[cfg(feature = "chaos")]
        out.field("config", &self.config);
        out.finish_non_exhaustive()
    }
}

/// The `const` builder of a [`Chaos`]: what the attribute's keys set.
#[cfg_attr(not(feature = "chaos"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub struct ChaosBuilder {
    pub(super) name: PolicyName,
    pub(super) enabled: bool,
    pub(super) error_rate: f64,
    pub(super) latency: Duration,
    pub(super) latency_rate: f64,
}

/// Whether `rate` is a probability (`NaN` is not).
pub(super) const fn is_rate(rate: f64) -> bool {
    rate >= 0.0 && rate <= 1.0
}

impl Chaos {
    /// A builder with no fault: enabled, both rates `0.0`, no latency, named
    /// `chaos`.
    #[must_use]
    pub const fn builder() -> ChaosBuilder {
        ChaosBuilder {
            name: PolicyName::fixed("chaos"),
            enabled: true,
            error_rate: 0.0,
            latency: Duration::ZERO,
            latency_rate: 0.0,
        }
    }

    /// Runs `future` with the faults of this policy's settings injected:
    /// with the latency rate, a sleep of the latency first; with the error
    /// rate (and an `error` function), `Err(Failure::Error(error()))` instead
    /// of running `future` at all. The decision is taken when the returned
    /// future is first polled.
    ///
    /// Without the feature `chaos`, returns `future` itself.
    #[cfg(feature = "chaos")]
    pub async fn wrap<T, E, R, F>(
        &'static self,
        future: F,
        error: Option<fn() -> E>,
    ) -> Result<T, Failure<E, R>>
    where
        F: Future<Output = Result<T, Failure<E, R>>>,
    {
        let faults = self.draw(error.is_some());
        if let Some(latency) = faults.latency {
            tokio::time::sleep(latency).await;
        }
        match error {
            Some(error) if faults.error => Err(Failure::Error(error())),
            _ => future.await,
        }
    }

    /// Runs `future` with the faults of this policy's settings injected.
    ///
    /// Without the feature `chaos` (this build), returns `future` itself:
    /// `#[chaos]` compiles to nothing.
    #[cfg(not(feature = "chaos"))]
    #[inline(always)]
    pub fn wrap<T, E, R, F>(&'static self, future: F, error: Option<fn() -> E>) -> F
    where
        F: Future<Output = Result<T, Failure<E, R>>>,
    {
        let _ = error;
        future
    }
}

impl ChaosBuilder {
    /// The name the run-time controls and events know it by.
    #[must_use]
    pub const fn name(self, name: &'static str) -> Self {
        ChaosBuilder {
            name: PolicyName::fixed(name),
            ..self
        }
    }

    /// Named after where it is declared (`module::fn`, `module::Type::fn`
    /// for a method), as the other policies.
    #[must_use]
    pub const fn name_located(self, location: &'static Location) -> Self {
        ChaosBuilder {
            name: PolicyName::located(location),
            ..self
        }
    }

    /// Whether it injects anything until switched at run time.
    #[must_use]
    pub const fn enabled(self, enabled: bool) -> Self {
        ChaosBuilder { enabled, ..self }
    }

    /// The share of calls that fail with the injected error.
    ///
    /// # Panics
    ///
    /// If `rate` is not in `[0, 1]` (a compile error in `const` context).
    #[must_use]
    pub const fn error_rate(self, rate: f64) -> Self {
        assert!(is_rate(rate), "chaos: `error_rate` must be in [0, 1]");
        ChaosBuilder {
            error_rate: rate,
            ..self
        }
    }

    /// The latency injected, and the share of calls it strikes.
    ///
    /// # Panics
    ///
    /// If `latency` is zero or `rate` is not in `[0, 1]` (a compile error in
    /// `const` context).
    #[must_use]
    pub const fn latency(self, latency: Duration, rate: f64) -> Self {
        assert!(
            !latency.is_zero(),
            "chaos: `latency` must be greater than zero"
        );
        assert!(is_rate(rate), "chaos: `latency_rate` must be in [0, 1]");
        ChaosBuilder {
            latency,
            latency_rate: rate,
            ..self
        }
    }

    /// The policy.
    #[must_use]
    pub const fn build(self) -> Chaos {
        #[cfg(not(feature = "chaos"))]
        let _ = self;
        Chaos {
            _private: (),
            #[cfg(feature = "chaos")]
            config: self,
            #[cfg(feature = "chaos")]
            knobs: std::sync::OnceLock::new(),
        }
    }
}
