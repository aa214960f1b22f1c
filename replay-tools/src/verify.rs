//! `yukari replay verify`: checks every record's checksum and position,
//! that record times never go back, stream-version continuity, the stream
//! index (offline), that every event decodes with the current code
//! (upcasters included), and that the read models rebuilt from the log
//! equal the live ones (the controller's snapshot offline, its models in
//! memory online) and every time-travel snapshot, byte for byte.

use crate::error::ReplayError;
use crate::progress::Progress;
use crate::snapshots::SnapshotStore;
use crate::source::Records;
use domain::Event;
use projections::{ReadModels, encode_snapshot};
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;

/// Problems listed one by one; beyond this many only counted.
const MAX_LISTED: usize = 1000;

/// One thing found wrong, with the record it is about when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub position: Option<u64>,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub records: u64,
    pub streams: u64,
    /// What the rebuilt read models were compared with, and at which position.
    pub compared: Vec<String>,
    /// Checks that could not be made here, and why.
    pub not_checked: Vec<String>,
    pub problems: Vec<Problem>,
    /// Problems beyond [`MAX_LISTED`].
    pub unlisted: u64,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, position: Option<u64>, what: impl Into<String>) {
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem { position, what: what.into() });
        } else {
            self.unlisted += 1;
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} records in {} streams checked", self.records, self.streams)?;
        for c in &self.compared {
            writeln!(f, "rebuilt read models compared with {c}")?;
        }
        for n in &self.not_checked {
            writeln!(f, "not checked: {n}")?;
        }
        if self.problems.is_empty() {
            return writeln!(f, "OK: the log verifies");
        }
        for p in &self.problems {
            match p.position {
                Some(pos) => writeln!(f, "position {pos}: {}", p.what)?,
                None => writeln!(f, "{}", p.what)?,
            }
        }
        if self.unlisted > 0 {
            writeln!(f, "… and {} more", self.unlisted)?;
        }
        writeln!(f, "FAILED: {} problem(s)", self.problems.len() as u64 + self.unlisted)
    }
}

/// Read models the rebuild must equal: `bytes` is their snapshot encoding
/// (`projections::encode_snapshot`) at `position`.
#[derive(Debug, Clone)]
pub struct LiveModels {
    /// What they are, for the report (`projections.snapshot`, `the running controller`).
    pub origin: String,
    pub position: u64,
    pub bytes: Vec<u8>,
}

impl LiveModels {
    /// A controller's saved snapshot, if it has one; `Err` with why when
    /// it is of another build's format (nothing to compare with: the
    /// controller rebuilds it at start).
    pub fn from_snapshot_file(
        path: &std::path::Path,
    ) -> Result<Result<Option<LiveModels>, String>, ReplayError> {
        match projections::load_snapshot(path) {
            Ok(models) => Ok(Ok(models.map(|models| LiveModels {
                origin: path.display().to_string(),
                position: models.position,
                bytes: encode_snapshot(&models),
            }))),
            Err(e @ projections::ProjectionError::SnapshotFormat { .. }) => Ok(Err(e.to_string())),
            Err(e) => Err(e.into()),
        }
    }
}

/// What to check besides the log itself.
#[derive(Default)]
pub struct Checks<'a> {
    pub live: Option<LiveModels>,
    /// Checks already known to be impossible (an old snapshot's format).
    pub not_checked: Vec<String>,
    pub snapshots: Option<&'a SnapshotStore>,
    /// Check every stream against the stream index (one lookup per stream:
    /// fast offline, too slow through the admin API).
    pub stream_index: bool,
}

/// Verifies the whole log from `records`.
pub fn verify(records: &dyn Records, checks: Checks<'_>, progress: &Progress) -> Result<Report, ReplayError> {
    let mut report = Report { not_checked: checks.not_checked, ..Report::default() };
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut models = ReadModels::default();
    let mut models_ok = true;
    let mut last_time = i64::MIN;

    // Positions at which the rebuilt models are compared, with what.
    let mut targets: Vec<(u64, String, Vec<u8>)> = Vec::new();
    if let Some(live) = checks.live {
        targets.push((live.position, live.origin, live.bytes));
    }
    if let Some(store) = checks.snapshots {
        for s in store.list()? {
            match projections::load_snapshot(&s.path) {
                Ok(Some(m)) => targets.push((s.position, s.path.display().to_string(), encode_snapshot(&m))),
                Ok(None) => {}
                Err(e @ projections::ProjectionError::SnapshotFormat { .. }) => {
                    report.not_checked.push(e.to_string())
                }
                Err(e) => report.problem(None, format!("{e}")),
            }
        }
    }
    targets.sort_by_key(|t| t.0);
    let mut next_target = 0usize;
    // A target at position 0 is an empty model set.
    while next_target < targets.len() && targets[next_target].0 == 0 {
        compare(&mut report, &models, &targets[next_target]);
        next_target += 1;
    }

    records.visit(1, &mut |position, record| {
        report.records += 1;
        progress.at(report.records);
        let envelope = match record {
            Ok(e) => e,
            Err(e) => {
                report.problem(Some(position), e.to_string());
                models_ok = false;
                return ControlFlow::Continue(());
            }
        };
        if envelope.recorded_at < last_time {
            report.problem(
                Some(position),
                format!("record time {} is before the previous record's {last_time}", envelope.recorded_at),
            );
        }
        last_time = last_time.max(envelope.recorded_at);
        let last = versions.entry(envelope.stream.to_owned()).or_insert(0);
        if envelope.version != *last + 1 {
            report.problem(
                Some(position),
                format!("stream {} jumps from version {} to {}", envelope.stream, last, envelope.version),
            );
        }
        *last = envelope.version;
        if let Err(e) = Event::decode(envelope.event_type, envelope.schema, envelope.payload) {
            report.problem(Some(position), format!("{e} (stream {})", envelope.stream));
        }
        if models_ok {
            if let Err(e) = models.apply(&envelope) {
                report.problem(Some(position), format!("read models cannot fold it: {e}"));
                models_ok = false;
            }
            while models_ok && next_target < targets.len() && targets[next_target].0 == position {
                compare(&mut report, &models, &targets[next_target]);
                next_target += 1;
            }
        }
        ControlFlow::Continue(())
    })?;
    report.streams = versions.len() as u64;
    for (position, origin, _) in &targets[next_target..] {
        if models_ok {
            report.problem(
                None,
                format!("{origin} is at position {position}, past the log's end {}", models.position),
            );
        } else {
            report.not_checked.push(format!("{origin}: the log could not be folded up to it"));
        }
    }
    if checks.stream_index {
        let mut streams: Vec<(&String, &u64)> = versions.iter().collect();
        streams.sort();
        for (stream, version) in streams {
            match records.stream(stream) {
                Ok(events) if events.len() as u64 == *version => {}
                Ok(events) => report.problem(
                    None,
                    format!("stream index of {stream} lists {} events, the log has {version}", events.len()),
                ),
                Err(e) => report.problem(None, format!("stream index of {stream}: {e}")),
            }
        }
    } else {
        report.not_checked.push("the stream index (checked offline only)".into());
    }
    Ok(report)
}

fn compare(report: &mut Report, models: &ReadModels, (position, origin, bytes): &(u64, String, Vec<u8>)) {
    report.compared.push(format!("{origin} (position {position})"));
    if &encode_snapshot(models) != bytes {
        report.problem(Some(*position), format!("read models rebuilt from the log differ from {origin}"));
    }
}

#[cfg(test)]
mod tests;
