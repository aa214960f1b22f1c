//! Elastic Block Store: volumes, their attachments to instances, their
//! snapshots, and each zone's block storage (the capacity its storage
//! controller offers). docs/adr/0013-block-storage.md.
//!
//! Every multi-step operation is a saga whose steps are events of the
//! volume's (or snapshot's) stream: create (requested → created | failed),
//! attach (requested with its grant → exported by the storage controller →
//! attached by the node | failed), detach (requested → released by the
//! node → revoked by the storage controller → available), delete
//! (requested → deleted), snapshot (requested → progress → completed |
//! failed). Each transitional state has a deadline after which
//! [`ExpireVolume`] / [`ExpireSnapshot`] record a failure, so nothing stays
//! stuck.

mod commands;
mod events;
mod launch;
mod reports;
mod snapshots;
mod state;

pub use commands::*;
pub use events::*;
pub use launch::{BlockDevice, LaunchVolume};
pub(crate) use launch::{
    LaunchImage, attach_planned, check_block_devices, launch_volumes, set_delete_on_termination,
};
pub use reports::*;
pub use snapshots::*;
pub use state::*;

/// How long each transitional state may last, in milliseconds.
pub mod deadlines {
    /// creating: making (or restoring) the volume's file.
    pub const CREATING: i64 = 30 * 60 * 1000;
    /// attaching: export at the storage controller and hot-plug at the node.
    pub const ATTACHING: i64 = 3 * 60 * 1000;
    /// detaching: the node's unplug (then the export is revoked anyway).
    pub const DETACHING: i64 = 3 * 60 * 1000;
    /// deleting: removing the volume's export and file.
    pub const DELETING: i64 = 10 * 60 * 1000;
    /// pending: taking a snapshot.
    pub const SNAPSHOT: i64 = 2 * 60 * 60 * 1000;
}

/// The largest volume, in GiB (EC2's for standard volumes is 1 TiB, gp2
/// and gp3 16 TiB).
pub const MAX_VOLUME_GIB: u32 = 16 * 1024;
