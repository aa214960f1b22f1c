//! The real store: volumes as sparse files in `DIR/volumes/`, exported by
//! the storage controller's own tgtd to one initiator at a time, snapshots in the chunk store
//! `DIR/chunks/`. A snapshot of a volume in use holds its target's I/O
//! (initiators wait and retry) only for a sparse in-kernel copy of the
//! file, then cuts the copy into chunks with I/O resumed.

use crate::chunks::{ChunkId, ChunkStore, Chunks};
use crate::driver::{Export, Grant, Inventory, StorageDriver};
use crate::snapshot::{self, Taken};
use crate::tgt::{IQN_PREFIX, TargetInfo, Tgt, TgtConfig};
use crate::{StorageError, files};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

/// The prefix of the CHAP user names of attachments (`att-…`): accounts
/// of tgtd that Yukari made and may remove.
pub const CHAP_PREFIX: &str = "att-";

pub struct TgtDriver {
    volumes: PathBuf,
    chunks: Arc<dyn Chunks>,
    tgt: Tgt,
    /// tgtadm changes (target ids in particular) one at a time.
    admin: Mutex<()>,
    /// Volumes whose temporary files a call is writing now (a create, a
    /// restore, a snapshot's copy): left alone by the cleanup of leftovers.
    /// (How many calls, by volume.)
    working: Mutex<BTreeMap<String, usize>>,
}

/// A volume's temporaries in use until dropped.
struct Working<'a> {
    driver: &'a TgtDriver,
    volume: String,
}

impl Drop for Working<'_> {
    fn drop(&mut self) {
        let mut working = self.driver.working();
        if let Some(n) = working.get_mut(&self.volume) {
            *n -= 1;
            if *n == 0 {
                working.remove(&self.volume);
            }
        }
    }
}

impl std::fmt::Debug for TgtDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TgtDriver").field("volumes", &self.volumes).field("tgt", &self.tgt).finish()
    }
}

impl TgtDriver {
    /// The store in `dir`, with tgtd started (or adopted) as `config` says.
    pub fn open(dir: &Path, config: TgtConfig) -> Result<TgtDriver, StorageError> {
        let volumes = dir.join("volumes");
        files::private_dir(&volumes)?;
        let chunks = Arc::new(ChunkStore::open(dir.join("chunks"))?);
        let tgt = Tgt::start(config)?;
        Ok(TgtDriver { volumes, chunks, tgt, admin: Mutex::new(()), working: Mutex::default() })
    }

    /// Snapshots go to `chunks` (Walrus's blob store) instead of
    /// `DIR/chunks/`.
    pub fn with_chunks(mut self, chunks: Arc<dyn Chunks>) -> Self {
        self.chunks = chunks;
        self
    }

    /// The volume's file.
    pub fn file(&self, volume: &str) -> PathBuf {
        self.volumes.join(volume)
    }

    pub fn chunks(&self) -> &dyn Chunks {
        &*self.chunks
    }

    pub fn tgt(&self) -> &Tgt {
        &self.tgt
    }

