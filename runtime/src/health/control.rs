//! Reaching registered policies by name, and starting them afresh.

use crate::registry::{self, Member};
use crate::{Bulkhead, CircuitBreaker, RateLimiter};

/// Every registered circuit breaker called `name` (one, unless two were
/// registered under it: see [`health`](crate::health())), to force them open
/// or closed, or reset them; `None` if no registered breaker has that name.
///
/// ```
/// use steadfast::circuit_breaker;
///
/// #[circuit_breaker(name = "billing")]
/// async fn charge(cents: u64) -> std::io::Result<u64> {
///     Ok(cents)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// charge(1).await.unwrap();
/// let billing = steadfast::health::breaker("billing").unwrap();
/// billing.force_open();
/// assert!(charge(1).await.is_err());
/// billing.reset();
/// assert!(charge(1).await.is_ok());
/// assert_eq!(billing.only().unwrap().state().as_str(), "closed");
/// # }
/// ```
#[must_use]
pub fn breaker(name: &str) -> Option<Breakers> {
    let found = named::<CircuitBreaker>(name);
    (!found.is_empty()).then_some(Named(found))
}

/// Every registered bulkhead called `name` (one, unless two were registered
/// under it); `None` if no registered bulkhead has that name.
#[must_use]
pub fn bulkhead(name: &str) -> Option<Bulkheads> {
    let found = named::<Bulkhead>(name);
    (!found.is_empty()).then_some(Named(found))
}

/// Every registered rate limiter called `name` (one, unless two were
/// registered under it); `None` if no registered rate limiter has that name.
#[must_use]
pub fn rate_limiter(name: &str) -> Option<RateLimiters> {
    let found = named::<RateLimiter>(name);
    (!found.is_empty()).then_some(Named(found))
}

fn named<T: Member>(name: &str) -> Vec<&'static T> {
    let mut members = registry::members::<T>();
    members.retain(|member| member.name() == name);
    members
}

/// The registered policies of one kind that carry one name, from [`breaker`],
/// [`bulkhead`] or [`rate_limiter`]: at least one.
#[derive(Debug, Clone)]
pub struct Named<T: 'static>(Vec<&'static T>);

/// The registered circuit breakers that carry one name, from [`breaker`]. The
/// controls act on each of them.
pub type Breakers = Named<CircuitBreaker>;

/// The registered bulkheads that carry one name, from [`bulkhead`].
pub type Bulkheads = Named<Bulkhead>;

/// The registered rate limiters that carry one name, from [`rate_limiter`].
pub type RateLimiters = Named<RateLimiter>;

impl<T> Named<T> {
    /// The policy, if exactly one carries the name (`None` for a duplicated
    /// name).
    #[must_use]
    pub fn only(&self) -> Option<&'static T> {
        match self.0[..] {
            [only] => Some(only),
            _ => None,
        }
    }

    /// Each policy, in registration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'static T> + '_ {
        self.0.iter().copied()
    }
}

impl Named<CircuitBreaker> {
    /// [`CircuitBreaker::force_open`] on each.
    pub fn force_open(&self) {
        self.0.iter().for_each(|b| b.force_open());
    }

    /// [`CircuitBreaker::force_closed`] on each.
    pub fn force_closed(&self) {
        self.0.iter().for_each(|b| b.force_closed());
    }

    /// [`CircuitBreaker::reset`] on each.
    pub fn reset(&self) {
        self.0.iter().for_each(|b| b.reset());
    }
}

impl<'a, T> IntoIterator for &'a Named<T> {
    type Item = &'static T;
    type IntoIter = core::iter::Copied<core::slice::Iter<'a, &'static T>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().copied()
    }
}

/// Starts every registered circuit breaker afresh, for tests that share
/// `static` breakers (the attributes' per-function ones included): each is
/// [`reset`](CircuitBreaker::reset), so it is closed, with an empty window, no
/// run of consecutive failures, no forced state, and no half-open probe. The
/// breakers of a registered keyed policy (`key = …`) are reset too, each
/// key's (the keys stay stored).
///
/// ```
/// use steadfast::circuit_breaker;
///
/// #[circuit_breaker(window = 2, name = "reset-all-doc")]
/// async fn flaky(ok: bool) -> Result<(), std::io::Error> {
///     if ok { Ok(()) } else { Err(std::io::Error::other("down")) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let _ = flaky(false).await;
/// let _ = flaky(false).await;
/// assert!(flaky(true).await.is_err(), "open");
/// steadfast::health::reset_all();
/// assert!(flaky(true).await.is_ok(), "closed again");
/// # }
/// ```
///
/// What it does not reset:
///
/// - a breaker that is not registered (a `static` never called, never
///   `register`ed and not listed with [`register_breaker!`](crate::register_breaker));
/// - [`transitions`](CircuitBreaker::transitions): the reset is one more
///   state change, and the count is the generation that keeps a call admitted
///   before the reset from moving the fresh state (such a call's outcome is
///   ignored); `in_state_for` restarts from zero rather than going back to
///   "never changed";
/// - the breaker's clock origin (set on its first clock read);
/// - bulkheads: their only state is the calls running and waiting, which
///   belong to those calls and leave as they end;
/// - rate limiters: their turns belong to the calls that took them (a test
///   that needs a full bucket waits `per`, or uses a limiter of its own);
/// - which policies are registered, and the duplicate names reported.
pub fn reset_all() {
    for breaker in registry::members::<CircuitBreaker>() {
        breaker.reset();
    }
    crate::keyed::reset_all();
}
