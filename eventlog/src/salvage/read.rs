//! Reading what can be read of a damaged log: through redb (read-only,
//! never writing), then from the file's raw bytes.

use crate::envelope::{decode_record, find_records};
use crate::tables::{EVENTS, STREAMS};
use redb::{ReadableDatabase, ReadableTable};
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// The smallest a stored record can be (checksum, format, envelope):
/// bounds how many records a file of some size can hold.
const SMALLEST_RECORD: u64 = 16;

/// What redb could read.
pub(super) struct Found {
    /// The events table's last position.
    pub head: u64,
    /// Intact records by position.
    pub records: BTreeMap<u64, Vec<u8>>,
    /// From the stream index: (stream, version) of the positions missing
    /// from `records`, where the index still says.
    pub index: HashMap<u64, (String, u64)>,
}

pub(super) enum Unreadable {
    /// A process has the file open.
    InUse,
    /// The file itself cannot be read.
    Io(std::io::Error),
    /// redb cannot open it, or cannot find its way in it: why.
    Other(String),
}

/// Runs `f` with panics not reported (redb may panic on a damaged page;
/// each such panic is caught and counts as an unreadable part).
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = f();
    std::panic::set_hook(hook);
    out
}

/// `f`, with a panic as an error.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| "redb failed on a damaged page".to_owned())
}

pub(super) fn with_redb(path: &Path) -> Result<Found, Unreadable> {
    let size = std::fs::metadata(path).map_err(Unreadable::Io)?.len();
    quietly(|| {
        let opened = caught(|| redb::Builder::new().set_cache_size(64 << 20).open_read_only(path));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => return Err(Unreadable::InUse),
            Ok(Err(redb::DatabaseError::Storage(redb::StorageError::Io(e))))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(Unreadable::Io(e));
            }
            Ok(Err(redb::DatabaseError::RepairAborted)) => {
                return Err(Unreadable::Other(
                    "it was not closed cleanly, and a repair would write to it".into(),
                ));
            }
            Ok(Err(e)) => return Err(Unreadable::Other(e.to_string())),
            Err(why) => return Err(Unreadable::Other(why)),
        };
        let found = caught(|| read_tables(&db, size)).map_err(Unreadable::Other)?;
        let _ = caught(move || drop(db));
        found.map_err(Unreadable::Other)
    })
}

fn read_tables(db: &redb::ReadOnlyDatabase, size: u64) -> Result<Found, String> {
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let events = match txn.open_table(EVENTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Ok(Found { head: 0, records: BTreeMap::new(), index: HashMap::new() });
        }
        Err(e) => return Err(e.to_string()),
    };
    let head = events.last().map_err(|e| e.to_string())?.map_or(0, |(k, _)| k.value());
    if head > size / SMALLEST_RECORD {
        return Err(format!("its last position {head} cannot be right for a file of {size} bytes"));
    }
    let mut records = BTreeMap::new();
    let mut next = 1u64;
    while next <= head {
        let from = next;
        let read = caught(|| -> Result<(), redb::StorageError> {
            for entry in events.range(from..=head)? {
                let (key, value) = entry?;
                let position = key.value();
                next = position + 1;
                if decode_record(position, value.value()).is_ok() {
                    records.insert(position, value.value().to_vec());
                }
            }
            next = head + 1;
            Ok(())
        });
        if matches!(read, Ok(Ok(()))) {
            break;
        }
        // The entry after `next - 1` cannot be read: find the next that can,
        // one position at a time, and go on in order from there.
        let mut position = next;
        while position <= head {
            let got = caught(|| events.get(position).map(|v| v.map(|v| v.value().to_vec())));
            position += 1;
            if let Ok(Ok(Some(bytes))) = got {
                if decode_record(position - 1, &bytes).is_ok() {
                    records.insert(position - 1, bytes);
                }
                break;
            }
        }
        next = position;
    }
    let mut index = HashMap::new();
    if records.len() as u64 != head
        && let Ok(streams) = txn.open_table(STREAMS)
    {
        let _ = caught(|| -> Result<(), redb::StorageError> {
            for entry in streams.range::<(&str, u64)>(..)? {
                let (key, position) = entry?;
                let position = position.value();
                if position <= head && !records.contains_key(&position) {
                    let (stream, version) = key.value();
                    index.insert(position, (stream.to_owned(), version));
                }
            }
            Ok(())
        });
    }
    Ok(Found { head, records, index })
}

/// Intact records in the file's bytes at positions not in `have` (and up
/// to `bound`, when redb knew the head). Where several different copies of
/// a position are found, one that the stream index agrees with, else the
/// latest by record time, is kept; such positions are returned too.
pub(super) fn from_raw_bytes(
    bytes: &[u8],
    bound: Option<u64>,
    have: &BTreeMap<u64, Vec<u8>>,
    index: &HashMap<u64, (String, u64)>,
) -> (BTreeMap<u64, Vec<u8>>, Vec<u64>) {
    let mut copies: BTreeMap<u64, Vec<&[u8]>> = BTreeMap::new();
    for found in find_records(bytes) {
        if have.contains_key(&found.position) || bound.is_some_and(|b| found.position > b) {
            continue;
        }
        let record = &bytes[found.offset..found.offset + found.len];
        let list = copies.entry(found.position).or_default();
        if !list.contains(&record) {
            list.push(record);
        }
    }
    let mut chosen = BTreeMap::new();
    let mut conflicting = Vec::new();
    for (position, list) in copies {
        let decoded: Vec<_> = list
            .iter()
            .filter_map(|r| decode_record(position, r).ok().map(|e| (e, *r)))
            .filter(|(e, _)| index.get(&position).is_none_or(|(s, v)| e.stream == s && e.version == *v))
            .collect();
        if list.len() > 1 {
            conflicting.push(position);
        }
        if let Some((_, record)) = decoded.into_iter().max_by_key(|(e, _)| e.recorded_at) {
            chosen.insert(position, record.to_vec());
        }
    }
    (chosen, conflicting)
}
