//! Snapshot chunks in Walrus's blob store: a chunk is a blob (both are
//! named by the SHA-256 of their bytes), written with the blob store's own
//! checks (a CRC32C per block, fsync, rename) and read back checked. Walrus
//! collects its blobs' garbage, keeping what live snapshots need, so the
//! storage controller does not.
//!
//! The blob store is async; these calls block on `runtime`, so they must
//! run outside it (on its blocking pool, as the storage controller does).

use crate::StorageError;
use crate::chunks::{ChunkId, ChunkStore, Chunks};
use futures::StreamExt;
use objectstore::{BlobId, BlobStore};
use tokio::runtime::Handle;

/// A chunk is at most this large (snapshot chunks are 4 MiB; manifests of
/// the largest volumes stay well under it).
const CHUNK_LIMIT: u64 = 64 << 20;

#[derive(Clone)]
pub struct BlobChunks {
    blobs: BlobStore,
    runtime: Handle,
}

impl std::fmt::Debug for BlobChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobChunks(walrus)")
    }
}

impl BlobChunks {
    pub fn new(blobs: BlobStore, runtime: Handle) -> BlobChunks {
        BlobChunks { blobs, runtime }
    }
}

fn io(what: &str, id: &ChunkId, e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(format!("{what} chunk {id} in the object store: {e}"))
}

impl Chunks for BlobChunks {
    fn put(&self, bytes: &[u8]) -> Result<(ChunkId, bool), StorageError> {
        let id = ChunkId::of(bytes);
        if self.blobs.contains(&BlobId(id.0)) {
            return Ok((id, false));
        }
        let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(bytes))]);
        let written = self
            .runtime
            .block_on(self.blobs.put(body, CHUNK_LIMIT))
            .map_err(|e| io("cannot store", &id, e))?;
        if written.id.0 != id.0 {
            return Err(StorageError::Corrupt(format!("chunk {id} was stored as blob {}", written.id)));
        }
        Ok((id, !written.deduplicated))
    }

    fn get(&self, id: &ChunkId) -> Result<Vec<u8>, StorageError> {
        let bytes = self.runtime.block_on(async {
            let mut stream = self.blobs.get(&BlobId(id.0), None).await?;
            let mut out = Vec::with_capacity(usize::try_from(stream.len()).unwrap_or(0));
            while let Some(piece) = stream.next().await {
                out.extend_from_slice(&piece?);
            }
            Ok::<_, std::io::Error>(out)
        });
        let bytes = bytes.map_err(|e| io("cannot read", id, e))?;
        if ChunkId::of(&bytes) != *id {
            return Err(StorageError::Corrupt(format!("chunk {id} does not match its content")));
        }
        Ok(bytes)
    }

    fn contains(&self, id: &ChunkId) -> bool {
        self.blobs.contains(&BlobId(id.0))
    }

    fn collectable(&self) -> Option<&ChunkStore> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot;

    #[test]
    fn snapshots_are_taken_into_and_restored_from_the_blob_store() {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let blobs = runtime.block_on(async { BlobStore::open(dir.path().join("objects")) }).unwrap();
        let chunks = BlobChunks::new(blobs.clone(), runtime.handle().clone());
        let volume = dir.path().join("vol");
        let file = std::fs::File::create(&volume).unwrap();
        file.set_len(3 * u64::from(snapshot::CHUNK_SIZE) + 17).unwrap();
        use std::os::unix::fs::FileExt;
        file.write_all_at(b"the first chunk", 5).unwrap();
        file.write_all_at(b"the last one", 3 * u64::from(snapshot::CHUNK_SIZE) + 2).unwrap();
        let taken = snapshot::take(&chunks, &volume, &mut |_, _| {}).unwrap();
        assert_eq!((taken.chunks, taken.written), (4, 2), "zeros are not stored");
        assert!(blobs.contains(&BlobId(taken.manifest.0)), "the manifest is a blob too");
        assert_eq!(blobs.list().unwrap().len(), 3);
        // A second snapshot of the same content writes nothing new.
        let again = snapshot::take(&chunks, &volume, &mut |_, _| {}).unwrap();
        assert_eq!((again.manifest, again.written), (taken.manifest, 0));
        let restored = dir.path().join("restored");
        snapshot::restore(&chunks, &taken.manifest, &restored, 4 * u64::from(snapshot::CHUNK_SIZE)).unwrap();
        let bytes = std::fs::read(&restored).unwrap();
        assert_eq!(&bytes[5..20], b"the first chunk");
        assert_eq!(&bytes[3 * snapshot::CHUNK_SIZE as usize + 2..][..12], b"the last one");
        assert!(chunks.collectable().is_none(), "Walrus collects its own blobs");
        // A damaged blob is an error, never data.
        let manifest = snapshot::manifest(&chunks, &taken.manifest).unwrap();
        let first = manifest.referenced().next().copied().unwrap();
        let path = dir
            .path()
            .join("objects/blobs")
            .join(&first.to_string()[..2])
            .join(&first.to_string()[2..4])
            .join(first.to_string());
        let mut damaged = std::fs::read(&path).unwrap();
        damaged[0] ^= 1;
        std::fs::write(&path, damaged).unwrap();
        assert!(chunks.get(&first).is_err());
    }
}
