//! Time-travel snapshots (`DIR/snapshots/POSITION-GUARD.snap`), as the
//! replay tools use them: the files are `projections::TimeTravel`'s (the
//! running controller writes them too); this adds finding the nearest one
//! through any [`Records`] source, so online and offline answers start
//! from the same snapshot.

use crate::error::ReplayError;
use crate::source::Records;
use eventlog::EnvelopeRef;
use projections::ReadModels;
use projections::time_travel::TimeTravel;
use std::path::{Path, PathBuf};

pub use projections::time_travel::{SnapshotFile, guard};

/// The directory of time-travel snapshots.
#[derive(Clone, Debug)]
pub struct SnapshotStore {
    inner: TimeTravel,
}

impl SnapshotStore {
    pub fn new(dir: impl Into<PathBuf>) -> SnapshotStore {
        SnapshotStore { inner: TimeTravel::new(dir) }
    }

    /// `DATA_DIR/snapshots`.
    pub fn in_data_dir(data_dir: &Path) -> SnapshotStore {
        SnapshotStore { inner: TimeTravel::in_data_dir(data_dir) }
    }

    pub fn dir(&self) -> &Path {
        self.inner.dir()
    }

    /// Every snapshot file, by position.
    pub fn list(&self) -> Result<Vec<SnapshotFile>, ReplayError> {
        Ok(self.inner.list()?)
    }

    /// Saves `models` (as of the record `last`, which must be the record
    /// at `models.position`).
    pub fn write(&self, models: &ReadModels, last: &EnvelopeRef<'_>) -> Result<PathBuf, ReplayError> {
        Ok(self.inner.write(models, last)?)
    }

    /// Deletes every snapshot; returns how many there were.
    pub fn clear(&self) -> Result<usize, ReplayError> {
        Ok(self.inner.clear()?)
    }

    /// The read models of the latest snapshot at or before `position`
    /// that belongs to this log, if any. Snapshots that do not load or do
    /// not match the log are passed over.
    pub fn nearest(&self, records: &dyn Records, position: u64) -> Result<Option<ReadModels>, ReplayError> {
        self.inner.nearest(position, |s| {
            let Some(record) = records.read(s.position, 1)?.into_iter().next() else { return Ok(false) };
            Ok(record.position == s.position && guard(&record.as_envelope()) == s.guard)
        })
    }
}
