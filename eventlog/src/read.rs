//! Reads by stream, combining the stream index table with the in-memory
//! overlay of entries not merged into it yet (see `index.rs`).

use crate::envelope::{RecordedEvent, decode_record};
use crate::error::{ReadError, storage};
use crate::index::Overlay;
use redb::ReadableTable;

/// The stream's last version (0 = no events) in the table and overlays.
pub(crate) fn stream_version(
    streams: &impl ReadableTable<(&'static str, u64), u64>,
    overlays: &[&Overlay],
    stream: &str,
) -> Result<u64, ReadError> {
    if let Some(v) = overlays.iter().rev().find_map(|o| o.last_version(stream)) {
        return Ok(v);
    }
    let mut range =
        streams.range((stream, 0)..=(stream, u64::MAX)).map_err(|e| ReadError::Storage(storage(e)))?;
    match range.next_back() {
        Some(Ok((key, _))) => Ok(key.value().1),
        Some(Err(e)) => Err(ReadError::Storage(storage(e))),
        None => Ok(0),
    }
}

/// The stream's events after `after_version`, each verified against the
/// index entry that led to it.
pub(crate) fn read_stream(
    streams: &impl ReadableTable<(&'static str, u64), u64>,
    events: &impl ReadableTable<u64, &'static [u8]>,
    overlays: &[&Overlay],
    stream: &str,
    after_version: u64,
) -> Result<Vec<RecordedEvent>, ReadError> {
    let mut entries: Vec<(u64, u64)> = Vec::new();
    let range = streams
        .range((stream, after_version + 1)..=(stream, u64::MAX))
        .map_err(|e| ReadError::Storage(storage(e)))?;
    for entry in range {
        let (key, position) = entry.map_err(|e| ReadError::Storage(storage(e)))?;
        entries.push((key.value().1, position.value()));
    }
    for overlay in overlays {
        entries.extend(overlay.after(stream, after_version));
    }
    // A merge that committed while this read started is in both places.
    entries.sort_unstable();
    entries.dedup();
    let mut out = Vec::with_capacity(entries.len());
    for (version, position) in entries {
        let record = events
            .get(position)
            .map_err(|e| ReadError::Storage(storage(e)))?
            .ok_or_else(|| ReadError::Corrupt { position, reason: "indexed but missing".into() })?;
        let envelope = decode_record(position, record.value())?;
        if envelope.stream != stream || envelope.version != version {
            return Err(ReadError::Corrupt {
                position,
                reason: format!(
                    "index says {stream}@{version} but record is {}@{}",
                    envelope.stream, envelope.version
                ),
            });
        }
        out.push(envelope.to_owned());
    }
    Ok(out)
}

/// The positions of `stream`'s records within `from..=through`, ascending,
/// from the index alone (no record is read).
pub(crate) fn stream_positions(
    streams: &impl ReadableTable<(&'static str, u64), u64>,
    overlays: &[&Overlay],
    stream: &str,
    from: u64,
    through: u64,
) -> Result<Vec<u64>, ReadError> {
    let wanted = |p: &u64| (from..=through).contains(p);
    let mut positions = Vec::new();
    let range =
        streams.range((stream, 1)..=(stream, u64::MAX)).map_err(|e| ReadError::Storage(storage(e)))?;
    for entry in range {
        let (_, position) = entry.map_err(|e| ReadError::Storage(storage(e)))?;
        positions.push(position.value());
    }
    positions.retain(wanted);
    for overlay in overlays {
        positions.extend(overlay.after(stream, 0).map(|(_, p)| p).filter(wanted));
    }
    // A merge that committed while this read started is in both places.
    positions.sort_unstable();
    positions.dedup();
    Ok(positions)
}
