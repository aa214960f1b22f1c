use super::*;
use crate::tests::{meta, one};
use crate::{EventLog, ExpectedVersion, Health, LogOptions, RecordedEvent};

/// A log of `n` records over three streams, each payload `p-<i>` (from 1),
/// closed cleanly; returns its records.
async fn log_of(path: &Path, n: u64) -> Vec<RecordedEvent> {
    let log = EventLog::open(path, LogOptions::default()).unwrap();
    for i in 1..=n {
        let payload = format!("payload-{i:04}");
        log.append(
            meta(&format!("r{i}")),
            one(&format!("s/{}", i % 3), ExpectedVersion::Any, &[payload.as_bytes()]),
        )
        .await
        .unwrap();
    }
    let records = log.read_from(1, usize::MAX).unwrap();
    log.close();
    records
}

/// Flips a byte in every copy of `needle` in the file.
fn flip_all(path: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let mut flipped = 0;
    while let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
        bytes[at + needle.len() - 1] ^= 0x01;
        flipped += 1;
    }
    assert!(flipped > 0, "{:?} is in the file", String::from_utf8_lossy(needle));
    std::fs::write(path, &bytes).unwrap();
}

/// The records of the salvaged log, which must open for writing and be
/// healthy, and be numbered without gaps.
fn salvaged(path: &Path) -> Vec<RecordedEvent> {
    let log = EventLog::open(path, LogOptions::default()).unwrap();
    assert_eq!(log.health(), Health::Writable);
    let records = log.read_from(1, usize::MAX).unwrap();
    assert_eq!(
        records.iter().map(|r| r.position).collect::<Vec<_>>(),
        (1..=records.len() as u64).collect::<Vec<_>>()
    );
    for stream in ["s/0", "s/1", "s/2"] {
        let events = log.read_stream(stream, 0).unwrap();
        let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=events.len() as u64).collect::<Vec<_>>(), "{stream}");
        assert_eq!(log.stream_version(stream).unwrap(), events.len() as u64);
    }
    log.close();
    records
}

/// What salvage must keep of a record: everything but its numbers.
fn content(r: &RecordedEvent) -> (String, String, i64, crate::Metadata, Vec<u8>) {
    (r.stream.clone(), r.event_type.clone(), r.recorded_at, r.metadata.clone(), r.payload.clone())
}

#[tokio::test]
async fn a_corrupt_record_is_reported_lost_and_every_other_one_is_copied_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (path, to) = (dir.path().join("events.redb"), dir.path().join("new.redb"));
    let original = log_of(&path, 10).await;
    flip_all(&path, b"payload-0004");

    let report = salvage(&path, &to).unwrap();
    assert_eq!(report.unopenable, None);
    assert_eq!((report.head, report.copied, report.lost.clone()), (10, 9, vec![4]));
    assert_eq!(report.lost_ranges(), vec![(4, 4)]);
    // Record 4 was the second of stream s/1 (records 1, 4, 7, 10).
    assert_eq!(report.streams.get("s/1").map(|v| v.iter().copied().collect::<Vec<_>>()), Some(vec![2]));
    assert_eq!(report.streams.len(), 1, "{:?}", report.streams);

    let copied = salvaged(&to);
    let kept: Vec<_> = original.iter().filter(|r| r.position != 4).map(content).collect();
    assert_eq!(copied.iter().map(content).collect::<Vec<_>>(), kept);
    // s/1 holds its three remaining records as versions 1..=3.
    let s1: Vec<_> = copied.iter().filter(|r| r.stream == "s/1").map(|r| r.payload.clone()).collect();
    assert_eq!(s1, vec![b"payload-0001".to_vec(), b"payload-0007".to_vec(), b"payload-0010".to_vec()]);
    // The damaged file was only read.
    assert!(salvage(&path, &dir.path().join("again.redb")).is_ok());
}

/// Overwrites the start (the B-tree page header) of every 4 KiB page that
/// holds `needle`.
fn damage_pages(path: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let pages: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(at, _)| at / 4096 * 4096)
        .collect();
    assert!(!pages.is_empty());
    for page in pages {
        bytes[page..page + 16].fill(0xA5);
    }
    std::fs::write(path, &bytes).unwrap();
}

#[tokio::test]
async fn records_on_a_page_redb_cannot_read_are_found_in_the_raw_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, to) = (dir.path().join("events.redb"), dir.path().join("new.redb"));
    let original = log_of(&path, 12).await;
    damage_pages(&path, b"payload-0006");

    let report = salvage(&path, &to).unwrap();
    assert!(report.from_raw_bytes > 0, "{report:?}");
    assert_eq!(report.lost, Vec::<u64>::new(), "{report:?}");
    assert_eq!(report.copied, 12);
    assert_eq!(
        salvaged(&to).iter().map(content).collect::<Vec<_>>(),
        original.iter().map(content).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_file_redb_cannot_open_is_salvaged_from_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, to) = (dir.path().join("events.redb"), dir.path().join("new.redb"));
    let original = log_of(&path, 7).await;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..512].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    flip_all(&path, b"payload-0005");

    let report = salvage(&path, &to).unwrap();
    assert!(report.unopenable.is_some(), "{report:?}");
    assert_eq!((report.head, report.lost.clone(), report.copied), (7, vec![5], 6));
    // Record 5 was the last of its stream and the index is unreadable:
    // nothing tells its stream.
    assert!(report.streams.is_empty(), "{report:?}");
    let kept: Vec<_> = original.iter().filter(|r| r.position != 5).map(content).collect();
    assert_eq!(salvaged(&to).iter().map(content).collect::<Vec<_>>(), kept);
}

#[tokio::test]
async fn a_log_not_closed_cleanly_is_salvaged_without_writing_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, crashed, to) =
        (dir.path().join("events.redb"), dir.path().join("crashed.redb"), dir.path().join("new.redb"));
    let log = EventLog::open(&path, LogOptions::default()).unwrap();
    for i in 1..=5u32 {
        log.append(meta("r"), one("s/0", ExpectedVersion::Any, &[format!("payload-{i:04}").as_bytes()]))
            .await
            .unwrap();
    }
    std::fs::copy(&path, &crashed).unwrap();
    // Open: salvage refuses to read a file a process has open.
    assert!(matches!(salvage(&path, &to), Err(SalvageError::InUse(_))));
    log.close();
    let before = std::fs::read(&crashed).unwrap();
    let report = salvage(&crashed, &to).unwrap();
    assert!(report.unopenable.as_deref().is_some_and(|w| w.contains("not closed cleanly")), "{report:?}");
    assert_eq!((report.copied, report.lost.len()), (5, 0));
    assert_eq!(std::fs::read(&crashed).unwrap(), before);
    assert!(matches!(salvage(&crashed, &to), Err(SalvageError::Exists(_))));
}

#[test]
fn lost_positions_are_told_as_ranges() {
    let report = SalvageReport { lost: vec![3, 4, 5, 9, 11, 12], ..SalvageReport::default() };
    assert_eq!(report.lost_ranges(), vec![(3, 5), (9, 9), (11, 12)]);
}
