//! Content-addressed chunks: each stored once under its SHA-256, in
//! `DIR/ab/abcdef…`, written to a temporary file, fsynced and renamed, and
//! checked against its name whenever it is read, so a flipped byte is an
//! error, never data. Snapshots are lists of chunks (see `snapshot`); the
//! object store will keep its blobs the same way.

use crate::StorageError;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A chunk's name: the SHA-256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkId(pub [u8; 32]);

impl ChunkId {
    pub fn of(bytes: &[u8]) -> ChunkId {
        ChunkId(Sha256::digest(bytes).into())
    }

    pub fn parse(hex_text: &str) -> Option<ChunkId> {
        let mut id = [0u8; 32];
        hex::decode_to_slice(hex_text, &mut id).ok()?;
        Some(ChunkId(id))
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkId({self})")
    }
}

/// Where a storage controller keeps snapshot chunks: a folder of its own
/// ([`ChunkStore`]), or Walrus's blob store ([`crate::BlobChunks`]).
/// Calls block.
pub trait Chunks: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` (durably) unless a chunk of the same content is
    /// there; returns its id and whether it was written now.
    fn put(&self, bytes: &[u8]) -> Result<(ChunkId, bool), StorageError>;

    /// The chunk's bytes, checked against its id.
    fn get(&self, id: &ChunkId) -> Result<Vec<u8>, StorageError>;

    fn contains(&self, id: &ChunkId) -> bool;

    /// Every chunk stored and its removal, for the storage controller's
    /// garbage collection; `None` when the store is shared and collected
    /// by its owner (Walrus keeps what live snapshots need).
    fn collectable(&self) -> Option<&ChunkStore>;
}

impl Chunks for ChunkStore {
    fn put(&self, bytes: &[u8]) -> Result<(ChunkId, bool), StorageError> {
        ChunkStore::put(self, bytes)
    }

    fn get(&self, id: &ChunkId) -> Result<Vec<u8>, StorageError> {
        ChunkStore::get(self, id)
    }

    fn contains(&self, id: &ChunkId) -> bool {
        ChunkStore::contains(self, id)
    }

    fn collectable(&self) -> Option<&ChunkStore> {
        Some(self)
    }
}

/// The chunks under one folder.
#[derive(Clone, Debug)]
pub struct ChunkStore {
    dir: PathBuf,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Io(format!("{what} {}: {e}", path.display()))
}

impl ChunkStore {
    pub fn open(dir: impl Into<PathBuf>) -> Result<ChunkStore, StorageError> {
        let dir = dir.into();
        crate::files::private_dir(&dir)?;
        Ok(ChunkStore { dir })
    }

    fn path(&self, id: &ChunkId) -> PathBuf {
        let name = id.to_string();
        self.dir.join(&name[..2]).join(name)
    }

    pub fn contains(&self, id: &ChunkId) -> bool {
        self.path(id).is_file()
    }

    /// Stores `bytes` (durably) unless a chunk of the same content is
    /// there; returns its id and whether it was written now.
    pub fn put(&self, bytes: &[u8]) -> Result<(ChunkId, bool), StorageError> {
        let id = ChunkId::of(bytes);
        let path = self.path(&id);
        if path.is_file() {
            return Ok((id, false));
        }
        let folder = path.parent().expect("a chunk has a folder");
        crate::files::private_dir(folder)?;
        let tmp = folder.join(format!(".{id}.{}.tmp", std::process::id()));
        let mut file = crate::files::private_file(&tmp)?;
        file.write_all(bytes).and_then(|_| file.sync_all()).map_err(|e| io("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io("cannot rename", &tmp, e))?;
        crate::files::sync_dir(folder)?;
        Ok((id, true))
    }

    /// The chunk's bytes, checked against its id.
    pub fn get(&self, id: &ChunkId) -> Result<Vec<u8>, StorageError> {
        let path = self.path(id);
        let bytes = std::fs::read(&path).map_err(|e| io("cannot read", &path, e))?;
        if ChunkId::of(&bytes) != *id {
            return Err(StorageError::Corrupt(format!("chunk {id} does not match its content")));
        }
        Ok(bytes)
    }

    /// Removes a chunk; absent is fine.
    pub fn remove(&self, id: &ChunkId) -> Result<(), StorageError> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("cannot remove", &path, e)),
            _ => Ok(()),
        }
    }

    /// Every chunk stored (for garbage collection).
    pub fn list(&self) -> Result<Vec<ChunkId>, StorageError> {
        let mut out = Vec::new();
        let top = std::fs::read_dir(&self.dir).map_err(|e| io("cannot read", &self.dir, e))?;
        for folder in top.flatten() {
            let Ok(inner) = std::fs::read_dir(folder.path()) else { continue };
            for entry in inner.flatten() {
                if let Some(id) = entry.file_name().to_str().and_then(ChunkId::parse) {
                    out.push(id);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_stored_once_and_checked_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path().join("chunks")).unwrap();
        let (a, new) = store.put(b"hello").unwrap();
        assert!(new);
        assert_eq!(store.put(b"hello").unwrap(), (a, false));
        assert_eq!(store.get(&a).unwrap(), b"hello");
        assert_eq!(a.to_string(), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        let (b, _) = store.put(b"world").unwrap();
        assert_eq!(store.list().unwrap(), {
            let mut v = vec![a, b];
            v.sort();
            v
        });
        // A flipped byte is an error, never data.
        std::fs::write(store.path(&a), b"hellO").unwrap();
        assert!(matches!(store.get(&a), Err(StorageError::Corrupt(_))));
        store.remove(&a).unwrap();
        store.remove(&a).unwrap();
        assert!(!store.contains(&a));
    }
}
