//! Snapshots as lists of chunks: a volume is cut into 4 MiB chunks, each
//! stored by content in the chunk store (so a chunk a snapshot shares with
//! an earlier one is not written again, and zeros are not stored at all),
//! and the list itself — the manifest — is stored as a chunk too, so one id
//! names a whole snapshot. Restoring writes the chunks back into a new
//! sparse file of equal or larger size.

use crate::StorageError;
use crate::chunks::{ChunkId, Chunks};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The size of a chunk of a volume.
pub const CHUNK_SIZE: u32 = 4 << 20;

const MAGIC: &str = "yukari-snapshot 1";

/// What a snapshot holds: the volume's size and, chunk by chunk, its
/// content (`None`: zeros).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub size: u64,
    pub chunk_size: u32,
    pub chunks: Vec<Option<ChunkId>>,
}

impl Manifest {
    /// The manifest as stored: a short text, one line per chunk.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{MAGIC}\nsize {}\nchunk {}\n", self.size, self.chunk_size);
        for chunk in &self.chunks {
            match chunk {
                Some(id) => out.push_str(&id.to_string()),
                None => out.push('-'),
            }
            out.push('\n');
        }
        out.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Manifest, StorageError> {
        let bad = |why: &str| StorageError::Corrupt(format!("snapshot manifest: {why}"));
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not text"))?;
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(bad("unknown format"));
        }
        let mut number = |name: &str| -> Result<u64, StorageError> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| bad(name))
        };
        let size = number("size ")?;
        let chunk_size = u32::try_from(number("chunk ")?).map_err(|_| bad("chunk size"))?;
        if chunk_size == 0 {
            return Err(bad("chunk size"));
        }
        let chunks =
            lines
                .map(|l| {
                    if l == "-" {
                        Ok(None)
                    } else {
                        ChunkId::parse(l).map(Some).ok_or_else(|| bad("chunk id"))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
        if chunks.len() as u64 != size.div_ceil(u64::from(chunk_size)) {
            return Err(bad("chunk count"));
        }
        Ok(Manifest { size, chunk_size, chunks })
    }

    /// The chunks the snapshot needs (for garbage collection).
    pub fn referenced(&self) -> impl Iterator<Item = &ChunkId> {
        self.chunks.iter().flatten()
    }
}

/// What taking a snapshot did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Taken {
    /// The manifest's chunk: the snapshot's name in the store.
    pub manifest: ChunkId,
    pub chunks: usize,
    /// Chunks written now (the others were there already, or zeros).
    pub written: usize,
    pub bytes_written: u64,
}

/// Cuts the file at `path` into chunks stored in `store`. `progress` hears
/// (bytes done, bytes in all) after each chunk. The file must not change
/// meanwhile (the caller holds its writers or works on a copy).
pub fn take(
    store: &dyn Chunks,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Taken, StorageError> {
    let file =
        File::open(path).map_err(|e| StorageError::Io(format!("cannot open {}: {e}", path.display())))?;
    let size = file.metadata().map_err(|e| StorageError::Io(e.to_string()))?.len();
    let data = crate::files::data_ranges(&file, size)?;
    let chunk = u64::from(CHUNK_SIZE);
    let count = size.div_ceil(chunk);
    let mut buffer = vec![0u8; CHUNK_SIZE as usize];
    let (mut chunks, mut written, mut bytes_written) = (Vec::with_capacity(count as usize), 0, 0);
    for index in 0..count {
        let start = index * chunk;
        let end = (start + chunk).min(size);
        let holds_data = data.iter().any(|&(a, b)| a < end && b > start);
        let id = if holds_data {
            let part = &mut buffer[..(end - start) as usize];
            file.read_exact_at(part, start)
                .map_err(|e| StorageError::Io(format!("cannot read {}: {e}", path.display())))?;
            if part.iter().all(|b| *b == 0) {
                None
            } else {
                let (id, new) = store.put(part)?;
                if new {
                    written += 1;
                    bytes_written += part.len() as u64;
                }
                Some(id)
            }
        } else {
            None
        };
        chunks.push(id);
        progress(end, size);
    }
    let manifest = Manifest { size, chunk_size: CHUNK_SIZE, chunks };
    let (id, _) = store.put(&manifest.encode())?;
    Ok(Taken { manifest: id, chunks: manifest.chunks.len(), written, bytes_written })
}

/// The manifest of the snapshot `id`.
pub fn manifest(store: &dyn Chunks, id: &ChunkId) -> Result<Manifest, StorageError> {
    Manifest::decode(&store.get(id)?)
}

/// Writes snapshot `id` into a new sparse file at `path` of `size` bytes
/// (at least the snapshot's), through a temporary name; every chunk is
/// checked as it is read.
pub fn restore(store: &dyn Chunks, id: &ChunkId, path: &Path, size: u64) -> Result<(), StorageError> {
    let manifest = manifest(store, id)?;
    if size < manifest.size {
        return Err(StorageError::Io(format!(
            "a snapshot of {} bytes does not fit in {size} bytes",
            manifest.size
        )));
    }
    let tmp = path.with_extension("restoring");
    let written = write_restore(store, &manifest, &tmp, size)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| StorageError::Io(e.to_string())));
    if let Err(e) = written {
        // A volume-sized temporary must not outlive a failed restore.
        if let Err(rm) = std::fs::remove_file(&tmp)
            && rm.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %tmp.display(), error = %rm, "cannot remove a failed restore's file");
        }
        return Err(e);
    }
    crate::files::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// The snapshot's chunks written into a new file `tmp` of `size` bytes.
