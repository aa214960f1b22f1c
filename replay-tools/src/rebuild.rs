//! `yukari replay rebuild`: drops and rebuilds what is derived from the
//! log: the controller's read-model snapshot (offline only) and the
//! time-travel snapshots, in one pass.

use crate::error::ReplayError;
use crate::progress::Progress;
use crate::snapshots::SnapshotStore;
use crate::source::{Records, scan};
use projections::ReadModels;
use std::ops::ControlFlow;
use std::path::Path;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub position: u64,
    pub removed: usize,
    /// Positions of the time-travel snapshots written.
    pub snapshots: Vec<u64>,
}

/// Folds the whole log, writing a time-travel snapshot every `every`
/// events (none when 0) into `store` (emptied first), and the final read
/// models to `projection_snapshot` when given.
pub fn rebuild(
    records: &dyn Records,
    store: &SnapshotStore,
    every: u64,
    projection_snapshot: Option<&Path>,
    progress: &Progress,
) -> Result<Rebuilt, ReplayError> {
    let removed = store.clear()?;
    if let Some(path) = projection_snapshot {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ReplayError::file(path, e)),
        }
    }
    let mut models = ReadModels::default();
    let mut written = Vec::new();
    let mut failure: Option<ReplayError> = None;
    scan(records, 1, |e| {
        progress.at(e.position);
        if let Err(err) = models.apply(e) {
            failure = Some(err.into());
            return ControlFlow::Break(());
        }
        if every > 0 && e.position % every == 0 {
            match store.write(&models, e) {
                Ok(_) => written.push(e.position),
                Err(err) => {
                    failure = Some(err);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(path) = projection_snapshot {
        projections::save_snapshot(path, &models)?;
    }
    Ok(Rebuilt { position: models.position, removed, snapshots: written })
}
