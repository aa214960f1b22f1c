//! The log's errors, one enum per kind of operation.

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the event log at {path}: {source}")]
    Database {
        path: String,
        #[source]
        source: redb::DatabaseError,
    },
    #[error("cannot prepare the event log: {0}")]
    Storage(String),
    #[error("the event log is damaged: {0}")]
    Corrupt(#[from] ReadError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The stream is not at the version the caller expected: re-read and
    /// decide again.
    #[error("stream {stream} is at version {actual}, expected {expected}")]
    Conflict { stream: String, expected: String, actual: u64 },
    /// The durable write failed; nothing of the batch was stored.
    #[error("the event log could not store the events: {0}")]
    Storage(String),
    /// The caller's work panicked inside the writer; nothing of it was stored.
    #[error("the transaction panicked and was discarded")]
    Panicked,
    #[error("the event log is closed")]
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("reading the event log failed: {0}")]
    Storage(String),
    /// A record whose checksum, position or encoding is wrong; never served.
    #[error("record at position {position} is corrupt: {reason}")]
    Corrupt { position: u64, reason: String },
    #[error("the event log is closed")]
    Closed,
}

pub(crate) fn storage<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
