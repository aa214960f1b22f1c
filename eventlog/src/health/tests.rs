//! A log that cannot store (a full disk, a read-only file system, a
//! failing disk), a damaged log, and read-only opens.

use crate::faults::Faults;
use crate::tests::{meta, one};
use crate::*;
use std::path::Path;
use std::time::Duration;

/// Checks again at every batch, so that the tests need no clock.
fn options() -> LogOptions {
    LogOptions { retry_every: Duration::ZERO, ..LogOptions::default() }
}

fn payloads(log: &EventLog, stream: &str) -> Vec<Vec<u8>> {
    log.read_stream(stream, 0).unwrap().into_iter().map(|e| e.payload).collect()
}

/// A payload longer than the file: storing it needs new blocks.
fn bigger_than(path: &Path) -> Vec<u8> {
    vec![7u8; std::fs::metadata(path).unwrap().len() as usize + 4096]
}

fn hash(path: &Path) -> u32 {
    crc32c::crc32c(&std::fs::read(path).unwrap())
}

#[tokio::test]
async fn a_full_disk_refuses_appends_keeps_reads_and_stores_again_once_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let faults = Faults::new();
    let log = EventLog::open_faulty(&path, options(), faults.clone()).unwrap();
    log.append(meta("r1"), one("s/a", ExpectedVersion::NoStream, &[b"1"])).await.unwrap();

    faults.disk_full(&path);
    let big = bigger_than(&path);
    let refused = log.append(meta("r2"), one("s/a", ExpectedVersion::Exactly(1), &[&big])).await;
    assert_eq!(refused.err(), Some(AppendError::Unavailable(Unavailable::DiskFull)));
    assert_eq!(log.health(), Health::Unavailable(Unavailable::DiskFull));
    assert!(faults.refused.load(std::sync::atomic::Ordering::SeqCst) > 0, "the commit did hit the full disk");
    // Reads go on: redb's handle that failed was replaced.
    assert_eq!(payloads(&log, "s/a"), vec![b"1".to_vec()]);
    assert_eq!(log.read_from(1, 10).unwrap().len(), 1);
    // Work that only reads is answered for what it is; appends stay refused.
    let version = log.transact(|tx| tx.stream_version("s/a").unwrap()).await.unwrap();
    assert_eq!(version, 1);
    let again = log.append(meta("r3"), one("s/a", ExpectedVersion::Exactly(1), &[b"small"])).await;
    assert_eq!(again.err(), Some(AppendError::Unavailable(Unavailable::DiskFull)));
    assert_eq!(log.head(), 1);

    // Space returns: the next append is stored, without re-opening the log.
    faults.heal();
    let stored = log.append(meta("r4"), one("s/a", ExpectedVersion::Exactly(1), &[&big])).await.unwrap();
    assert_eq!((stored.first, stored.last), (2, 2));
    assert_eq!(log.health(), Health::Writable);
    log.append(meta("r5"), one("s/a", ExpectedVersion::Exactly(2), &[b"3"])).await.unwrap();
    log.close();

    let log = EventLog::open(&path, LogOptions::default()).unwrap();
    assert_eq!(payloads(&log, "s/a"), vec![b"1".to_vec(), big, b"3".to_vec()]);
}

