//! What opening the log checks, and the index overlay it rebuilds.
//!
//! Only what is cheap: the tables' lengths (redb keeps them with each
//! table's root), the last record, and the records after the stream
//! index's merged position, which opening decodes anyway to rebuild the
//! overlay (see `index.rs`). Everything else is `yukari replay verify`'s.

use crate::envelope::decode_record;
use crate::error::{Damage, ReadError};
use crate::index::Overlay;
use crate::store::rd;
use crate::tables::{EVENTS, MERGED_THROUGH, META, STREAMS};
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition};

/// The state of a log as opening found it.
pub(crate) struct Inspection {
    pub head: u64,
    pub overlay: Overlay,
    /// The first damage found, if any.
    pub damage: Option<Damage>,
}

/// A table, or `None` if the file has none of that name (a log opened
/// read-only before any writer prepared it).
fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    definition: TableDefinition<'_, K, V>,
) -> Result<Option<ReadOnlyTable<K, V>>, ReadError> {
    match txn.open_table(definition) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(rd(e)),
    }
}

/// The last position stored (0 for none), without reading its record.
pub(crate) fn last_position(txn: &ReadTransaction) -> Result<u64, ReadError> {
    let Some(events) = table(txn, EVENTS)? else { return Ok(0) };
    Ok(events.last().map_err(rd)?.map_or(0, |(k, _)| k.value()))
}

fn merged_through(txn: &ReadTransaction) -> Result<u64, ReadError> {
    let Some(meta) = table(txn, META)? else { return Ok(0) };
    Ok(meta.get(MERGED_THROUGH).map_err(rd)?.map_or(0, |v| v.value()))
}

/// Keeps the damage that says most: a record's (the lowest position) over
/// one elsewhere.
fn first(known: Option<Damage>, found: Option<Damage>) -> Option<Damage> {
    match (known, found) {
        (None, found) => found,
        (Some(k), Some(f)) if matches!((k.position, f.position), (None, Some(_))) => Some(f),
        (Some(k), Some(f)) if matches!((k.position, f.position), (Some(a), Some(b)) if b < a) => Some(f),
        (known, _) => known,
    }
}

/// Checks what can be checked cheaply and rebuilds the overlay.
pub(crate) fn inspect(txn: &ReadTransaction) -> Result<Inspection, ReadError> {
    let head = last_position(txn)?;
    let mut damage = None;
    if let Some(events) = table(txn, EVENTS)? {
        // Positions run from 1 to the head without a gap.
        let count = events.len().map_err(rd)?;
        let lowest = events.first().map_err(rd)?.map_or(0, |(k, _)| k.value());
        if count != head || (head > 0 && lowest != 1) {
            damage = first(
                damage,
                Some(Damage {
                    position: None,
                    reason: format!(
                        "the log holds {count} records for positions {lowest}..={head}: records are missing"
                    ),
                }),
            );
        }
        if let Some((key, value)) = events.last().map_err(rd)?
            && let Err(ReadError::Corrupt { position, reason }) = decode_record(key.value(), value.value())
        {
            damage = first(damage, Some(Damage { position: Some(position), reason }));
        }
    }
    // The stream index holds one entry for each position it says it merged.
    let through = merged_through(txn)?;
    let entries = match table(txn, STREAMS)? {
        Some(streams) => streams.len().map_err(rd)?,
        None => 0,
    };
    if through > head || entries != through {
        damage = first(
            damage,
            Some(Damage {
                position: None,
                reason: format!(
                    "the stream index holds {entries} entries and says it covers positions 1..={through} \
                     of {head}"
                ),
            }),
        );
    }
    let (overlay, found) = overlay(txn, head)?;
    Ok(Inspection { head, overlay, damage: first(damage, found) })
}

/// The overlay of index entries after the merged position, from the
/// events; a corrupt record is left out and reported.
pub(crate) fn overlay(txn: &ReadTransaction, head: u64) -> Result<(Overlay, Option<Damage>), ReadError> {
    let through = merged_through(txn)?.min(head);
    let mut overlay = Overlay::new(through);
    let mut damage = None;
    let Some(events) = table(txn, EVENTS)? else { return Ok((overlay, None)) };
    for entry in events.range(through + 1..).map_err(rd)? {
        let (key, value) = entry.map_err(rd)?;
        match decode_record(key.value(), value.value()) {
            Ok(envelope) => overlay.add(envelope.stream, envelope.version, envelope.position),
            Err(ReadError::Corrupt { position, reason }) => {
                damage = first(damage, Some(Damage { position: Some(position), reason }));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((overlay, damage))
}
