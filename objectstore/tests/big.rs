//! A 256 MiB body, made as it is sent, round-trips while the process's
//! memory stays flat. Alone in its binary so the peak RSS is its own.

mod common;

use bytes::Bytes;
use futures::StreamExt;
use md5::Md5;
use objectstore::BlobId;
use sha2::{Digest, Sha256};
use std::convert::Infallible;

const SIZE: u64 = 256 << 20;

/// The body: slices of a 1 MiB + 4099 pattern, of lengths that never line
/// up with blocks, `SIZE` bytes in all.
fn generated() -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Unpin + Send {
    let pattern = Bytes::from(common::noise((1 << 20) + 4099, 42));
    let mut sent = 0u64;
    let mut at = 0usize;
    futures::stream::iter(std::iter::from_fn(move || {
        let len = ((65_536 + at % 7919) as u64).min(SIZE - sent) as usize;
        if len == 0 {
            return None;
        }
        let from = at % (pattern.len() - 80_000);
        at += len;
        sent += len as u64;
        Some(Ok(pattern.slice(from..from + len)))
    }))
}

/// The process's peak resident memory, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_stream_round_trips_in_flat_memory() {
    let (mut sha, mut md5) = (Sha256::new(), Md5::new());
    let mut expected = generated();
    while let Some(Ok(chunk)) = expected.next().await {
        sha.update(&chunk);
        md5.update(&chunk);
    }
    let (id, md5) = (BlobId(sha.finalize().into()), <[u8; 16]>::from(md5.finalize()));
    let before = peak_rss();

    let (_dir, store) = common::store();
    let written = store.put(generated(), SIZE).await.unwrap();
    assert_eq!((written.id, written.size, written.md5), (id, SIZE, md5));

    let mut stream = store.get(&id, None).await.unwrap();
    let (mut sha, mut read) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        read += chunk.len() as u64;
        sha.update(&chunk);
    }
    assert_eq!((BlobId(sha.finalize().into()), read), (id, SIZE));

    let grown = peak_rss().saturating_sub(before);
    eprintln!("peak RSS grew by {} KiB during the put and get of {} MiB", grown >> 10, SIZE >> 20);
    assert!(grown < 64 << 20, "the peak RSS grew by {} MiB for a {} MiB blob", grown >> 20, SIZE >> 20);
}
