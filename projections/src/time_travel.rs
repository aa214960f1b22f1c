//! Time-travel snapshots: the read models as they were at positions along
//! the log, kept beside it in `DATA_DIR/snapshots/` so that "the cloud at
//! T" folds only the events after the nearest one. Written by the running
//! controller every N events (see [`crate::Projections::keep_time_travel`])
//! and by `yukari replay rebuild`; read by `yukari replay state|diff` and
//! by Describe* calls of the admin with `AsOf`. Disposable: deleting them
//! changes no answer, only how fast it comes.
//!
//! A file is `POSITION-GUARD.snap` (position in 20 digits, guard in 8 hex
//! digits) holding a projections snapshot ([`crate::save_snapshot`]). The
//! guard is a checksum of the stream, version and record time of the
//! record at that position: a snapshot left over from another log (a data
//! directory made anew) does not match and is ignored.

use crate::error::ProjectionError;
use crate::models::ReadModels;
use eventlog::{EnvelopeRef, EventLog};
use std::ops::ControlFlow;
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

fn file_err(path: &Path, reason: impl ToString) -> ProjectionError {
    ProjectionError::Snapshot { path: path.display().to_string(), reason: reason.to_string() }
}

/// The directory of time-travel snapshots.
#[derive(Clone, Debug)]
pub struct TimeTravel {
    dir: PathBuf,
}

impl TimeTravel {
    pub fn new(dir: impl Into<PathBuf>) -> TimeTravel {
        TimeTravel { dir: dir.into() }
    }

    /// `DATA_DIR/snapshots`.
    pub fn in_data_dir(data_dir: &Path) -> TimeTravel {
        TimeTravel::new(data_dir.join("snapshots"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every snapshot file, by position.
    pub fn list(&self) -> Result<Vec<SnapshotFile>, ProjectionError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(file_err(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| file_err(&self.dir, e))?.path();
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

    /// Where the snapshot of position `position` with `guard` lives.
    pub fn path_of(&self, position: u64, guard: u32) -> PathBuf {
        self.dir.join(format!("{position:020}-{guard:08x}.snap"))
    }

    /// Saves `models` (as of the record `last`, which must be the record
    /// at `models.position`).
    pub fn write(&self, models: &ReadModels, last: &EnvelopeRef<'_>) -> Result<PathBuf, ProjectionError> {
        debug_assert_eq!(models.position, last.position);
        self.write_models(models, guard(last))
    }

    /// Saves `models` (their last record has guard `guard`), encoded
    /// straight into the file ([`crate::save_snapshot`]).
    pub fn write_models(
        &self,
        models: impl std::borrow::Borrow<ReadModels>,
        guard: u32,
    ) -> Result<PathBuf, ProjectionError> {
        self.create_dir()?;
        let path = self.path_of(models.borrow().position, guard);
        crate::save_snapshot(&path, models)?;
        Ok(path)
    }

    fn create_dir(&self) -> Result<(), ProjectionError> {
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&self.dir)
            .map_err(|e| file_err(&self.dir, e))
    }

    /// Saves an encoded snapshot ([`crate::encode_snapshot`]) of `position`.
    pub fn write_encoded(&self, position: u64, guard: u32, bytes: &[u8]) -> Result<PathBuf, ProjectionError> {
        self.create_dir()?;
        let path = self.path_of(position, guard);
        crate::snapshot::write_atomically(&path, bytes)?;
        Ok(path)
    }

    /// Deletes every snapshot; returns how many there were.
    pub fn clear(&self) -> Result<usize, ProjectionError> {
        let all = self.list()?;
        for s in &all {
            std::fs::remove_file(&s.path).map_err(|e| file_err(&s.path, e))?;
        }
        Ok(all.len())
    }

    /// Deletes snapshots until at most `keep` are left, keeping the oldest
    /// and the newest and, among the others, those that leave the fewest
    /// long stretches of log without one: each time, the snapshot whose
    /// neighbours are closest together goes. Returns the positions deleted.
    pub fn thin(&self, keep: usize) -> Result<Vec<u64>, ProjectionError> {
        let mut all = self.list()?;
        let mut deleted = Vec::new();
        while all.len() > keep.max(1) {
            let victim = if all.len() <= 2 {
                0
            } else {
                (1..all.len() - 1)
                    .min_by_key(|&i| (all[i + 1].position - all[i - 1].position, i))
                    .unwrap_or(0)
            };
            let s = all.remove(victim);
            std::fs::remove_file(&s.path).map_err(|e| file_err(&s.path, e))?;
            deleted.push(s.position);
        }
        Ok(deleted)
    }

    /// The read models of the latest snapshot at or before `position` for
    /// which `belongs` (given the file) says yes, and that loads. Others
    /// are passed over, with a note in the log.
    pub fn nearest<E>(
        &self,
        position: u64,
        mut belongs: impl FnMut(&SnapshotFile) -> Result<bool, E>,
    ) -> Result<Option<ReadModels>, E>
    where
        E: From<ProjectionError>,
    {
        for s in self.list()?.into_iter().rev().filter(|s| s.position <= position && s.position > 0) {
            if !belongs(&s)? {
                tracing::debug!(snapshot = %s.path.display(), "snapshot is not of this log; ignored");
                continue;
            }
            match crate::load_snapshot(&s.path) {
                Ok(Some(models)) if models.position == s.position => return Ok(Some(models)),
                Ok(_) => tracing::warn!(snapshot = %s.path.display(), "snapshot position mismatch; ignored"),
                Err(e) => tracing::warn!(snapshot = %s.path.display(), error = %e, "snapshot ignored"),
            }
        }
        Ok(None)
    }

    /// [`Self::nearest`] for a log opened in this process.
    pub fn nearest_in(&self, log: &EventLog, position: u64) -> Result<Option<ReadModels>, ProjectionError> {
        self.nearest(position, |s| {
            let mut matches = false;
            log.scan(s.position, |e| {
                matches = e.position == s.position && guard(&e) == s.guard;
                ControlFlow::Break(())
            })?;
            Ok(matches)
        })
    }
}

/// The last position whose record time is at or before `time` (µs since
/// the epoch; 0 when the log starts later). Record times never decrease
/// along the log, so this is a binary search of a few dozen reads.
pub fn position_at(log: &EventLog, time: i64) -> Result<u64, ProjectionError> {
    let (mut low, mut high) = (0u64, log.head());
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        let mut at = None;
        log.scan(mid, |e| {
            at = Some(e.recorded_at);
            ControlFlow::Break(())
        })?;
        let at = at.ok_or(ProjectionError::Read(eventlog::ReadError::Corrupt {
            position: mid,
            reason: "record is missing".into(),
        }))?;
        if at <= time {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Ok(low)
}

/// The read models as of `position` (clamped to the head), folded from
/// the nearest time-travel snapshot in `store` when there is one. Returns
/// them with the position the fold started from (0: the beginning).
pub fn models_at(
    log: &EventLog,
    store: Option<&TimeTravel>,
    position: u64,
) -> Result<(ReadModels, u64), ProjectionError> {
    let position = position.min(log.head());
    let mut models = match store {
        Some(store) => store.nearest_in(log, position)?.unwrap_or_default(),
        None => ReadModels::default(),
    };
    let from = models.position;
    if position > models.position {
        crate::fold_decoding_aside(&mut models, |visit| {
            log.scan(from + 1, |e| if e.position > position { ControlFlow::Break(()) } else { visit(&e) })
                .map(drop)
        })?;
    }
    Ok((models, from))
}

#[cfg(test)]
mod tests;
