//! Snapshot speed (issue 10): a volume of incompressible data is
//! snapshotted into the chunk store and compared with a plain copy of the
//! same file (the baseline, measured in the same run); then 1 % of its
//! chunks change and a second snapshot is taken, compared with the first
//! (it reads everything but writes only what changed). A restore is
//! measured against the same copy.
//!
//! Run: `cargo bench -p yukari-storage --bench snapshot` (1 GiB, under
//! target/bench-data/snapshot), or `-- --quick` (128 MiB).

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};
use storage::{ChunkStore, snapshot};

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / took.as_secs_f64()
}

/// Fills `path` with `size` bytes that do not compress (xorshift).
fn fill(path: &std::path::Path, size: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        for word in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        file.write_all(&block).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
}

fn drop_cache_hint(path: &std::path::Path) {
    // The page cache is the same for every figure: all read warm.
    let _ = std::fs::read(path).map(|b| b.len());
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let size: u64 = if quick { 128 << 20 } else { 1 << 30 };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/snapshot");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let volume = dir.join("volume");
    fill(&volume, size);
    drop_cache_hint(&volume);

    let started = Instant::now();
    let copy = dir.join("copy");
    std::fs::copy(&volume, &copy).unwrap();
    std::fs::File::open(&copy).unwrap().sync_all().unwrap();
    let copy_took = started.elapsed();
    std::fs::remove_file(&copy).unwrap();

    let store = ChunkStore::open(dir.join("chunks")).unwrap();
    let started = Instant::now();
    let first = snapshot::take(&store, &volume, &mut |_, _| {}).unwrap();
    let first_took = started.elapsed();

    // 1 % of the chunks change.
    let chunks = size / u64::from(snapshot::CHUNK_SIZE);
    let changed = (chunks / 100).max(1);
    let file = std::fs::OpenOptions::new().write(true).open(&volume).unwrap();
    for i in 0..changed {
        let at = (i * 100 + 7) % chunks * u64::from(snapshot::CHUNK_SIZE);
        file.write_all_at(&i.to_le_bytes(), at + 4096).unwrap();
    }
    file.sync_all().unwrap();
    let started = Instant::now();
    let second = snapshot::take(&store, &volume, &mut |_, _| {}).unwrap();
    let second_took = started.elapsed();

    let started = Instant::now();
    snapshot::restore(&store, &second.manifest, &dir.join("restored"), size).unwrap();
    let restore_took = started.elapsed();

    let mib = size >> 20;
    println!("snapshot of a {mib} MiB volume of incompressible data ({chunks} chunks of 4 MiB)");
    println!(
        "  baseline: plain copy of the file + fsync   {:>8.1} MB/s  ({:.2} s)",
        mb_per_s(size, copy_took),
        copy_took.as_secs_f64()
    );
    println!(
        "  first snapshot                            {:>8.1} MB/s  ({:.2} s, {} chunks written)  {:.2}x the copy's time",
        mb_per_s(size, first_took),
        first_took.as_secs_f64(),
        first.written,
        first_took.as_secs_f64() / copy_took.as_secs_f64()
    );
    println!(
        "  second snapshot, 1 % changed              {:>8.1} MB/s  ({:.2} s, {} chunks = {} MiB written)  {:.2}x the first's time, {:.1} % of its bytes written",
        mb_per_s(size, second_took),
        second_took.as_secs_f64(),
        second.written,
        second.bytes_written >> 20,
        second_took.as_secs_f64() / first_took.as_secs_f64(),
        100.0 * second.bytes_written as f64 / first.bytes_written.max(1) as f64
    );
    println!(
        "  restore into a new volume                 {:>8.1} MB/s  ({:.2} s)  {:.2}x the copy's time",
        mb_per_s(size, restore_took),
        restore_took.as_secs_f64(),
        restore_took.as_secs_f64() / copy_took.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
