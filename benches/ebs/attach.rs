//! Part 1: AttachVolume until the disk is visible in the guest, split
//! into the API's answer, the storage controller's export, the node's
//! plug and the guest's own discovery, and the same attach against the
//! simulated hypervisor and storage (the control plane alone).
//!
//! Each round: AttachVolume, then DescribeVolumes polled until the
//! attachment says `attached` (the node has plugged the disk) and, with a
//! real guest, the console polled until the user-data script says it sees
//! a new disk; then DetachVolume, until the volume is `available` and the
//! guest says the disk is gone. After the cloud stops, its event log gives
//! when `VolumeExported` and `VolumeAttached` were recorded for each round.

use crate::ec2::{Ec2Client, first};
use anyhow::{Context, Result, bail};
use eventlog::{EventLog, LogOptions};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest one step (attach, detach, a guest line) may take.
pub const PATIENCE: Duration = Duration::from_secs(300);
/// How often DescribeVolumes and the console are looked at.
pub const POLL: Duration = Duration::from_millis(5);

/// One attach and detach, timed from just before AttachVolume was sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Round {
    /// Wall clock when AttachVolume was sent, µs since the epoch (to find
    /// the round's events in the log).
    pub sent_us: i64,
    pub answered: Duration,
    /// DescribeVolumes first said the attachment is `attached`.
    pub attached: Duration,
    /// The guest printed that it sees the disk (real guests only).
    pub visible: Option<Duration>,
    /// From the event log, after the run: `VolumeExported` recorded.
    pub exported_event: Option<Duration>,
    /// From the event log: `VolumeAttached` recorded.
    pub attached_event: Option<Duration>,
    /// From DetachVolume sent to the volume `available` again.
    pub detached: Duration,
}

fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// The volume's status and its attachment's, from DescribeVolumes.
pub async fn volume_state(client: &Ec2Client, volume: &str) -> Result<(String, Option<String>)> {
    let answer = client.call("DescribeVolumes", &[("VolumeId.1", volume)]).await?;
    let status = first(&answer, "status").context("DescribeVolumes answered no status")?.to_owned();
    let attachment = first(&answer, "attachmentSet").and_then(|a| first(a, "status")).map(str::to_owned);
    Ok((status, attachment))
}

/// Polls DescribeVolumes until `done(status, attachment status)`.
pub async fn wait_volume(
    client: &Ec2Client,
    volume: &str,
    what: &str,
    done: impl Fn(&str, Option<&str>) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, attachment) = volume_state(client, volume).await?;
        if done(&status, attachment.as_deref()) {
            return Ok(());
        }
        if status == "error" {
            bail!("{volume} went to error while waiting for it to be {what}");
        }
        if Instant::now() > deadline {
            bail!("{volume} was not {what} within {PATIENCE:?} (status {status}, attachment {attachment:?})");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How many lines of the console contain `needle`.
pub fn console_count(console: &Path, needle: &str) -> usize {
    let text = std::fs::read(console).unwrap_or_default();
    String::from_utf8_lossy(&text).matches(needle).count()
}

/// Polls the console until `needle` occurs more than `before` times.
pub async fn wait_console(console: &Path, needle: &str, before: usize) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    while console_count(console, needle) <= before {
        if Instant::now() > deadline {
            bail!("the guest did not print {needle:?} within {PATIENCE:?}; see {}", console.display());
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// One attach, wait, detach, wait.
pub async fn round(
    client: &Ec2Client,
    volume: &str,
    instance: &str,
    console: Option<&Path>,
) -> Result<Round> {
    let seen_before = console.map(|c| console_count(c, "EBS-BENCH seen "));
    let gone_before = console.map(|c| console_count(c, "EBS-BENCH gone "));
    let signed = client
        .sign("AttachVolume", &[("VolumeId", volume), ("InstanceId", instance), ("Device", "/dev/sdf")]);
    let sent_us = micros(SystemTime::now());
    let started = Instant::now();
    client.send(signed).await.context("AttachVolume failed")?;
    let answered = started.elapsed();
    wait_volume(client, volume, "attached", |_, a| a == Some("attached")).await?;
    let attached = started.elapsed();
    let visible = match (console, seen_before) {
        (Some(c), Some(n)) => {
            wait_console(c, "EBS-BENCH seen ", n).await?;
            Some(started.elapsed())
        }
        _ => None,
    };
    let detach = Instant::now();
    client.call("DetachVolume", &[("VolumeId", volume)]).await?;
    wait_volume(client, volume, "available", |s, _| s == "available").await?;
    let detached = detach.elapsed();
    if let (Some(c), Some(n)) = (console, gone_before) {
        wait_console(c, "EBS-BENCH gone ", n).await?;
    }
    Ok(Round { sent_us, answered, attached, visible, detached, ..Round::default() })
}

/// Fills in each round's `VolumeExported` and `VolumeAttached` from the
/// stopped cloud's log: the first of each, on the volume's stream,
/// recorded after the round's AttachVolume was sent.
pub fn events_of(log: &Path, volume: &str, rounds: &mut [Round]) -> Result<()> {
    // Read-write, so that a log left by a killed controller is repaired.
    let log = EventLog::open(log, LogOptions::for_replay())
        .with_context(|| format!("cannot open the event log {}", log.display()))?;
    let mut found: Vec<(String, i64)> = Vec::new();
    log.scan(1, |e| {
        if e.stream.contains(volume) && matches!(e.event_type, "VolumeExported" | "VolumeAttached") {
            found.push((e.event_type.to_owned(), e.recorded_at));
        }
        ControlFlow::Continue(())
    })
    .context("scanning the event log failed")?;
    log.close();
    let after = |sent: i64, kind: &str| {
        found
            .iter()
            .find(|(t, at)| t == kind && *at >= sent)
            .map(|(_, at)| Duration::from_micros((at - sent).max(0) as u64))
    };
    for r in rounds.iter_mut() {
        r.exported_event = after(r.sent_us, "VolumeExported");
        r.attached_event = after(r.sent_us, "VolumeAttached");
    }
    Ok(())
}
