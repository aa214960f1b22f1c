//! `yukari replay verify`: checks every record's checksum and position,
//! stream-version continuity, the stream index, that every event decodes
//! with the current code (upcasters included), and that the read models
//! rebuilt from the log equal the saved snapshot.

use domain::Event;
use eventlog::{EventLog, ReadError};
use projections::ReadModels;
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;

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
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, position: Option<u64>, what: impl Into<String>) {
        self.problems.push(Problem { position, what: what.into() });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} records in {} streams checked", self.records, self.streams)?;
        if self.problems.is_empty() {
            return writeln!(f, "OK: the log verifies");
        }
        for p in &self.problems {
            match p.position {
                Some(pos) => writeln!(f, "position {pos}: {}", p.what)?,
                None => writeln!(f, "{}", p.what)?,
            }
        }
        writeln!(f, "FAILED: {} problem(s)", self.problems.len())
    }
}

/// Verifies the whole log, and the snapshot at `snapshot` if there is one.
pub fn verify(log: &EventLog, snapshot: Option<&Path>) -> Result<Report, ReadError> {
    let mut report = Report::default();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut models = ReadModels::default();
    let mut models_ok = true;
    log.scan_all(1, |position, record| {
        report.records += 1;
        let envelope = match record {
            Ok(e) => e,
            Err(e) => {
                report.problem(Some(position), e.to_string());
                models_ok = false;
                return ControlFlow::Continue(());
            }
        };
        let last = versions.entry(envelope.stream.to_owned()).or_insert(0);
        if envelope.version != *last + 1 {
            report.problem(
                Some(position),
                format!("stream {} jumps from version {} to {}", envelope.stream, last, envelope.version),
            );
        }
        *last = envelope.version;
        if let Err(e) = Event::decode(envelope.event_type, envelope.schema, envelope.payload) {
            report.problem(Some(position), e.to_string());
        }
        if models_ok && let Err(e) = models.apply(&envelope) {
            report.problem(Some(position), format!("read models cannot fold it: {e}"));
            models_ok = false;
        }
        ControlFlow::Continue(())
    })?;
    report.streams = versions.len() as u64;
    for (stream, version) in &versions {
        match log.read_stream(stream, 0) {
            Ok(events) if events.len() as u64 == *version => {}
            Ok(events) => report.problem(
                None,
                format!("stream index of {stream} lists {} events, the log has {version}", events.len()),
            ),
            Err(e) => report.problem(None, format!("stream index of {stream}: {e}")),
        }
    }
    if let (Some(path), true) = (snapshot, models_ok) {
        match projections::load_snapshot(path) {
            Ok(None) => {}
            Ok(Some(saved)) if saved.position > models.position => report.problem(
                None,
                format!("snapshot is at position {}, past the log's end {}", saved.position, models.position),
            ),
            Ok(Some(saved)) => {
                let mut rebuilt = ReadModels::default();
                let mut failure = None;
                log.scan(1, |e| {
                    if e.position > saved.position {
                        return ControlFlow::Break(());
                    }
                    match rebuilt.apply(&e) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(err) => {
                            failure = Some(err);
                            ControlFlow::Break(())
                        }
                    }
                })?;
                if let Some(e) = failure {
                    report.problem(None, format!("rebuilding up to the snapshot failed: {e}"));
                } else if rebuilt != saved {
                    report.problem(
                        None,
                        format!("snapshot at position {} differs from a rebuild", saved.position),
                    );
                }
            }
            Err(e) => report.problem(None, format!("{e}")),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::event::{AccountCreated, ClusterAdded};
    use domain::{AccountId, Timestamp, ZoneName};
    use eventlog::{ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};

    fn append(stream: &str, expected: ExpectedVersion, event: Event) -> Vec<StreamAppend> {
        vec![StreamAppend {
            stream: stream.into(),
            expected,
            events: vec![NewEvent {
                event_type: event.type_name().into(),
                schema: event.schema(),
                payload: event.encode(),
            }],
        }]
    }

    #[tokio::test]
    async fn a_sound_log_verifies_and_a_flipped_byte_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.redb");
        let marker = "account-name-marker-0123456789";
        {
            let log = EventLog::open(&path, LogOptions::default()).unwrap();
            let zone = ClusterAdded { zone: ZoneName::parse("z").unwrap(), at: Timestamp(1) };
            log.append(Metadata::default(), append("cloud", ExpectedVersion::Any, zone.into()))
                .await
                .unwrap();
            for i in 0..3u64 {
                let e = AccountCreated {
                    account: AccountId::from_bits(i),
                    name: format!("{marker}{i}"),
                    at: Timestamp(2),
                };
                log.append(
                    Metadata::default(),
                    append(&format!("account/{i}"), ExpectedVersion::NoStream, e.into()),
                )
                .await
                .unwrap();
            }
            let report = verify(&log, None).unwrap();
            assert!(report.ok(), "{report}");
            assert_eq!((report.records, report.streams), (4, 4));
            log.close();
        }
        // Damage the record of the second account (position 3).
        let mut bytes = std::fs::read(&path).unwrap();
        let needle = format!("{marker}1");
        let at = bytes.windows(needle.len()).rposition(|w| w == needle.as_bytes()).unwrap();
        bytes[at] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let log = EventLog::open(&path, LogOptions::default()).unwrap();
        let report = verify(&log, None).unwrap();
        assert!(!report.ok());
        assert_eq!(report.problems[0].position, Some(3), "{report}");
        assert!(report.to_string().contains("position 3"));
    }
}