    fn target_of(&self, volume: &str) -> Result<Option<TargetInfo>, StorageError> {
        let iqn = format!("{IQN_PREFIX}{volume}");
        Ok(self.tgt.targets()?.into_iter().find(|t| t.iqn == iqn))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn working(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, usize>> {
        self.working.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the volume's temporaries in use while the guard lives.
    fn work_on(&self, volume: &str) -> Working<'_> {
        *self.working().entry(volume.to_owned()).or_default() += 1;
        Working { driver: self, volume: volume.to_owned() }
    }
}

impl StorageDriver for TgtDriver {
    fn name(&self) -> &str {
        "tgt"
    }

    fn portal(&self) -> String {
        self.tgt.config().portal.clone()
    }

    fn create(&self, volume: &str, size: u64) -> Result<(), StorageError> {
        let _working = self.work_on(volume);
        files::create_sparse(&self.file(volume), size)
    }

    fn restore(&self, volume: &str, size: u64, snapshot: &ChunkId) -> Result<(), StorageError> {
        let path = self.file(volume);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == size) {
            return Ok(());
        }
        let _working = self.work_on(volume);
        snapshot::restore(&*self.chunks, snapshot, &path, size)
    }

    fn delete(&self, volume: &str) -> Result<(), StorageError> {
        self.unexport(volume)?;
        let path = self.file(volume);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StorageError::Io(format!("cannot remove {}: {e}", path.display())))
            }
            _ => files::sync_dir(&self.volumes),
        }
    }

    fn export(&self, volume: &str, grant: &Grant) -> Result<Export, StorageError> {
        let path = self.file(volume);
        if !path.is_file() {
            return Err(StorageError::NoVolume(volume.to_owned()));
        }
        let _guard = self.lock();
        let target = self.tgt.ensure_target(volume, &path)?;
        let chap = grant.chap.as_ref().map(|c| (c.user.as_str(), c.secret.as_str()));
        self.tgt.grant(target.tid, &grant.initiator, chap)?;
        Ok(Export { iqn: target.iqn, lun: 1, portal: self.portal() })
    }

    fn revoke(&self, volume: &str, initiator: &str) -> Result<(), StorageError> {
        let _guard = self.lock();
        let Some(target) = self.target_of(volume)? else { return Ok(()) };
        if !target.acls.iter().any(|a| a == initiator) {
            // Not (or no longer) this grant's target: leave the current one.
            return Ok(());
        }
        self.tgt.revoke(target.tid, initiator)?;
        self.tgt.remove_target(target.tid)
    }

    fn snapshot(&self, volume: &str, progress: &mut dyn FnMut(u64, u64)) -> Result<Taken, StorageError> {
        let path = self.file(volume);
        if !path.is_file() {
            return Err(StorageError::NoVolume(volume.to_owned()));
        }
        let target = {
            let _guard = self.lock();
            self.target_of(volume)?
        };
        let Some(target) = target else {
            // Not exported: nobody writes to it.
            return snapshot::take(&*self.chunks, &path, progress);
        };
        // In use: hold its I/O for a sparse copy, then work on the copy.
        let _working = self.work_on(volume);
        let copy = self.volumes.join(format!(".{volume}.snapshot"));
        self.tgt.set_ready(target.tid, false)?;
        let copied = files::sparse_copy(&path, &copy);
        let resumed = self.tgt.set_ready(target.tid, true);
        copied?;
        resumed?;
        let taken = snapshot::take(&*self.chunks, &copy, progress);
        let _ = std::fs::remove_file(&copy);
        taken
    }

    fn collect_garbage(&self, live: &[ChunkId]) -> Result<usize, StorageError> {
        // CHAP accounts bound to no target: a crash between making one
        // and binding it (or unbinding and deleting it) left it behind.
        {
            let _guard = self.lock();
            let bound: HashSet<String> = self.tgt.targets()?.into_iter().flat_map(|t| t.accounts).collect();
            for user in self.tgt.accounts()? {
                if user.starts_with(CHAP_PREFIX) && !bound.contains(&user) {
                    tracing::warn!(%user, "removing a CHAP account no target uses");
                    self.tgt.delete_account(&user)?;
                }
            }
        }
        // A shared store (Walrus) is collected by its owner.
        let Some(own) = self.chunks.collectable() else { return Ok(0) };
        let mut keep: HashSet<ChunkId> = live.iter().copied().collect();
        for id in live {
            match snapshot::manifest(&*self.chunks, id) {
                Ok(manifest) => keep.extend(manifest.referenced().copied()),
                // A manifest that cannot be read keeps nothing alive but
                // itself; what it needed is removed only if nothing else
                // needs it, which cannot be told: keep everything.
                Err(e) => {
                    tracing::error!(snapshot = %id, error = %e, "cannot read a live snapshot; no garbage collected");
                    return Ok(0);
                }
            }
        }
        let mut removed = 0;
        for id in own.list()? {
            if !keep.contains(&id) {
                own.remove(&id)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn unexport(&self, volume: &str) -> Result<(), StorageError> {
        let _guard = self.lock();
        match self.target_of(volume)? {
            Some(target) => self.tgt.remove_target(target.tid),
            None => Ok(()),
        }
    }

    fn inventory(&self) -> Result<Inventory, StorageError> {
        let (mut volumes, mut temporaries) = (Vec::new(), Vec::new());
        let entries = std::fs::read_dir(&self.volumes)
            .map_err(|e| StorageError::Io(format!("cannot read {}: {e}", self.volumes.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("vol-") && !name.contains('.') {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                volumes.push((name, size));
            } else if files::temporary_of(&name).is_some_and(|v| !self.working().contains_key(v)) {
                temporaries.push(name);
            }
        }
        volumes.sort();
        temporaries.sort();
        let mut exports: Vec<(String, Vec<String>)> = self
            .tgt
            .targets()?
            .into_iter()
            .filter_map(|t| Some((t.volume()?.to_owned(), t.acls.clone())))
            .collect();
        exports.sort();
        Ok(Inventory { volumes, exports, temporaries })
    }

    fn remove_temporary(&self, name: &str) -> Result<bool, StorageError> {
        let Some(volume) = files::temporary_of(name) else { return Ok(false) };
        // Held while removing, so that no call starts writing it meanwhile.
        let working = self.working();
        if working.contains_key(volume) {
            return Ok(false);
        }
        let path = self.volumes.join(name);
        let removed = match std::fs::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(StorageError::Io(format!("cannot remove {}: {e}", path.display()))),
        };
        drop(working);
        if removed {
            files::sync_dir(&self.volumes)?;
        }
        Ok(removed)
    }
}
