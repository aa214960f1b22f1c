use crate::*;
use std::path::Path;

pub(crate) fn meta(request: &str) -> Metadata {
    Metadata {
        account: "123456789012".into(),
        user: "admin".into(),
        access_key: "AKIATEST".into(),
        action: "Test".into(),
        source: "test".into(),
        request_id: request.into(),
        correlation_id: request.into(),
        causation_id: request.into(),
    }
}

pub(crate) fn ev(t: &str, payload: &[u8]) -> NewEvent {
    NewEvent { event_type: t.into(), schema: 1, payload: payload.to_vec() }
}

pub(crate) fn one(stream: &str, expected: ExpectedVersion, payloads: &[&[u8]]) -> Vec<StreamAppend> {
    vec![StreamAppend {
        stream: stream.into(),
        expected,
        events: payloads.iter().map(|p| ev("Thing", p)).collect(),
    }]
}

fn open(dir: &Path) -> EventLog {
    EventLog::open(&dir.join("events.redb"), LogOptions::default()).unwrap()
}

#[tokio::test]
async fn appends_are_read_back_by_stream_and_position_with_their_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let a = log.append(meta("r1"), one("s/a", ExpectedVersion::NoStream, &[b"1", b"2"])).await.unwrap();
    assert_eq!((a.first, a.last), (1, 2));
    assert_eq!(a.versions, vec![("s/a".to_string(), 2)]);
    log.append(meta("r2"), one("s/b", ExpectedVersion::Any, &[b"3"])).await.unwrap();
    let b = log.read_stream("s/a", 0).unwrap();
    assert_eq!(b.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(), vec![b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(b[1].version, 2);
    assert_eq!(b[1].metadata, meta("r1"));
    assert_eq!(log.read_stream("s/a", 1).unwrap().len(), 1);
    let all = log.read_from(1, 100).unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[2].stream, "s/b");
    assert!(all[0].recorded_at <= all[2].recorded_at);
    assert_eq!(log.head(), 3);
    assert_eq!(log.stream_version("s/a").unwrap(), 2);
    assert_eq!(log.stream_version("s/none").unwrap(), 0);
}

