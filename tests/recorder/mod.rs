//! A `tracing` subscriber that keeps the events of the `steadfast::` targets,
//! shared by the tests that check events (observability, health).
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One recorded event.
#[derive(Debug, Clone)]
pub struct Seen {
    pub target: String,
    pub level: Level,
    pub fields: BTreeMap<String, String>,
}

impl Seen {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("<missing>", String::as_str)
    }
}

/// Keeps every event of a `steadfast::` target.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Seen>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
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
        self.0.lock().unwrap().push(Seen {
            target: event.metadata().target().to_string(),
            level: *event.metadata().level(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    /// Records this thread's events until the guard drops.
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let recorder = Recorder::default();
        let guard = tracing::subscriber::set_default(recorder.clone());
        (recorder, guard)
    }

    /// Every event recorded so far.
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    /// The events with this target and message.
    pub fn events(&self, target: &str, message: &str) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.target == target && e.field("message") == message)
            .cloned()
            .collect()
    }

    /// The duplicate-name warnings naming `policy`, for breakers and bulkheads.
    pub fn duplicates(&self, policy: &str) -> (usize, usize) {
        let count = |target, message| {
            self.events(target, message)
                .iter()
                .filter(|e| e.level == Level::WARN && e.field("policy") == policy)
                .count()
        };
        (
            count(
                "steadfast::circuit_breaker",
                "two circuit breakers share a name",
            ),
            count("steadfast::bulkhead", "two bulkheads share a name"),
        )
    }
}
