//! The blob store of Yukari's S3 service (Walrus): byte blobs stored once
//! under the SHA-256 of their content. It owns the files under its root and
//! nothing else; it must not know HTTP, S3, buckets, keys, accounts or
//! events. Which blobs are still referenced is the caller's knowledge,
//! handed to [`BlobStore::collect`] as a predicate.
//!
//! # On disk
//!
//! ```text
//! ROOT/blobs/ab/cd/abcd…          the blob's bytes, exactly (64 hex digits: its SHA-256)
//! ROOT/blobs/ab/cd/abcd….sums     its sidecar: the CRC32C of every 1 MiB block
//! ROOT/tmp/put-*.tmp, sums-*.tmp  writes in progress (removed by open())
//! ```
//!
//! ROOT must be one file system: a put renames from `tmp/` into `blobs/`.
//!
//! The sidecar (see [`sums`]) is binary, little-endian: magic `YKBS`,
//! format version (1), the blob's size, the block size, the number of
//! blocks, one CRC32C per block, and a CRC32C of all that. It is written and
//! fsynced in `tmp/`, then renamed into place *before* the blob is, so a
//! blob file never exists without its sidecar (a crash in between leaves
//! only a sidecar, which [`BlobStore::collect`] removes). GC removes the
//! blob first and its sidecar second, for the same reason. A blob whose
//! sidecar is missing, damaged or disagrees with its size is an
//! [`std::io::ErrorKind::InvalidData`] error, never served.
//!
//! # Reads
//!
//! [`BlobStore::get`] reads whole blocks covering the requested range,
//! checks each block's CRC32C, and yields only the requested bytes, one
//! chunk (≤ 1 MiB) per block, reading one block ahead. [`BlobStore::verify`]
//! (a scrub) reads everything and also checks the SHA-256. A get holds the
//! file open, so a GC that removes the blob meanwhile does not cut it short.
//!
//! # Concurrency
//!
//! A put registers the [`Pin`] of its blob and renames the blob into place
//! under one lock, the same lock under which GC checks pins and removes a
//! blob: GC can never remove a blob between its rename and its pin. One
//! `BlobStore` per root at a time: `open` deletes whatever is in `tmp/`.
//!
//! Blocking file I/O runs on tokio's blocking pool (`spawn_blocking`) in
//! the async methods; the synchronous ones (`size`, `contains`, `list`,
//! `stored_bytes`, `collect`) do file I/O on the caller's thread, so call
//! `collect` from `spawn_blocking` in async code.

mod gc;
mod read;
mod store;
pub mod sums;
mod write;

pub use gc::{GcReport, Pin};
pub use read::BlobStream;
pub use store::BlobStore;

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The size of a checksummed block, and the largest chunk a get yields.
pub const BLOCK: u64 = 1 << 20;

/// A blob's name: the SHA-256 of its content, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(pub [u8; 32]);

impl BlobId {
    /// The id of these bytes.
    pub fn of(bytes: &[u8]) -> BlobId {
        BlobId(Sha256::digest(bytes).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({self})")
    }
}

/// A text that is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a blob id is 64 lowercase hex digits")]
pub struct ParseBlobIdError;

impl FromStr for BlobId {
    type Err = ParseBlobIdError;

    fn from_str(text: &str) -> Result<BlobId, ParseBlobIdError> {
        // Only the canonical form: one blob, one name (and one file name).
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(ParseBlobIdError);
        }
        let mut id = [0u8; 32];
        hex::decode_to_slice(text, &mut id).map_err(|_| ParseBlobIdError)?;
        Ok(BlobId(id))
    }
}

/// A blob just stored (or found already stored) by [`BlobStore::put`].
#[derive(Debug, Clone)]
pub struct Written {
    pub id: BlobId,
    pub size: u64,
    /// The MD5 of the content (S3's ETag of a single-part upload).
    pub md5: [u8; 16],
    /// Keeps the blob from GC until the caller has recorded a reference to it.
    pub pin: Pin,
    /// The same content was already stored: nothing new was written.
    pub deduplicated: bool,
}

/// What failed in a put.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the body could not be read: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the blob could not be stored: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse_as_64_lowercase_hex_digits() {
        let id = BlobId::of(b"hello");
        let text = id.to_string();
        assert_eq!(text, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(text.parse::<BlobId>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<BlobId>(), Err(ParseBlobIdError));
        assert_eq!(text[..63].parse::<BlobId>(), Err(ParseBlobIdError));
        assert_eq!(format!("{text}0").parse::<BlobId>(), Err(ParseBlobIdError));
        assert_eq!(format!("{}g", &text[..63]).parse::<BlobId>(), Err(ParseBlobIdError));
    }
}
