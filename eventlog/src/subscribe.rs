//! Subscriptions: catch up from a position, then follow new commits.

use crate::envelope::RecordedEvent;
use crate::error::ReadError;
use crate::log::EventLog;
use tokio::sync::watch;

/// Pulls batches of events in order; see [`EventLog::subscribe`].
pub struct Subscription {
    log: EventLog,
    next: u64,
    head: watch::Receiver<u64>,
    batch: usize,
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
    /// Errors when the log is closed or a record is corrupt.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, ReadError> {
        loop {
            let head = *self.head.borrow_and_update();
            if head >= self.next {
                let log = self.log.clone();
                let (from, max) = (self.next, self.batch);
                let events = tokio::task::spawn_blocking(move || log.read_from(from, max))
                    .await
                    .map_err(|e| ReadError::Storage(e.to_string()))??;
                if let Some(last) = events.last() {
                    self.next = last.position + 1;
                    return Ok(events);
                }
                return Err(ReadError::Corrupt { position: from, reason: "below head but missing".into() });
            }
            if self.head.changed().await.is_err() {
                return Err(ReadError::Closed);
            }
        }
    }
}
