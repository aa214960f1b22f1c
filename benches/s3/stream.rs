//! Large objects: one `bytes`-long streaming PUT and GET against Yukari,
//! next to the disk's own speed for the same bytes in the same run: a
//! plain file written in 1 MiB `write`s then `fsync`ed, and read back. Both
//! reads are cold: the file's and the object store's pages are dropped
//! from the page cache (`posix_fadvise(DONTNEED)`, clean pages after the
//! fsync) before each read. The controller's VmRSS is sampled every 20 ms
//! during the PUT.

use crate::client::{Endpoint, get_stream, put_stream};
use crate::servers::rss;
use anyhow::{Context, Result, ensure};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const MIB: u64 = 1 << 20;

#[derive(Debug)]
pub struct Stream {
    pub bytes: u64,
    pub disk_write: Duration,
    pub disk_read: Duration,
    pub put: Duration,
    pub get: Duration,
    /// Whether the object store's files could be dropped from the cache.
    pub cold_get: bool,
    pub rss_before: u64,
    pub rss_peak: u64,
    pub rss_after: u64,
}

/// 1 MiB of bytes that neither compress nor repeat within the buffer.
pub fn chunk() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..MIB)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Drops a file's clean pages from the page cache.
fn drop_cache(path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)
        .with_context(|| format!("fadvise {}", path.display()))?;
    Ok(())
}

/// Drops from the cache every file of at least `min` bytes under `dir`
/// (the object store's blob); how many there were.
fn drop_large_files(dir: &Path, min: u64) -> Result<usize> {
    let mut dropped = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            dropped += drop_large_files(&entry.path(), min)?;
        } else if kind.is_file() && entry.metadata()?.len() >= min {
            drop_cache(&entry.path())?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

fn disk_write(path: &Path, chunk: &[u8], bytes: u64) -> Result<Duration> {
    let began = Instant::now();
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    Ok(began.elapsed())
}

fn disk_read(path: &Path, bytes: u64) -> Result<Duration> {
    drop_cache(path)?;
    let began = Instant::now();
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; MIB as usize];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    ensure!(total == bytes, "read {total} bytes of {bytes}");
    Ok(began.elapsed())
}

/// Samples `pid`'s VmRSS every 20 ms until told to stop; the peak.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>, peak: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(now) = rss(&pid.to_string()) {
                peak.fetch_max(now, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

pub async fn measure(
    endpoint: &Endpoint,
    pid: u32,
    cloud_dir: &Path,
    scratch: &Path,
    bytes: u64,
) -> Result<Stream> {
    let chunk = chunk();
    let file = scratch.join("s3-raw-disk.bin");
    let disk_write = disk_write(&file, &chunk, bytes)?;
    let disk_read = disk_read(&file, bytes)?;
    std::fs::remove_file(&file)?;
    eprintln!(
        "[s3]   disk: write+fsync {:.0} MB/s, cold read {:.0} MB/s",
        mb_per_sec(bytes, disk_write),
        mb_per_sec(bytes, disk_read)
    );

    let path = format!("/{}/large", crate::small::BUCKET);
    let rss_before = rss(&pid.to_string())?;
    let (stop, peak) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(rss_before)));
    let sampler = sample_rss(pid, stop.clone(), peak.clone());
    let put = put_stream(endpoint, &path, &chunk, bytes).await;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let put = put?;
    let rss_after = rss(&pid.to_string())?;
    eprintln!("[s3]   yukari PUT {:.0} MB/s", mb_per_sec(bytes, put));

    let cold_get = drop_large_files(cloud_dir, bytes)? > 0;
    let (get, received) = get_stream(endpoint, &path).await?;
    ensure!(received == bytes, "GET returned {received} bytes of {bytes}");
    eprintln!("[s3]   yukari GET {:.0} MB/s", mb_per_sec(bytes, get));
    Ok(Stream {
        bytes,
        disk_write,
        disk_read,
        put,
        get,
        cold_get,
        rss_before,
        rss_peak: peak.load(Ordering::Relaxed),
        rss_after,
    })
}

/// Decimal megabytes per second.
pub fn mb_per_sec(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64().max(1e-9)
}
