//! Puts: the body is received on the runtime in batches of about 1 MiB;
//! each batch is written (with its SHA-256 and block CRCs) and hashed with
//! MD5 by two jobs on the blocking pool (MD5 alone takes about as long as
//! SHA-256 and the write together), in parallel with each other
//! and with the receipt of the next batch. No thread waits on a slow
//! client, and a put holds two batches at most, whatever the body's size.
//! At the end the file is fsynced, its sidecar written and fsynced, and
//! both renamed into `blobs/ab/cd/` under the pin lock.

use crate::gc::Pin;
use crate::store::{BlobStore, sync_dir};
use crate::sums::{Sums, SumsBuilder};
use crate::{BLOCK, BlobId, WriteError, Written};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use tempfile::NamedTempFile;
use tokio::task::{JoinHandle, spawn_blocking};

/// The size of the batches handed to the blocking jobs.
const BATCH: usize = 1 << 20;

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

/// The file being written and what is computed along with it.
struct Sink {
    out: BufWriter<NamedTempFile>,
    sha: Sha256,
    sums: SumsBuilder,
}

/// The writer's state: idle between batches, or busy with one.
enum Writer {
    Idle(Sink, Md5),
    Busy(JoinHandle<io::Result<Sink>>, JoinHandle<Md5>),
}

impl Writer {
    /// Waits for the batch in hand, if any.
    async fn settle(self) -> io::Result<(Sink, Md5)> {
        match self {
            Writer::Idle(sink, md5) => Ok((sink, md5)),
            Writer::Busy(sink, md5) => Ok((sink.await.map_err(joined)??, md5.await.map_err(joined)?)),
        }
    }

    /// Hands over the next batch once the previous one is done.
    async fn feed(self, batch: Vec<Bytes>) -> io::Result<Writer> {
        let (mut sink, mut md5) = self.settle().await?;
        let hashed = batch.clone();
        let written = spawn_blocking(move || {
            for chunk in &batch {
                sink.sha.update(chunk);
                sink.sums.update(chunk);
                sink.out.write_all(chunk)?;
            }
            Ok(sink)
        });
        let hashed = spawn_blocking(move || {
            for chunk in &hashed {
                md5.update(chunk);
            }
            md5
        });
        Ok(Writer::Busy(written, hashed))
    }
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
        let tmp = self.inner.tmp.clone();
        let file =
            spawn_blocking(move || tempfile::Builder::new().prefix("put-").suffix(".tmp").tempfile_in(tmp))
                .await
                .map_err(joined)??;
        let sink = Sink {
            out: BufWriter::with_capacity(BLOCK as usize, file),
            sha: Sha256::new(),
            sums: SumsBuilder::new(BLOCK),
        };
        let mut writer = Writer::Idle(sink, Md5::new());

        let (mut size, mut batch, mut batched) = (0u64, Vec::new(), 0);
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
                writer = writer.feed(std::mem::take(&mut batch)).await?;
            }
        };
        if outcome.is_ok() && !batch.is_empty() {
            writer = writer.feed(batch).await?;
        }
        let settled = writer.settle().await;
        let store = self.clone();
        // Naming or discarding the file both touch the disk: on the blocking pool.
        spawn_blocking(move || {
            let (sink, md5) = settled?;
            if let Err(e) = outcome {
                if let Err(close) = sink.out.into_parts().0.close() {
                    tracing::warn!(error = %close, "cannot remove a refused blob's temporary file");
                }
                return Err(e);
            }
            let file = sink.out.into_inner().map_err(|e| e.into_error())?;
            let sums = sink.sums.finish();
            let (id, md5) = (BlobId(sink.sha.finalize().into()), md5.finalize().into());
            store.finish(Draft { file, id, size: sums.size, md5, sums })
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
        let mut sidecar =
            tempfile::Builder::new().prefix("sums-").suffix(".tmp").tempfile_in(&self.inner.tmp)?;
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
        if let Err(e) = std::fs::File::open(&path).and_then(|f| f.set_modified(std::time::SystemTime::now()))
        {
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