fn write_restore(store: &dyn Chunks, manifest: &Manifest, tmp: &Path, size: u64) -> Result<(), StorageError> {
    let file = crate::files::private_file(tmp)?;
    file.set_len(size).map_err(|e| StorageError::Io(e.to_string()))?;
    for (index, chunk) in manifest.chunks.iter().enumerate() {
        if let Some(chunk) = chunk {
            let bytes = store.get(chunk)?;
            file.write_all_at(&bytes, index as u64 * u64::from(manifest.chunk_size))
                .map_err(|e| StorageError::Io(format!("cannot write {}: {e}", tmp.display())))?;
        }
    }
    file.sync_all().map_err(|e| StorageError::Io(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChunkStore;

    fn write_at(path: &Path, at: u64, bytes: &[u8]) {
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.write_all_at(bytes, at).unwrap();
    }

    #[test]
    fn a_second_snapshot_writes_only_the_chunks_that_changed_and_restores_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path().join("chunks")).unwrap();
        let vol = dir.path().join("vol");
        crate::files::create_sparse(&vol, 40 << 20).unwrap();
        for i in 0..10u64 {
            write_at(&vol, i * u64::from(CHUNK_SIZE) + 100, format!("chunk {i}").as_bytes());
        }
        let mut seen = Vec::new();
        let first = take(&store, &vol, &mut |done, all| seen.push((done, all))).unwrap();
        assert_eq!((first.chunks, first.written), (10, 10));
        assert_eq!(seen.last(), Some(&(40 << 20, 40 << 20)));
        // One chunk changes, one becomes zeros: one chunk written.
        write_at(&vol, 3 * u64::from(CHUNK_SIZE) + 100, b"CHANGED");
        write_at(&vol, 5 * u64::from(CHUNK_SIZE) + 100, &[0u8; 7]);
        let second = take(&store, &vol, &mut |_, _| {}).unwrap();
        assert_eq!(second.written, 1);
        assert_ne!(first.manifest, second.manifest);
        assert_eq!(manifest(&store, &second.manifest).unwrap().chunks[5], None);
        // Restored, into the same size and into a larger one.
        let back = dir.path().join("back");
        restore(&store, &second.manifest, &back, 40 << 20).unwrap();
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&vol).unwrap());
        let bigger = dir.path().join("bigger");
        restore(&store, &first.manifest, &bigger, 48 << 20).unwrap();
        let bytes = std::fs::read(&bigger).unwrap();
        assert_eq!(bytes.len(), 48 << 20);
        assert_eq!(&bytes[3 * CHUNK_SIZE as usize + 100..][..7], b"chunk 3");
        assert!(restore(&store, &first.manifest, &dir.path().join("small"), 1 << 20).is_err());
    }

    #[test]
    fn a_restore_that_fails_half_way_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path().join("chunks")).unwrap();
        let vol = dir.path().join("vol");
        crate::files::create_sparse(&vol, 16 << 20).unwrap();
        write_at(&vol, 100, b"first chunk");
        write_at(&vol, 3 * u64::from(CHUNK_SIZE) + 100, b"last chunk");
        let taken = take(&store, &vol, &mut |_, _| {}).unwrap();
        let last = manifest(&store, &taken.manifest).unwrap().chunks[3].unwrap();
        store.remove(&last).unwrap();
        let back = dir.path().join("vol-00000000000000001");
        assert!(restore(&store, &taken.manifest, &back, 16 << 20).is_err(), "a chunk is missing");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("vol-"))
            .collect();
        assert!(left.is_empty(), "no volume nor temporary is left: {left:?}");
    }

    #[test]
    fn an_empty_volume_stores_no_chunk_but_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path().join("chunks")).unwrap();
        let vol = dir.path().join("vol");
        crate::files::create_sparse(&vol, (1 << 30) + 1).unwrap();
        let taken = take(&store, &vol, &mut |_, _| {}).unwrap();
        assert_eq!((taken.chunks, taken.written), (257, 0));
        assert_eq!(store.list().unwrap(), vec![taken.manifest]);
    }

    proptest::proptest! {
        #[test]
        fn manifests_round_trip_and_garbage_never_panics(
            size in 0u64..(1 << 40),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let count = size.div_ceil(u64::from(CHUNK_SIZE)).min(64);
            let size = size.min(count * u64::from(CHUNK_SIZE));
            let chunks = (0..count).map(|i| (i % 3 != 0).then(|| ChunkId::of(&i.to_le_bytes()))).collect();
            let m = Manifest { size, chunk_size: CHUNK_SIZE, chunks };
            proptest::prop_assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
            let _ = Manifest::decode(&bytes);
        }
    }
}