#[tokio::test]
async fn a_read_only_file_system_refuses_appends_until_it_is_writable_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let faults = Faults::new();
    let log = EventLog::open_faulty(&path, options(), faults.clone()).unwrap();
    log.append(meta("r1"), one("s/a", ExpectedVersion::NoStream, &[b"1"])).await.unwrap();

    faults.read_only();
    let refused = log.append(meta("r2"), one("s/a", ExpectedVersion::Exactly(1), &[b"2"])).await;
    assert_eq!(refused.err(), Some(AppendError::Unavailable(Unavailable::ReadOnlyFileSystem)));
    assert_eq!(log.health(), Health::Unavailable(Unavailable::ReadOnlyFileSystem));
    let again = log.append(meta("r3"), one("s/b", ExpectedVersion::NoStream, &[b"x"])).await;
    assert_eq!(again.err(), Some(AppendError::Unavailable(Unavailable::ReadOnlyFileSystem)));

    faults.heal();
    let stored = log.append(meta("r4"), one("s/a", ExpectedVersion::Exactly(1), &[b"2"])).await.unwrap();
    assert_eq!(stored.first, 2);
    assert_eq!(payloads(&log, "s/a"), vec![b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(log.stream_version("s/b").unwrap(), 0, "the refused append left nothing");
}

#[tokio::test]
async fn another_io_error_fails_the_batch_and_the_next_one_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let faults = Faults::new();
    let log = EventLog::open_faulty(&path, options(), faults.clone()).unwrap();
    log.append(meta("r1"), one("s/a", ExpectedVersion::NoStream, &[b"1"])).await.unwrap();
    faults.broken();
    let failed = log.append(meta("r2"), one("s/a", ExpectedVersion::Exactly(1), &[b"2"])).await;
    assert!(matches!(failed, Err(AppendError::Storage(_))), "{failed:?}");
    faults.heal();
    // Before, redb's handle refused everything after one I/O error
    // ("Previous I/O error occurred") until the process restarted.
    let stored = log.append(meta("r3"), one("s/a", ExpectedVersion::Exactly(1), &[b"2"])).await.unwrap();
    assert_eq!(stored.first, 2);
    assert_eq!(log.health(), Health::Writable);
    // The writer's counts: three jobs, the failed one's record not stored.
    let stats = log.writer_stats();
    assert_eq!((stats.jobs, stats.records), (3, 2), "{stats:?}");
}

/// After a failed sync the kernel may have dropped the pages it could not
/// write and still show them: the log stops appending until the process
/// restarts (PostgreSQL's "fsyncgate"), and reads go on. The deterministic
/// simulator found what happened before: appends went on after a re-open,
/// and a later power cut left a log redb could not open.
#[tokio::test]
async fn a_failed_sync_stops_appends_until_the_log_is_opened_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let faults = Faults::new();
    let log = EventLog::open_faulty(&path, options(), faults.clone()).unwrap();
    log.append(meta("r1"), one("s/a", ExpectedVersion::NoStream, &[b"1"])).await.unwrap();
    faults.syncs_fail();
    let failed = log.append(meta("r2"), one("s/a", ExpectedVersion::Exactly(1), &[b"2"])).await;
    assert!(matches!(failed, Err(AppendError::SyncFailed(_))), "{failed:?}");
    faults.heal();
    // Refused even with the disk working again.
    let refused = log.append(meta("r3"), one("s/b", ExpectedVersion::NoStream, &[b"3"])).await;
    assert!(matches!(refused, Err(AppendError::SyncFailed(_))), "{refused:?}");
    assert!(matches!(log.health(), Health::SyncFailed(_)), "{:?}", log.health());
    log.close();
    let reopened = EventLog::open(&path, options()).unwrap();
    assert_eq!(reopened.health(), Health::Writable);
    let version = reopened.stream_version("s/a").unwrap();
    let stored = reopened.append(meta("r4"), one("s/a", ExpectedVersion::Exactly(version), &[b"4"])).await;
    assert!(stored.is_ok(), "{stored:?}");
}

/// A failing sync at each point of a run in turn, on a real file: what was
/// acknowledged before it is there after the restart, in order, and
/// nothing is acknowledged after it.
#[tokio::test]
async fn a_sync_failing_at_any_point_loses_nothing_acknowledged() {
    let mut failed_somewhere = 0;
    for n in 1..=12u64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.redb");
        let faults = Faults::new();
        let log = EventLog::open_faulty(&path, options(), faults.clone()).unwrap();
        faults.fail_sync_number(n);
        let mut acknowledged: Vec<Vec<u8>> = Vec::new();
        let mut stopped = false;
        for i in 0..10u64 {
            let payload = format!("{n}-{i}").into_bytes();
            let expected = ExpectedVersion::from_seen(acknowledged.len() as u64);
            match log.append(meta("r"), one("s/a", expected, &[&payload])).await {
                Ok(_) => {
                    assert!(!stopped, "sync {n}: an append was acknowledged after a failed sync");
                    acknowledged.push(payload);
                }
                Err(AppendError::SyncFailed(_)) => stopped = true,
                Err(e) => panic!("sync {n}: {e}"),
            }
        }
        failed_somewhere += u64::from(stopped);
        log.close();
        let reopened = EventLog::open(&path, options()).unwrap();
        let stored = payloads(&reopened, "s/a");
        assert_eq!(&stored[..acknowledged.len()], &acknowledged[..], "sync {n}");
        let version = reopened.stream_version("s/a").unwrap();
        let next = one("s/a", ExpectedVersion::Exactly(version), &[b"after"]);
        assert!(reopened.append(meta("r"), next).await.is_ok(), "sync {n}: appends resume after the restart");
    }
    assert!(failed_somewhere >= 10, "the failing sync fell inside the run {failed_somewhere} times");
}

