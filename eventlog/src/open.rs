//! Opening the file: what a failed open means, and preparing a new log.

use crate::error::{Damage, OpenError, Unavailable, storage};
use crate::store::Fault;
use crate::tables::{EVENTS, MERGED_THROUGH, META, STREAMS};
use redb::{ReadableDatabase, ReadableTable};

/// What a failed open means.
pub(crate) fn open_error(path: &str, e: redb::DatabaseError) -> OpenError {
    let path = path.to_owned();
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => OpenError::InUse { path },
        redb::DatabaseError::RepairAborted => OpenError::NotClosedCleanly { path },
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(why)) => OpenError::Damaged(Damage {
            position: None,
            reason: format!("the database file is damaged: {why}"),
        }),
        source => match unavailable(&source) {
            Some(reason) => OpenError::Unavailable { path, reason },
            None => OpenError::Database { path, source },
        },
    }
}

/// The cause, if an open failed because the file system takes no writes.
pub(crate) fn unavailable(e: &redb::DatabaseError) -> Option<Unavailable> {
    match e {
        redb::DatabaseError::Storage(redb::StorageError::Io(io)) => Unavailable::of_io(io),
        _ => None,
    }
}

/// Creates the tables of a new log (and the index's merged position of a
/// log from before the overlay). Writes nothing when there is nothing to
/// write, so that a log opens on a full disk.
pub(crate) fn prepare(db: &redb::Database, path: &str) -> Result<(), OpenError> {
    let prepared = db.begin_read().map_err(|e| OpenError::Storage(storage(e))).map(|txn| {
        match txn.open_table(META) {
            Ok(meta) => matches!(meta.get(MERGED_THROUGH), Ok(Some(_))),
            Err(_) => false,
        }
    })?;
    if prepared {
        return Ok(());
    }
    let failed = |e: redb::Error| match Fault::of(&e) {
        Fault::Unavailable(reason) => OpenError::Unavailable { path: path.to_owned(), reason },
        _ => OpenError::Storage(e.to_string()),
    };
    let txn = db.begin_write().map_err(|e| failed(e.into()))?;
    {
        let events = txn.open_table(EVENTS).map_err(|e| failed(e.into()))?;
        let streams = txn.open_table(STREAMS).map_err(|e| failed(e.into()))?;
        let mut meta = txn.open_table(META).map_err(|e| failed(e.into()))?;
        if meta.get(MERGED_THROUGH).map_err(|e| failed(e.into()))?.is_none() {
            // A log from before the overlay indexed every commit.
            let legacy = streams.first().map_err(|e| failed(e.into()))?.is_some();
            let head = events.last().map_err(|e| failed(e.into()))?.map_or(0, |(k, _)| k.value());
            let through = if legacy { head } else { 0 };
            meta.insert(MERGED_THROUGH, through).map_err(|e| failed(e.into()))?;
        }
    }
    txn.commit().map_err(|e| failed(e.into()))
}
