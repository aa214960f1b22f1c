//! Garbage collection, and the pins that keep a blob from it while no
//! reference to it has been recorded yet (a put in flight, a copy).
//!
//! The pin table's lock is the one lock between puts and GC: a put
//! registers its pin and renames its blob into place under it, and GC
//! checks the pins and removes a blob under it, so a blob is never removed
//! between its rename and its pin.

use crate::BlobId;
use crate::store::{BlobStore, absent_is_none, sorted_dir, sync_dir};
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// How many pins each blob has.
#[derive(Debug, Default)]
pub(crate) struct Pins {
    counts: Mutex<HashMap<BlobId, usize>>,
}

impl Pins {
    /// The table, locked. A panic while it was held cannot leave a count
    /// half-updated (each update is one map operation), so a poisoned lock
    /// is taken as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<BlobId, usize>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// While alive, [`BlobStore::collect`] keeps its blob. Clones count
/// separately; the blob is unpinned when the last one drops.
#[derive(Debug)]
pub struct Pin {
    pins: Arc<Pins>,
    id: BlobId,
}

impl Pin {
    /// A new pin, registered in the table the caller has locked.
    pub(crate) fn register(pins: &Arc<Pins>, table: &mut HashMap<BlobId, usize>, id: BlobId) -> Pin {
        *table.entry(id).or_insert(0) += 1;
        Pin { pins: Arc::clone(pins), id }
    }

    /// The blob it keeps.
    pub fn id(&self) -> BlobId {
        self.id
    }
}

impl Clone for Pin {
    fn clone(&self) -> Pin {
        Pin::register(&self.pins, &mut self.pins.lock(), self.id)
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut table = self.pins.lock();
        if let Some(count) = table.get_mut(&self.id) {
            *count -= 1;
            if *count == 0 {
                table.remove(&self.id);
            }
        }
    }
}

/// What one [`BlobStore::collect`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs removed (each with its sidecar).
    pub removed: usize,
    pub bytes_freed: u64,
    /// Blobs not live but pinned.
    pub kept_pinned: usize,
    /// Blobs not live but younger than the grace period.
    pub kept_young: usize,
    pub kept_live: usize,
    /// Sidecars without a blob (left by a crash between the two renames of
    /// a put or the two removals of a GC) removed.
    pub orphan_sums_removed: usize,
}

impl BlobStore {
    /// How many pins a blob has now.
    pub fn pin_count(&self, id: &BlobId) -> usize {
        self.inner.pins.lock().get(id).copied().unwrap_or(0)
    }

    /// Removes every blob for which `live` is false, unless a [`Pin`] holds
    /// it or its file is younger than `grace` (a deduplicated put makes the
    /// file young again). Blocking: call it from `spawn_blocking` in async
    /// code. Puts may run meanwhile.
    pub fn collect(&self, live: &dyn Fn(&BlobId) -> bool, grace: Duration) -> io::Result<GcReport> {
        let mut report = GcReport::default();
        let now = SystemTime::now();
        for top in sorted_dir(&self.inner.blobs)? {
            for folder in sorted_dir(&top)? {
                let mut changed = false;
                for file in sorted_dir(&folder)? {
                    let Some(name) = file.file_name().and_then(|n| n.to_str()) else { continue };
                    if let Ok(id) = name.parse::<BlobId>() {
                        changed |= self.collect_one(id, &file, live, grace, now, &mut report)?;
                    } else if let Some(id) = name.strip_suffix(".sums").and_then(|n| n.parse::<BlobId>().ok())
                    {
                        let table = self.inner.pins.lock();
                        if !self.paths(&id).0.exists()
                            && absent_is_none(std::fs::remove_file(&file))?.is_some()
                        {
                            report.orphan_sums_removed += 1;
                            changed = true;
                        }
                        drop(table);
                    }
                }
                if changed {
                    sync_dir(&folder)?;
                }
            }
        }
        if report.removed > 0 || report.orphan_sums_removed > 0 {
            tracing::info!(?report, "collected unreferenced blobs");
        }
        Ok(report)
    }

    /// Handles one blob; true if it was removed.
    fn collect_one(
        &self,
        id: BlobId,
        path: &std::path::Path,
        live: &dyn Fn(&BlobId) -> bool,
        grace: Duration,
        now: SystemTime,
        report: &mut GcReport,
    ) -> io::Result<bool> {
        if live(&id) {
            report.kept_live += 1;
            return Ok(false);
        }
        let Some(meta) = absent_is_none(std::fs::metadata(path))? else { return Ok(false) };
        // An unreadable or future time counts as young: never remove on doubt.
        let age = meta.modified().ok().and_then(|at| now.duration_since(at).ok());
        if !grace.is_zero() && age.is_none_or(|age| age < grace) {
            report.kept_young += 1;
            return Ok(false);
        }
        let table = self.inner.pins.lock();
        if table.contains_key(&id) {
            report.kept_pinned += 1;
            return Ok(false);
        }
        // The blob first, its sidecar second: a blob never lacks its sidecar.
        let (blob, sums) = self.paths(&id);
        if absent_is_none(std::fs::remove_file(&blob))?.is_none() {
            return Ok(false);
        }
        absent_is_none(std::fs::remove_file(&sums))?;
        drop(table);
        report.removed += 1;
        report.bytes_freed += meta.len();
        Ok(true)
    }
}
