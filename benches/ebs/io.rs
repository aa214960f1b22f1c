//! Part 3, and the guest's side of part 1: the user-data script the
//! bench's guest runs, and sequential `dd` over iSCSI in the guest against
//! the same `dd` on the volume's file on the host.
//!
//! The script watches `/sys/block` every 0.1 s (shell built-ins only, so
//! that the watch costs the emulated guest little) and prints
//! `EBS-BENCH seen vdX MIB` when a second disk appears and `EBS-BENCH gone
//! vdX` when it goes. On a disk of exactly [`IO_VOLUME_GIB`] GiB it then
//! times, twice each, a write of the first N MiB with `oflag=direct
//! conv=fsync` and a read with `iflag=direct`, from `/proc/uptime` (10 ms
//! resolution: the guest's busybox `date` has no `%N`).

use crate::attach::{PATIENCE, POLL};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The size that tells the guest's script to run its `dd`s on a disk.
pub const IO_VOLUME_GIB: u32 = 2;
/// Passes of each `dd`, in the guest and on the host; the best counts.
pub const PASSES: usize = 2;

/// The user-data script, for `mib` MiB per `dd`.
pub fn guest_script(mib: u32) -> String {
    let io_mib = IO_VOLUME_GIB * 1024;
    format!(
        r#"#!/bin/sh
# Yukari's EBS bench: says when a second disk appears and goes; times dd on a {IO_VOLUME_GIB} GiB one.
# The guest prints its user-data on the console: the tag is spelt apart
# here so that only the lines the script says match the bench's needles.
t=EBS-BENCH
echo "$t ready"
seen=
while :; do
  disk=
  for d in /sys/block/vd*; do
    d=${{d##*/}}
    [ "$d" != vda ] && [ -e "/sys/block/$d" ] && disk=$d
  done
  if [ -n "$disk" ] && [ -z "$seen" ]; then
    seen=$disk
    mib=$(( $(cat /sys/block/$disk/size) / 2048 ))
    echo "$t seen $disk $mib"
    if [ "$mib" = {io_mib} ]; then
      for pass in $(seq 1 {PASSES}); do
        read t0 rest </proc/uptime
        dd if=/dev/zero of=/dev/$disk bs=1M count={mib} oflag=direct conv=fsync 2>/dev/null
        read t1 rest </proc/uptime
        echo "$t write {mib} $t0 $t1"
        read t0 rest </proc/uptime
        dd if=/dev/$disk of=/dev/null bs=1M count={mib} iflag=direct 2>/dev/null
        read t1 rest </proc/uptime
        echo "$t read {mib} $t0 $t1"
      done
      echo "$t dd done"
    fi
  elif [ -z "$disk" ] && [ -n "$seen" ]; then
    echo "$t gone $seen"
    seen=
  fi
  sleep 0.1
done
"#
    )
}

/// Seconds each `EBS-BENCH <kind> MIB T0 T1` line of the console took.
fn guest_secs(console: &str, kind: &str) -> Vec<f64> {
    let prefix = format!("EBS-BENCH {kind} ");
    console
        .lines()
        .filter_map(|l| l.split_once(prefix.as_str()))
        .filter_map(|(_, rest)| {
            let f: Vec<f64> = rest.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            (f.len() == 3).then(|| f[2] - f[1])
        })
        .collect()
}

/// Best MB/s (MiB per second) of the guest's passes, write then read,
/// once the script has said it is done.
pub async fn guest_dd(console: &Path, mib: u32) -> Result<(f64, f64)> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = String::from_utf8_lossy(&std::fs::read(console).unwrap_or_default()).into_owned();
        if text.contains("EBS-BENCH dd done") {
            let best = |kind: &str| -> Result<f64> {
                let secs = guest_secs(&text, kind);
                let fastest = secs.iter().copied().fold(f64::MAX, f64::min);
                if secs.is_empty() || fastest <= 0.0 {
                    bail!("no usable {kind} times on the console ({secs:?}); see {}", console.display());
                }
                Ok(f64::from(mib) / fastest)
            };
            return Ok((best("write")?, best("read")?));
        }
        if Instant::now() > deadline {
            bail!("the guest's dd did not finish within {PATIENCE:?}; see {}", console.display());
        }
        tokio::time::sleep(POLL * 20).await;
    }
}

fn dd(args: &[String]) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new("dd").args(args).output().context("cannot run dd")?;
    let took = started.elapsed();
    if !out.status.success() {
        bail!("dd {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(took)
}

/// Best MB/s of the same `dd`s on the host, on the volume's file.
pub fn host_dd(file: &Path, mib: u32) -> Result<(f64, f64)> {
    let path = file.display();
    let write = [
        "if=/dev/zero".to_owned(),
        format!("of={path}"),
        "bs=1M".to_owned(),
        format!("count={mib}"),
        "oflag=direct".to_owned(),
        "conv=notrunc,fsync".to_owned(),
    ];
    let read = [
        format!("if={path}"),
        "of=/dev/null".to_owned(),
        "bs=1M".to_owned(),
        format!("count={mib}"),
        "iflag=direct".to_owned(),
    ];
    let (mut w, mut r) = (Duration::MAX, Duration::MAX);
    for _ in 0..PASSES {
        w = w.min(dd(&write)?);
        r = r.min(dd(&read)?);
    }
    let rate = |d: Duration| f64::from(mib) / d.as_secs_f64().max(1e-9);
    Ok((rate(w), rate(r)))
}
