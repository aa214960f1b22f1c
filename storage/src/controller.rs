//! The storage controller's reconciler: the store made to agree with what
//! the log wants, one view at a time. The controller computes the view
//! from its read models (the volumes of this storage controller's zone,
//! each with its size, its source snapshot and its current grant; the
//! snapshots to take; the snapshots still wanted); [`Reconciler::apply`]
//! first freezes every snapshot asked for (their point-in-time copies,
//! together), then creates, restores, exports, revokes and deletes until
//! the store matches, cuts the snapshots into chunks, and says what it did
//! as [`StorageReport`]s for the controller to decide on.
//!
//! Everything the store holds that the view does not name is an orphan (a
//! crash between making a file or a target and the log recording it) and
//! is removed: the log alone says what exists. Every step is idempotent,
//! so a reconciler that crashed half way simply applies the next view.
//! It must not know HTTP or the domain; volumes are named by their ids.

use crate::StorageError;
use crate::chunks::ChunkId;
use crate::driver::{Export, Grant, StorageDriver};
use std::collections::{BTreeMap, BTreeSet};

/// One volume as the log wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedVolume {
    pub volume: String,
    pub size: u64,
    /// The snapshot (its manifest) a new volume is restored from.
    pub source: Option<ChunkId>,
    /// The attachment's grant while the volume is to be exported.
    pub grant: Option<Grant>,
    /// The log already knows the volume exists (no report needed).
    pub created: bool,
    /// The log already knows the grant is exported (no report needed).
    pub exported: bool,
    /// A grant the log waits to see revoked (a detach): revoked, then
    /// reported, at every view until the log has recorded it.
    pub revoke: Option<String>,
}

/// A snapshot to take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedSnapshot {
    pub snapshot: String,
    pub volume: String,
}

/// What the log wants of this storage controller, at one position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub position: u64,
    pub volumes: Vec<WantedVolume>,
    /// Volumes being deleted: removed, then reported.
    pub deleting: Vec<String>,
    pub snapshots: Vec<WantedSnapshot>,
    /// Manifests of every snapshot that exists or is being taken: their
    /// chunks are kept, any other chunk is garbage.
    pub live_snapshots: Vec<ChunkId>,
}

/// What the reconciler did, for the controller to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageReport {
    Created {
        volume: String,
    },
    CreateFailed {
        volume: String,
        reason: String,
    },
    /// The log says the volume exists, but its file is gone.
    Lost {
        volume: String,
    },
    Exported {
        volume: String,
        initiator: String,
        export: Export,
    },
    ExportFailed {
        volume: String,
        initiator: String,
        reason: String,
    },
    Revoked {
        volume: String,
        initiator: String,
    },
    Deleted {
        volume: String,
    },
    SnapshotProgress {
        snapshot: String,
        percent: u8,
    },
    SnapshotCompleted {
        snapshot: String,
        manifest: ChunkId,
        size: u64,
    },
    SnapshotFailed {
        snapshot: String,
        reason: String,
    },
}

/// What one [`Reconciler::apply`] changed in the store, besides reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Volumes on disk the log does not know, removed.
    pub orphan_volumes: Vec<String>,
    /// Exports the log does not want (a grant no longer current), revoked.
    pub orphan_exports: Vec<(String, String)>,
    /// Temporary files no step was writing (a half-made volume, a
    /// snapshot's copy, left by a crash or a failure), removed.
    pub orphan_temporaries: Vec<String>,
    /// Complete copies of snapshots no longer asked for, dropped.
    pub orphan_copies: Vec<String>,
    pub garbage_chunks: usize,
}

/// Applies views to a store.
pub struct Reconciler<D: StorageDriver> {
    driver: D,
    /// Grants this reconciler made or found, by volume: what to revoke
    /// when the view stops naming them.
    granted: BTreeMap<String, String>,
    /// Snapshots already taken in this process, whose report may not have
    /// reached the log yet: not taken twice.
    taken: BTreeMap<String, (ChunkId, u64)>,
}

impl<D: StorageDriver> Reconciler<D> {
    pub fn new(driver: D) -> Self {
        Reconciler { driver, granted: BTreeMap::new(), taken: BTreeMap::new() }
    }

    pub fn driver(&self) -> &D {
        &self.driver
    }

