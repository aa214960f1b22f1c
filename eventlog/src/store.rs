//! The redb database behind the log, and how it is (re)opened.
//!
//! redb refuses every operation on a database once a write failed with an
//! I/O error ("Previous I/O error occurred"), until it is closed and opened
//! again. So the database sits in a [`Store`] the writer can swap: readers
//! hold a read guard only while they read (a read transaction at a time,
//! never across a wait), and the writer takes the write guard to drop the
//! failed handle and open the file again; readers wait for the swap, and
//! the swap for them. Nothing of this shows in the log's interface.

use crate::error::{ReadError, Unavailable};
use redb::ReadableDatabase;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The database as it is open now.
pub(crate) enum Db {
    /// For reading and writing.
    Writable(redb::Database),
    /// For reading only (asked for, or the file system refuses writes).
    ReadOnly(redb::ReadOnlyDatabase),
    /// Not open: closed by [`crate::EventLog::close`] (`None`), or it failed
    /// and could not be opened again yet (why).
    Closed(Option<String>),
}

impl Db {
    pub fn begin_read(&self) -> Result<redb::ReadTransaction, ReadError> {
        let txn = match self {
            Db::Writable(db) => db.begin_read(),
            Db::ReadOnly(db) => db.begin_read(),
            Db::Closed(None) => return Err(ReadError::Closed),
            Db::Closed(Some(why)) => return Err(ReadError::Unavailable(why.clone())),
        };
        txn.map_err(|e| read_error(e.into()))
    }
}

/// The swappable database and how to open it again.
pub(crate) struct Store {
    db: RwLock<Db>,
    pub opener: Opener,
}

impl Store {
    pub fn new(db: Db, opener: Opener) -> Self {
        Store { db: RwLock::new(db), opener }
    }

    /// Runs `read` in a read transaction, the database held open meanwhile.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&redb::ReadTransaction) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        let db = self.guard();
        let txn = db.begin_read()?;
        let out = read(&txn);
        drop(txn);
        out
    }

    /// The database, held open until the guard is dropped.
    pub fn guard(&self) -> RwLockReadGuard<'_, Db> {
        self.db.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The database to swap; waits for every reader to finish.
    pub fn swap(&self) -> RwLockWriteGuard<'_, Db> {
        self.db.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How to open the database file, and how to find out cheaply whether its
/// file system takes writes again.
pub(crate) struct Opener {
    pub path: PathBuf,
    pub cache_bytes: usize,
    #[cfg(test)]
    pub faults: Option<std::sync::Arc<crate::faults::Faults>>,
    /// A simulated disk instead of the file at `path`.
    pub sim: Option<crate::simdisk::SimDisk>,
    /// Set by the first failed sync of the file (see [`Watched`]).
    pub sync_failed: Arc<OnceLock<String>>,
    /// What the writer and the file's syncs and writes did (`stats.rs`).
    pub counters: Arc<crate::stats::Counters>,
}

/// Bytes written (and removed) by [`Opener::probe`].
const PROBE_BYTES: usize = 1 << 20;

impl Opener {
    pub fn new(path: &Path, cache_bytes: usize) -> Self {
        Opener {
            path: path.to_path_buf(),
            cache_bytes,
            #[cfg(test)]
            faults: None,
            sim: None,
            sync_failed: Arc::default(),
            counters: Arc::default(),
        }
    }

    fn builder(&self) -> redb::Builder {
        let mut builder = redb::Builder::new();
        builder.set_cache_size(self.cache_bytes);
        builder
    }

    /// Opens (or creates) the file for reading and writing; redb recovers a
    /// file that was not closed cleanly.
    pub fn open_writable(&self) -> Result<redb::Database, redb::DatabaseError> {
        if let Some(disk) = &self.sim {
            return self.builder().create_with_backend(self.watched(disk.backend()));
        }
        #[cfg(test)]
        if let Some(faults) = &self.faults {
            return self.builder().create_with_backend(self.watched(faults.backend(&self.path, true)?));
        }
        // What `redb::Builder::create` opens, behind the watch on syncs.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        self.builder().create_with_backend(self.watched(redb::backends::FileBackend::new(file)?))
    }

    fn watched<B: redb::StorageBackend>(&self, inner: B) -> Watched<B> {
        Watched { inner, sync_failed: self.sync_failed.clone(), counters: self.counters.clone() }
    }

