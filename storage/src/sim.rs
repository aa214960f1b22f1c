//! A simulated store for tests and benchmarks: volumes, exports and
//! snapshots as bookkeeping in memory (no file, no tgtd). It keeps the
//! real driver's rules (idempotence, a volume must exist to be exported,
//! a snapshot of at least the volume's size to restore, a snapshot holds
//! the volume as it was when frozen) so the storage controller is tested
//! against the same contract. A volume's content is a number that
//! [`SimStorage::write`] bumps.

use crate::StorageError;
use crate::chunks::ChunkId;
use crate::driver::{Export, Freeze, Grant, Inventory, StorageDriver};
use crate::snapshot::Taken;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

/// A volume's size and content, as a copy or a snapshot holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Held {
    volume: String,
    size: u64,
    /// [`SimStorage::write`]s the volume had seen.
    writes: u64,
}

#[derive(Debug, Default)]
struct State {
    volumes: BTreeMap<String, u64>,
    /// Writes made to each volume (its content).
    writes: BTreeMap<String, u64>,
    /// The grant of each exported volume (one at a time): its initiator.
    exports: BTreeMap<String, String>,
    /// Point-in-time copies not yet cut, by snapshot.
    copies: BTreeMap<String, Held>,
    /// Snapshots: manifest id → what they hold.
    snapshots: HashMap<ChunkId, Held>,
    taken: u64,
}

#[derive(Debug, Default)]
pub struct SimStorage {
    state: Mutex<State>,
}

impl SimStorage {
    pub fn new() -> Self {
        SimStorage::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The snapshots taken and not collected (tests).
    pub fn snapshots(&self) -> BTreeSet<ChunkId> {
        self.state().snapshots.keys().copied().collect()
    }

    /// A guest writes to the volume; how many writes it has seen since made.
    pub fn write(&self, volume: &str) -> u64 {
        let mut state = self.state();
        let writes = state.writes.entry(volume.to_owned()).or_default();
        *writes += 1;
        *writes
    }

    /// The volume and how many of its writes snapshot `manifest` holds.
    pub fn held(&self, manifest: &ChunkId) -> Option<(String, u64)> {
        self.state().snapshots.get(manifest).map(|h| (h.volume.clone(), h.writes))
    }
}

impl StorageDriver for SimStorage {
    fn blocks(&self) -> bool {
        false
    }

    fn name(&self) -> &str {
        "sim"
    }

    fn portal(&self) -> String {
        "127.0.0.1:3260".into()
    }

    fn create(&self, volume: &str, size: u64) -> Result<(), StorageError> {
        let mut state = self.state();
        match state.volumes.get(volume) {
            Some(have) if *have != size => {
                Err(StorageError::Io(format!("{volume} exists with {have} bytes, not {size}")))
            }
            _ => {
                state.volumes.insert(volume.to_owned(), size);
                Ok(())
            }
        }
    }

    fn restore(&self, volume: &str, size: u64, snapshot: &ChunkId) -> Result<(), StorageError> {
        let taken = self
            .state()
            .snapshots
            .get(snapshot)
            .ok_or_else(|| StorageError::Corrupt(format!("no snapshot {snapshot}")))?
            .size;
        if size < taken {
            return Err(StorageError::Io(format!(
                "a snapshot of {taken} bytes does not fit in {size} bytes"
            )));
        }
        self.create(volume, size)
    }

    fn delete(&self, volume: &str) -> Result<(), StorageError> {
        let mut state = self.state();
        state.exports.remove(volume);
        state.volumes.remove(volume);
        state.writes.remove(volume);
        Ok(())
    }

    fn export(&self, volume: &str, grant: &Grant) -> Result<Export, StorageError> {
        let mut state = self.state();
        if !state.volumes.contains_key(volume) {
            return Err(StorageError::NoVolume(volume.to_owned()));
        }
        state.exports.insert(volume.to_owned(), grant.initiator.clone());
        Ok(Export { iqn: format!("{}{volume}", crate::tgt::IQN_PREFIX), lun: 1, portal: self.portal() })
    }

    fn revoke(&self, volume: &str, initiator: &str) -> Result<(), StorageError> {
        let mut state = self.state();
        if state.exports.get(volume).is_some_and(|granted| granted == initiator) {
            state.exports.remove(volume);
        }
        Ok(())
    }

    fn freeze(&self, snapshots: &[Freeze<'_>]) -> Vec<Result<(), StorageError>> {
        let mut state = self.state();
        let mut done = Vec::with_capacity(snapshots.len());
        for &(snapshot, volume) in snapshots {
            if state.copies.contains_key(snapshot) {
                done.push(Ok(()));
                continue;
            }
            let Some(&size) = state.volumes.get(volume) else {
                done.push(Err(StorageError::NoVolume(volume.to_owned())));
                continue;
            };
            let writes = state.writes.get(volume).copied().unwrap_or(0);
            state.copies.insert(snapshot.to_owned(), Held { volume: volume.to_owned(), size, writes });
            done.push(Ok(()));
        }
        done
    }

    fn snapshot(
        &self,
        snapshot: &str,
        volume: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Taken, StorageError> {
        if !self.state().copies.contains_key(snapshot) {
            self.freeze(&[(snapshot, volume)]).pop().unwrap_or(Ok(()))?;
        }
        let mut state = self.state();
        let held = state.copies.remove(snapshot).ok_or_else(|| StorageError::NoVolume(volume.to_owned()))?;
        state.taken += 1;
        let manifest = ChunkId::of(format!("{volume}/{}/{}", held.writes, state.taken).as_bytes());
        let size = held.size;
        state.snapshots.insert(manifest, held);
        drop(state);
        progress(size, size);
        Ok(Taken { manifest, chunks: 0, written: 0, bytes_written: 0 })
    }

    fn discard(&self, snapshot: &str, volume: &str) -> Result<bool, StorageError> {
        let mut state = self.state();
        let ours = state.copies.get(snapshot).is_some_and(|c| c.volume == volume);
        if ours {
            state.copies.remove(snapshot);
        }
        Ok(ours)
    }

    fn collect_garbage(&self, live: &[ChunkId]) -> Result<usize, StorageError> {
        let mut state = self.state();
        let before = state.snapshots.len();
        state.snapshots.retain(|id, _| live.contains(id));
        Ok(before - state.snapshots.len())
    }

    fn unexport(&self, volume: &str) -> Result<(), StorageError> {
        self.state().exports.remove(volume);
        Ok(())
    }

    fn inventory(&self) -> Result<Inventory, StorageError> {
        let state = self.state();
        Ok(Inventory {
            volumes: state.volumes.iter().map(|(v, s)| (v.clone(), *s)).collect(),
            exports: state.exports.iter().map(|(v, i)| (v.clone(), vec![i.clone()])).collect(),
            temporaries: Vec::new(),
            copies: state.copies.iter().map(|(s, c)| (s.clone(), c.volume.clone())).collect(),
        })
    }
}
