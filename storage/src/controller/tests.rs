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

fn apply(r: &mut Reconciler<SimStorage>, wanted: &Wanted) -> (Vec<StorageReport>, Cleanup) {
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
