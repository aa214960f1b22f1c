//! `yukari replay state` and the fold behind `diff`: the read models as
//! they were at a position or a time, started from the nearest time-travel
//! snapshot when there is one.

use crate::error::ReplayError;
use crate::progress::Progress;
use crate::snapshots::SnapshotStore;
use crate::source::{Records, scan};
use crate::time::Micros;
use projections::ReadModels;
use serde_json::Value;
use std::ops::ControlFlow;

/// The last position whose record time is at or before `time` (0 when the
/// log starts later). Record times never decrease along the log, so this
/// is a binary search of a few dozen reads.
pub fn position_at(records: &dyn Records, time: Micros) -> Result<u64, ReplayError> {
    let (mut low, mut high) = (0u64, records.head()?);
    // Invariant: record `low` is at or before `time` (0 stands for "none"),
    // every record after `high` is after it.
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        let record = records
            .read(mid, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| ReplayError::Invalid(format!("position {mid} is missing from the log")))?;
        if record.recorded_at <= time {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Ok(low)
}

/// Where the fold of [`state_at`] started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Folded {
    /// The snapshot's position, or 0 when folded from the start.
    pub from_snapshot: u64,
    /// Events folded after it.
    pub events: u64,
}

/// The read models as of `position` (clamped to the head).
pub fn state_at(
    records: &dyn Records,
    snapshots: Option<&SnapshotStore>,
    position: u64,
    progress: &Progress,
) -> Result<(ReadModels, Folded), ReplayError> {
    let position = position.min(records.head()?);
    let start = match snapshots {
        Some(store) => store.nearest(records, position)?,
        None => None,
    };
    let mut models = start.unwrap_or_default();
    let from_snapshot = models.position;
    let events = advance(&mut models, records, position, progress)?;
    Ok((models, Folded { from_snapshot, events }))
}

/// Folds the events after `models.position` up to `position`; returns how
/// many were folded.
pub fn advance(
    models: &mut ReadModels,
    records: &dyn Records,
    position: u64,
    progress: &Progress,
) -> Result<u64, ReplayError> {
    if position <= models.position {
        return Ok(0);
    }
    let from = models.position + 1;
    let mut done = 0u64;
    let folded = projections::fold_decoding_aside(models, |visit| {
        scan(records, from, |e| {
            if e.position > position {
                return ControlFlow::Break(());
            }
            done += 1;
            progress.at(done);
            visit(e)
        })
    });
    match folded {
        Ok(folded) => Ok(folded),
        Err(projections::FoldFailed::Read(e)) => Err(e),
        Err(projections::FoldFailed::Fold(e)) => Err(e.into()),
    }
}

/// The read models as JSON, without sealed secrets (secret keys and
/// console password hashes: they are useless without the master key, and
/// have no place in a report).
pub fn to_json(models: &ReadModels) -> Value {
    let mut value = serde_json::to_value(models).unwrap_or(Value::Null);
    strip_secrets(&mut value);
    value
}

pub(crate) fn strip_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("secret");
            if map.contains_key("password_changed_at") {
                map.remove("password");
            }
            map.values_mut().for_each(strip_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