/// A write failing at each point of a run in turn, on a real file, once:
/// the batch it was part of is refused and stored nowhere, the appends
/// after it are stored, and after a restart the log holds exactly what was
/// acknowledged, in order.
#[tokio::test]
async fn a_write_failing_at_any_point_loses_nothing_acknowledged_and_stores_nothing_refused() {
    // How many writes a run makes, to fail each of them in turn.
    let writes = {
        let dir = tempfile::tempdir().unwrap();
        let faults = Faults::new();
        let log = EventLog::open_faulty(&dir.path().join("events.redb"), options(), faults.clone()).unwrap();
        let before = faults.writes.load(std::sync::atomic::Ordering::SeqCst);
        for i in 0..10u64 {
            let expected = ExpectedVersion::from_seen(i);
            log.append(meta("r"), one("s/a", expected, &[format!("{i}").as_bytes()])).await.unwrap();
        }
        faults.writes.load(std::sync::atomic::Ordering::SeqCst) - before
    };
    assert!(writes >= 10, "a run makes {writes} writes");
    let mut refused_somewhere = 0;
    for n in 1..=writes {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.redb");
        let faults = Faults::new();
        let log = EventLog::open_faulty(&path, options(), faults.clone()).unwrap();
        faults.fail_write_number(n);
        let mut acknowledged: Vec<Vec<u8>> = Vec::new();
        let mut refused = 0;
        for i in 0..10u64 {
            let payload = format!("{n}-{i}").into_bytes();
            let expected = ExpectedVersion::from_seen(acknowledged.len() as u64);
            match log.append(meta("r"), one("s/a", expected, &[&payload])).await {
                Ok(_) => acknowledged.push(payload),
                Err(AppendError::Storage(_) | AppendError::Unavailable(_)) => refused += 1,
                Err(e) => panic!("write {n}: {e}"),
            }
        }
        assert!(refused <= 1, "write {n}: one failed write refused {refused} appends");
        refused_somewhere += refused;
        log.close();
        let reopened = EventLog::open(&path, options()).unwrap();
        assert_eq!(payloads(&reopened, "s/a"), acknowledged, "write {n}");
    }
    eprintln!("{writes} writes failed in turn; {refused_somewhere} of them refused an append");
    assert!(
        refused_somewhere >= writes / 2,
        "{refused_somewhere} of {writes} failed writes refused an append"
    );
}

/// A log of three records whose index is merged through all of them (so
/// that opening decodes only the last one), with a byte of record 2 flipped.
async fn log_with_a_bad_second_record(path: &Path) {
    let marker = b"UNIQUE-PAYLOAD-MARKER-0123456789";
    {
        let log = EventLog::open(path, LogOptions::default()).unwrap();
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"first"])).await.unwrap();
        log.append(meta("r"), one("s/b", ExpectedVersion::Any, &[marker])).await.unwrap();
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"third"])).await.unwrap();
        log.close();
    }
    let mut bytes = std::fs::read(path).unwrap();
    let mut flipped = 0;
    while let Some(at) = bytes.windows(marker.len()).position(|w| w == marker) {
        bytes[at + 3] ^= 0x01;
        flipped += 1;
    }
    assert!(flipped > 0);
    std::fs::write(path, &bytes).unwrap();
}

#[tokio::test]
async fn a_read_that_meets_a_corrupt_record_stops_all_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    log_with_a_bad_second_record(&path).await;
    let log = EventLog::open(&path, LogOptions::default()).unwrap();
    assert_eq!(log.health(), Health::Writable, "opening checks the last record only");
    log.append(meta("r"), one("s/c", ExpectedVersion::NoStream, &[b"before"])).await.unwrap();
    let read = log.read_from(1, 10);
    assert!(matches!(read, Err(ReadError::Corrupt { position: 2, .. })), "{read:?}");
    assert!(matches!(log.health(), Health::Damaged(Damage { position: Some(2), .. })), "{:?}", log.health());
    let refused = log.append(meta("r"), one("s/c", ExpectedVersion::Exactly(1), &[b"after"])).await;
    assert!(matches!(refused, Err(AppendError::Damaged(Damage { position: Some(2), .. }))), "{refused:?}");
    // Undamaged streams are still read, and decisions on them still made.
    assert_eq!(payloads(&log, "s/a"), vec![b"first".to_vec(), b"third".to_vec()]);
    let version = log.transact(|tx| tx.stream_version("s/c").unwrap()).await.unwrap();
    assert_eq!(version, 1);
    assert_eq!(log.head(), 4);
}

