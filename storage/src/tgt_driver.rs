//! The real store: volumes as sparse files in `DIR/volumes/`, exported by
//! the storage controller's own tgtd to one initiator at a time, snapshots in the chunk store
//! `DIR/chunks/`. A snapshot first freezes its volume: the target's I/O
//! held (initiators wait and retry) only for a sparse in-kernel copy of
//! the file, fsynced and renamed to a name that marks it complete for that
//! snapshot (`.vol-….snap-….copy`), kept across a crash; the copy is then
//! cut into chunks with I/O resumed.

use crate::chunks::{ChunkId, ChunkStore, Chunks};
use crate::driver::{Export, Freeze, Grant, Inventory, StorageDriver};
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

    /// Where snapshot `snapshot`'s complete copy of `volume` is kept.
    fn copy_path(&self, volume: &str, snapshot: &str) -> PathBuf {
        self.volumes.join(files::copy_name(volume, snapshot))
    }

    /// Copies the volume (its writers held) to `complete`: under the
    /// temporary name `.vol-….snapshot`, fsynced, then renamed, so a crash
    /// leaves either a whole copy or a leftover the next view removes. The
    /// caller makes the rename durable.
    fn copy_volume(&self, volume: &str, complete: &Path) -> Result<(), StorageError> {
        let tmp = self.volumes.join(format!(".{volume}.snapshot"));
        let copied = files::sparse_copy(&self.file(volume), &tmp)
            .and_then(|_| std::fs::rename(&tmp, complete).map_err(|e| StorageError::Io(e.to_string())));
        if copied.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        copied
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
        if target.state == "offline" {
            // Held for a snapshot's copy by a controller that crashed
            // before resuming it (a copy holds the admin lock throughout).
            tracing::warn!(volume, "resuming a target left offline by an interrupted snapshot");
            self.tgt.set_ready(target.tid, true)?;
        }
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

    fn freeze(&self, snapshots: &[Freeze<'_>]) -> Vec<Result<(), StorageError>> {
        let mut done: Vec<Result<(), StorageError>> = vec![Ok(()); snapshots.len()];
        let mut todo = Vec::new();
        for (i, &(snapshot, volume)) in snapshots.iter().enumerate() {
            if self.copy_path(volume, snapshot).is_file() {
                continue;
            }
            if !self.file(volume).is_file() {
                done[i] = Err(StorageError::NoVolume(volume.to_owned()));
                continue;
            }
            todo.push(i);
        }
        if todo.is_empty() {
            return done;
        }
        let _working: Vec<Working<'_>> = todo.iter().map(|&i| self.work_on(snapshots[i].1)).collect();
        let _guard = self.lock();
        // Every writer held (a volume not exported has none), then every
        // copy made, then every writer resumed: the set is one point in time.
        let targets = match self.tgt.targets() {
            Ok(targets) => targets,
            Err(e) => {
                for &i in &todo {
                    done[i] = Err(e.clone());
                }
                return done;
            }
        };
        let mut held: BTreeMap<&str, u32> = BTreeMap::new();
        for &i in &todo {
            let volume = snapshots[i].1;
            if held.contains_key(volume) {
                continue;
            }
            let Some(target) = targets.iter().find(|t| t.volume() == Some(volume)) else { continue };
            match self.tgt.set_ready(target.tid, false) {
                Ok(()) => {
                    held.insert(volume, target.tid);
                }
                Err(e) => done[i] = Err(e),
            }
        }
        // Copied once per volume: another snapshot of it is a link to the same copy.
        let mut copied: BTreeMap<&str, PathBuf> = BTreeMap::new();
        for &i in &todo {
            let (snapshot, volume) = snapshots[i];
            if done[i].is_err() {
                continue;
            }
            let complete = self.copy_path(volume, snapshot);
            done[i] = match copied.get(volume) {
                Some(first) => std::fs::hard_link(first, &complete)
                    .map_err(|e| StorageError::Io(format!("cannot link {}: {e}", complete.display()))),
                None => self.copy_volume(volume, &complete),
            };
            if done[i].is_ok() {
                copied.entry(volume).or_insert(complete);
            }
        }
        // The renames durable before any writer goes on.
        let synced = files::sync_dir(&self.volumes);
        for (volume, tid) in held {
            if let Err(e) = self.tgt.set_ready(tid, true) {
                tracing::error!(volume, error = %e, "cannot resume a target held for a snapshot's copy");
                for &i in &todo {
                    if snapshots[i].1 == volume {
                        done[i] = Err(e.clone());
                    }
                }
            }
        }
        if let Err(e) = synced {
            for &i in &todo {
                done[i] = Err(e.clone());
            }
        }
        done
    }

    fn snapshot(
        &self,
        snapshot: &str,
        volume: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Taken, StorageError> {
        let copy = self.copy_path(volume, snapshot);
        if !copy.is_file() {
            self.freeze(&[(snapshot, volume)]).pop().unwrap_or(Ok(()))?;
        }
        let taken = snapshot::take(&*self.chunks, &copy, progress)?;
        // Cut: the copy is no longer needed (a crash before this only
        // cuts it again, into the same chunks).
        self.discard(snapshot, volume)?;
        Ok(taken)
    }

    fn discard(&self, snapshot: &str, volume: &str) -> Result<bool, StorageError> {
        let path = self.copy_path(volume, snapshot);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StorageError::Io(format!("cannot remove {}: {e}", path.display()))),
        }
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
        let (mut volumes, mut temporaries, mut copies) = (Vec::new(), Vec::new(), Vec::new());
        let entries = std::fs::read_dir(&self.volumes)
            .map_err(|e| StorageError::Io(format!("cannot read {}: {e}", self.volumes.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("vol-") && !name.contains('.') {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                volumes.push((name, size));
            } else if files::temporary_of(&name).is_some_and(|v| !self.working().contains_key(v)) {
                temporaries.push(name);
            } else if let Some((volume, snapshot)) = files::copy_of(&name) {
                copies.push((snapshot.to_owned(), volume.to_owned()));
            }
        }
        volumes.sort();
        temporaries.sort();
        copies.sort();
        let mut exports: Vec<(String, Vec<String>)> = self
            .tgt
            .targets()?
            .into_iter()
            .filter_map(|t| Some((t.volume()?.to_owned(), t.acls.clone())))
            .collect();
        exports.sort();
        Ok(Inventory { volumes, exports, temporaries, copies })
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
