//! The cloud as it was: read models folded up to a past position or time,
//! for Describe* calls of the cloud's admin with `AsOf` / `AsOfPosition`.
//! The fold starts from the nearest time-travel snapshot the controller
//! wrote (`projections::time_travel`), and runs on a blocking thread: it
//! reads the log and may fold many events.

use crate::app::{App, ExecuteError};
use projections::ReadModels;
use projections::time_travel::{models_at, position_at};

/// A moment of the log's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// The last record stored at or before this record time (µs since the
    /// Unix epoch).
    Time(i64),
    /// This position of the log.
    Position(u64),
}

/// The past read models, and where their fold started.
#[derive(Debug)]
pub struct Past {
    pub models: ReadModels,
    /// The time-travel snapshot the fold started from (0: the beginning).
    pub from_snapshot: u64,
}

impl App {
    /// The last position of the log (what `AsOfPosition` may reach).
    pub fn head(&self) -> u64 {
        self.log.head()
    }

    /// The read models as they were at `at`.
    pub async fn models_as_of(&self, at: AsOf) -> Result<Past, ExecuteError> {
        let log = self.log.clone();
        let store = self.projections.time_travel().cloned();
        let folded = tokio::task::spawn_blocking(move || {
            let position = match at {
                AsOf::Position(p) => p,
                AsOf::Time(t) => position_at(&log, t)?,
            };
            models_at(&log, store.as_ref(), position)
        })
        .await
        .map_err(|e| ExecuteError::Append(eventlog::AppendError::Storage(format!("time travel: {e}"))))?;
        let (models, from_snapshot) = folded.map_err(|e| match e {
            projections::ProjectionError::Read(r) => ExecuteError::Read(r),
            other => ExecuteError::Append(eventlog::AppendError::Storage(other.to_string())),
        })?;
        Ok(Past { models, from_snapshot })
    }
}
