//! Where the records come from: the log file of a stopped controller
//! (offline), or a running controller's admin API (online, implemented by
//! the binary, which knows HTTP). Every tool reads through [`Records`], so
//! both give the same answers on the same log.

use crate::error::ReplayError;
use eventlog::{EnvelopeRef, EventLog, OpenError, ReadError, RecordedEvent};
use std::ops::ControlFlow;

/// What a visitor of records is handed: the position, and the record
/// checked (checksum, position) and decoded, or why it is corrupt.
pub type Visit<'a> = &'a mut dyn FnMut(u64, Result<EnvelopeRef<'_>, ReadError>) -> ControlFlow<()>;

/// A log to replay (read from a second thread while the first folds).
pub trait Records: Sync {
    /// The last position (0 for an empty log).
    fn head(&self) -> Result<u64, ReplayError>;

    /// Visits every record from `from` (from 1) up to the head as it was
    /// when the visit started, in order, corrupt ones included as errors;
    /// stops early when `visit` breaks.
    fn visit(&self, from: u64, visit: Visit<'_>) -> Result<(), ReplayError>;

    /// Up to `max` records from `from`, verified (a corrupt one is an error).
    fn read(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, ReplayError> {
        let mut out = Vec::new();
        let mut failure = None;
        self.visit(from, &mut |_, record| match record {
            Ok(e) => {
                out.push(e.to_owned());
                if out.len() >= max { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            }
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        })?;
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(out),
        }
    }

    /// A stream's records, through the stream index.
    fn stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, ReplayError>;

    /// Where the records come from, for messages.
    fn describe(&self) -> String;
}

/// Visits every verified record from `from`; a corrupt record stops the
/// replay with an error naming its position.
pub fn scan(
    records: &dyn Records,
    from: u64,
    mut visit: impl FnMut(&EnvelopeRef<'_>) -> ControlFlow<()>,
) -> Result<(), ReplayError> {
    let mut failure = None;
    records.visit(from, &mut |_, record| match record {
        Ok(e) => visit(&e),
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    })?;
    failure.map_or(Ok(()), |e| Err(e.into()))
}

/// The log file of a stopped controller, opened by this process.
pub struct Offline {
    pub log: EventLog,
    path: String,
}

impl Offline {
    /// Opens `DIR/events.redb` read-only: the tools never write to the log
    /// (its bytes stay as they are). A controller running on it holds the
    /// file, so this fails meanwhile: then use the controller's admin API
    /// instead (`--controller URL`). A damaged log opens, and what is
    /// readable of it is read.
    pub fn open(data_dir: &std::path::Path) -> Result<Offline, ReplayError> {
        Offline::open_file(&data_dir.join("events.redb"))
    }

    /// Opens the log file `path` read-only (see [`Offline::open`]).
    pub fn open_file(path: &std::path::Path) -> Result<Offline, ReplayError> {
        if !path.exists() {
            return Err(ReplayError::NoLog(path.display().to_string()));
        }
        let shown = path.display().to_string();
        let log =
            EventLog::open_read_only(path, eventlog::LogOptions::for_replay_of(path)).map_err(
                |e| match e {
                    OpenError::InUse { .. } => ReplayError::InUse(shown.clone()),
                    OpenError::NotClosedCleanly { .. } => ReplayError::NotClosedCleanly(shown.clone()),
                    other => ReplayError::Open(other.to_string()),
                },
            )?;
        Ok(Offline { log, path: shown })
    }

    /// Wraps a log this process already has open.
    pub fn from_log(log: EventLog) -> Offline {
        Offline { log, path: "(open log)".to_owned() }
    }
}

impl Drop for Offline {
    fn drop(&mut self) {
        self.log.close();
    }
}

impl Records for Offline {
    fn head(&self) -> Result<u64, ReplayError> {
        Records::head(&self.log)
    }

    fn visit(&self, from: u64, visit: Visit<'_>) -> Result<(), ReplayError> {
        Records::visit(&self.log, from, visit)
    }

    fn stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, ReplayError> {
        Records::stream(&self.log, stream)
    }

    fn describe(&self) -> String {
        self.path.clone()
    }
}

/// A log this process has open, read where it is: the running
/// controller's own (the web console's administrators' pages replay it
/// this way). Unlike [`Offline`], nothing here closes it.
impl Records for EventLog {
    fn head(&self) -> Result<u64, ReplayError> {
        Ok(EventLog::head(self))
    }

    fn visit(&self, from: u64, visit: Visit<'_>) -> Result<(), ReplayError> {
        let head = EventLog::head(self);
        self.scan_all(from, |position, record| {
            if position > head {
                return ControlFlow::Break(());
            }
            visit(position, record)
        })?;
        Ok(())
    }

    fn stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, ReplayError> {
        Ok(self.read_stream(stream, 0)?)
    }

    fn describe(&self) -> String {
        "(open log)".to_owned()
    }
}
