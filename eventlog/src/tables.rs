//! Every redb table of the log, in one place.

use redb::TableDefinition;

/// Global position (from 1) → record: CRC-32C (little endian) of the
/// envelope bytes, then the envelope (postcard).
pub(crate) const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");

/// (stream id, stream version from 1) → global position. Complete up to
/// the position stored under [`MERGED_THROUGH`]; newer entries are in
/// memory (see `index.rs`).
pub(crate) const STREAMS: TableDefinition<'_, (&str, u64), u64> = TableDefinition::new("streams");

/// Small facts about the log itself.
pub(crate) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// In [`META`]: the index table holds every entry up to this position.
pub(crate) const MERGED_THROUGH: &str = "streams_merged_through";
