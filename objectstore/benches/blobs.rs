//! Blob store throughput: a streaming put and a streaming get of one large
//! blob, against a baseline measured in the same run on the same disk: the
//! same bytes written with `std::fs` and fsynced, and read back in 1 MiB
//! reads. Both reads are from a warm page cache. The put also hashes
//! (SHA-256, MD5, CRC32C), so the cost of hashing alone is shown too.
//!
//! Run: `cargo bench -p yukari-objectstore --bench blobs`; the size in MiB
//! is `YUKARI_BENCH_BLOB_MIB` (default 256; 1024 for the 1 GiB figure).
//! Data goes under target/bench-data/objectstore and is removed after.

use bytes::Bytes;
use futures::StreamExt;
use md5::Md5;
use objectstore::BlobStore;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;
const RUNS: usize = 3;

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / MIB as f64 / took.as_secs_f64()
}

/// 1 MiB + 4099 bytes that do not compress (xorshift).
fn pattern() -> Bytes {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..MIB + 4099)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    Bytes::from(bytes)
}

/// `size` bytes as 256 KiB chunks (a fast client's), slices of the pattern.
fn chunks(pattern: &Bytes, size: u64) -> impl Iterator<Item = Bytes> + use<> {
    let pattern = pattern.clone();
    let piece = 256 << 10;
    (0..size.div_ceil(piece)).map(move |i| {
        let len = piece.min(size - i * piece) as usize;
        let from = (i as usize * 4099) % (pattern.len() - len);
        pattern.slice(from..from + len)
    })
}

/// The median of `RUNS` timings of `f`.
fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut took: Vec<Duration> = (0..RUNS).map(|_| f()).collect();
    took.sort();
    took[RUNS / 2]
}

fn main() {
    let mib: u64 = std::env::var("YUKARI_BENCH_BLOB_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let size = mib << 20;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/objectstore");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pattern = pattern();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // Baseline: write + fsync, then read, with std::fs.
    let raw = dir.join("raw");
    let raw_write = median(|| {
        let started = Instant::now();
        let mut file = std::fs::File::create(&raw).unwrap();
        for chunk in chunks(&pattern, size) {
            file.write_all(&chunk).unwrap();
        }
        file.sync_all().unwrap();
        started.elapsed()
    });
    let raw_read = median(|| {
        let started = Instant::now();
        let mut file = std::fs::File::open(&raw).unwrap();
        let mut buffer = vec![0u8; MIB];
        let mut total = 0;
        loop {
            let n = file.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        assert_eq!(total, size);
        started.elapsed()
    });
    std::fs::remove_file(&raw).unwrap();

    // What the put computes besides writing.
    let hashing = median(|| {
        let started = Instant::now();
        let (mut sha, mut md5, mut crc) = (Sha256::new(), Md5::new(), 0u32);
        for chunk in chunks(&pattern, size) {
            sha.update(&chunk);
            md5.update(&chunk);
            crc = crc32c::crc32c_append(crc, &chunk);
        }
        std::hint::black_box((sha.finalize(), md5.finalize(), crc));
        started.elapsed()
    });

    let each = |hash: &dyn Fn(&[u8])| {
        median(|| {
            let started = Instant::now();
            for chunk in chunks(&pattern, size) {
                hash(&chunk);
            }
            started.elapsed()
        })
    };
    let sha_alone = each(&|b| {
        std::hint::black_box(Sha256::digest(b));
    });
    let md5_alone = each(&|b| {
        std::hint::black_box(Md5::digest(b));
    });
    let crc_alone = each(&|b| {
        std::hint::black_box(crc32c::crc32c(b));
    });

    let store = BlobStore::open(dir.join("store")).unwrap();
    let mut id = None;
    let put = median(|| {
        // A new store each time, so that no put is a dedupe.
        let _ = std::fs::remove_dir_all(dir.join("store/blobs"));
        let store = BlobStore::open(dir.join("store")).unwrap();
        let body = futures::stream::iter(chunks(&pattern, size).map(Ok::<_, std::io::Error>));
        let started = Instant::now();
        let written = runtime.block_on(store.put(body, u64::MAX)).unwrap();
        let took = started.elapsed();
        assert_eq!(written.size, size);
        id = Some(written.id);
        took
    });
    let id = id.unwrap();
    let get = median(|| {
        let started = Instant::now();
        let total = runtime.block_on(async {
            let mut stream = store.get(&id, None).await.unwrap();
            let mut total = 0u64;
            while let Some(chunk) = stream.next().await {
                total += chunk.unwrap().len() as u64;
            }
            total
        });
        assert_eq!(total, size);
        started.elapsed()
    });
    let _ = std::fs::remove_dir_all(&dir);

    println!("blob store, {mib} MiB, median of {RUNS} runs (MiB/s; ratio = blob store / std::fs baseline)");
    let row = |what: &str, ours: Duration, base: Duration| {
        println!(
            "{what:<5} blob store {:>8.1} MiB/s   std::fs {:>8.1} MiB/s   ratio {:.2}",
            mib_per_s(size, ours),
            mib_per_s(size, base),
            base.as_secs_f64() / ours.as_secs_f64()
        );
    };
    row("put", put, raw_write);
    row("get", get, raw_read);
    println!(
        "hashing alone, one thread: SHA-256 + MD5 + CRC32C {:.1} MiB/s (SHA-256 {:.1}, MD5 {:.1}, CRC32C {:.1})",
        mib_per_s(size, hashing),
        mib_per_s(size, sha_alone),
        mib_per_s(size, md5_alone),
        mib_per_s(size, crc_alone)
    );
}
