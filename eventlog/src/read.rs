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

/// Entries read from a stream's start before the rest of the way to
/// `from` is searched rather than read.
const SHORT_STREAM: u64 = 64;

/// The positions of `stream`'s records within `from..=through`, ascending,
/// at most `max` (the first), from the index alone (no record is read).
pub(crate) fn stream_positions(
    streams: &impl ReadableTable<(&'static str, u64), u64>,
    overlays: &[&Overlay],
    stream: &str,
    from: u64,
    through: u64,
    max: usize,
) -> Result<Vec<u64>, ReadError> {
    let wanted = |p: &u64| (from..=through).contains(p);
    let st = |e| ReadError::Storage(storage(e));
    // A stream's positions grow with its versions, so its entries are read
    // from its start only until `through` or `max` of them; and when the
    // first `SHORT_STREAM` are all before `from` (a long stream, paged
    // through by a node far behind), the first version at or after `from`
    // is found by a binary search over versions (which may have gaps)
    // instead of read up to.
    let mut positions = Vec::new();
    let take = |position: u64, positions: &mut Vec<u64>| {
        if position > through || positions.len() >= max {
            return false;
        }
        if position >= from {
            positions.push(position);
        }
        true
    };
    let mut range = streams.range((stream, 1)..=(stream, u64::MAX)).map_err(st)?;
    let mut seek_after = None;
    for (read, entry) in (1..).zip(range.by_ref()) {
        let (key, position) = entry.map_err(st)?;
        let position = position.value();
        if !take(position, &mut positions) {
            break;
        }
        if read >= SHORT_STREAM && position < from {
            seek_after = Some(key.value().1);
            break;
        }
    }
    if let Some(after) = seek_after
        && let Some(last) = range.next_back().transpose().map_err(st)?
    {
        let (last, last_position) = (last.0.value().1, last.1.value());
        // The first entry at or after version `v`, as its position.
        let first_from = |v: u64| -> Result<Option<u64>, ReadError> {
            let mut range = streams.range((stream, v)..=(stream, u64::MAX)).map_err(st)?;
            range.next().transpose().map_err(st).map(|e| e.map(|(_, p)| p.value()))
        };
        if last_position >= from {
            let (mut lo, mut hi) = (after + 1, last);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match first_from(mid)? {
                    Some(position) if position >= from => hi = mid,
                    _ => lo = mid + 1,
                }
            }
            for entry in streams.range((stream, lo)..=(stream, u64::MAX)).map_err(st)? {
                if !take(entry.map_err(st)?.1.value(), &mut positions) {
                    break;
                }
            }
        }
    }
    // The table's entries were taken within `from..=through` above.
    for overlay in overlays {
        positions.extend(overlay.after(stream, 0).map(|(_, p)| p).filter(wanted));
    }
    // A merge that committed while this read started is in both places.
    positions.sort_unstable();
    positions.dedup();
    positions.truncate(max);
    Ok(positions)
}
