//! Tests only: a redb storage backend over the real file whose writes can
//! be made to fail as a full disk or a read-only file system would, and
//! succeed again, so that the writer's recovery is tested without filling
//! a disk.

use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What writes do now.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// 0: succeed; else the kind of failure below.
    failing: AtomicU8,
    /// A full disk: the file's length when it filled up. Writing over bytes
    /// below it goes on (their blocks are the file's already); writing past
    /// it needs new blocks and fails.
    full_at: AtomicU64,
    /// Writes refused so far.
    pub refused: AtomicU64,
    /// Syncs to let through before one fails (0: none is planned).
    sync_countdown: AtomicU64,
    /// Writes to let through before one fails, once (0: none is planned).
    write_countdown: AtomicU64,
    /// Writes made so far (failed ones included).
    pub writes: AtomicU64,
}

const FULL: u8 = 1;
const READ_ONLY: u8 = 2;
const BROKEN: u8 = 3;
const SYNCS_FAIL: u8 = 4;

impl Faults {
    pub fn new() -> Arc<Faults> {
        Arc::new(Faults::default())
    }

    /// The disk fills up when the file at `path` is as long as it is now.
    pub fn disk_full(&self, path: &Path) {
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        self.full_at.store(len, Ordering::SeqCst);
        self.failing.store(FULL, Ordering::SeqCst);
    }

    pub fn read_only(&self) {
        self.failing.store(READ_ONLY, Ordering::SeqCst);
    }

    /// Writes fail with a plain I/O error (a failing disk).
    pub fn broken(&self) {
        self.failing.store(BROKEN, Ordering::SeqCst);
    }

    /// The `n`-th sync from now fails (fsync's EIO), and the ones after it.
    pub fn fail_sync_number(&self, n: u64) {
        self.sync_countdown.store(n, Ordering::SeqCst);
    }

    /// The `n`-th write from now fails with a plain I/O error, once; the
    /// writes after it succeed.
    pub fn fail_write_number(&self, n: u64) {
        self.write_countdown.store(n, Ordering::SeqCst);
    }

    /// Writes succeed but syncs fail (fsync's EIO).
    pub fn syncs_fail(&self) {
        self.failing.store(SYNCS_FAIL, Ordering::SeqCst);
    }

    pub fn heal(&self) {
        self.failing.store(0, Ordering::SeqCst);
    }

    /// The error of a write of the bytes before `end` (`None`: a new
    /// file's worth, as the probe writes), if it fails.
    fn error(&self, end: Option<u64>) -> Option<io::Error> {
        let kind = match self.failing.load(Ordering::SeqCst) {
            FULL if end.is_some_and(|end| end <= self.full_at.load(Ordering::SeqCst)) => return None,
            FULL => io::ErrorKind::StorageFull,
            READ_ONLY => io::ErrorKind::ReadOnlyFilesystem,
            BROKEN => io::ErrorKind::Other,
            _ => return None,
        };
        self.refused.fetch_add(1, Ordering::SeqCst);
        Some(io::Error::new(kind, "injected by the test"))
    }

    pub fn probe(&self) -> io::Result<()> {
        self.error(None).map_or(Ok(()), Err)
    }

    /// A backend on `path` (opened for writing when `writable`) that fails
    /// as these faults say.
    pub fn backend(self: &Arc<Self>, path: &Path, writable: bool) -> Result<Faulty, redb::DatabaseError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(writable)
            .create(writable)
            .truncate(false)
            .open(path)?;
        Ok(Faulty { inner: redb::backends::FileBackend::new(file)?, faults: self.clone() })
    }
}

#[derive(Debug)]
pub(crate) struct Faulty {
    inner: redb::backends::FileBackend,
    faults: Arc<Faults>,
}

impl redb::StorageBackend for Faulty {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.inner.read(offset, out)
    }

    // Growing a file is sparse (no blocks yet) and shrinking frees blocks:
    // neither fails on a full disk.
    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        match self.faults.error(Some(0)) {
            Some(e) => Err(e),
            None => self.inner.set_len(len),
        }
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let countdown = &self.faults.sync_countdown;
        if countdown.load(Ordering::SeqCst) == 1 {
            self.faults.syncs_fail();
        }
        let _ = countdown.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if self.faults.failing.load(Ordering::SeqCst) == SYNCS_FAIL {
            self.faults.refused.fetch_add(1, Ordering::SeqCst);
            return Err(io::Error::other("fsync failed (injected by the test)"));
        }
        match self.faults.error(Some(0)) {
            Some(e) => Err(e),
            None => self.inner.sync_data(),
        }
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.faults.writes.fetch_add(1, Ordering::SeqCst);
        let countdown = &self.faults.write_countdown;
        if countdown.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) == Ok(1) {
            self.faults.refused.fetch_add(1, Ordering::SeqCst);
            return Err(io::Error::other("a write failed (injected by the test, once)"));
        }
        match self.faults.error(Some(offset + data.len() as u64)) {
            Some(e) => Err(e),
            None => self.inner.write(offset, data),
        }
    }

    fn close(&self) -> Result<(), io::Error> {
        self.inner.close()
    }

    crate::store::forward_locks!();
}
