//! Puts and gets: round trips, ranges, dedupe, refused bodies, damage.

mod common;

use bytes::Bytes;
use common::*;
use futures::{StreamExt as _, TryStreamExt};
use md5::{Digest, Md5};
use objectstore::{BlobId, BlobStore, WriteError};
use proptest::prelude::*;
use std::io;

#[tokio::test]
async fn blobs_round_trip_at_every_block_edge_with_their_size_and_md5() {
    let (dir, store) = store();
    for (len, seed) in [(0, 1), (1, 2), (MIB, 3), (MIB + 1, 4), (5 * MIB + 12_345, 5)] {
        let bytes = noise(len, seed);
        // Chunks that do not line up with blocks, and one chunk for all.
        for piece in [7_777, len.max(1)] {
            let written = store.put(body(&bytes, piece), u64::MAX).await.unwrap();
            assert_eq!(written.id, BlobId::of(&bytes), "{len} bytes");
            assert_eq!(written.size, len as u64);
            assert_eq!(written.md5, <[u8; 16]>::from(Md5::digest(&bytes)));
            assert_eq!(store.size(&written.id).unwrap(), Some(len as u64));
            assert!(store.contains(&written.id));
            let stream = store.get(&written.id, None).await.unwrap();
            assert_eq!(stream.len(), len as u64);
            assert_eq!(read_all(stream).await.unwrap(), bytes, "{len} bytes");
            store.verify(&written.id).await.unwrap();
            assert!(blob_path(dir.path(), &written.id).is_file());
            assert!(sums_path(dir.path(), &written.id).is_file());
        }
    }
    assert_eq!(store.list().unwrap().len(), 5);
    assert_eq!(store.stored_bytes().unwrap(), (MIB + MIB + 1 + 5 * MIB + 12_345 + 1) as u64);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn ranges_yield_exactly_their_bytes_and_a_range_past_the_end_is_refused() {
    let (_dir, store) = store();
    let bytes = noise(3 * MIB + 500, 9);
    let id = store.put(body(&bytes, 65_536), u64::MAX).await.unwrap().id;
    let m = MIB as u64;
    let ranges = [
        0..1,
        0..m,
        m - 1..m + 1,
        m..2 * m,
        m..m + 1,
        10..20,
        m + 5..2 * m - 5,
        2 * m - 1..3 * m + 500,
        3 * m..3 * m + 500,
        0..3 * m + 500,
    ];
    for range in ranges {
        let stream = store.get(&id, Some(range.clone())).await.unwrap();
        assert_eq!(stream.len(), range.end - range.start);
        let got = read_all(stream).await.unwrap();
        assert_eq!(got, bytes[range.start as usize..range.end as usize], "{range:?}");
    }
    for empty in [0..0, m..m, 3 * m + 500..3 * m + 500] {
        let stream = store.get(&id, Some(empty)).await.unwrap();
        assert!(stream.is_empty());
        assert!(read_all(stream).await.unwrap().is_empty());
    }
    #[allow(clippy::reversed_empty_ranges)]
    for outside in [0..3 * m + 501, 3 * m + 501..3 * m + 502, 20..10] {
        let e = store.get(&id, Some(outside.clone())).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{outside:?}");
    }
    let absent = BlobId::of(b"never stored");
    assert_eq!(store.get(&absent, None).await.unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(store.size(&absent).unwrap(), None);
    assert!(!store.contains(&absent));
}

#[tokio::test]
async fn the_same_content_twice_is_one_file() {
    let (dir, store) = store();
    let bytes = noise(MIB + 3, 11);
    let first = store.put(body(&bytes, 1000), u64::MAX).await.unwrap();
    let second = store.put(body(&bytes, 4096), u64::MAX).await.unwrap();
    assert!(!first.deduplicated);
    assert!(second.deduplicated);
    assert_eq!((first.id, first.size, first.md5), (second.id, second.size, second.md5));
    assert_eq!(
        files_under(&dir.path().join("blobs")),
        [blob_path(dir.path(), &first.id), sums_path(dir.path(), &first.id)]
    );
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert_eq!(store.pin_count(&first.id), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_as_it_arrives_and_leaves_nothing() {
    let (dir, store) = store();
    let bytes = noise(3 * MIB, 12);
    // Exactly the limit is fine.
    store.put(body(&bytes[..1000], 100), 1000).await.unwrap();
    // One byte more is not; the body after the limit is never read.
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = read.clone();
    let chunks = body(&bytes, 1024).inspect_ok(move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    match store.put(chunks, MIB as u64).await {
        Err(WriteError::TooLarge { limit }) => assert_eq!(limit, MIB as u64),
        other => panic!("{other:?}"),
    }
    assert_eq!(read.load(std::sync::atomic::Ordering::SeqCst), 1025);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert_eq!(store.list().unwrap().len(), 1);
}

#[tokio::test]
async fn a_body_that_fails_is_a_body_error_and_leaves_nothing() {
    let (dir, store) = store();
    let mut chunks: Vec<Result<Bytes, io::Error>> =
        (0..40).map(|i| Ok(Bytes::from(noise(100_000, i)))).collect();
    chunks.push(Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away")));
    chunks.push(Ok(Bytes::from_static(b"never read")));
    match store.put(futures::stream::iter(chunks), u64::MAX).await {
        Err(WriteError::Body(e)) => assert_eq!(e.to_string(), "client went away"),
        other => panic!("{other:?}"),
    }
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert!(files_under(&dir.path().join("blobs")).is_empty());
}

#[tokio::test]
async fn a_flipped_byte_fails_the_blocks_that_hold_it_and_only_those() {
    let (dir, store) = store();
    let bytes = noise(3 * MIB + 100, 13);
    let id = store.put(body(&bytes, 50_000), u64::MAX).await.unwrap().id;
    let path = blob_path(dir.path(), &id);
    let mut damaged = std::fs::read(&path).unwrap();
    let at = MIB + MIB / 2;
    damaged[at] ^= 0x20;
    std::fs::write(&path, &damaged).unwrap();

    let m = MIB as u64;
    for bad in [m..2 * m, at as u64..at as u64 + 1, m - 1..m + 1, 0..3 * m + 100] {
        let mut stream = store.get(&id, Some(bad.clone())).await.unwrap();
        let mut served = Vec::new();
        let e = loop {
            use futures::StreamExt;
            match stream.next().await {
                Some(Ok(chunk)) => served.extend_from_slice(&chunk),
                Some(Err(e)) => break e,
                None => panic!("{bad:?} served damaged bytes"),
            }
        };
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{bad:?}");
        // Nothing of the damaged block was served, and the stream ends.
        assert!(served.len() as u64 <= m.saturating_sub(bad.start), "{bad:?}");
        assert!(futures::StreamExt::next(&mut stream).await.is_none());
    }
    for good in [0..m, 2 * m..3 * m + 100, m - 10..m, 2 * m..2 * m + 1] {
        let got = read_all(store.get(&id, Some(good.clone())).await.unwrap()).await.unwrap();
        assert_eq!(got, bytes[good.start as usize..good.end as usize]);
    }
    assert_eq!(store.verify(&id).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
}

#[tokio::test]
async fn a_blob_without_a_sound_sidecar_or_of_the_wrong_length_is_never_served() {
    let (dir, store) = store();
    let bytes = noise(MIB + 10, 14);
    let id = store.put(body(&bytes, 9999), u64::MAX).await.unwrap().id;
    let (blob, sums) = (blob_path(dir.path(), &id), sums_path(dir.path(), &id));
    let sidecar = std::fs::read(&sums).unwrap();

    // A sidecar with one bit flipped.
    let mut bad = sidecar.clone();
    bad[30] ^= 1;
    std::fs::write(&sums, &bad).unwrap();
    assert_eq!(store.get(&id, Some(0..1)).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
    assert_eq!(store.verify(&id).await.unwrap_err().kind(), io::ErrorKind::InvalidData);

    // No sidecar.
    std::fs::remove_file(&sums).unwrap();
    assert_eq!(store.get(&id, None).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
    assert_eq!(store.verify(&id).await.unwrap_err().kind(), io::ErrorKind::InvalidData);

    // A blob cut short (its sidecar back).
    std::fs::write(&sums, &sidecar).unwrap();
    std::fs::write(&blob, &bytes[..MIB]).unwrap();
    assert_eq!(store.get(&id, Some(0..1)).await.unwrap_err().kind(), io::ErrorKind::InvalidData);

    // Another blob's bytes under this name, with sound block sums of its own: only the scrub sees it.
    let other = noise(MIB + 10, 15);
    let other_id = store.put(body(&other, MIB), u64::MAX).await.unwrap().id;
    std::fs::copy(blob_path(dir.path(), &other_id), &blob).unwrap();
    std::fs::copy(sums_path(dir.path(), &other_id), &sums).unwrap();
    assert_eq!(store.verify(&id).await.unwrap_err().kind(), io::ErrorKind::InvalidData);

    // A put of the same content repairs a blob whose file is not whole.
    std::fs::remove_file(&sums).unwrap();
    let again = store.put(body(&bytes, 4096), u64::MAX).await.unwrap();
    assert!(!again.deduplicated);
    store.verify(&id).await.unwrap();
}

#[test]
fn leftover_temporary_files_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(BlobStore::open(dir.path()).unwrap());
    std::fs::write(dir.path().join("tmp/put-crashed.tmp"), b"half a body").unwrap();
    std::fs::write(dir.path().join("tmp/sums-crashed.tmp"), b"YKBS").unwrap();
    std::fs::create_dir(dir.path().join("tmp/odd")).unwrap();
    std::fs::write(dir.path().join("tmp/odd/file"), b"x").unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    assert!(std::fs::read_dir(dir.path().join("tmp")).unwrap().next().is_none());
    assert!(store.list().unwrap().is_empty());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any range of any blob (blocks of 1 MiB, so sizes around a few blocks).
    #[test]
    fn any_range_reads_as_the_slice_of_the_content(
        len in prop_oneof![0usize..5000, (MIB - 3)..(MIB + 3), (2 * MIB)..(3 * MIB)],
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        piece in 1usize..300_000,
    ) {
        let (_dir, store) = store();
        let bytes = noise(len, len as u64 + 1);
        let (a, b) = (a.index(len + 1), b.index(len + 1));
        let range = a.min(b)..a.max(b);
        let got = runtime().block_on(async {
            let id = store.put(body(&bytes, piece), u64::MAX).await.unwrap().id;
            read_all(store.get(&id, Some(range.start as u64..range.end as u64)).await.unwrap()).await.unwrap()
        });
        prop_assert_eq!(got, &bytes[range]);
    }
}

#[tokio::test]
async fn a_put_dropped_midway_leaves_nothing() {
    let (dir, store) = store();
    let head = (0..3).map(|i| Ok::<_, io::Error>(Bytes::from(noise(MIB, i))));
    let body = futures::stream::iter(head).chain(futures::stream::pending());
    let put = tokio::time::timeout(std::time::Duration::from_millis(300), store.put(body, u64::MAX));
    assert!(put.await.is_err(), "the put cannot finish");
    // Its last jobs may still be running on the blocking pool; their end removes the file.
    let tmp = dir.path().join("tmp");
    for _ in 0..100 {
        if files_under(&tmp).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(files_under(&tmp).is_empty());
    assert!(store.list().unwrap().is_empty());
}