    /// Makes the store agree with `wanted`; every report is handed to
    /// `report` as soon as the step it tells of is done (so a crash loses
    /// at most the report of the step in progress, which the next view
    /// asks for again).
    pub fn apply(
        &mut self,
        wanted: &Wanted,
        report: &mut dyn FnMut(StorageReport),
    ) -> Result<Cleanup, StorageError> {
        let inventory = self.driver.inventory()?;
        let on_disk: BTreeSet<&str> = inventory.volumes.iter().map(|(v, _)| v.as_str()).collect();
        for (volume, initiators) in &inventory.exports {
            if let Some(initiator) = initiators.first() {
                self.granted.entry(volume.clone()).or_insert_with(|| initiator.clone());
            }
        }
        let mut cleanup = Cleanup::default();
        // Before any step starts writing one: what is there now is a leftover.
        for name in &inventory.temporaries {
            if self.driver.remove_temporary(name)? {
                tracing::warn!(file = %name, "removed a temporary file left by a crash or a failure");
                cleanup.orphan_temporaries.push(name.clone());
            }
        }
        // Copies of snapshots no longer asked for (failed, expired, or
        // recorded taken) are dropped.
        let asked: BTreeSet<&str> = wanted.snapshots.iter().map(|s| s.snapshot.as_str()).collect();
        for (snapshot, volume) in &inventory.copies {
            if !asked.contains(snapshot.as_str()) && self.driver.discard(snapshot, volume)? {
                tracing::warn!(%snapshot, %volume, "dropped the copy of a snapshot no longer asked for");
                cleanup.orphan_copies.push(snapshot.clone());
            }
        }
        // The point in time of every snapshot asked for, first of all
        // (before any create, restore, export, delete or chunking, however
        // long they take), together.
        let frozen = self.freeze(wanted, report);
        let named: BTreeSet<&str> = wanted
            .volumes
            .iter()
            .map(|v| v.volume.as_str())
            .chain(wanted.deleting.iter().map(String::as_str))
            .collect();

        for volume in &wanted.deleting {
            self.revoke_all(volume, false, &mut cleanup, report)?;
            self.driver.delete(volume)?;
            report(StorageReport::Deleted { volume: volume.clone() });
        }
        for v in &wanted.volumes {
            if v.created && !on_disk.contains(v.volume.as_str()) {
                // Never made again empty: that would pass lost data off as a volume.
                report(StorageReport::Lost { volume: v.volume.clone() });
                continue;
            }
            if !v.created {
                let made = match &v.source {
                    Some(snapshot) => self.driver.restore(&v.volume, v.size, snapshot),
                    None => self.driver.create(&v.volume, v.size),
                };
                match made {
                    Ok(()) if !v.created => report(StorageReport::Created { volume: v.volume.clone() }),
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(volume = %v.volume, source = ?v.source, error = %e, "cannot make the volume");
                        report(StorageReport::CreateFailed {
                            volume: v.volume.clone(),
                            reason: e.to_string(),
                        });
                        continue;
                    }
                }
            }
            match &v.grant {
                Some(grant) => {
                    if self.granted.get(&v.volume).is_some_and(|current| *current != grant.initiator) {
                        self.revoke_all(&v.volume, false, &mut cleanup, report)?;
                    }
                    match self.driver.export(&v.volume, grant) {
                        Ok(export) => {
                            self.granted.insert(v.volume.clone(), grant.initiator.clone());
                            if !v.exported {
                                report(StorageReport::Exported {
                                    volume: v.volume.clone(),
                                    initiator: grant.initiator.clone(),
                                    export,
                                });
                            }
                        }
                        Err(e) => report({
                            tracing::warn!(volume = %v.volume, error = %e, "cannot export the volume");
                            StorageReport::ExportFailed {
                                volume: v.volume.clone(),
                                initiator: grant.initiator.clone(),
                                reason: e.to_string(),
                            }
                        }),
                    }
                }
                None => {
                    if let Some(initiator) = &v.revoke {
                        self.driver.revoke(&v.volume, initiator)?;
                        if self.granted.get(&v.volume) == Some(initiator) {
                            self.granted.remove(&v.volume);
                        }
                        report(StorageReport::Revoked {
                            volume: v.volume.clone(),
                            initiator: initiator.clone(),
                        });
                    }
                    self.revoke_all(&v.volume, false, &mut cleanup, report)?;
                }
            }
        }
        // Exports and files the log does not name at all.
        for (volume, _) in &inventory.exports {
            if !named.contains(volume.as_str()) {
                self.revoke_all(volume, false, &mut cleanup, report)?;
            }
        }
        for (volume, _) in &inventory.volumes {
            if !named.contains(volume.as_str()) {
                self.driver.delete(volume)?;
                cleanup.orphan_volumes.push(volume.clone());
            }
        }
        for s in wanted.snapshots.iter().filter(|s| frozen.contains(s.snapshot.as_str())) {
            self.snapshot(s, report);
        }
        let mut live = wanted.live_snapshots.clone();
        live.extend(self.taken.values().map(|(manifest, _)| *manifest));
        cleanup.garbage_chunks = self.driver.collect_garbage(&live)?;
        // What the log now knows is taken need not be remembered.
        self.taken.retain(|snapshot, _| asked.contains(snapshot.as_str()));
        Ok(cleanup)
    }

    /// Revokes whatever grant the volume has. `announce`: the view named
    /// the volume without a grant (a detach or a delete: reported);
    /// otherwise the grant was stale or the volume unknown (an orphan).
    fn revoke_all(
        &mut self,
        volume: &str,
        announce: bool,
        cleanup: &mut Cleanup,
        report: &mut dyn FnMut(StorageReport),
    ) -> Result<(), StorageError> {
        match self.granted.remove(volume) {
            Some(initiator) => {
                self.driver.revoke(volume, &initiator)?;
                if announce {
                    report(StorageReport::Revoked { volume: volume.to_owned(), initiator });
                } else {
                    cleanup.orphan_exports.push((volume.to_owned(), initiator));
                }
            }
            None => self.driver.unexport(volume)?,
        }
        Ok(())
    }

    /// Freezes (takes the point-in-time copy of) every snapshot asked for
    /// and not taken yet, in one call; reports those that cannot be, and
    /// returns those to cut.
    fn freeze<'w>(&self, wanted: &'w Wanted, report: &mut dyn FnMut(StorageReport)) -> BTreeSet<&'w str> {
        let mut ready = BTreeSet::new();
        let mut todo = Vec::new();
        for s in &wanted.snapshots {
            if self.taken.contains_key(&s.snapshot) {
                ready.insert(s.snapshot.as_str());
            } else {
                todo.push((s.snapshot.as_str(), s.volume.as_str()));
            }
        }
        if todo.is_empty() {
            return ready;
        }
        for ((snapshot, volume), frozen) in todo.iter().zip(self.driver.freeze(&todo)) {
            match frozen {
                Ok(()) => {
                    ready.insert(snapshot);
                }
                Err(e) => {
                    tracing::warn!(%snapshot, %volume, error = %e, "cannot take the snapshot's copy");
                    report(StorageReport::SnapshotFailed {
                        snapshot: (*snapshot).to_owned(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        ready
    }

    fn snapshot(&mut self, s: &WantedSnapshot, report: &mut dyn FnMut(StorageReport)) {
        if let Some((manifest, size)) = self.taken.get(&s.snapshot) {
            report(StorageReport::SnapshotCompleted {
                snapshot: s.snapshot.clone(),
                manifest: *manifest,
                size: *size,
            });
            return;
        }
        let mut last = 0u8;
        let mut size = 0;
        let taken = self.driver.snapshot(&s.snapshot, &s.volume, &mut |done, all| {
            size = all;
            let percent = done.saturating_mul(100).checked_div(all).map_or(100, |p| p.min(100) as u8);
            // Every 10 %: a few records, not one per chunk.
            if percent >= last.saturating_add(10) && percent < 100 {
                last = percent - percent % 10;
                report(StorageReport::SnapshotProgress { snapshot: s.snapshot.clone(), percent: last });
            }
        });
        match taken {
            Ok(taken) => {
                self.taken.insert(s.snapshot.clone(), (taken.manifest, size));
                report(StorageReport::SnapshotCompleted {
                    snapshot: s.snapshot.clone(),
                    manifest: taken.manifest,
                    size,
                });
            }
            Err(e) => {
                tracing::warn!(snapshot = %s.snapshot, volume = %s.volume, error = %e, "cannot take the snapshot");
                report(StorageReport::SnapshotFailed { snapshot: s.snapshot.clone(), reason: e.to_string() })
            }
        }
    }
}

#[cfg(test)]
mod tests;
