//! Puts: the body is streamed to a file in `tmp/` by a writer on the
//! blocking pool (hashing as it writes), then fsynced, its sidecar written
//! and fsynced, and both renamed into `blobs/ab/cd/` under the pin lock.

use crate::gc::Pin;
use crate::store::{BlobStore, sync_dir};
use crate::sums::{Sums, SumsBuilder};
use crate::{BLOCK, BlobId, WriteError, Written};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use tempfile::NamedTempFile;

/// Chunks are handed to the writer in batches of about this many bytes,
/// at most `QUEUE` batches ahead: what a put holds in memory is bounded by
/// these and the writer's buffer, whatever the body's size.
const BATCH: usize = 256 << 10;
const QUEUE: usize = 4;

/// A body written to `tmp/`, not yet fsynced nor named. Dropping it
/// removes the file.
struct Draft {
    file: NamedTempFile,
    id: BlobId,
    size: u64,
    md5: [u8; 16],
    sums: Sums,
}

fn joined(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("a blob store task failed: {e}"))
}

impl BlobStore {
    /// Streams `body` into a new blob and returns its id, size, MD5 and a
    /// [`Pin`] that keeps it from GC. The same content already stored is
    /// not written again. More than `limit` bytes is
    /// [`WriteError::TooLarge`] as soon as they arrive, a body that fails
    /// is [`WriteError::Body`]; either way nothing is left behind. A put
    /// dropped before it finishes leaves nothing behind either.
    pub async fn put<S, E>(&self, mut body: S, limit: u64) -> Result<Written, WriteError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (batches, mut received) = tokio::sync::mpsc::channel::<Vec<Bytes>>(QUEUE);
        let tmp = self.inner.tmp.clone();
        let writer = tokio::task::spawn_blocking(move || -> io::Result<Draft> {
            let file = tempfile::Builder::new().prefix("put-").suffix(".tmp").tempfile_in(&tmp)?;
            let mut out = io::BufWriter::with_capacity(BLOCK as usize, file);
            let (mut sha, mut md5, mut sums) = (Sha256::new(), Md5::new(), SumsBuilder::new(BLOCK));
            while let Some(batch) = received.blocking_recv() {
                for chunk in batch {
                    sha.update(&chunk);
                    md5.update(&chunk);
                    sums.update(&chunk);
                    out.write_all(&chunk)?;
                }
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            let sums = sums.finish();
            Ok(Draft { file, id: BlobId(sha.finalize().into()), size: sums.size, md5: md5.finalize().into(), sums })
        });

        let mut size = 0u64;
        let mut batch = Vec::new();
        let mut batched = 0;
        let outcome = loop {
            let chunk = match body.next().await {
                None => break Ok(()),
                Some(Err(e)) => break Err(WriteError::Body(e.into())),
                Some(Ok(chunk)) => chunk,
            };
            size += chunk.len() as u64;
            if size > limit {
                break Err(WriteError::TooLarge { limit });
            }
            batched += chunk.len();
            batch.push(chunk);
            if batched >= BATCH {
                batched = 0;
                // A failed send means the writer stopped on an error, read below.
                if batches.send(std::mem::take(&mut batch)).await.is_err() {
                    break Ok(());
                }
            }
        };
        if outcome.is_ok() && !batch.is_empty() {
            let _ = batches.send(batch).await;
        }
        drop(batches);
        let draft = writer.await.map_err(joined);
        let store = self.clone();
        // Naming or discarding the draft both touch files: on the blocking pool.
        tokio::task::spawn_blocking(move || match (outcome, draft) {
            (Ok(()), draft) => store.finish(draft??),
            (Err(e), Ok(Ok(draft))) => {
                if let Err(close) = draft.file.close() {
                    tracing::warn!(error = %close, "cannot remove a refused blob's temporary file");
                }
                Err(e)
            }
            // The writer's own failure dropped (removed) its file.
            (Err(e), _) => Err(e),
        })
        .await
        .map_err(joined)?
    }

    /// Makes a draft a blob: fsync, sidecar, renames, pin.
    fn finish(&self, draft: Draft) -> Result<Written, WriteError> {
        let Draft { file, id, size, md5, sums } = draft;
        let written = |pin, deduplicated| Written { id, size, md5, pin, deduplicated };
        if let Some(pin) = self.pin_if_stored(&mut self.inner.pins.lock(), id, size) {
            self.touch(&id);
            return Ok(written(pin, true));
        }
        file.as_file().sync_all()?;
        let mut sidecar = tempfile::Builder::new().prefix("sums-").suffix(".tmp").tempfile_in(&self.inner.tmp)?;
        sidecar.write_all(&sums.encode())?;
        sidecar.as_file().sync_all()?;
        let created = self.make_folder(&id)?;
        let (blob_path, sums_path) = self.paths(&id);

        let mut table = self.inner.pins.lock();
        if let Some(pin) = self.pin_if_stored(&mut table, id, size) {
            drop(table);
            self.touch(&id);
            return Ok(written(pin, true));
        }
        let pin = Pin::register(&self.inner.pins, &mut table, id);
        // The sidecar first: a blob file never exists without one.
        sidecar.persist(&sums_path).map_err(|e| e.error)?;
        file.persist(&blob_path).map_err(|e| e.error)?;
        drop(table);

        for folder in created {
            sync_dir(&folder)?;
        }
        Ok(written(pin, false))
    }

    /// A pin on the blob if it is stored whole (its size and a sidecar);
    /// the caller holds the pin lock.
    fn pin_if_stored(&self, table: &mut HashMap<BlobId, usize>, id: BlobId, size: u64) -> Option<Pin> {
        let (blob, sums) = self.paths(&id);
        let whole = std::fs::metadata(blob).is_ok_and(|m| m.len() == size) && sums.is_file();
        whole.then(|| Pin::register(&self.inner.pins, table, id))
    }

    /// Restarts the grace period of a blob stored again.
    fn touch(&self, id: &BlobId) {
        let path = self.paths(id).0;
        if let Err(e) = std::fs::File::open(&path).and_then(|f| f.set_modified(std::time::SystemTime::now())) {
            tracing::warn!(blob = %id, error = %e, "cannot restart a deduplicated blob's grace period");
        }
    }

    /// Creates `blobs/ab/cd` as needed; returns the folders to fsync once
    /// the blob is in, deepest first (a new folder's parent too).
    fn make_folder(&self, id: &BlobId) -> io::Result<Vec<PathBuf>> {
        let leaf = self.folder(id);
        let mut to_sync = vec![leaf.clone()];
        let mid = leaf.parent().map(PathBuf::from).unwrap_or_default();
        for (folder, parent) in [(&mid, &self.inner.blobs), (&leaf, &mid)] {
            match std::fs::DirBuilder::new().mode(0o700).create(folder) {
                Ok(()) => to_sync.push(parent.clone()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        to_sync.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        to_sync.dedup();
        Ok(to_sync)
    }
}