#[tokio::test]
async fn expected_versions_are_enforced_and_multi_stream_appends_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(meta("r"), one("s/a", ExpectedVersion::NoStream, &[b"1"])).await.unwrap();
    let again = log.append(meta("r"), one("s/a", ExpectedVersion::NoStream, &[b"x"])).await;
    assert!(matches!(again, Err(AppendError::Conflict { actual: 1, .. })));
    let stale = log.append(meta("r"), one("s/a", ExpectedVersion::Exactly(0), &[b"x"])).await;
    assert!(matches!(stale, Err(AppendError::Conflict { .. })));
    log.append(meta("r"), one("s/a", ExpectedVersion::Exactly(1), &[b"2"])).await.unwrap();
    // Two streams, the second conflicts: neither is written.
    let mut both = one("s/new", ExpectedVersion::NoStream, &[b"n"]);
    both.extend(one("s/a", ExpectedVersion::Exactly(1), &[b"x"]));
    assert!(matches!(log.append(meta("r"), both).await, Err(AppendError::Conflict { .. })));
    assert_eq!(log.stream_version("s/new").unwrap(), 0);
    assert_eq!(log.head(), 2);
    // Two streams, both right: both written.
    let mut both = one("s/new", ExpectedVersion::NoStream, &[b"n"]);
    both.extend(one("s/a", ExpectedVersion::Exactly(2), &[b"3"]));
    let done = log.append(meta("r"), both).await.unwrap();
    assert_eq!((done.first, done.last), (3, 4));
    assert_eq!(log.stream_version("s/a").unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_commits_and_get_contiguous_positions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut tasks = Vec::new();
    for i in 0..256u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let stream = format!("s/{i}");
            log.append(meta("r"), one(&stream, ExpectedVersion::NoStream, &[&i.to_le_bytes()])).await.unwrap()
        }));
    }
    let mut positions = Vec::new();
    for t in tasks {
        positions.push(t.await.unwrap().first);
    }
    positions.sort();
    assert_eq!(positions, (1..=256).collect::<Vec<_>>());
    assert!(log.commits() < 256, "{} commits for 256 concurrent appends: no grouping", log.commits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_writer_counts_its_batches_jobs_records_syncs_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let (before, commits) = (log.writer_stats(), log.commits());
    log.append(meta("r"), one("s/a", ExpectedVersion::NoStream, &[b"1", b"2", b"3"])).await.unwrap();
    let first = log.writer_stats().since(&before);
    assert_eq!((first.batches, first.jobs, first.records, first.syncs), (1, 1, 3, 1), "{first:?}");
    assert!(first.writes >= 2, "a commit writes its pages and then the header: {first:?}");
    assert!(!first.syncing.is_zero() && first.committing >= first.syncing, "{first:?}");
    // A refused append is a batch without a commit: nothing stored, no sync.
    let refused = log.append(meta("r"), one("s/a", ExpectedVersion::NoStream, &[b"x"])).await;
    assert!(matches!(refused, Err(AppendError::Conflict { .. })));
    let second = log.writer_stats().since(&before);
    assert_eq!((second.batches, second.jobs, second.records, second.syncs), (2, 2, 3, 1), "{second:?}");
    let mut tasks = Vec::new();
    for i in 0..64u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let stream = format!("s/{i}");
            log.append(meta("r"), one(&stream, ExpectedVersion::NoStream, &[b"e"])).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = log.writer_stats().since(&before);
    assert_eq!((all.jobs, all.records), (66, 67), "{all:?}");
    assert_eq!(all.syncs, log.commits() - commits, "one sync per durable commit: {all:?}");
    assert_eq!(all.batches, all.syncs + 1, "every batch but the refused one committed: {all:?}");
    assert!(!all.waiting.is_zero() && !all.running.is_zero(), "{all:?}");
    let line = all.to_string();
    assert!(line.starts_with(&format!("batches {}, jobs 66 (", all.batches)), "{line}");
    assert!(line.contains("records 67 (") && line.contains(&format!("syncs {} (", all.syncs)), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_see_earlier_jobs_of_the_same_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    // Each job reads the stream's version and appends exactly after it; in a
    // shared batch, every job must see the one before.
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.transact(|tx| {
                let v = tx.stream_version("s/counter").unwrap();
                tx.append(&meta("r"), &one("s/counter", ExpectedVersion::from_seen(v), &[b"+"]))
            })
            .await
            .unwrap()
            .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(log.stream_version("s/counter").unwrap(), 100);
}

/// Many writers at once: the head never goes back, every position is stored once and in
/// order, and a shared counter (read, then appended at the version read)
/// counts every increment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_many_writers_heads_only_grow_and_positions_stay_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut head = log.watch_head();
    let watcher = tokio::spawn(async move {
        let mut last = 0;
        while last < 2_560 && head.changed().await.is_ok() {
            let now = *head.borrow_and_update();
            assert!(now >= last, "the head went back from {last} to {now}");
            last = now;
        }
        last
    });
    let mut tasks = Vec::new();
    for w in 0..32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..40u32 {
                let own = format!("s/own-{w}");
                log.append(
                    meta("own"),
                    one(&own, ExpectedVersion::Exactly(u64::from(n)), &[&n.to_be_bytes()]),
                )
                .await
                .unwrap();
                log.transact(|tx| {
                    let v = tx.stream_version("s/counter").unwrap();
                    tx.append(&meta("count"), &one("s/counter", ExpectedVersion::from_seen(v), &[b"+"]))
                })
                .await
                .unwrap()
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = log.read_from(1, 10_000).unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=2_560).collect::<Vec<_>>());
    assert_eq!(log.stream_version("s/counter").unwrap(), 1_280);
    for w in 0..32 {
        let versions: Vec<u64> =
            log.read_stream(&format!("s/own-{w}"), 0).unwrap().iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=40).collect::<Vec<_>>());
    }
    log.close();
    assert_eq!(watcher.await.unwrap(), 2_560);
}

#[tokio::test]
async fn a_panicking_transaction_stores_nothing_and_the_log_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let result = log
        .transact(|tx| {
            tx.append(&meta("r"), &one("s/a", ExpectedVersion::Any, &[b"lost"])).unwrap();
            panic!("boom");
        })
        .await;
    assert_eq!(result.err(), Some(AppendError::Panicked));
    assert_eq!(log.head(), 0);
    let a = log.append(meta("r"), one("s/a", ExpectedVersion::NoStream, &[b"kept"])).await.unwrap();
    assert_eq!(a.first, 1);
}

