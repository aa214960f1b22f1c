//! Gets and scrubs: whole blocks read and checked against the sidecar,
//! then cut to the bytes asked for.

use crate::BlobId;
use crate::store::{BlobStore, absent_is_none};
use crate::sums::Sums;
use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::task::JoinHandle;

/// The bytes of a blob (or of a range of it), in chunks of at most one
/// block. A block that fails its checksum is an `InvalidData` error, after
/// which the stream ends.
pub struct BlobStream {
    chunks: std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
    len: u64,
}

impl BlobStream {
    /// The number of bytes the stream yields when nothing fails.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream").field("len", &self.len).finish_non_exhaustive()
    }
}

impl Stream for BlobStream {
    type Item = io::Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Bytes>>> {
        self.chunks.as_mut().poll_next(cx)
    }
}

/// An open blob and its checked sidecar.
struct Opened {
    id: BlobId,
    file: File,
    sums: Sums,
}

fn damaged(id: &BlobId, why: impl std::fmt::Display) -> io::Error {
    tracing::error!(blob = %id, "stored blob is damaged: {why}");
    io::Error::new(io::ErrorKind::InvalidData, format!("blob {id} is damaged: {why}"))
}

fn joined(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("a blob store task failed: {e}"))
}

impl Opened {
    fn open(store: &BlobStore, id: &BlobId) -> io::Result<Opened> {
        let (blob, sums_path) = store.paths(id);
        let read_sums = || {
            std::fs::read(&sums_path)
                .map_err(|e| damaged(id, format_args!("its sidecar cannot be read: {e}")))
        };
        // The sidecar first: it comes before the blob and goes after it, so
        // a get racing a put or a GC sees both or no blob (or, if the blob
        // came back in between, finds its sidecar on a second look).
        let sums = absent_is_none(std::fs::read(&sums_path))?;
        let file = File::open(&blob).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => io::Error::new(io::ErrorKind::NotFound, format!("no blob {id}")),
            _ => e,
        })?;
        let sums = match sums {
            Some(sums) => sums,
            None => read_sums()?,
        };
        let sums = Sums::decode(&sums).map_err(|e| damaged(id, e))?;
        let len = file.metadata()?.len();
        if len != sums.size {
            return Err(damaged(id, format_args!("{len} bytes where its sidecar says {}", sums.size)));
        }
        Ok(Opened { id: *id, file, sums })
    }

    /// Block `index`, checked.
    fn block(&self, index: u64, buffer: &mut Vec<u8>) -> io::Result<()> {
        buffer.resize(self.sums.block_len(index) as usize, 0);
        self.file.read_exact_at(buffer, index * self.sums.block).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => damaged(&self.id, "shorter than its sidecar says"),
            _ => e,
        })?;
        if !self.sums.check(index, buffer) {
            return Err(damaged(&self.id, format_args!("block {index} fails its checksum")));
        }
        Ok(())
    }
}

/// Where a get stands: the next block to yield, read ahead on the blocking pool.
struct Reading {
    blob: Arc<Opened>,
    range: Range<u64>,
    next: u64,
    blocks: Range<u64>,
    ahead: Option<JoinHandle<io::Result<Bytes>>>,
}

impl Reading {
    fn spawn_next(&mut self) {
        if self.next < self.blocks.end {
            let (blob, index) = (Arc::clone(&self.blob), self.next);
            self.next += 1;
            self.ahead = Some(tokio::task::spawn_blocking(move || {
                let mut buffer = Vec::new();
                blob.block(index, &mut buffer)?;
                Ok(Bytes::from(buffer))
            }));
        }
    }

    async fn step(mut self) -> Option<(io::Result<Bytes>, Reading)> {
        let index = self.next.checked_sub(1)?;
        let block = match self.ahead.take()?.await.map_err(joined) {
            Ok(Ok(block)) => block,
            Ok(Err(e)) | Err(e) => return Some((Err(e), self.stop())),
        };
        self.spawn_next();
        let start = index * self.blob.sums.block;
        let from = self.range.start.max(start) - start;
        let to = self.range.end.min(start + block.len() as u64) - start;
        Some((Ok(block.slice(from as usize..to as usize)), self))
    }

    /// No more after an error.
    fn stop(mut self) -> Reading {
        self.next = self.blocks.end;
        self.ahead = None;
        self
    }
}

impl BlobStore {
    /// Several blobs (or ranges of them) one after the other as one stream:
    /// an object made of parts. Each is opened once the one before it is
    /// done; an error of any ends the stream.
    pub fn concat(
        &self,
        pieces: Vec<(BlobId, Option<Range<u64>>)>,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        use futures::{StreamExt, TryStreamExt};
        let store = self.clone();
        futures::stream::iter(pieces)
            .then(move |(id, range)| {
                let store = store.clone();
                async move { store.get(&id, range).await }
            })
            .try_flatten()
    }

    /// The blob's bytes, or those of `range` (end exclusive), as a stream of
    /// chunks, each block checked before any of its bytes is yielded. A
    /// blob not stored is `NotFound`; a range outside it `InvalidInput`; a
    /// missing or damaged sidecar `InvalidData`.
    pub async fn get(&self, id: &BlobId, range: Option<Range<u64>>) -> io::Result<BlobStream> {
        let (store, id) = (self.clone(), *id);
        let blob = tokio::task::spawn_blocking(move || Opened::open(&store, &id)).await.map_err(joined)??;
        let size = blob.sums.size;
        let range = range.unwrap_or(0..size);
        if range.start > range.end || range.end > size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("range {}..{} is outside blob {id} of {size} bytes", range.start, range.end),
            ));
        }
        let block = blob.sums.block;
        let blocks = if range.is_empty() { 0..0 } else { range.start / block..(range.end - 1) / block + 1 };
        let len = range.end - range.start;
        let mut reading = Reading { blob: Arc::new(blob), range, next: blocks.start, blocks, ahead: None };
        reading.spawn_next();
        let chunks = futures::stream::unfold(reading, Reading::step);
        Ok(BlobStream { chunks: Box::pin(chunks), len })
    }

    /// Reads the whole blob and checks its block checksums and its SHA-256
    /// (a scrub): `InvalidData` if anything is wrong, `NotFound` if absent.
    pub async fn verify(&self, id: &BlobId) -> io::Result<()> {
        let (store, id) = (self.clone(), *id);
        tokio::task::spawn_blocking(move || {
            let blob = Opened::open(&store, &id)?;
            let mut sha = Sha256::new();
            let mut buffer = Vec::with_capacity(blob.sums.block as usize);
            for index in 0..blob.sums.crcs.len() as u64 {
                blob.block(index, &mut buffer)?;
                sha.update(&buffer);
            }
            if BlobId(sha.finalize().into()) != id {
                return Err(damaged(&id, "its content does not match its name"));
            }
            Ok(())
        })
        .await
        .map_err(joined)?
    }
}
