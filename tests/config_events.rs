//! `config::apply`'s events, in a test binary of their own: a `tracing`
//! callsite first reached by another test's thread while this one installs
//! its recorder can keep a stale interest, so no other test here reaches
//! `apply`'s callsites.

mod recorder;

use recorder::Recorder;
use steadfast::CircuitBreaker;
use steadfast::config::{self, Overrides, PolicyKind};

const CB: PolicyKind = PolicyKind::Breakers;

fn overrides(entries: &[(PolicyKind, &str, &str, &str)]) -> Overrides {
    let mut o = Overrides::new();
    for (kind, policy, key, value) in entries {
        o.set(*kind, *policy, *key, *value);
    }
    o
}

static OBSERVED: CircuitBreaker = CircuitBreaker::builder().name("config::observed").build();

#[test]
fn applying_and_refusing_overrides_are_events() {
    OBSERVED.register();
    let (recorder, _guard) = Recorder::install();
    config::apply(&overrides(&[(CB, "config::observed", "open_for", "7s")])).unwrap();
    let applied = recorder.events("steadfast::config", "override applied");
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(
        ["kind", "policy", "key", "value"].map(|f| applied[0].field(f).to_owned()),
        ["circuit_breaker", "config::observed", "open_for", "7s"]
    );
    assert_eq!(applied[0].level, tracing::Level::INFO);
    assert!(config::apply(&overrides(&[(CB, "config::observed", "open_for", "soon")])).is_err());
    let refused = recorder.events("steadfast::config", "overrides refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].level, tracing::Level::WARN);
    assert_eq!(refused[0].field("problems"), "1");
}
