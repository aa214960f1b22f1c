//! Helpers for this crate's tests: hand-made records with chosen record
//! times, and small synthetic logs.

use crate::Progress;
use crate::source::Offline;
use crate::synth::{self, Spec, Summary};
use crate::time::Micros;
use crate::usage::{UsageLedger, UsageReport};
use domain::Event;
use eventlog::{EventLog, LogOptions, Metadata, RecordedEvent};
use std::collections::HashMap;

/// Records made by hand, in order, with the record times a test chooses.
#[derive(Default)]
pub struct Envelopes {
    pub records: Vec<RecordedEvent>,
    versions: HashMap<String, u64>,
}

impl Envelopes {
    pub fn push(&mut self, stream: &str, at: Micros, event: Event) {
        let (t, s, p) = (event.type_name(), event.schema(), event.encode());
        self.push_raw(stream, at, t, s, p);
    }

    pub fn push_raw(&mut self, stream: &str, at: Micros, event_type: &str, schema: u16, payload: Vec<u8>) {
        let version = self.versions.entry(stream.to_owned()).or_default();
        *version += 1;
        self.records.push(RecordedEvent {
            position: self.records.len() as u64 + 1,
            stream: stream.to_owned(),
            version: *version,
            event_type: event_type.to_owned(),
            schema,
            recorded_at: at,
            metadata: Metadata {
                request_id: format!("req-{}", self.records.len() + 1),
                ..Metadata::default()
            },
            payload,
        });
    }

    pub fn usage(&self, from: Micros, to: Micros) -> UsageReport {
        let mut ledger = UsageLedger::new();
        for r in self.records.iter().filter(|r| r.recorded_at < to) {
            ledger.apply(&r.as_envelope());
        }
        ledger.report(from, to)
    }
}

/// A synthetic log of at least `events` events, committed `batch`
/// commands at a time (small batches give more distinct record times).
pub async fn synthetic_log(events: u64, batch: usize) -> (tempfile::TempDir, Offline, Summary) {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let spec = Spec { events, accounts: 5, live_instances: 40, seed: 7, batch };
    let summary = synth::generate(&log, &spec, &Progress::hidden()).await.unwrap();
    (dir, Offline::from_log(log), summary)
}
