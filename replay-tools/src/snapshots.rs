//! Time-travel snapshots: the read models as they were at positions along
//! the log, kept beside it in `DIR/snapshots/` so that "the cloud at T"
//! folds only the events after the nearest one. Disposable: `yukari replay
//! rebuild` drops and writes them again from the log.
//!
//! A file is `POSITION-GUARD.snap` (position in 20 digits, guard in 8 hex
//! digits) holding a projections snapshot (`projections::save_snapshot`).
//! The guard is a checksum of the stream, version and record time of the
//! record at that position: a snapshot left over from another log (a data
//! directory made anew) does not match and is ignored.

use crate::error::ReplayError;
use crate::source::Records;
use eventlog::EnvelopeRef;
use projections::ReadModels;
use std::path::{Path, PathBuf};

/// Ties a snapshot to the record at its position.
pub fn guard(e: &EnvelopeRef<'_>) -> u32 {
    crc32c::crc32c(format!("{}@{}@{}", e.stream, e.version, e.recorded_at).as_bytes())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    pub position: u64,
    pub guard: u32,
    pub path: PathBuf,
}

/// The directory of time-travel snapshots.
#[derive(Clone, Debug)]
pub struct SnapshotStore {
    dir: PathBuf,
}

impl SnapshotStore {
    pub fn new(dir: impl Into<PathBuf>) -> SnapshotStore {
        SnapshotStore { dir: dir.into() }
    }

    /// `DATA_DIR/snapshots`.
    pub fn in_data_dir(data_dir: &Path) -> SnapshotStore {
        SnapshotStore::new(data_dir.join("snapshots"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every snapshot file, by position.
    pub fn list(&self) -> Result<Vec<SnapshotFile>, ReplayError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ReplayError::file(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| ReplayError::file(&self.dir, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            let Some((position, guard)) = name.strip_suffix(".snap").and_then(|n| n.split_once('-')) else {
                continue;
            };
            if let (Ok(position), Ok(guard)) = (position.parse(), u32::from_str_radix(guard, 16)) {
                out.push(SnapshotFile { position, guard, path });
            }
        }
        out.sort_by_key(|s| s.position);
        Ok(out)
    }

    /// Saves `models` (as of the record `last`, which must be the record
    /// at `models.position`).
    pub fn write(&self, models: &ReadModels, last: &EnvelopeRef<'_>) -> Result<PathBuf, ReplayError> {
        debug_assert_eq!(models.position, last.position);
        std::fs::create_dir_all(&self.dir).map_err(|e| ReplayError::file(&self.dir, e))?;
        let path = self.dir.join(format!("{:020}-{:08x}.snap", models.position, guard(last)));
        projections::save_snapshot(&path, models)?;
        Ok(path)
    }

    /// Deletes every snapshot; returns how many there were.
    pub fn clear(&self) -> Result<usize, ReplayError> {
        let all = self.list()?;
        for s in &all {
            std::fs::remove_file(&s.path).map_err(|e| ReplayError::file(&s.path, e))?;
        }
        Ok(all.len())
    }

    /// The read models of the latest snapshot at or before `position`
    /// that belongs to this log, if any. Snapshots that do not load or do
    /// not match the log are passed over.
    pub fn nearest(&self, records: &dyn Records, position: u64) -> Result<Option<ReadModels>, ReplayError> {
        for s in self.list()?.into_iter().rev().filter(|s| s.position <= position && s.position > 0) {
            let Some(record) = records.read(s.position, 1)?.into_iter().next() else { continue };
            if record.position != s.position || guard(&record.as_envelope()) != s.guard {
                tracing::debug!(snapshot = %s.path.display(), "snapshot is not of this log; ignored");
                continue;
            }
            match projections::load_snapshot(&s.path) {
                Ok(Some(models)) if models.position == s.position => return Ok(Some(models)),
                Ok(_) => tracing::warn!(snapshot = %s.path.display(), "snapshot position mismatch; ignored"),
                Err(e) => tracing::warn!(snapshot = %s.path.display(), error = %e, "snapshot ignored"),
            }
        }
        Ok(None)
    }
}
