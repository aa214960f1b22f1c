//! What can stop a replay tool.

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no event log at {0}")]
    NoLog(String),
    #[error("cannot open the event log: {0}")]
    Open(String),
    /// A controller (or another writer) has the log open.
    #[error(
        "the event log {0} is in use: a running controller holds its log file (redb allows one process \
         per file): stop it, or replay online with --controller URL"
    )]
    InUse(String),
    /// The log needs the recovery a writer does on open.
    #[error(
        "the event log {0} was not closed cleanly (the controller crashed); the replay tools only read \
         it: start the controller once to recover it, or salvage it (yukari replay salvage)"
    )]
    NotClosedCleanly(String),
    #[error(transparent)]
    Read(#[from] eventlog::ReadError),
    #[error(transparent)]
    Projection(#[from] projections::ProjectionError),
    /// The online source failed (connection, authentication, protocol).
    #[error("the controller's admin API: {0}")]
    Remote(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Salvage(#[from] eventlog::salvage::SalvageError),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

impl ReplayError {
    pub(crate) fn file(path: &std::path::Path, reason: impl ToString) -> Self {
        ReplayError::File { path: path.display().to_string(), reason: reason.to_string() }
    }
}
