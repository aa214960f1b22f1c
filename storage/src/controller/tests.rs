//! The reconciler against the simulated store: views in, store changes
//! and reports out; orphans removed; steps repeated after a crash.

use super::*;
use crate::SimStorage;

fn volume(n: u32) -> String {
    format!("vol-0000000000000000{n}")
}

fn wanted_volume(n: u32) -> WantedVolume {
    WantedVolume {
        volume: volume(n),
        size: 1 << 30,
        source: None,
        grant: None,
        created: false,
        exported: false,
        revoke: None,
    }
}

fn grant(n: u32) -> Grant {
    Grant { initiator: format!("iqn.2026-12.io.yukari:att-{n}"), chap: None }
}

fn apply<D: StorageDriver>(r: &mut Reconciler<D>, wanted: &Wanted) -> (Vec<StorageReport>, Cleanup) {
    let mut reports = Vec::new();
    let cleanup = r.apply(wanted, &mut |report| reports.push(report)).unwrap();
    (reports, cleanup)
}

#[test]
fn a_volume_is_created_exported_revoked_and_deleted_as_the_views_say() {
    let mut r = Reconciler::new(SimStorage::new());
    let mut v = wanted_volume(1);
    let mut wanted = Wanted { position: 1, volumes: vec![v.clone()], ..Wanted::default() };
    let (reports, _) = apply(&mut r, &wanted);
    assert_eq!(reports, vec![StorageReport::Created { volume: volume(1) }]);
    // Until the log has recorded it, the view asks again: reported again.
    assert_eq!(apply(&mut r, &wanted).0, reports);
    v.created = true;
    wanted.volumes = vec![v.clone()];
    assert!(apply(&mut r, &wanted).0.is_empty());

    v.grant = Some(grant(1));
    wanted.volumes = vec![v.clone()];
    let (reports, _) = apply(&mut r, &wanted);
    assert!(
        matches!(&reports[..], [StorageReport::Exported { volume: vol, initiator, .. }] if *vol == volume(1) && *initiator == grant(1).initiator),
        "{reports:?}"
    );
    assert_eq!(r.driver().inventory().unwrap().exports, vec![(volume(1), vec![grant(1).initiator])]);
    v.exported = true;
    wanted.volumes = vec![v.clone()];
    assert!(apply(&mut r, &wanted).0.is_empty());

    // Detach: the grant goes, its revocation is reported.
    v.grant = None;
    v.exported = false;
    v.revoke = Some(grant(1).initiator);
    wanted.volumes = vec![v.clone()];
    let (reports, _) = apply(&mut r, &wanted);
    assert_eq!(reports, vec![StorageReport::Revoked { volume: volume(1), initiator: grant(1).initiator }]);
    assert!(r.driver().inventory().unwrap().exports.is_empty());

    wanted.volumes.clear();
    wanted.deleting = vec![volume(1)];
    assert_eq!(apply(&mut r, &wanted).0, vec![StorageReport::Deleted { volume: volume(1) }]);
    assert!(r.driver().inventory().unwrap().volumes.is_empty());
}

#[test]
fn what_the_log_does_not_name_is_removed_and_a_lost_volume_is_not_made_again() {
    let store = SimStorage::new();
    store.create(&volume(7), 1 << 20).unwrap();
    store.export(&volume(7), &grant(7)).unwrap();
    store.create(&volume(2), 1 << 20).unwrap();
    store.export(&volume(2), &grant(9)).unwrap();
    let mut r = Reconciler::new(store);
    let mut kept = wanted_volume(2);
    kept.created = true;
    kept.grant = Some(grant(2));
    kept.exported = true;
    let mut lost = wanted_volume(3);
    lost.created = true;
    let wanted = Wanted { position: 9, volumes: vec![kept, lost], ..Wanted::default() };
    let (reports, cleanup) = apply(&mut r, &wanted);
    assert_eq!(cleanup.orphan_volumes, vec![volume(7)]);
    assert!(cleanup.orphan_exports.contains(&(volume(2), grant(9).initiator)), "{cleanup:?}");
    assert!(cleanup.orphan_exports.contains(&(volume(7), grant(7).initiator)), "{cleanup:?}");
    assert_eq!(reports, vec![StorageReport::Lost { volume: volume(3) }]);
    let inventory = r.driver().inventory().unwrap();
    assert_eq!(inventory.volumes, vec![(volume(2), 1 << 20)]);
    assert_eq!(
        inventory.exports,
        vec![(volume(2), vec![grant(2).initiator])],
        "only the current grant is in"
    );
}

