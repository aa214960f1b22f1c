//! Where the executor reads the log from: the local `EventLog` (the
//! embedded node of `yukari up`, in the controller's process) or a feed
//! from the controller over the network (a node on another host; the
//! binary provides that source, since this crate must not know HTTP).
//!
//! Either way the executor sees stored records as envelopes, verified by
//! their checksums, in log order; a remote feed may leave out records that
//! do not concern the node (the fold ignores them anyway).

use eventlog::{Batch, EnvelopeRef, EventLog, ReadError, Subscription, decode_record};
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;

/// Why a source could not give records.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the event log: {0}")]
    Log(#[from] ReadError),
    /// A remote source gave up (its credentials were refused …).
    #[error("cannot read the controller's feed: {0}")]
    Remote(String),
}

/// Records the executor folds, as they came.
pub enum Records {
    /// From the local log's subscription.
    Log(Batch),
    /// Stored records `(position, bytes)`, e.g. from the controller's feed.
    Raw(Vec<(u64, Vec<u8>)>),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Log(b) => b.len(),
            Records::Raw(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each record, checked and decoded without copying.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Result<EnvelopeRef<'_>, ReadError>> + '_> {
        match self {
            Records::Log(b) => Box::new(b.iter()),
            Records::Raw(r) => Box::new(r.iter().map(|(position, bytes)| decode_record(*position, bytes))),
        }
    }
}

/// A stream of stored records: replayed up to the head once, then followed.
pub trait RecordSource: Send + 'static {
    /// Does the replay block on I/O? A blocking one (a log on disk, a
    /// feed over the network) runs on the blocking thread pool; the others
    /// in line (a simulated node's records, so that it runs in one order).
    fn blocks(&self) -> bool {
        true
    }

    /// Visits every record (that concerns this node) up to the head as it
    /// is now, in order; following then continues after them. Blocking:
    /// called on the blocking pool. Returns the last position read.
    fn replay(&mut self, visit: &mut dyn FnMut(&EnvelopeRef<'_>)) -> Result<u64, SourceError>;

    /// The next records after those seen, waiting for new ones. A remote
    /// source retries an unreachable controller itself and may return an
    /// empty batch (nothing new for this node).
    fn next_batch(&mut self) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>>;

    /// Every record of `stream` up to position `to`, in order: the history
    /// of an instance placed on this node after a life on another, which a
    /// source that gives only this node's records did not give.
    fn history(
        &mut self,
        stream: String,
        to: u64,
    ) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>>;
}

/// The local event log (the embedded node of `yukari up`).
pub struct LocalSource {
    log: EventLog,
    subscription: Option<Subscription>,
}

impl LocalSource {
    pub fn new(log: EventLog) -> Self {
        LocalSource { log, subscription: None }
    }

    /// A source whose records up to `position - 1` were read elsewhere (a
    /// start through the stream index): it follows the log from
    /// `position`.
    pub fn following(log: EventLog, position: u64) -> Self {
        let subscription = Some(log.subscribe(position));
        LocalSource { log, subscription }
    }
}

impl RecordSource for LocalSource {
    fn replay(&mut self, visit: &mut dyn FnMut(&EnvelopeRef<'_>)) -> Result<u64, SourceError> {
        let last = self.log.scan(1, |envelope| {
            visit(&envelope);
            ControlFlow::Continue(())
        })?;
        self.subscription = Some(self.log.subscribe(last + 1));
        Ok(last)
    }

    fn next_batch(&mut self) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        Box::pin(async move {
            let log = &self.log;
            let subscription = self.subscription.get_or_insert_with(|| log.subscribe(1));
            Ok(Records::Log(subscription.next_batch().await?))
        })
    }

    fn history(
        &mut self,
        stream: String,
        to: u64,
    ) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        Box::pin(history_in(self.log.clone(), stream, to))
    }
}

/// Every record of `stream` in `log` up to `to` (read on the blocking pool).
pub async fn history_in(log: EventLog, stream: String, to: u64) -> Result<Records, SourceError> {
    let records = tokio::task::spawn_blocking(move || log.raw_stream_records(&[stream], 1, to, usize::MAX))
        .await
        .map_err(|e| SourceError::Remote(format!("reading a stream's history: {e}")))??;
    Ok(Records::Raw(records.into_iter().map(|(p, r)| (p, r.to_vec())).collect()))
}
