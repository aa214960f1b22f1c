//! Garbage collection: what it removes and keeps, and puts running meanwhile.

mod common;

use common::*;
use objectstore::{BlobId, BlobStore, GcReport};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn gc_removes_unreferenced_old_blobs_and_keeps_live_pinned_and_young_ones() {
    let (dir, store) = store();
    let live = store.put(body(b"live", 10), u64::MAX).await.unwrap();
    let pinned = store.put(body(b"pinned", 10), u64::MAX).await.unwrap();
    let dropped = store.put(body(&noise(MIB + 1, 1), 10_000), u64::MAX).await.unwrap();
    let (live_id, pinned_id, dropped_id) = (live.id, pinned.id, dropped.id);
    drop(live);
    drop(dropped);
    let is_live = |id: &BlobId| *id == live_id;

    // Everything is younger than an hour.
    let report = store.collect(&is_live, HOUR).unwrap();
    assert_eq!(report, GcReport { kept_live: 1, kept_young: 2, ..GcReport::default() });

    let report = store.collect(&is_live, Duration::ZERO).unwrap();
    assert_eq!(
        report,
        GcReport {
            removed: 1,
            bytes_freed: MIB as u64 + 1,
            kept_pinned: 1,
            kept_live: 1,
            ..GcReport::default()
        }
    );
    assert!(!store.contains(&dropped_id));
    assert!(!sums_path(dir.path(), &dropped_id).exists());
    assert_eq!(store.list().unwrap(), sorted([live_id, pinned_id]));

    // Pins count: a clone outlives the original.
    let clone = pinned.pin.clone();
    drop(pinned);
    assert_eq!(store.collect(&is_live, Duration::ZERO).unwrap().kept_pinned, 1);
    assert_eq!(store.pin_count(&pinned_id), 1);
    drop(clone);
    assert_eq!(store.pin_count(&pinned_id), 0);
    assert_eq!(store.collect(&is_live, Duration::ZERO).unwrap().removed, 1);
    assert_eq!(store.list().unwrap(), [live_id]);
    assert_eq!(store.stored_bytes().unwrap(), 4);

    // A pin taken on a stored blob keeps it too; none on an absent one.
    let pin = store.pin(&live_id).unwrap();
    assert_eq!(store.collect(&|_| false, Duration::ZERO).unwrap().kept_pinned, 1);
    drop(pin);
    assert!(store.pin(&pinned_id).is_none());
    assert_eq!(store.collect(&|_| false, Duration::ZERO).unwrap().removed, 1);
    assert!(store.list().unwrap().is_empty());
    assert_eq!(store.stored_bytes().unwrap(), 0);
}

fn sorted<const N: usize>(mut ids: [BlobId; N]) -> [BlobId; N] {
    ids.sort();
    ids
}

#[tokio::test]
async fn storing_a_blob_again_restarts_its_grace_period() {
    let (dir, store) = store();
    let id = store.put(body(b"again", 2), u64::MAX).await.unwrap().id;
    let old = SystemTime::now() - 2 * HOUR;
    let path = blob_path(dir.path(), &id);
    std::fs::File::open(&path).unwrap().set_modified(old).unwrap();
    // Two hours old and unpinned: gone, even with an hour's grace.
    assert_eq!(store.collect(&|_| false, HOUR).unwrap().removed, 1);

    let id = store.put(body(b"again", 2), u64::MAX).await.unwrap().id;
    std::fs::File::open(&path).unwrap().set_modified(old).unwrap();
    let again = store.put(body(b"again", 3), u64::MAX).await.unwrap();
    assert!(again.deduplicated);
    drop(again);
    assert_eq!(store.collect(&|_| false, HOUR).unwrap(), GcReport { kept_young: 1, ..GcReport::default() });
    assert!(store.contains(&id));
}

#[tokio::test]
async fn a_sidecar_left_without_its_blob_is_removed() {
    let (dir, store) = store();
    let id = store.put(body(b"half gone", 4), u64::MAX).await.unwrap().id;
    std::fs::remove_file(blob_path(dir.path(), &id)).unwrap();
    let report = store.collect(&|_| true, HOUR).unwrap();
    assert_eq!(report, GcReport { orphan_sums_removed: 1, ..GcReport::default() });
    assert!(files_under(&dir.path().join("blobs")).is_empty());
}

/// Puts of a few contents (so that many deduplicate against a blob GC is
/// about to remove) while GC runs in a loop with nothing live and no grace:
/// every blob whose pin is alive is stored and sound.
#[test]
fn gc_running_alongside_puts_never_removes_a_pinned_blob() {
    let (_dir, store) = store();
    let contents: Arc<Vec<Vec<u8>>> =
        Arc::new((0..6).map(|i| noise([0, 1, 700, 5000, MIB + 9, 20_000][i], i as u64 + 1)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let removed = Arc::new(AtomicUsize::new(0));
    let gc = {
        let (store, stop, removed) = (store.clone(), stop.clone(), removed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let report = store.collect(&|_| false, Duration::ZERO).unwrap();
                removed.fetch_add(report.removed, Ordering::SeqCst);
            }
        })
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..4usize {
            let (store, contents) = (store.clone(), contents.clone());
            tasks.push(tokio::spawn(async move {
                let mut held = std::collections::VecDeque::new();
                for round in 0..60 {
                    let bytes = &contents[(task * 7 + round * 5) % contents.len()];
                    let written = store.put(body(bytes, 3000), u64::MAX).await.unwrap();
                    assert_eq!(written.id, BlobId::of(bytes));
                    held.push_back(written);
                    if held.len() > 3 {
                        held.pop_front();
                    }
                    for w in &held {
                        assert!(store.contains(&w.id), "a pinned blob was removed");
                        store.verify(&w.id).await.unwrap();
                    }
                    let got = read_all(store.get(&written_id(&held), None).await.unwrap()).await.unwrap();
                    assert_eq!(&got, bytes);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    stop.store(true, Ordering::SeqCst);
    gc.join().unwrap();
    assert!(removed.load(Ordering::SeqCst) > 0, "GC never ran against the puts");
    // With every pin gone, everything goes.
    store.collect(&|_| false, Duration::ZERO).unwrap();
    assert!(store.list().unwrap().is_empty());
    let ids: HashSet<_> = contents.iter().map(|c| BlobId::of(c)).collect();
    assert!(ids.iter().all(|id| store.pin_count(id) == 0));
}

fn written_id(held: &std::collections::VecDeque<objectstore::Written>) -> BlobId {
    held.back().map(|w| w.id).unwrap()
}

#[test]
fn a_store_is_shared_by_its_clones_across_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<BlobStore>();
    send_sync::<objectstore::Pin>();
}
