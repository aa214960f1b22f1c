//! Why a read model could not be built.

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Read(#[from] eventlog::ReadError),
    #[error("event at position {position} does not decode: {source}")]
    Decode {
        position: u64,
        #[source]
        source: domain::CodecError,
    },
    #[error("event at position {position} follows {previous}: the log skipped or repeated")]
    OutOfOrder { position: u64, previous: u64 },
    #[error("snapshot {path}: {reason}")]
    Snapshot { path: String, reason: String },
    /// A snapshot an older (or newer) build saved: read models are rebuilt
    /// from the log instead.
    #[error(
        "snapshot {path} is of format {found}, this build reads {reads}: the read models are rebuilt from the log"
    )]
    SnapshotFormat { path: String, found: u32, reads: u32 },
}
