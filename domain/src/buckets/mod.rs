//! Walrus, Yukari's S3: buckets and the objects in them.
//!
//! A bucket is one stream, `bucket/NAME` (bucket names are global, as in
//! S3), holding the bucket's configuration (owner, ACL, versioning, CORS,
//! tags), every version of every object and the multipart uploads in
//! progress. An object's bytes are never in an event: they are blobs of
//! the object store (content-addressed, written and fsynced before the
//! event that names them is appended), and an object version names the
//! blobs it is made of, in order. So a crash leaves either the old object
//! or the new one, and audit, usage and time travel see every object.
//!
//! Who may do what is S3's ACL model ([`Acl`], [`Caller`]): the decisions
//! here apply it to writes, the read side applies the same functions to
//! reads.

mod acl;
mod commands;
mod events;
mod names;
mod state;

pub use acl::*;
pub use commands::*;
pub use events::*;
pub use names::*;
pub use state::*;

/// The largest object a single PUT may store (S3's: 5 GiB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The smallest part of a multipart upload but the last (S3's: 5 MiB).
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// The highest part number (S3's).
pub const MAX_PART_NUMBER: u32 = 10_000;
/// The version id of an object stored while versioning is off or suspended.
pub const NULL_VERSION: &str = "null";
