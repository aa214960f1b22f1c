//! The store's folders: where a blob lives, opening (and cleaning up after
//! a crash), listing, sizes.

use crate::gc::Pins;
use crate::{BlobId, Pin};
use std::fs::File;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Byte blobs by content under one root. Cheap to clone; all clones share
/// the same pins.
#[derive(Clone, Debug)]
pub struct BlobStore {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) blobs: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) pins: Arc<Pins>,
}

/// A folder only this user may enter (with its parents).
pub(crate) fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Makes a folder's entries (a rename, a new file, a removal) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `Ok(None)` for a file that is not there.
pub(crate) fn absent_is_none<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl BlobStore {
    /// Opens the store at `root`, creating `root/blobs` and `root/tmp`, and
    /// deletes whatever `tmp` holds: writes cut short by a crash.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<BlobStore> {
        let root = root.into();
        let blobs = root.join("blobs");
        let tmp = root.join("tmp");
        private_dir(&blobs)?;
        private_dir(&tmp)?;
        let mut leftovers = 0;
        for entry in std::fs::read_dir(&tmp)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
            }
            leftovers += 1;
        }
        if leftovers > 0 {
            tracing::warn!(root = %root.display(), leftovers, "removed unfinished blob writes");
            sync_dir(&tmp)?;
        }
        Ok(BlobStore { inner: Arc::new(Inner { blobs, tmp, pins: Arc::default() }) })
    }

    /// The folder of a blob: `blobs/ab/cd`.
    pub(crate) fn folder(&self, id: &BlobId) -> PathBuf {
        let name = id.to_string();
        self.inner.blobs.join(&name[..2]).join(&name[2..4])
    }

    /// The blob's file and its sidecar.
    pub(crate) fn paths(&self, id: &BlobId) -> (PathBuf, PathBuf) {
        let folder = self.folder(id);
        let name = id.to_string();
        (folder.join(&name), folder.join(format!("{name}.sums")))
    }

    /// The blob's size in bytes, `None` if it is not stored.
    pub fn size(&self, id: &BlobId) -> io::Result<Option<u64>> {
        Ok(absent_is_none(std::fs::metadata(self.paths(id).0))?.map(|m| m.len()))
    }

    pub fn contains(&self, id: &BlobId) -> bool {
        self.paths(id).0.is_file()
    }

    /// Pins a blob already stored (before recording a new reference to it,
    /// as a copy does); `None` if it is not stored.
    pub fn pin(&self, id: &BlobId) -> Option<Pin> {
        let mut pinned = self.inner.pins.lock();
        self.contains(id).then(|| Pin::register(&self.inner.pins, &mut pinned, *id))
    }

    /// Visits every blob file: its id and path, sorted by id.
    pub(crate) fn walk(&self, mut each: impl FnMut(BlobId, PathBuf) -> io::Result<()>) -> io::Result<()> {
        for top in sorted_dir(&self.inner.blobs)? {
            for folder in sorted_dir(&top)? {
                for file in sorted_dir(&folder)? {
                    let id = file.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<BlobId>().ok());
                    if let Some(id) = id {
                        each(id, file)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Every stored blob, sorted.
    pub fn list(&self) -> io::Result<Vec<BlobId>> {
        let mut out = Vec::new();
        self.walk(|id, _| {
            out.push(id);
            Ok(())
        })?;
        Ok(out)
    }

    /// The bytes of all stored blobs (their sidecars, 4 bytes per MiB, not counted).
    pub fn stored_bytes(&self) -> io::Result<u64> {
        let mut total = 0;
        self.walk(|_, path| {
            total += absent_is_none(std::fs::metadata(path))?.map_or(0, |m| m.len());
            Ok(())
        })?;
        Ok(total)
    }
}

/// A folder's entries, sorted; a folder removed meanwhile is empty.
pub(crate) fn sorted_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let Some(entries) = absent_is_none(std::fs::read_dir(dir))? else { return Ok(Vec::new()) };
    let mut out = entries.map(|e| e.map(|e| e.path())).collect::<io::Result<Vec<_>>>()?;
    out.sort();
    Ok(out)
}