#[test]
fn snapshots_are_taken_once_reported_until_recorded_and_restored_from() {
    let mut r = Reconciler::new(SimStorage::new());
    let mut v = wanted_volume(1);
    v.created = true;
    r.driver().create(&volume(1), 1 << 30).unwrap();
    let snap = WantedSnapshot { snapshot: "snap-00000000000000001".into(), volume: volume(1) };
    let mut wanted =
        Wanted { position: 3, volumes: vec![v.clone()], snapshots: vec![snap.clone()], ..Wanted::default() };
    let (reports, _) = apply(&mut r, &wanted);
    let Some(StorageReport::SnapshotCompleted { manifest, size, .. }) = reports.last().cloned() else {
        panic!("{reports:?}")
    };
    assert_eq!(size, 1 << 30);
    // Asked again (the report did not reach the log): not taken twice.
    let (again, _) = apply(&mut r, &wanted);
    assert_eq!(again.last(), reports.last());
    assert_eq!(r.driver().snapshots().len(), 1);
    // Recorded: no longer asked; kept while live, collected once not.
    wanted.snapshots.clear();
    wanted.live_snapshots = vec![manifest];
    let mut restored = wanted_volume(4);
    restored.source = Some(manifest);
    wanted.volumes.push(restored);
    let (reports, cleanup) = apply(&mut r, &wanted);
    assert_eq!(reports, vec![StorageReport::Created { volume: volume(4) }]);
    assert_eq!(cleanup.garbage_chunks, 0);
    wanted.live_snapshots.clear();
    assert_eq!(apply(&mut r, &wanted).1.garbage_chunks, 1);
}

/// The simulated store, recording the calls made to it; a guest writes to
/// `busy_writes` whenever the store is busy making a volume or cutting a
/// snapshot (the time such a step takes, during which guests go on).
struct Recording {
    store: SimStorage,
    calls: std::sync::Mutex<Vec<String>>,
    busy_writes: Vec<String>,
}

