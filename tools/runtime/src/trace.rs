//! `RawSubscriber`: a small `tracing` subscriber that writes events to the
//! log with raw `write(2)` (never stdio or glibc's malloc). Filter syntax:
//! `level` or `target=level,target=level` (e.g. `dbi::syscall=debug`).

use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

struct RawSubscriber {
    rules: Vec<(String, Level)>,
    default: Option<Level>,
    log: dbi::Log,
    next_id: AtomicU64,
}

fn parse_level(s: &str) -> Option<Level> {
    match s.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(Level::TRACE),
        "debug" => Some(Level::DEBUG),
        "info" => Some(Level::INFO),
        "warn" => Some(Level::WARN),
        "error" => Some(Level::ERROR),
        _ => None,
    }
}

/// Installs the subscriber for `filter`, writing to `log`.
pub(crate) fn install(filter: &str, log: dbi::Log) {
    let mut rules = Vec::new();
    let mut default = None;
    for part in filter.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((t, l)) => {
                if let Some(l) = parse_level(l) {
                    rules.push((t.replace('-', "_"), l));
                }
            }
            None => match parse_level(part) {
                Some(l) => default = Some(l),
                None => rules.push((part.replace('-', "_"), Level::TRACE)),
            },
        }
    }
    let sub = RawSubscriber {
        rules,
        default,
        log,
        next_id: AtomicU64::new(1),
    };
    let _ = tracing::subscriber::set_global_default(sub);
}

struct Fields(String);
impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn core::fmt::Debug) {
        if field.name() == "message" {
            self.0.push_str(&format!(" {value:?}"));
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

impl Subscriber for RawSubscriber {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        let best = self
            .rules
            .iter()
            .filter(|(t, _)| m.target().starts_with(t.as_str()))
            .max_by_key(|(t, _)| t.len())
            .map(|(_, l)| *l)
            .or(self.default);
        best.is_some_and(|l| *m.level() <= l)
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let m = event.metadata();
        let mut f = Fields(format!("{} {}:", m.level(), m.target()));
        event.record(&mut f);
        self.log.line(&f.0);
    }
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}
