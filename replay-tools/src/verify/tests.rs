use super::*;
use crate::source::Offline;
use crate::testing::synthetic_log;
use domain::event::{AccountCreated, ClusterAdded};
use domain::{AccountId, Timestamp, ZoneName};
use eventlog::{EventLog, ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};

fn append(stream: &str, expected: ExpectedVersion, event: Event) -> Vec<StreamAppend> {
    vec![StreamAppend {
        stream: stream.into(),
        expected,
        events: vec![NewEvent {
            event_type: event.type_name().into(),
            schema: event.schema(),
            payload: event.encode(),
        }],
    }]
}

#[tokio::test]
async fn a_sound_log_verifies_and_a_flipped_byte_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let marker = "account-name-marker-0123456789";
    {
        let log = EventLog::open(&path, LogOptions::default()).unwrap();
        let zone = ClusterAdded { zone: ZoneName::parse("z").unwrap(), at: Timestamp(1) };
        log.append(Metadata::default(), append("cloud", ExpectedVersion::Any, zone.into())).await.unwrap();
        for i in 0..3u64 {
            let e = AccountCreated {
                account: AccountId::from_bits(i),
                name: format!("{marker}{i}"),
                at: Timestamp(2),
            };
            log.append(
                Metadata::default(),
                append(&format!("account/{i}"), ExpectedVersion::NoStream, e.into()),
            )
            .await
            .unwrap();
        }
        let offline = Offline::from_log(log);
        let checks = Checks { stream_index: true, ..Checks::default() };
        let report = verify(&offline, checks, &Progress::hidden()).unwrap();
        assert!(report.ok(), "{report}");
        assert_eq!((report.records, report.streams), (4, 4));
    }
    // Damage the record of the second account (position 3).
    let mut bytes = std::fs::read(&path).unwrap();
    let needle = format!("{marker}1");
    let at = bytes.windows(needle.len()).rposition(|w| w == needle.as_bytes()).unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    let offline = Offline::open(dir.path()).unwrap();
    let report = verify(&offline, Checks::default(), &Progress::hidden()).unwrap();
    assert!(!report.ok());
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].position, Some(3), "{report}");
    assert!(report.problems[0].what.contains("checksum"), "{report}");
    assert!(report.to_string().contains("position 3: record at position 3 is corrupt"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilt_models_are_compared_with_the_live_ones_and_every_time_travel_snapshot() {
    let (dir, offline, _) = synthetic_log(3_000, 200).await;
    let head = offline.head().unwrap();
    let store = SnapshotStore::in_data_dir(dir.path());
    let rebuilt = crate::rebuild::rebuild(&offline, &store, 1_000, None, &Progress::hidden()).unwrap();
    assert_eq!(rebuilt.snapshots, (1..=head / 1_000).map(|n| n * 1_000).collect::<Vec<_>>());
    let (models, _) = crate::state::state_at(&offline, None, head - 10, &Progress::hidden()).unwrap();
    let live =
        LiveModels { origin: "the live models".into(), position: head - 10, bytes: encode_snapshot(&models) };
    let checks =
        Checks { live: Some(live.clone()), snapshots: Some(&store), stream_index: true, ..Checks::default() };
    let report = verify(&offline, checks, &Progress::hidden()).unwrap();
    assert!(report.ok(), "{report}");
    assert_eq!(report.compared.len(), 1 + rebuilt.snapshots.len(), "{report}");

    // Live models that are not what the log says: named, with their position.
    let (older, _) = crate::state::state_at(&offline, None, head - 11, &Progress::hidden()).unwrap();
    let wrong = LiveModels { bytes: encode_snapshot(&older), ..live };
    let report =
        verify(&offline, Checks { live: Some(wrong), ..Checks::default() }, &Progress::hidden()).unwrap();
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].position, Some(head - 10));
    assert!(report.problems[0].what.contains("differ from the live models"), "{report}");
}