#[tokio::test]
async fn events_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"1", b"2", b"3"])).await.unwrap();
        log.close();
    }
    let log = open(dir.path());
    assert_eq!(log.head(), 3);
    let next = log.append(meta("r"), one("s/a", ExpectedVersion::Exactly(3), &[b"4"])).await.unwrap();
    assert_eq!(next.first, 4);
    assert!(matches!(log.append(meta("r"), vec![]).await, Ok(Appended { .. })));
    log.close();
    assert_eq!(log.append(meta("r"), vec![]).await.err(), Some(AppendError::Closed));
}

#[tokio::test]
async fn subscriptions_catch_up_then_follow() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"1", b"2"])).await.unwrap();
    let mut sub = log.subscribe(2).with_batch(10);
    let first = sub.next_batch().await.unwrap();
    assert_eq!(first.iter().map(|e| e.unwrap().position).collect::<Vec<_>>(), vec![2]);
    let follower = tokio::spawn(async move {
        let next = sub.next_batch().await.unwrap();
        next.iter().map(|e| e.unwrap().payload.to_vec()).collect::<Vec<_>>()
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"3"])).await.unwrap();
    assert_eq!(follower.await.unwrap(), vec![b"3".to_vec()]);
}

#[tokio::test]
async fn a_flipped_byte_is_reported_and_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let marker = b"UNIQUE-PAYLOAD-MARKER-0123456789";
    {
        let log = EventLog::open(&path, LogOptions::default()).unwrap();
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[b"before"])).await.unwrap();
        log.append(meta("r"), one("s/a", ExpectedVersion::Any, &[marker])).await.unwrap();
        log.close();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(marker.len()).rposition(|w| w == marker).expect("payload is in the file");
    bytes[at + 3] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    match EventLog::open(&path, LogOptions::default()) {
        // The damaged record is the last one, which open checks.
        Err(OpenError::Damaged(Damage { position: Some(2), .. })) => {}
        Err(other) => panic!("unexpected open error {other}"),
        Ok(log) => {
            let read = log.read_from(1, 10);
            assert!(matches!(read, Err(ReadError::Corrupt { position: 2, .. })), "{read:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_index_survives_merges_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let total = crate::index::MERGE_AT + 5_000;
    let appends_of = |start: usize, n: usize| -> Vec<StreamAppend> {
        (start..start + n)
            .map(|i| StreamAppend {
                stream: format!("s/{}", i % 997),
                expected: ExpectedVersion::Any,
                events: vec![ev("Thing", &(i as u64).to_le_bytes())],
            })
            .collect()
    };
    let check = |log: &EventLog| {
        for s in [0usize, 1, 500, 996] {
            let events = log.read_stream(&format!("s/{s}"), 0).unwrap();
            let want: Vec<u64> = (0..total).filter(|i| i % 997 == s).map(|i| i as u64).collect();
            let got: Vec<u64> =
                events.iter().map(|e| u64::from_le_bytes(e.payload[..8].try_into().unwrap())).collect();
            assert_eq!(got, want, "stream s/{s}");
            assert_eq!(
                events.iter().map(|e| e.version).collect::<Vec<_>>(),
                (1..=want.len() as u64).collect::<Vec<_>>()
            );
            assert_eq!(log.stream_version(&format!("s/{s}")).unwrap(), want.len() as u64);
        }
        // Two streams' records in a window of positions, merged by
        // position (record i is at position i + 1), through the index.
        let streams = vec!["s/1".to_owned(), "s/500".to_owned()];
        let (from, through) = (100u64, total as u64 - 100);
        let want: Vec<u64> = (0..total as u64)
            .filter(|i| i % 997 == 1 || i % 997 == 500)
            .map(|i| i + 1)
            .filter(|p| (from..=through).contains(p))
            .collect();
        let got = log.raw_stream_records(&streams, from, through, usize::MAX).unwrap();
        for (p, record) in &got {
            assert!(streams.iter().any(|s| s == decode_record(*p, record).unwrap().stream));
        }
        assert_eq!(got.iter().map(|(p, _)| *p).collect::<Vec<_>>(), want);
        let first = log.raw_stream_records(&streams, from, through, 3).unwrap();
        assert_eq!(first.iter().map(|(p, _)| *p).collect::<Vec<_>>(), want[..3]);
        assert!(log.raw_stream_records(&["s/none".to_owned()], 1, total as u64, 10).unwrap().is_empty());
    };
    {
        let log = open(dir.path());
        for start in (0..total).step_by(1000) {
            log.append(meta("r"), appends_of(start, 1000.min(total - start))).await.unwrap();
        }
        // Past MERGE_AT entries, part of the index is in the table.
        assert!(log.inner_merged_through() > 0);
        check(&log);
        // Optimistic concurrency sees merged and unmerged versions alike.
        let v = log.stream_version("s/3").unwrap();
        assert!(log.append(meta("r"), one("s/3", ExpectedVersion::Exactly(v - 1), &[b"x"])).await.is_err());
        log.close();
    }
    let log = open(dir.path());
    check(&log);
    // A subscription from the start reads from disk (the tail is empty after
    // opening), and agrees with a scan.
    let mut sub = log.subscribe(1).with_batch(50_000);
    let batch = sub.next_batch().await.unwrap();
    assert_eq!(batch.len(), total);
    assert_eq!(batch.last_position(), total as u64);
}

/// Long streams, paged through from any position (a node far behind
/// catching up): the index gives the same positions as a brute-force
/// filter, whether its entries are in the table, the overlay or both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_streams_are_paged_from_any_position_through_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let total = crate::index::MERGE_AT as u64 + 3_000;
    // Record i (position i + 1) is in "a" when i % 3 == 0, else in "b";
    // "c" has records only near the end.
    let stream_of = |i: u64| {
        if i + 50 >= total && i.is_multiple_of(2) {
            "c"
        } else if i.is_multiple_of(3) {
            "a"
        } else {
            "b"
        }
    };
    let check = |log: &EventLog| {
        let windows = [(1, total), (2, 40), (700, 701), (1_000, 20_000), (33_000, total), (total, total + 9)];
        for names in [&["a"][..], &["a", "b"], &["c", "a"], &["b"]] {
            let streams: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            for (from, through) in windows {
                for max in [1, 7, 64, 65, 1_000, usize::MAX] {
                    let want: Vec<u64> = (0..total)
                        .filter(|&i| names.contains(&stream_of(i)))
                        .map(|i| i + 1)
                        .filter(|p| (from..=through).contains(p))
                        .take(max)
                        .collect();
                    let got = log.raw_stream_records(&streams, from, through, max).unwrap();
                    let got: Vec<u64> = got.iter().map(|(p, _)| *p).collect();
                    assert_eq!(got, want, "{names:?} {from}..={through} max {max}");
                }
            }
        }
    };
    {
        let log = open(dir.path());
        for start in (0..total).step_by(1000) {
            let appends = (start..(start + 1000).min(total))
                .map(|i| StreamAppend {
                    stream: stream_of(i).to_owned(),
                    expected: ExpectedVersion::Any,
                    events: vec![ev("Thing", &i.to_le_bytes())],
                })
                .collect();
            log.append(meta("r"), appends).await.unwrap();
        }
        assert!(log.inner_merged_through() > 0, "part of the index is in the table");
        check(&log);
        log.close();
    }
    check(&open(dir.path()));
}

#[test]
fn a_replay_page_cache_is_sized_to_the_log_file_within_the_machines_memory() {
    let dir = tempfile::tempdir().unwrap();
    let gib = 1usize << 30;
    assert_eq!(LogOptions::for_replay_of(&dir.path().join("none.redb")).cache_bytes, gib, "no file: 1 GiB");
    let small = dir.path().join("small.redb");
    std::fs::write(&small, b"x").unwrap();
    assert_eq!(LogOptions::for_replay_of(&small).cache_bytes, gib, "a small file: 1 GiB");
    // A sparse file of 2 GiB: an eighth more, unless a quarter of the
    // machine's memory is less.
    let large = dir.path().join("large.redb");
    std::fs::File::create(&large).unwrap().set_len(2 << 30).unwrap();
    let quarter = crate::log::physical_memory().unwrap() as usize / 4;
    let wanted = (2 * gib + gib / 4).min(quarter.max(gib));
    assert_eq!(LogOptions::for_replay_of(&large).cache_bytes, wanted);
}
