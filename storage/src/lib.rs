//! Yukari's storage controller: Eucalyptus's SC. It keeps EBS volumes as
//! sparse raw files, exports them over iSCSI through a `tgtd` it starts and
//! owns (one target per volume, open to one attachment's initiator name,
//! revoked on detach), and takes snapshots as content-addressed, checksummed chunks
//! (a second snapshot writes only what changed).
//!
//! It must not know HTTP, the API or how the controller decides: the
//! drivers here act on volumes by id, idempotently, behind the
//! [`StorageDriver`] trait — the real one ([`TgtDriver`]: files and tgt)
//! and a simulated one ([`SimStorage`]) for tests and benchmarks.

mod blob_chunks;
pub mod chunks;
pub mod controller;
mod driver;
pub mod files;
mod sim;
pub mod snapshot;
pub mod tgt;
mod tgt_driver;

pub use blob_chunks::BlobChunks;
pub use chunks::{ChunkId, ChunkStore, Chunks};
pub use controller::{Reconciler, StorageReport, Wanted, WantedSnapshot, WantedVolume};
pub use driver::{Chap, Export, Freeze, Grant, Inventory, StorageDriver};
pub use sim::SimStorage;
pub use snapshot::{Manifest, Taken};
pub use tgt::{Tgt, TgtConfig};
pub use tgt_driver::TgtDriver;

/// What failed in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("storage I/O failed: {0}")]
    Io(String),
    #[error("the iSCSI target failed: {0}")]
    Target(String),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("volume {0} does not exist on this storage controller")]
    NoVolume(String),
}
