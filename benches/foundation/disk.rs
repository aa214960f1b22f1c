//! The disk's limit and the event log on it: raw 4 KiB append + fdatasync
//! per second, then durable appends per second through `EventLog` with one
//! writer (sequential awaits) and with 64 concurrent writers (tasks).

use anyhow::{Context, Result};
use eventlog::{AppendError, EventLog, ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Durable 4 KiB appends per second of one writer (the physical limit).
#[derive(Debug)]
pub struct FsyncRate {
    pub syncs: u64,
    pub secs: f64,
}

impl FsyncRate {
    pub fn per_sec(&self) -> f64 {
        self.syncs as f64 / self.secs
    }
}

/// Appends 4 KiB blocks to a file in `dir`, each followed by
/// `File::sync_data` (fdatasync), for `duration`.
pub fn fsync_rate(dir: &Path, duration: Duration) -> Result<FsyncRate> {
    let path = dir.join("fsync.bin");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let block = vec![0xA5u8; 4096];
    let started = Instant::now();
    let mut syncs = 0u64;
    while started.elapsed() < duration {
        file.write_all(&block).with_context(|| format!("cannot write {}", path.display()))?;
        file.sync_data().with_context(|| format!("fdatasync of {} failed", path.display()))?;
        syncs += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(FsyncRate { syncs, secs })
}

/// Durable appends through `EventLog` by `writers` concurrent writers.
#[derive(Debug)]
pub struct AppendRate {
    pub writers: usize,
    pub appends: u64,
    /// Durable commits the log made for them (one per group).
    pub commits: u64,
    pub secs: f64,
}

impl AppendRate {
    pub fn per_sec(&self) -> f64 {
        self.appends as f64 / self.secs
    }

    /// The average group size.
    pub fn per_commit(&self) -> f64 {
        self.appends as f64 / self.commits.max(1) as f64
    }
}

fn metadata() -> Metadata {
    Metadata {
        account: "000000000001".into(),
        user: "admin".into(),
        access_key: "AKIA00000000000BENCH".into(),
        action: "Test".into(),
        source: "test".into(),
        request_id: "00000000-0000-4000-8000-000000000000".into(),
        correlation_id: "00000000-0000-4000-8000-000000000000".into(),
        causation_id: "00000000-0000-4000-8000-000000000000".into(),
    }
}

/// One small event (64-byte payload) to a stream of its own.
async fn append_one(log: &EventLog, meta: &Metadata, stream: String) -> Result<(), AppendError> {
    let event = NewEvent { event_type: "BenchAppended".into(), schema: 1, payload: vec![7u8; 64] };
    let append = StreamAppend { stream, expected: ExpectedVersion::NoStream, events: vec![event] };
    log.append(meta.clone(), vec![append]).await.map(|_| ())
}

/// Opens a fresh log in `dir` and lets `writers` tasks append for
/// `duration`, each awaiting its append before sending the next.
pub async fn append_rate(dir: &Path, writers: usize, duration: Duration) -> Result<AppendRate> {
    let path = dir.join(format!("appends-{writers}.redb"));
    if path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    let log = EventLog::open(&path, LogOptions::default())
        .with_context(|| format!("cannot open an event log at {}", path.display()))?;
    let meta = metadata();
    append_one(&log, &meta, "bench-warmup".into()).await.context("the warm-up append failed")?;
    let commits_before = log.commits();
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for writer in 0..writers {
        let (log, meta) = (log.clone(), meta.clone());
        tasks.spawn(async move {
            let mut appended = 0u64;
            while Instant::now() < deadline {
                append_one(&log, &meta, format!("bench-{writer}/{appended}")).await?;
                appended += 1;
            }
            Ok::<u64, AppendError>(appended)
        });
    }
    let mut appends = 0u64;
    while let Some(joined) = tasks.join_next().await {
        appends += joined.context("an append task panicked")?.context("an append failed")?;
    }
    let secs = started.elapsed().as_secs_f64();
    let commits = log.commits() - commits_before;
    log.close();
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(AppendRate { writers, appends, commits, secs })
}
