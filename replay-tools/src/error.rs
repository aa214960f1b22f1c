//! What can stop a replay tool.

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no event log at {0}")]
    NoLog(String),
    #[error("cannot open the event log: {0}")]
    Open(String),
    #[error(transparent)]
    Read(#[from] eventlog::ReadError),
    #[error(transparent)]
    Projection(#[from] projections::ProjectionError),
    /// The online source failed (connection, authentication, protocol).
    #[error("the controller's admin API: {0}")]
    Remote(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

impl ReplayError {
    pub(crate) fn file(path: &std::path::Path, reason: impl ToString) -> Self {
        ReplayError::File { path: path.display().to_string(), reason: reason.to_string() }
    }
}
