use super::*;
use crate::snapshots::SnapshotStore;
use crate::testing::synthetic_log;
use proptest::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_between_launch_and_terminate_shows_the_instance_running() {
    let (_dir, offline, summary) = synthetic_log(3_000, 50).await;
    let id = summary.terminated[0].clone();
    let stream = offline.stream(&format!("instance/{id}")).unwrap();
    let running = stream.iter().find(|r| r.event_type == "InstanceRunning").unwrap();
    let stopping = stream.iter().find(|r| r.event_type == "InstanceTerminationRequested").unwrap();
    let state = |position: u64| {
        let (models, _) = state_at(&offline, None, position, &Progress::hidden()).unwrap();
        models.instances.get(id.as_str()).map(|r| r.state)
    };
    assert_eq!(state(stream[0].position - 1), None);
    assert_eq!(state(stream[0].position), Some(domain::InstanceState::Pending));
    assert_eq!(state(running.position), Some(domain::InstanceState::Running));
    assert_eq!(state(stopping.position - 1), Some(domain::InstanceState::Running));
    assert_eq!(state(stopping.position), Some(domain::InstanceState::ShuttingDown));
    assert_eq!(state(offline.head().unwrap()), Some(domain::InstanceState::Terminated));

    // By time: the last record at or before a time.
    assert!(position_at(&offline, running.recorded_at).unwrap() >= running.position);
    let at = position_at(&offline, running.recorded_at).unwrap();
    let record = offline.read(at, 1).unwrap().remove(0);
    assert_eq!(record.recorded_at, running.recorded_at);
    if at < offline.head().unwrap() {
        assert!(offline.read(at + 1, 1).unwrap()[0].recorded_at > running.recorded_at);
    }
    assert_eq!(position_at(&offline, 0).unwrap(), 0);
    assert_eq!(position_at(&offline, i64::MAX).unwrap(), offline.head().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_give_the_same_state_as_a_fold_from_the_start() {
    let (dir, offline, _) = synthetic_log(3_000, 200).await;
    let head = offline.head().unwrap();
    let store = SnapshotStore::in_data_dir(dir.path());
    crate::rebuild::rebuild(&offline, &store, 700, None, &Progress::hidden()).unwrap();
    assert_eq!(store.list().unwrap().len() as u64, head / 700);
    let config = proptest::test_runner::Config { cases: 24, ..Default::default() };
    proptest!(config, |(position in 0..=head)| {
        let (fast, folded) = state_at(&offline, Some(&store), position, &Progress::hidden()).unwrap();
        let (slow, _) = state_at(&offline, None, position, &Progress::hidden()).unwrap();
        prop_assert_eq!(folded.from_snapshot, position / 700 * 700);
        prop_assert_eq!(fast, slow);
    });
    // A snapshot of another log (its guard does not match) is passed over.
    let other = store.list().unwrap().remove(0);
    let moved = other.path.with_file_name(format!("{:020}-{:08x}.snap", other.position, other.guard ^ 1));
    std::fs::rename(&other.path, &moved).unwrap();
    let (_, folded) = state_at(&offline, Some(&store), 1_000, &Progress::hidden()).unwrap();
    assert_eq!(folded, Folded { from_snapshot: 0, events: 1_000 });
}

#[test]
fn reports_hold_login_profiles_without_their_hashes() {
    use domain::{AccountId, SealedSecret, Timestamp, UserName};
    let mut models = ReadModels::default();
    let account = AccountId::from_bits(1);
    let row = projections::LoginProfileRow {
        password: SealedSecret { nonce: vec![7; 12], ciphertext: vec![9; 40] },
        reset_required: true,
        created_at: Timestamp(1),
        password_changed_at: Timestamp(2),
    };
    models.login_profiles.profiles.entry(account.clone()).or_default().insert(UserName::admin(), row);
    let json = to_json(&models);
    let profile = &json["login_profiles"]["profiles"][account.as_str()]["admin"];
    assert_eq!(profile["reset_required"], true, "{json}");
    assert!(profile.get("password").is_none(), "no hash in a report: {profile}");
    assert!(json["instances"]["rows"].is_object(), "the rest of the state is there: {json}");
}
