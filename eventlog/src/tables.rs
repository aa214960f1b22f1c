//! Every redb table of the log, in one place.

use redb::TableDefinition;

/// Global position (from 1) → record: CRC-32C (little endian) of the
/// envelope bytes, then the envelope (postcard).
pub(crate) const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");

/// (stream id, stream version from 1) → global position.
pub(crate) const STREAMS: TableDefinition<'_, (&str, u64), u64> = TableDefinition::new("streams");
