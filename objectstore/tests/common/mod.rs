//! Helpers shared by the integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use futures::{Stream, StreamExt};
use objectstore::{BlobId, BlobStore};
use std::io;
use std::path::{Path, PathBuf};

pub const MIB: usize = 1 << 20;

pub fn store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    (dir, store)
}

/// `len` bytes that do not repeat (xorshift from `seed`).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `bytes` as a body of `piece`-sized chunks.
pub fn body(
    bytes: &[u8],
    piece: usize,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Unpin + Send + use<> {
    let chunks: Vec<_> = bytes.chunks(piece.max(1)).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures::stream::iter(chunks)
}

pub async fn read_all(mut stream: objectstore::BlobStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        assert!(chunk.len() <= MIB, "a chunk of {} bytes", chunk.len());
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The file of a blob, by the documented layout `blobs/ab/cd/abcd…`.
pub fn blob_path(root: &Path, id: &BlobId) -> PathBuf {
    let name = id.to_string();
    root.join("blobs").join(&name[..2]).join(&name[2..4]).join(&name)
}

pub fn sums_path(root: &Path, id: &BlobId) -> PathBuf {
    blob_path(root, id).with_extension("sums")
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out.sort();
    out
}
