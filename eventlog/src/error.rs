//! The log's errors, one enum per kind of operation.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process (another controller, a replay tool) has the file open.
    #[error("the event log {path} is in use by another process")]
    InUse { path: String },
    /// The file needs the recovery a writer does on open (it was not closed
    /// cleanly), which a read-only open cannot do.
    #[error("the event log {path} was not closed cleanly and cannot be recovered read-only")]
    NotClosedCleanly { path: String },
    /// The file system refuses to store anything and the file cannot be
    /// opened even to read.
    #[error("cannot open the event log at {path}: {reason}")]
    Unavailable { path: String, reason: Unavailable },
    #[error("cannot open the event log at {path}: {source}")]
    Database {
        path: String,
        #[source]
        source: redb::DatabaseError,
    },
    #[error("cannot prepare the event log: {0}")]
    Storage(String),
    /// A record or the stream index is damaged (see [`Damage`]).
    #[error("the event log is damaged: {0}")]
    Damaged(Damage),
}

/// Why the log cannot store anything now. Nothing was lost: it stores
/// again by itself once the cause goes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// No space left on the device.
    DiskFull,
    /// The user's or group's disk quota is used up.
    QuotaExceeded,
    /// The file system is mounted read-only.
    ReadOnlyFileSystem,
    /// Something else the storage said (for other backends).
    Other(String),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::DiskFull => f.write_str("the disk is full"),
            Unavailable::QuotaExceeded => f.write_str("the disk quota is used up"),
            Unavailable::ReadOnlyFileSystem => f.write_str("the file system is read-only"),
            Unavailable::Other(why) => f.write_str(why),
        }
    }
}

impl Unavailable {
    /// The kind of an I/O error that means "cannot store now", if it is one.
    pub(crate) fn of_io(e: &std::io::Error) -> Option<Unavailable> {
        match e.kind() {
            std::io::ErrorKind::StorageFull => Some(Unavailable::DiskFull),
            std::io::ErrorKind::QuotaExceeded => Some(Unavailable::QuotaExceeded),
            std::io::ErrorKind::ReadOnlyFilesystem => Some(Unavailable::ReadOnlyFileSystem),
            _ => None,
        }
    }
}

/// What is known of a damaged log: the first bad record's position when a
/// record is bad (none when the damage is elsewhere, e.g. in the index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub position: Option<u64>,
    pub reason: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "record at position {p}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The stream is not at the version the caller expected: re-read and
    /// decide again.
    #[error("stream {stream} is at version {actual}, expected {expected}")]
    Conflict { stream: String, expected: String, actual: u64 },
    /// The log cannot store anything now (disk full, read-only file
    /// system); nothing of the batch was stored, reads go on, and the log
    /// stores again by itself once the cause is gone.
    #[error("the event log cannot store changes now: {0}")]
    Unavailable(Unavailable),
    /// The log is known to hold a damaged record or index: it stores
    /// nothing more until an operator salvages it.
    #[error("the event log is damaged ({0}); it stores nothing until it is salvaged")]
    Damaged(Damage),
    /// A sync (fsync) of the log's file failed: what was written since the
    /// previous sync may not be on disk although it reads back (the kernel
    /// marks such pages clean and never writes them again), so appending
    /// on it could lose acknowledged records later. Nothing more is
    /// appended until the process restarts.
    #[error("a sync of the event log failed ({0}); it stores nothing until the controller restarts")]
    SyncFailed(String),
    /// The log was opened read-only.
    #[error("the event log is open read-only")]
    ReadOnly,
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
    /// The log's storage cannot be read now (it failed and could not be
    /// opened again yet).
    #[error("the event log cannot be read now: {0}")]
    Unavailable(String),
    /// A record whose checksum, position or encoding is wrong; never served.
    #[error("record at position {position} is corrupt: {reason}")]
    Corrupt { position: u64, reason: String },
    #[error("the event log is closed")]
    Closed,
}

pub(crate) fn storage<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
