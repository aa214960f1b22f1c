//! Salvage: every readable record of a damaged log, copied into a new log
//! (docs/adr/0009-damaged-logs-and-salvage.md).
//!
//! The damaged file is only read. First through redb, read-only: the
//! events table in order, each record checked by its checksum; past a part
//! redb cannot read (it may fail or panic on a damaged page), record by
//! record. Then, for what redb could not give (or all of it, when redb
//! cannot open the file at all), the raw bytes of the file are searched for
//! records that decode and pass their checksum (`find_records`): redb
//! copies pages on write, so an intact copy of a damaged record may be in
//! the file still, and the records of a page redb cannot reach are there.
//!
//! The new log keeps every record's content and order (stream, type,
//! schema, record time, who and why, payload) and renumbers positions and
//! stream versions without gaps, since a log has none: a record after k
//! lost ones moves back by k, and likewise versions within a stream. The
//! report says which positions were lost and, where the stream index or
//! the versions around them tell, which streams they belonged to.

mod read;

use crate::envelope::{EnvelopeRef, decode_record, encode_record};
use crate::tables::{EVENTS, MERGED_THROUGH, META, STREAMS};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Records written per transaction of the new log.
const WRITE_CHUNK: usize = 8192;

/// Why a salvage could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SalvageError {
    #[error("{0} is in use by another process: stop the controller first")]
    InUse(String),
    #[error("{0} exists already: salvage writes a new log")]
    Exists(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the new log {path}: {reason}")]
    Write { path: String, reason: String },
}

/// How a salvage went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SalvageReport {
    /// Where the new log was written.
    pub to: PathBuf,
    /// Why redb could not open the damaged file, if it could not (then
    /// only its raw bytes were read).
    pub unopenable: Option<String>,
    /// The last position of the damaged log (as redb knew it, else the
    /// highest found in its bytes).
    pub head: u64,
    /// Records copied into the new log.
    pub copied: u64,
    /// Of those, the records found only in the raw bytes.
    pub from_raw_bytes: u64,
    /// Positions (of the damaged log) whose record was lost.
    pub lost: Vec<u64>,
    /// Streams that lost records, with the versions lost where known.
    pub streams: BTreeMap<String, BTreeSet<u64>>,
    /// Positions with several different intact copies in the raw bytes
    /// (the latest by record time was kept).
    pub conflicting: Vec<u64>,
}

impl SalvageReport {
    /// Runs of consecutive lost positions, as `(first, last)`.
    pub fn lost_ranges(&self) -> Vec<(u64, u64)> {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for &p in &self.lost {
            match ranges.last_mut() {
                Some((_, last)) if *last + 1 == p => *last = p,
                _ => ranges.push((p, p)),
            }
        }
        ranges
    }
}

/// Copies every readable record of the log at `from` into a new log at
/// `to` (which must not exist), renumbered without gaps.
pub fn salvage(from: &Path, to: &Path) -> Result<SalvageReport, SalvageError> {
    if to.exists() {
        return Err(SalvageError::Exists(to.display().to_string()));
    }
    let read_error = |source| SalvageError::Read { path: from.display().to_string(), source };
    let mut report = SalvageReport { to: to.to_path_buf(), ..SalvageReport::default() };
    // Original position -> intact record bytes.
    let mut records: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut index = HashMap::new();
    match read::with_redb(from) {
        Ok(found) => {
            report.head = found.head;
            records = found.records;
            index = found.index;
        }
        Err(read::Unreadable::InUse) => return Err(SalvageError::InUse(from.display().to_string())),
        Err(read::Unreadable::Io(e)) => return Err(read_error(e)),
        Err(read::Unreadable::Other(why)) => report.unopenable = Some(why),
    }
    let complete = report.unopenable.is_none() && records.len() as u64 == report.head;
    if !complete {
        let bytes = std::fs::read(from).map_err(read_error)?;
        let bound = report.unopenable.is_none().then_some(report.head);
        let (found, conflicting) = read::from_raw_bytes(&bytes, bound, &records, &index);
        report.conflicting = conflicting;
        report.from_raw_bytes = found.len() as u64;
        if bound.is_none() {
            report.head = found.keys().next_back().copied().unwrap_or(0);
        }
        records.extend(found);
    }
    report.lost = (1..=report.head).filter(|p| !records.contains_key(p)).collect();
    for p in &report.lost {
        if let Some((stream, version)) = index.get(p) {
            report.streams.entry(stream.clone()).or_default().insert(*version);
        }
    }
    report.copied = write(to, &records, &mut report.streams)?;
    Ok(report)
}

/// Writes the records in order, renumbered, into a new log at `to`;
/// notes in `gaps` the versions missing within each stream.
fn write(
    to: &Path,
    records: &BTreeMap<u64, Vec<u8>>,
    gaps: &mut BTreeMap<String, BTreeSet<u64>>,
) -> Result<u64, SalvageError> {
    let failed = |e: &dyn std::fmt::Display| SalvageError::Write {
        path: to.display().to_string(),
        reason: e.to_string(),
    };
    let db = redb::Database::create(to).map_err(|e| failed(&e))?;
    // Per stream: the last version seen in the damaged log and in the new one.
    let mut versions: HashMap<String, (u64, u64)> = HashMap::new();
    let mut position = 0u64;
    let all: Vec<(&u64, &Vec<u8>)> = records.iter().collect();
    for chunk in all.chunks(WRITE_CHUNK) {
        let txn = db.begin_write().map_err(|e| failed(&e))?;
        {
            let mut events = txn.open_table(EVENTS).map_err(|e| failed(&e))?;
            let mut streams = txn.open_table(STREAMS).map_err(|e| failed(&e))?;
            for &(&old, bytes) in chunk {
                let Ok(envelope) = decode_record(old, bytes) else { continue };
                let (seen, renumbered) = versions.entry(envelope.stream.to_owned()).or_insert((0, 0));
                if envelope.version > *seen + 1 {
                    gaps.entry(envelope.stream.to_owned()).or_default().extend(*seen + 1..envelope.version);
                }
                *seen = envelope.version.max(*seen);
                *renumbered += 1;
                position += 1;
                let record = encode_record(&EnvelopeRef { position, version: *renumbered, ..envelope });
                events.insert(position, &record[..]).map_err(|e| failed(&e))?;
                streams.insert((envelope.stream, *renumbered), position).map_err(|e| failed(&e))?;
            }
            let mut meta = txn.open_table(META).map_err(|e| failed(&e))?;
            meta.insert(MERGED_THROUGH, position).map_err(|e| failed(&e))?;
        }
        txn.commit().map_err(|e| failed(&e))?;
    }
    if all.is_empty() {
        let txn = db.begin_write().map_err(|e| failed(&e))?;
        {
            txn.open_table(EVENTS).map_err(|e| failed(&e))?;
            txn.open_table(STREAMS).map_err(|e| failed(&e))?;
            txn.open_table(META)
                .map_err(|e| failed(&e))?
                .insert(MERGED_THROUGH, 0)
                .map_err(|e| failed(&e))?;
        }
        txn.commit().map_err(|e| failed(&e))?;
    }
    db.close().map_err(|e| failed(&e))?;
    Ok(position)
}

#[cfg(test)]
mod tests;
