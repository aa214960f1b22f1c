//! The storage seam: what the storage controller asks of its store
//! (volumes, exports, snapshots) and what it gets back. Every action is
//! idempotent, so it may be repeated after a crash or a lost answer; calls
//! block (files, tgtadm), so async callers run them on the blocking pool.

use crate::StorageError;
use crate::chunks::ChunkId;
use crate::snapshot::Taken;

/// Access to a volume for one attachment: the initiator name the node's
/// QEMU logs in with (`iqn.2026-12.io.yukari:att-<random>`), the target's
/// only ACL entry while the attachment lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub initiator: String,
    /// The attachment's CHAP account, which the initiator must log in
    /// with too (the initiator name travels in clear at login; the CHAP
    /// secret never does).
    pub chap: Option<Chap>,
}

/// A CHAP account: user name and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Chap {
    pub user: String,
    pub secret: String,
}

impl std::fmt::Debug for Chap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chap({}, <secret>)", self.user)
    }
}

/// Where an exported volume is: what a node's initiator connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub iqn: String,
    pub lun: u32,
    /// `HOST:PORT`.
    pub portal: String,
}

/// What the store holds, for reconciliation against the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Volumes and their sizes in bytes.
    pub volumes: Vec<(String, u64)>,
    /// Exported volumes and the initiators allowed in to each.
    pub exports: Vec<(String, Vec<String>)>,
    /// Temporary files no call is writing now (left by a crash or a
    /// failure: a half-made volume, a snapshot's copy), by name.
    pub temporaries: Vec<String>,
    /// Complete point-in-time copies ([`StorageDriver::freeze`]) not yet
    /// cut into chunks: (snapshot, volume).
    pub copies: Vec<(String, String)>,
}

/// A snapshot whose point-in-time copy to take: (snapshot, volume).
pub type Freeze<'a> = (&'a str, &'a str);

pub trait StorageDriver: Send + Sync + 'static {
    /// Short name for logs: `"tgt"`, `"sim"`.
    fn name(&self) -> &str;

    /// Do calls block on I/O? A blocking store (tgt, files) is worked on
    /// the blocking thread pool; the others in line.
    fn blocks(&self) -> bool {
        true
    }

    /// The address initiators reach this store at (`HOST:PORT`).
    fn portal(&self) -> String;

    /// A new empty volume of `size` bytes; an existing one of that size is `Ok`.
    fn create(&self, volume: &str, size: u64) -> Result<(), StorageError>;

    /// A new volume of `size` bytes holding snapshot `snapshot`.
    fn restore(&self, volume: &str, size: u64, snapshot: &ChunkId) -> Result<(), StorageError>;

    /// Removes the volume and its export; absent is `Ok`.
    fn delete(&self, volume: &str) -> Result<(), StorageError>;

    /// Exports the volume (if not yet) and lets `grant` in, and only it:
    /// a volume has one attachment at a time, so another grant still
    /// there is stale and is revoked.
    fn export(&self, volume: &str, grant: &Grant) -> Result<Export, StorageError>;

    /// Takes `initiator` out: no session of the target survives, and the
    /// export goes. A grant that is not the volume's current one
    /// (replaced, or never made) is `Ok`.
    fn revoke(&self, volume: &str, initiator: &str) -> Result<(), StorageError>;

    /// The first step of a snapshot: the point-in-time copy of each
    /// volume of `snapshots`, taken together (every writer held, every
    /// copy made, every writer resumed), so the set is one point in time,
    /// consistent even while guests write. A copy is complete and durable
    /// once this returns and is kept until [`StorageDriver::snapshot`] has
    /// cut it or [`StorageDriver::discard`] drops it; a snapshot that has
    /// a complete copy already keeps it. One result per snapshot, in order.
    fn freeze(&self, snapshots: &[Freeze<'_>]) -> Vec<Result<(), StorageError>>;

    /// The second step: cuts `snapshot`'s copy of `volume` into chunks
    /// (freezing it first if it has no copy), then drops the copy;
    /// `progress` hears (bytes done, bytes in all).
    fn snapshot(
        &self,
        snapshot: &str,
        volume: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Taken, StorageError>;

    /// Drops `snapshot`'s copy of `volume` (a snapshot no longer wanted);
    /// `true` if there was one.
    fn discard(&self, snapshot: &str, volume: &str) -> Result<bool, StorageError>;

    /// Removes the chunks that no snapshot in `live` (manifest ids) needs;
    /// returns how many were removed. No snapshot may be in progress.
    fn collect_garbage(&self, live: &[ChunkId]) -> Result<usize, StorageError>;

    /// Removes every export of `volume` (an orphan target), keeping the volume.
    fn unexport(&self, volume: &str) -> Result<(), StorageError>;

    /// What the store holds now.
    fn inventory(&self) -> Result<Inventory, StorageError>;

    /// Removes the temporary file `name` of [`Inventory::temporaries`],
    /// unless a call is writing it now; `true` if it was removed.
    fn remove_temporary(&self, name: &str) -> Result<bool, StorageError> {
        let _ = name;
        Ok(false)
    }
}