#[tokio::test]
async fn a_damaged_log_does_not_open_for_writing_but_opens_read_only_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    {
        let log = EventLog::open(&path, LogOptions::default()).unwrap();
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"1", b"2"])).await.unwrap();
        log.append(meta("r"), one("s/b", ExpectedVersion::Any, &[b"MARKER-XYZ-3"])).await.unwrap();
        log.close();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(12).rposition(|w| w == b"MARKER-XYZ-3").unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    match EventLog::open(&path, LogOptions::default()) {
        Err(OpenError::Damaged(Damage { position: Some(3), .. })) => {}
        other => panic!("opened for writing: {:?}", other.map(|l| l.head())),
    }
    let before = hash(&path);
    let log = EventLog::open_read_only(&path, LogOptions::default()).unwrap();
    assert!(matches!(log.health(), Health::Damaged(Damage { position: Some(3), .. })), "{:?}", log.health());
    assert_eq!(log.head(), 3);
    assert_eq!(payloads(&log, "s/a"), vec![b"1".to_vec(), b"2".to_vec()]);
    assert!(matches!(log.read_stream("s/b", 0), Err(ReadError::Corrupt { position: 3, .. })));
    let refused = log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"4"])).await;
    assert!(matches!(refused, Err(AppendError::Damaged(_))), "{refused:?}");
    log.close();
    assert_eq!(hash(&path), before, "a read-only open changed the file");
}

#[tokio::test]
async fn a_read_only_open_refuses_appends_and_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    {
        let log = EventLog::open(&path, LogOptions::default()).unwrap();
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"1", b"2"])).await.unwrap();
        log.close();
    }
    let before = hash(&path);
    let log = EventLog::open_read_only(&path, LogOptions::default()).unwrap();
    assert_eq!(log.health(), Health::ReadOnly);
    assert_eq!(payloads(&log, "s/a"), vec![b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"3"])).await.err(),
        Some(AppendError::ReadOnly)
    );
    // A second reader may open it meanwhile; a writer may not.
    let second = EventLog::open_read_only(&path, LogOptions::default()).unwrap();
    assert_eq!(second.head(), 2);
    assert!(matches!(EventLog::open(&path, LogOptions::default()), Err(OpenError::InUse { .. })));
    second.close();
    log.close();
    assert_eq!(hash(&path), before, "a read-only open changed the file");
}

#[tokio::test]
async fn opening_tells_a_log_in_use_from_one_not_closed_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let log = EventLog::open(&path, LogOptions::default()).unwrap();
    log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"1"])).await.unwrap();
    assert!(matches!(EventLog::open(&path, LogOptions::default()), Err(OpenError::InUse { .. })));
    assert!(matches!(EventLog::open_read_only(&path, LogOptions::default()), Err(OpenError::InUse { .. })));
    // A copy taken while it is open is what a crash leaves.
    let crashed = dir.path().join("crashed.redb");
    std::fs::copy(&path, &crashed).unwrap();
    let opened = EventLog::open_read_only(&crashed, LogOptions::default());
    assert!(matches!(opened, Err(OpenError::NotClosedCleanly { .. })), "{:?}", opened.map(|l| l.head()));
    // Opening for writing recovers it.
    let recovered = EventLog::open(&crashed, LogOptions::default()).unwrap();
    assert_eq!(recovered.head(), 1);
}

#[tokio::test]
async fn a_stream_index_that_lost_an_entry_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    {
        let log = EventLog::open(&path, LogOptions::default()).unwrap();
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"1", b"2"])).await.unwrap();
        log.close();
    }
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(crate::tables::STREAMS).unwrap().remove(("s/a", 2)).unwrap();
        txn.commit().unwrap();
    }
    match EventLog::open(&path, LogOptions::default()) {
        Err(OpenError::Damaged(Damage { position: None, reason })) => {
            assert!(reason.contains("stream index holds 1 entries"), "{reason}")
        }
        other => panic!("opened for writing: {:?}", other.map(|l| l.head())),
    }
}
