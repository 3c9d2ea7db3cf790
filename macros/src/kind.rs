//! The toolkit's attributes, by name.

use core::fmt;

/// One of the toolkit's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Retry,
    CircuitBreaker,
    Timeout,
    Bulkhead,
    Fallback,
    RateLimit,
    Chaos,
    Leader,
    Hedge,
}

impl Kind {
    pub(crate) const ALL: [Kind; 9] = [
        Kind::Retry,
        Kind::CircuitBreaker,
        Kind::Timeout,
        Kind::Bulkhead,
        Kind::Fallback,
        Kind::RateLimit,
        Kind::Chaos,
        Kind::Leader,
        Kind::Hedge,
    ];

    /// The attribute's name as written.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Retry => "retry",
            Kind::CircuitBreaker => "circuit_breaker",
            Kind::Timeout => "timeout",
            Kind::Bulkhead => "bulkhead",
            Kind::Fallback => "fallback",
            Kind::RateLimit => "rate_limit",
            Kind::Chaos => "chaos",
            Kind::Leader => "leader",
            Kind::Hedge => "hedge",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether the policy can refuse or abandon a call (and so needs
    /// `E: From<Rejected>`).
    pub(crate) fn rejects(self) -> bool {
        matches!(
            self,
            Kind::CircuitBreaker | Kind::Timeout | Kind::Bulkhead | Kind::RateLimit | Kind::Leader
        )
    }
}

impl fmt::Display for Kind {
    /// `#[retry]`, in backticks-ready form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#[{}]", self.name())
    }
}
