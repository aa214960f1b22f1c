//! Time-travel snapshots: the live runner writes them every N events, the
//! fold from them equals the fold from the start, foreign ones are
//! ignored, and thinning keeps the ends and evens out the gaps.

use super::*;
use crate::tests::{Op, World};
use crate::{Projections, TimeTravelPolicy, rebuild};
use eventlog::{ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};

fn appends(records: &[eventlog::RecordedEvent]) -> Vec<StreamAppend> {
    records
        .iter()
        .map(|r| StreamAppend {
            stream: r.stream.clone(),
            expected: ExpectedVersion::Exactly(r.version - 1),
            events: vec![NewEvent {
                event_type: r.event_type.clone(),
                schema: r.schema,
                payload: r.payload.clone(),
            }],
        })
        .collect()
}

fn busy_world() -> World {
    let mut world = World::new();
    for i in 0..40 {
        world.play(&Op::Run { account: 0, min: 1, max: 2, token: None, group: None });
        world.play(&Op::Report { pick: i, outcome: (i % 3) as u8 });
    }
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_runner_writes_snapshots_every_n_events_and_they_change_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let world = busy_world();
    let live = Projections::open(&log, None).unwrap();
    let store = TimeTravel::in_data_dir(dir.path());
    live.keep_time_travel(TimeTravelPolicy { store: store.clone(), every: 5, keep: 1000 });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(live.clone().follow(log.clone(), stopped));
    // One record per append, waiting for each: the runner sees small batches.
    let mut last = 0;
    for chunk in appends(&world.records).chunks(1) {
        last = log.append(Metadata::default(), chunk.to_vec()).await.unwrap().last;
        live.wait_for(last).await.unwrap();
    }
    while live.writing_time_travel() {
        tokio::task::yield_now().await;
    }
    stop.send_replace(true);
    follower.await.unwrap().unwrap();

    let written = store.list().unwrap();
    assert!(last >= 60, "{last} records");
    assert!(written.len() as u64 >= last / 5 / 2, "{} snapshots for {last} events", written.len());
    for pair in written.windows(2) {
        assert!(pair[1].position - pair[0].position >= 5, "{:?}", pair);
    }
    for position in [1, written[0].position, written[0].position + 3, last / 2, last - 1, last] {
        let (with, from) = models_at(&log, Some(&store), position).unwrap();
        let (without, zero) = models_at(&log, None, position).unwrap();
        assert_eq!(zero, 0);
        assert_eq!(with, without, "at {position}");
        assert_eq!(with.position, position);
        if position >= written[0].position {
            assert!(from > 0 && from <= position, "folded from {from} for {position}");
        }
    }
    assert_eq!(models_at(&log, Some(&store), u64::MAX).unwrap().0, rebuild(&log).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_or_damaged_snapshots_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let world = busy_world();
    log.append(Metadata::default(), appends(&world.records)).await.unwrap();
    let store = TimeTravel::in_data_dir(dir.path());
    // A snapshot of position 50 with the wrong guard (another log's), and
    // a damaged one with the right guard at 60.
    let (at50, _) = models_at(&log, None, 50).unwrap();
    let mut wrong = at50.clone();
    wrong.instances = Default::default();
    store.write_encoded(50, 0xdead_beef, &crate::encode_snapshot(&wrong)).unwrap();
    let mut g60 = 0;
    log.scan(60, |e| {
        g60 = guard(&e);
        std::ops::ControlFlow::Break(())
    })
    .unwrap();
    store.write_encoded(60, g60, b"not a snapshot").unwrap();
    let (models, from) = models_at(&log, Some(&store), 70).unwrap();
    assert_eq!(from, 0);
    assert_eq!(models, models_at(&log, None, 70).unwrap().0);
    // A good one is used.
    let (at55, _) = models_at(&log, None, 55).unwrap();
    let mut g55 = 0;
    log.scan(55, |e| {
        g55 = guard(&e);
        std::ops::ControlFlow::Break(())
    })
    .unwrap();
    store.write_encoded(55, g55, &crate::encode_snapshot(&at55)).unwrap();
    let (models, from) = models_at(&log, Some(&store), 70).unwrap();
    assert_eq!(from, 55);
    assert_eq!(models, models_at(&log, None, 70).unwrap().0);
}

#[test]
fn thinning_keeps_the_ends_and_evens_out_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let store = TimeTravel::new(dir.path());
    for p in [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200, 400] {
        store.write_encoded(p, 1, b"x").unwrap();
    }
    let deleted = store.thin(5).unwrap();
    assert_eq!(deleted.len(), 7);
    let left: Vec<u64> = store.list().unwrap().iter().map(|s| s.position).collect();
    assert_eq!(left.len(), 5);
    assert_eq!(left.first(), Some(&10));
    assert_eq!(left.last(), Some(&400));
    // The sparse end keeps its snapshots; the dense start loses most.
    assert!(left.contains(&200), "{left:?}");
    assert!(left.iter().filter(|&&p| p <= 100).count() <= 3, "{left:?}");
    assert_eq!(store.thin(5).unwrap(), Vec::<u64>::new());
    store.thin(0).unwrap();
    assert_eq!(store.list().unwrap().iter().map(|s| s.position).collect::<Vec<_>>(), [400]);
}

#[test]
fn position_at_finds_the_last_record_at_or_before_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    assert_eq!(position_at(&log, i64::MAX).unwrap(), 0);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let world = busy_world();
    rt.block_on(log.append(Metadata::default(), appends(&world.records[..5]))).unwrap();
    let mut times = Vec::new();
    log.scan(1, |e| {
        times.push(e.recorded_at);
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(position_at(&log, times[0] - 1).unwrap(), 0);
    assert_eq!(position_at(&log, times[4]).unwrap(), 5);
    assert_eq!(position_at(&log, i64::MAX).unwrap(), 5);
}