impl Recording {
    fn new(busy_writes: &[String]) -> Self {
        Recording { store: SimStorage::new(), calls: Default::default(), busy_writes: busy_writes.to_vec() }
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn busy(&self) {
        for volume in &self.busy_writes {
            self.store.write(volume);
        }
    }

    fn calls(&self) -> Vec<String> {
        std::mem::take(&mut self.calls.lock().unwrap())
    }
}

impl StorageDriver for Recording {
    fn name(&self) -> &str {
        "recording"
    }
    fn portal(&self) -> String {
        self.store.portal()
    }
    fn create(&self, volume: &str, size: u64) -> Result<(), StorageError> {
        self.record(format!("create {volume}"));
        self.busy();
        self.store.create(volume, size)
    }
    fn restore(&self, volume: &str, size: u64, snapshot: &ChunkId) -> Result<(), StorageError> {
        self.record(format!("restore {volume}"));
        self.busy();
        self.store.restore(volume, size, snapshot)
    }
    fn delete(&self, volume: &str) -> Result<(), StorageError> {
        self.record(format!("delete {volume}"));
        self.store.delete(volume)
    }
    fn export(&self, volume: &str, grant: &Grant) -> Result<Export, StorageError> {
        self.record(format!("export {volume}"));
        self.store.export(volume, grant)
    }
    fn revoke(&self, volume: &str, initiator: &str) -> Result<(), StorageError> {
        self.store.revoke(volume, initiator)
    }
    fn freeze(&self, snapshots: &[crate::Freeze<'_>]) -> Vec<Result<(), StorageError>> {
        let names: Vec<&str> = snapshots.iter().map(|(s, _)| *s).collect();
        self.record(format!("freeze {}", names.join(" ")));
        self.store.freeze(snapshots)
    }
    fn snapshot(
        &self,
        snapshot: &str,
        volume: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<crate::Taken, StorageError> {
        self.record(format!("cut {snapshot}"));
        let taken = self.store.snapshot(snapshot, volume, progress);
        self.busy();
        taken
    }
    fn discard(&self, snapshot: &str, volume: &str) -> Result<bool, StorageError> {
        self.record(format!("discard {snapshot}"));
        self.store.discard(snapshot, volume)
    }
    fn collect_garbage(&self, live: &[ChunkId]) -> Result<usize, StorageError> {
        self.store.collect_garbage(live)
    }
    fn unexport(&self, volume: &str) -> Result<(), StorageError> {
        self.store.unexport(volume)
    }
    fn inventory(&self) -> Result<crate::Inventory, StorageError> {
        self.store.inventory()
    }
}

fn snapshot_id(n: u32) -> String {
    format!("snap-0000000000000000{n}")
}

/// The snapshots completed in `reports`: snapshot → manifest.
fn completed(reports: &[StorageReport]) -> BTreeMap<String, ChunkId> {
    reports
        .iter()
        .filter_map(|r| match r {
            StorageReport::SnapshotCompleted { snapshot, manifest, .. } => {
                Some((snapshot.clone(), *manifest))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn every_snapshot_is_frozen_before_anything_else_of_the_view_is_done() {
    // Volumes 1 and 2 in use, written by their guest whenever the store is
    // busy; a snapshot of each (an instance's set), a new volume and a
    // restore in the same view.
    let (one, two) = (volume(1), volume(2));
    let mut r = Reconciler::new(Recording::new(&[one.clone(), two.clone()]));
    let seed = r.driver().store.create(&volume(9), 1 << 20).and_then(|()| {
        r.driver().store.freeze(&[("snap-seed", &volume(9))]).pop().unwrap()?;
        r.driver().store.snapshot("snap-seed", &volume(9), &mut |_, _| {})
    });
    let seed = seed.unwrap().manifest;
    let mut wanted = Wanted { position: 1, live_snapshots: vec![seed], ..Wanted::default() };
    for n in [1, 2] {
        let mut v = wanted_volume(n);
        v.created = true;
        r.driver().store.create(&v.volume, 1 << 30).unwrap();
        v.grant = Some(grant(n));
        v.exported = true;
        wanted.volumes.push(v);
        wanted.snapshots.push(WantedSnapshot { snapshot: snapshot_id(n), volume: volume(n) });
    }
    wanted.volumes.push(wanted_volume(3));
    let mut restored = wanted_volume(4);
    restored.source = Some(seed);
    wanted.volumes.push(restored);
    let writes_asked = (r.driver().store.write(&one), r.driver().store.write(&two));

    let (reports, _) = apply(&mut r, &wanted);
    let calls = r.driver().calls();
    let at = |call: &str| calls.iter().position(|c| c == call).unwrap_or_else(|| panic!("{call}: {calls:?}"));
    let freeze = at(&format!("freeze {} {}", snapshot_id(1), snapshot_id(2)));
    assert!(freeze < at(&format!("create {}", volume(3))), "{calls:?}");
    assert!(freeze < at(&format!("restore {}", volume(4))), "{calls:?}");
    assert!(freeze < at(&format!("cut {}", snapshot_id(1))), "{calls:?}");
    // What the guests wrote while the store made volumes and cut the
    // first snapshot is in neither snapshot: both hold the moment asked.
    let taken = completed(&reports);
    let store = &r.driver().store;
    assert_eq!(store.held(&taken[&snapshot_id(1)]), Some((one.clone(), writes_asked.0)), "{reports:?}");
    assert_eq!(store.held(&taken[&snapshot_id(2)]), Some((two.clone(), writes_asked.1)), "{reports:?}");
    assert!(store.write(&two) > writes_asked.1 + 1, "the guests did write meanwhile");
}

#[test]
fn a_copy_outlives_a_crash_and_is_dropped_once_its_snapshot_is_no_longer_asked_for() {
    let store = SimStorage::new();
    store.create(&volume(1), 1 << 30).unwrap();
    store.create(&volume(2), 1 << 30).unwrap();
    let asked = store.write(&volume(1));
    // Frozen, then the controller died before cutting; the guest went on.
    let (s1, s2, v1, v2) = (snapshot_id(1), snapshot_id(2), volume(1), volume(2));
    assert!(store.freeze(&[(&s1, &v1), (&s2, &v2)]).iter().all(Result::is_ok));
    store.write(&volume(1));
    assert_eq!(store.inventory().unwrap().copies.len(), 2);
    let mut r = Reconciler::new(store);
    let volumes = [1, 2].map(|n| WantedVolume { created: true, ..wanted_volume(n) }).to_vec();
    // Snapshot 2 failed meanwhile: no longer asked for.
    let wanted = Wanted {
        position: 2,
        volumes,
        snapshots: vec![WantedSnapshot { snapshot: snapshot_id(1), volume: volume(1) }],
        ..Wanted::default()
    };
    let (reports, cleanup) = apply(&mut r, &wanted);
    assert_eq!(cleanup.orphan_copies, vec![snapshot_id(2)]);
    let taken = completed(&reports);
    assert_eq!(
        r.driver().held(&taken[&snapshot_id(1)]),
        Some((volume(1), asked)),
        "the moment asked, not now"
    );
    assert!(r.driver().inventory().unwrap().copies.is_empty(), "a cut copy is dropped");
}
