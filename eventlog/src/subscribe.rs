//! Subscriptions: catch up from a position, then follow new commits. Recent
//! records come from the writer's in-memory tail; older ones from disk.

use crate::envelope::{EnvelopeRef, RecordedEvent, decode_record};
use crate::error::ReadError;
use crate::log::EventLog;
use crate::writer::{RawRecord, Shared};
use std::sync::Arc;
use tokio::sync::watch;

/// How long a subscriber waits before reading again a log that cannot be
/// read now.
const UNAVAILABLE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Pulls batches of events in order; see [`EventLog::subscribe`].
pub struct Subscription {
    log: EventLog,
    next: u64,
    head: watch::Receiver<u64>,
    batch: usize,
}

/// Consecutive stored records, verified when read.
#[derive(Default)]
pub struct Batch {
    records: Vec<RawRecord>,
    /// The log they come from, told of a corrupt record.
    log: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Batch({} records to {})", self.len(), self.last_position())
    }
}

impl Batch {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The position of the last record (0 when empty).
    pub fn last_position(&self) -> u64 {
        self.records.last().map_or(0, |(p, _)| *p)
    }

    /// Each record, checked and decoded without copying.
    pub fn iter(&self) -> impl Iterator<Item = Result<EnvelopeRef<'_>, ReadError>> {
        self.records.iter().map(|(position, record)| {
            let decoded = decode_record(*position, record);
            match &self.log {
                Some(log) => log.noted(decoded),
                None => decoded,
            }
        })
    }

    /// Each record as stored (checksum first), not verified: for passing
    /// the stored bytes on (see [`EventLog::raw_records`]).
    pub fn raw(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.records.iter().map(|(position, record)| (*position, &record[..]))
    }

    /// Copies the records out.
    pub fn to_owned(&self) -> Result<Vec<RecordedEvent>, ReadError> {
        self.iter().map(|e| e.map(|e| e.to_owned())).collect()
    }
}

impl Subscription {
    pub(crate) fn new(log: EventLog, from: u64) -> Self {
        let head = log.watch_head();
        Subscription { log, next: from, head, batch: 1024 }
    }

    /// Most events returned by one `next_batch`.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The position the next batch starts at.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The next events in order, waiting for new commits when caught up.
    /// Errors when the log is closed; a corrupt record surfaces when the
    /// batch is iterated.
    pub async fn next_batch(&mut self) -> Result<Batch, ReadError> {
        loop {
            let head = *self.head.borrow_and_update();
            if head >= self.next {
                let (from, max) = (self.next, self.batch);
                let records = match self.log.tail_records(from, max) {
                    Some(records) if !records.is_empty() => records,
                    _ => {
                        let log = self.log.clone();
                        let read = tokio::task::spawn_blocking(move || log.raw_records(from, max))
                            .await
                            .map_err(|e| ReadError::Storage(e.to_string()))?;
                        match read {
                            // The writer is opening the file again (see
                            // `health.rs`): the records will be there.
                            Err(ReadError::Unavailable(_)) => {
                                tokio::time::sleep(UNAVAILABLE_WAIT).await;
                                continue;
                            }
                            read => read?,
                        }
                    }
                };
                let batch = Batch { records, log: Some(self.log.shared().clone()) };
                if batch.is_empty() {
                    return Err(ReadError::Corrupt {
                        position: from,
                        reason: "below head but missing".into(),
                    });
                }
                self.next = batch.last_position() + 1;
                return Ok(batch);
            }
            if self.head.changed().await.is_err() {
                return Err(ReadError::Closed);
            }
        }
    }
}