    /// Opens the file without writing to it.
    pub fn open_read_only(&self) -> Result<redb::ReadOnlyDatabase, redb::DatabaseError> {
        if let Some(disk) = &self.sim {
            return self.builder().open_read_only_with_backend(disk.backend());
        }
        #[cfg(test)]
        if let Some(faults) = &self.faults {
            return self.builder().open_read_only_with_backend(faults.backend(&self.path, false)?);
        }
        self.builder().open_read_only(&self.path)
    }

    /// Writes, syncs and removes a small file beside the log: does the file
    /// system take writes again? Cheap next to a failed commit, which
    /// costs a re-open (and redb's recovery) of the database.
    pub fn probe(&self) -> std::io::Result<()> {
        if let Some(disk) = &self.sim {
            return disk.probe();
        }
        #[cfg(test)]
        if let Some(faults) = &self.faults {
            return faults.probe();
        }
        use std::io::Write;
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".probe");
        let probe = self.path.with_file_name(name);
        let written = std::fs::File::create(&probe).and_then(|mut file| {
            file.write_all(&vec![0u8; PROBE_BYTES])?;
            file.sync_data()
        });
        let _ = std::fs::remove_file(&probe);
        written
    }
}

/// What a redb error means for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The file system refuses to store more; the database must be re-opened.
    Unavailable(Unavailable),
    /// redb found a damaged page.
    Corrupted(String),
    /// Another I/O failure; the database must be re-opened.
    Io(String),
    /// A failure that leaves the database usable.
    Other(String),
}

impl Fault {
    pub fn of(e: &redb::Error) -> Fault {
        match e {
            redb::Error::Io(io) => match Unavailable::of_io(io) {
                Some(kind) => Fault::Unavailable(kind),
                None => Fault::Io(io.to_string()),
            },
            redb::Error::PreviousIo | redb::Error::DatabaseClosed => Fault::Io(e.to_string()),
            redb::Error::Corrupted(why) => Fault::Corrupted(why.clone()),
            other => Fault::Other(other.to_string()),
        }
    }

    /// Does redb need the database closed and opened again?
    pub fn needs_reopen(&self) -> bool {
        matches!(self, Fault::Unavailable(_) | Fault::Io(_))
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Unavailable(u) => write!(f, "{u}"),
            Fault::Corrupted(why) => write!(f, "the database file is damaged: {why}"),
            Fault::Io(why) | Fault::Other(why) => f.write_str(why),
        }
    }
}

/// A redb error met while reading, as the log reports it.
pub(crate) fn read_error(e: redb::Error) -> ReadError {
    match Fault::of(&e) {
        Fault::Unavailable(u) => ReadError::Unavailable(u.to_string()),
        Fault::Corrupted(why) => ReadError::Storage(format!("the database file is damaged: {why}")),
        Fault::Io(why) | Fault::Other(why) => ReadError::Storage(why),
    }
}

/// `read_error` for any redb error type.
pub(crate) fn rd<E: Into<redb::Error>>(e: E) -> ReadError {
    read_error(e.into())
}

/// The byte-range lock methods of a wrapping storage backend: those of
/// its `inner` backend.
macro_rules! forward_locks {
    () => {
        fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, redb::BackendError> {
            self.inner.try_lock_range(start, end)
        }

        fn try_lock_shared_range(
            &self,
            start: Bound<u64>,
            end: Bound<u64>,
        ) -> Result<bool, redb::BackendError> {
            self.inner.try_lock_shared_range(start, end)
        }

        fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
            self.inner.lock_range(start, end)
        }

        fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
            self.inner.lock_shared_range(start, end)
        }

        fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
            self.inner.unlock_range(start, end)
        }

        fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, redb::BackendError> {
            self.inner.query_lock_range(start, end)
        }
    };
}
#[cfg(test)]
pub(crate) use forward_locks;

/// A storage backend that notes its first failed sync: after one, the
/// file's pages may read back what is not on disk, and the log must stop
/// appending (see [`crate::AppendError::SyncFailed`]). It counts syncs and
/// writes, and times the syncs, too.
#[derive(Debug)]
pub(crate) struct Watched<B> {
    inner: B,
    sync_failed: Arc<OnceLock<String>>,
    counters: Arc<crate::stats::Counters>,
}

impl<B: redb::StorageBackend> redb::StorageBackend for Watched<B> {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        let started = std::time::Instant::now();
        let synced = self.inner.sync_data();
        self.counters.synced(started);
        if let Err(e) = &synced {
            let _ = self.sync_failed.set(e.to_string());
        }
        synced
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.counters.wrote();
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), std::io::Error> {
        self.inner.close()
    }

    forward_locks!();
}
