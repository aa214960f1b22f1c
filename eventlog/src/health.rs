//! What the log can do now: store, or only read, and why; and getting back
//! to storing after the file system refused a write.
//!
//! - A **damaged** log (a read met a corrupt record, or opening found
//!   one): appends are refused until an operator salvages the log and
//!   restarts (docs/adr/0009-damaged-logs-and-salvage.md). Writing on
//!   would bury the damage under new records and risk the rest: redb
//!   cannot recover a file with a bad page after a crash.
//! - A **read-only** log (opened so): appends are refused.
//! - An **unavailable** log (the disk is full, over quota or read-only):
//!   appends are refused, reads go on, and every second (`LogOptions::
//!   retry_every`) the writer checks with a small file beside the log
//!   whether the file system takes writes again; once it does, the next
//!   batch is committed as usual. redb must be re-opened after a failed
//!   write, which recovers the file (reading all of it), so a commit that
//!   fails again doubles the wait, up to [`MAX_BACKOFF`].
//!
//! While appends are refused, jobs still run, in a read transaction: a
//! command refused for its own reason (an unknown instance) is answered so,
//! and one that would append gets the refusal.

use crate::check;
use crate::error::{AppendError, Damage, ReadError, Unavailable};
use crate::store::{Db, Fault};
use crate::writer::Shared;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The longest wait after commits that kept failing.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the log can do now (see [`crate::EventLog::health`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// It stores and reads.
    Writable,
    /// It reads but cannot store now; it stores again by itself once the
    /// cause is gone.
    Unavailable(Unavailable),
    /// It reads (what is not damaged) and stores nothing until salvaged.
    Damaged(Damage),
    /// A sync of its file failed: it reads, and stores nothing until the
    /// process restarts (see [`AppendError::SyncFailed`]).
    SyncFailed(String),
    /// It was opened read-only.
    ReadOnly,
}

#[derive(Debug, Default)]
pub(crate) struct HealthState {
    pub read_only: bool,
    pub damaged: Option<Damage>,
    /// Why a sync failed, once one did.
    pub sync_failed: Option<String>,
    pub outage: Option<Outage>,
    /// How often an unavailable log checks whether it can store again.
    pub retry_every: Duration,
}

#[derive(Debug)]
pub(crate) struct Outage {
    pub cause: Unavailable,
    /// No commit is tried before then.
    pub retry_at: Instant,
    /// The wait after the next failed commit.
    pub backoff: Duration,
}

impl Outage {
    pub fn new(cause: Unavailable, every: Duration) -> Outage {
        Outage { cause, retry_at: Instant::now() + every, backoff: every }
    }
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn health(&self) -> Health {
        let state = self.state();
        if let Some(why) = &state.sync_failed {
            return Health::SyncFailed(why.clone());
        }
        match (&state.damaged, state.read_only, &state.outage) {
            (Some(d), _, _) => Health::Damaged(d.clone()),
            (None, true, _) => Health::ReadOnly,
            (None, false, Some(o)) => Health::Unavailable(o.cause.clone()),
            (None, false, None) => Health::Writable,
        }
    }

    /// Notes a corrupt record met by a read: the log is damaged.
    pub fn noted<T>(&self, read: Result<T, ReadError>) -> Result<T, ReadError> {
        if let Err(ReadError::Corrupt { position, reason }) = &read {
            self.damage(Damage { position: Some(*position), reason: reason.clone() });
        }
        read
    }

    /// The log is damaged: keeps the first damage found (the lowest
    /// position when both are records).
    pub fn damage(&self, damage: Damage) {
        let mut state = self.state();
        let replace = match &state.damaged {
            None => true,
            Some(known) => matches!((known.position, damage.position), (Some(a), Some(b)) if b < a),
        };
        if replace {
            if state.damaged.is_none() {
                tracing::error!(
                    damage = %damage,
                    "the event log is damaged: it stores nothing more until it is salvaged \
                     (yukari replay salvage)"
                );
            }
            state.damaged = Some(damage);
        }
    }

    /// Why the next batch may not append, if it may not. When an outage's
    /// wait is over, checks whether the file system takes writes again and
    /// re-opens the database for writing if it must.
    pub fn refusal(&self) -> Option<AppendError> {
        {
            let mut state = self.state();
            if let Some(why) = &state.sync_failed {
                return Some(AppendError::SyncFailed(why.clone()));
            }
            if let Some(d) = &state.damaged {
                return Some(AppendError::Damaged(d.clone()));
            }
            if state.read_only {
                return Some(AppendError::ReadOnly);
            }
            let every = state.retry_every;
            let outage = state.outage.as_mut()?;
            if Instant::now() < outage.retry_at {
                return Some(AppendError::Unavailable(outage.cause.clone()));
            }
            if let Err(e) = self.store.opener.probe() {
                if let Some(cause) = Unavailable::of_io(&e) {
                    outage.cause = cause;
                }
                outage.retry_at = Instant::now() + every;
                return Some(AppendError::Unavailable(outage.cause.clone()));
            }
        }
        let writable = matches!(*self.store.guard(), Db::Writable(_));
        if !writable && let Err(why) = self.reopen() {
            let mut state = self.state();
            let every = state.retry_every;
            let outage =
                state.outage.get_or_insert_with(|| Outage::new(Unavailable::Other(why.clone()), every));
            outage.retry_at = Instant::now() + outage.backoff;
            tracing::warn!(error = %why, "the event log still cannot be opened for writing");
            return Some(AppendError::Unavailable(outage.cause.clone()));
        }
        // The commit tells whether it really stores again.
        None
    }

    /// A batch was committed: an outage is over.
    pub fn stored(&self) {
        let mut state = self.state();
        if let Some(outage) = state.outage.take() {
            tracing::warn!(was = %outage.cause, "the event log stores changes again");
        }
    }

    /// A commit (or its start) failed: answers what callers are told, and
    /// gets the log ready for the next batch (re-opens the database if
    /// redb needs it, starts or extends an outage).
    pub fn failed(&self, e: redb::Error) -> AppendError {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(why) = self.store.opener.sync_failed.get() {
            return self.sync_failed(why);
        }
        let fault = Fault::of(&e);
        if let Fault::Unavailable(cause) = &fault {
            let mut state = self.state();
            let every = state.retry_every;
            match &mut state.outage {
                Some(outage) => {
                    outage.cause = cause.clone();
                    outage.backoff = (outage.backoff * 2).min(MAX_BACKOFF);
                    outage.retry_at = Instant::now() + outage.backoff;
                    tracing::warn!(cause = %cause, wait = ?outage.backoff, "the event log still cannot store");
                }
                None => {
                    tracing::error!(
                        cause = %cause,
                        "the event log cannot store changes: writes are refused (503) until it can again, \
                         reads go on"
                    );
                    state.outage = Some(Outage::new(cause.clone(), every));
                }
            }
        } else {
            tracing::error!(error = %fault, "event log commit failed; the batch is discarded");
        }
        if let Fault::Corrupted(why) = &fault {
            self.damage(Damage { position: None, reason: format!("the database file is damaged: {why}") });
        }
        if fault.needs_reopen()
            && let Err(why) = self.reopen()
        {
            tracing::error!(error = %why, "cannot open the event log again; retrying");
            let mut state = self.state();
            let every = state.retry_every;
            state.outage.get_or_insert_with(|| Outage::new(Unavailable::Other(why), every));
        }
        match fault {
            Fault::Unavailable(cause) => AppendError::Unavailable(cause),
            Fault::Corrupted(why) => AppendError::Damaged(Damage {
                position: None,
                reason: format!("the database file is damaged: {why}"),
            }),
            Fault::Io(why) | Fault::Other(why) => AppendError::Storage(why),
        }
    }

    /// A sync failed: the log stops appending for good (until the process
    /// restarts) and is opened again for reading only. What reads back now
    /// may include the batch whose sync failed (it is in the page cache);
    /// whether it is on disk is unknown.
    fn sync_failed(&self, why: &str) -> AppendError {
        let first = {
            let mut state = self.state();
            let first = state.sync_failed.is_none();
            state.sync_failed.get_or_insert_with(|| why.to_owned());
            state.outage = None;
            first
        };
        if first {
            tracing::error!(
                error = %why,
                "a sync (fsync) of the event log failed: what it wrote since the last sync may not be on disk \
                 although it reads back. It stores nothing more; reads go on. Check the disk, drop the page \
                 cache (`sync; echo 1 > /proc/sys/vm/drop_caches`) or reboot, then restart the controller"
            );
        }
        self.open_for_reads();
        AppendError::SyncFailed(why.to_owned())
    }

    /// After a failed sync: opens the file again to serve reads only (the
    /// writer refuses every batch from now on), never for writing: a file
    /// redb would have to repair first (the failed commit left it so) is
    /// not written to either (a repair commits, and what is on the platter
    /// is unknown), and reads fail until the restart.
    fn open_for_reads(&self) {
        {
            let mut db = self.store.swap();
            // The failed handle lets go of the file first.
            *db = Db::Closed(Some("the event log is being opened again for reading".into()));
            *db = match self.store.opener.open_read_only() {
                Ok(readable) => Db::ReadOnly(readable),
                Err(e) => Db::Closed(Some(describe(&e.into()))),
            };
        }
        if let Err(e) = self.resync() {
            tracing::warn!(error = %e, "cannot read the event log after a failed sync");
        }
    }

    /// Drops the database handle (redb refuses all work on it after an I/O
    /// error) and opens the file again: for writing if it can, else for
    /// reading, else not at all. Readers wait meanwhile. Then takes the
    /// head and index overlay from the file again.
    pub fn reopen(&self) -> Result<(), String> {
        let reopened = {
            let mut db = self.store.swap();
            *db = Db::Closed(Some("the event log is being opened again".into()));
            match self.store.opener.open_writable() {
                Ok(writable) => {
                    *db = Db::Writable(writable);
                    Ok(())
                }
                Err(e) => {
                    let why = describe(&e.into());
                    *db = match self.store.opener.open_read_only() {
                        Ok(readable) => Db::ReadOnly(readable),
                        Err(_) => Db::Closed(Some(why.clone())),
                    };
                    Err(why)
                }
            }
        };
        if let Err(e) = self.resync() {
            tracing::warn!(error = %e, "cannot read the event log after opening it again");
        }
        reopened
    }

    /// The head and the index overlay as the file has them.
    fn resync(&self) -> Result<(), ReadError> {
        let (head, overlay, damage) = self.store.read(|txn| {
            let head = check::last_position(txn)?;
            let (overlay, damage) = check::overlay(txn, head)?;
            Ok((head, overlay, damage))
        })?;
        if let Some(damage) = damage {
            self.damage(damage);
        }
        let before = *self.head.borrow();
        if head < before {
            self.damage(Damage {
                position: Some(head + 1),
                reason: format!(
                    "positions {}..={before} were stored but are gone after re-opening",
                    head + 1
                ),
            });
            return Ok(());
        }
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = overlay;
        if head > before {
            tracing::warn!(from = before + 1, to = head, "a commit reported as failed was stored after all");
            self.tail.lock().unwrap_or_else(|p| p.into_inner()).records.clear();
            self.head.send_replace(head);
        }
        Ok(())
    }
}

/// A redb error in words, with what it means for the log.
pub(crate) fn describe(e: &redb::Error) -> String {
    Fault::of(e).to_string()
}

#[cfg(test)]
mod tests;
