//! Items 5 and 6 on a stopped controller's log: how fast
//! `projections::rebuild` replays it (against a bare `EventLog::scan`,
//! which only checks and decodes envelopes), and how much memory the read
//! models take per instance.
//!
//! Memory is measured in a fresh process (this binary run again with
//! [`FOLD_FLAG`]), so nothing freed by earlier phases is reused: it scans
//! the log twice first, so redb's page cache holds the whole log and stops
//! growing, then reads VmRSS before and after the fold. The difference is
//! the read models (plus whatever the allocator keeps around them).

use crate::servers::rss;
use anyhow::{Context, Result, bail};
use eventlog::{EventLog, LogOptions};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The argument that makes this binary run [`fold_child`].
pub const FOLD_FLAG: &str = "--fold-rss";

#[derive(Debug)]
pub struct Replay {
    pub events: u64,
    pub instances: usize,
    /// Best of two timed runs each.
    pub scan_secs: f64,
    pub rebuild_secs: f64,
}

impl Replay {
    pub fn scan_per_sec(&self) -> f64 {
        self.events as f64 / self.scan_secs
    }

    pub fn rebuild_per_sec(&self) -> f64 {
        self.events as f64 / self.rebuild_secs
    }
}

fn open(path: &Path) -> Result<EventLog> {
    EventLog::open(path, LogOptions::for_replay())
        .with_context(|| format!("cannot open the event log {}", path.display()))
}

/// Visits every event (checksum and envelope decode, nothing else).
fn bare_scan(log: &EventLog) -> Result<u64> {
    let mut events = 0u64;
    log.scan(1, |envelope| {
        std::hint::black_box(&envelope);
        events += 1;
        ControlFlow::Continue(())
    })
    .context("scanning the log failed")?;
    Ok(events)
}

pub fn measure_replay(path: &Path) -> Result<Replay> {
    let log = open(path)?;
    let events = bare_scan(&log)?; // warm-up: disk to redb's cache
    let (mut scan_secs, mut rebuild_secs, mut instances) = (f64::MAX, f64::MAX, 0);
    for _ in 0..2 {
        let started = Instant::now();
        let scanned = bare_scan(&log)?;
        scan_secs = scan_secs.min(started.elapsed().as_secs_f64());
        if scanned != events {
            bail!("two scans of a stopped log saw {events} and {scanned} events");
        }
        let started = Instant::now();
        let models = projections::rebuild(&log).context("rebuilding the read models failed")?;
        rebuild_secs = rebuild_secs.min(started.elapsed().as_secs_f64());
        if models.position != events {
            bail!("the rebuild stopped at {} of {events} events", models.position);
        }
        instances = models.instances.rows.len();
    }
    log.close();
    Ok(Replay { events, instances, scan_secs, rebuild_secs })
}

/// VmRSS of the fold process at each step, in bytes.
#[derive(Debug, Default)]
pub struct Fold {
    pub instances: u64,
    pub events: u64,
    pub rss_start: u64,
    /// After the first full scan: redb's cache holds the log.
    pub rss_scanned: u64,
    /// After a second scan (shows the cache stopped growing).
    pub rss_rescanned: u64,
    /// After `projections::rebuild`.
    pub rss_folded: u64,
}

impl Fold {
    pub fn per_instance(&self) -> f64 {
        self.rss_folded.saturating_sub(self.rss_rescanned) as f64 / self.instances.max(1) as f64
    }

    pub fn log_cache(&self) -> u64 {
        self.rss_scanned.saturating_sub(self.rss_start)
    }
}

/// Runs [`fold_child`] in a new process and reads its figures.
pub fn fold_in_child(path: &Path) -> Result<Fold> {
    let exe = std::env::current_exe().context("cannot find this benchmark's executable")?;
    let out = Command::new(exe).arg(FOLD_FLAG).arg(path).output().context("cannot run the fold process")?;
    if !out.status.success() {
        bail!("the fold process failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line =
        stdout.lines().find(|l| l.starts_with("fold ")).context("the fold process printed no figures")?;
    let mut fold = Fold::default();
    for pair in line.split_whitespace().skip(1) {
        let (key, value) = pair.split_once('=').with_context(|| format!("bad figure {pair:?}"))?;
        let value: u64 = value.parse().with_context(|| format!("bad figure {pair:?}"))?;
        match key {
            "instances" => fold.instances = value,
            "events" => fold.events = value,
            "rss_start" => fold.rss_start = value,
            "rss_scanned" => fold.rss_scanned = value,
            "rss_rescanned" => fold.rss_rescanned = value,
            "rss_folded" => fold.rss_folded = value,
            _ => bail!("unknown figure {key}"),
        }
    }
    Ok(fold)
}

/// The fold process: prints `fold key=value ...` on stdout.
pub fn fold_child(path: &Path) -> Result<()> {
    let rss_start = rss("self")?;
    let log = open(path)?;
    let events = bare_scan(&log)?;
    let rss_scanned = rss("self")?;
    bare_scan(&log)?;
    let rss_rescanned = rss("self")?;
    let models = projections::rebuild(&log).context("rebuilding the read models failed")?;
    let rss_folded = rss("self")?;
    println!(
        "fold instances={} events={events} rss_start={rss_start} rss_scanned={rss_scanned} \
         rss_rescanned={rss_rescanned} rss_folded={rss_folded}",
        models.instances.rows.len()
    );
    drop(models);
    log.close();
    Ok(())
}
