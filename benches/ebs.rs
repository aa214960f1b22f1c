//! The EBS benchmark (issue 10): volumes and snapshots seen from a client
//! and from a guest, each figure next to a baseline measured in the same
//! run.
//!
//! 1. **AttachVolume → disk visible in the guest**, on `yukari up
//!    --hypervisor libvirt --storage tgt` (a tgtd the cloud starts, QEMU
//!    guests under emulation unless `YUKARI_DOMAIN_TYPE` says otherwise),
//!    split into the API's answer, `VolumeExported` (the storage controller
//!    granted the node's initiator), `VolumeAttached` (the node plugged
//!    the disk), DescribeVolumes saying `attached`, and the guest's
//!    user-data script printing that it sees the disk; against the same
//!    rounds on `--hypervisor sim --storage sim` (the control plane alone).
//! 3. **Sequential `dd` in the guest over iSCSI** against the same `dd`
//!    on the volume's file on the host (`benches/ebs/io.rs`).
//! 4. **DescribeVolumes by id and a page of 1,000** at 1,000 volumes and at
//!    `--volumes` (100,000), against DescribeInstances by id in the same
//!    cloud (`benches/ebs/describe.rs`).
//!
//! Part 2 (snapshot MB/s against a plain copy) is the storage crate's own
//! bench: `cargo bench -p yukari-storage --bench snapshot`.
//!
//! Needs what `scripts/run` installs (libvirt, QEMU, tgt, the built-in
//! image) for parts 1 and 3. The real cloud's data directory is
//! `$TMPDIR/yukari-ebs-bench/data` (libvirt's socket paths must stay
//! short); the others go under `target/bench-data/ebs-*`.
//!
//! Run: `cargo bench --bench ebs` (about 5 minutes on 2 CPUs: 1 for parts
//! 1 and 3 under emulation, 3.5 for part 4's 100,000 volumes), with
//! `-- --rounds N` (attach rounds, 10), `--dd-mib N` (256), `--volumes N`
//! (100,000), `--quick` (3 rounds, 64 MiB, 10,000 volumes), `--only
//! attach|describe` (parts 1 and 3, or part 4).

#[path = "ebs/attach.rs"]
mod attach;
#[path = "ebs/describe.rs"]
mod describe;
#[path = "foundation/ec2.rs"]
#[allow(dead_code)]
mod ec2;
#[path = "ebs/io.rs"]
mod io;
#[path = "foundation/servers.rs"]
#[allow(dead_code)]
mod servers;

use anyhow::{Context, Result, bail};
use attach::Round;
use base64::Engine;
use ec2::{Ec2Client, first};
use servers::{YUKARI_IMAGE, Yukari, free_port};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Median and 99th percentile of a set of durations.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub p50: Duration,
    pub p99: Duration,
}

impl Stats {
    pub fn of(mut values: Vec<Duration>) -> Stats {
        values.sort();
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Stats { p50: at(0.5), p99: at(0.99) }
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn median(values: impl Iterator<Item = Duration>) -> Option<Duration> {
    let mut v: Vec<Duration> = values.collect();
    v.sort();
    v.get(v.len() / 2).copied()
}

fn ratio(d: Duration, base: Duration) -> f64 {
    d.as_secs_f64() / base.as_secs_f64().max(1e-9)
}

struct Options {
    rounds: usize,
    dd_mib: u32,
    volumes: usize,
    attach: bool,
    describe: bool,
}

fn options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value = |name: &str| -> Result<Option<usize>> {
        match args.iter().position(|a| a == name) {
            None => Ok(None),
            Some(i) => match args.get(i + 1).and_then(|n| n.parse::<usize>().ok()).filter(|n| *n > 0) {
                Some(n) => Ok(Some(n)),
                None => bail!("{name} needs a positive number"),
            },
        }
    };
    let only = args.iter().position(|a| a == "--only").map(|i| args.get(i + 1).cloned().unwrap_or_default());
    if let Some(o) = &only
        && o != "attach"
        && o != "describe"
    {
        bail!("--only takes attach or describe, not {o:?}");
    }
    let dd_mib = value("--dd-mib")?.unwrap_or(if quick { 64 } else { 256 });
    if dd_mib > (io::IO_VOLUME_GIB as usize) << 10 {
        bail!("--dd-mib is at most {} (the volume's size)", io::IO_VOLUME_GIB << 10);
    }
    Ok(Options {
        rounds: value("--rounds")?.unwrap_or(if quick { 3 } else { 10 }),
        dd_mib: dd_mib as u32,
        volumes: value("--volumes")?.unwrap_or(if quick { 10_000 } else { 100_000 }),
        attach: only.as_deref() != Some("describe"),
        describe: only.as_deref() != Some("attach"),
    })
}

/// A tgtd control port no other tgtd uses (tgtd takes 0 to 32767).
fn free_control_port() -> Result<u16> {
    loop {
        let n = 1000 + free_port()? % 30000;
        if !Path::new(&format!("/run/tgtd/socket.{n}")).exists() {
            return Ok(n);
        }
    }
}

/// Stops the bench's own tgtd (it outlives `yukari up`, as in production)
/// and the QEMU processes of its guests, however the bench ends.
struct Reaper {
    control: u16,
    dir: PathBuf,
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let needle = self.dir.to_string_lossy().into_owned();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if cmdline.contains("qemu-system") && cmdline.contains(&needle) {
                let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
        let config = storage::TgtConfig::new(self.control, "", "");
        if let Some(tgt) = storage::Tgt::adopt(config) {
            tgt.shutdown_daemon();
        }
    }
}

async fn wait_instance(client: &Ec2Client, id: &str, wanted: &str) -> Result<()> {
    let deadline = Instant::now() + attach::PATIENCE;
    loop {
        let answer = client.call("DescribeInstances", &[("InstanceId.1", id)]).await?;
        let state = first(&answer, "instanceState").and_then(|s| first(s, "name"));
        if state == Some(wanted) {
            return Ok(());
        }
        if state == Some("terminated") || Instant::now() > deadline {
            bail!("{id} did not become {wanted} (it is {state:?})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_volume(client: &Ec2Client, gib: u32) -> Result<String> {
    let size = gib.to_string();
    let answer = client.call("CreateVolume", &[("Size", &size), ("AvailabilityZone", "yukari-1a")]).await?;
    let id = first(&answer, "volumeId").context("CreateVolume answered no volumeId")?.to_owned();
    attach::wait_volume(client, &id, "available", |s, _| s == "available").await?;
    Ok(id)
}

/// Polls DescribeVolumes until the volume is no more.
async fn wait_gone(client: &Ec2Client, volume: &str) -> Result<()> {
    let deadline = Instant::now() + attach::PATIENCE;
    loop {
        match client.call("DescribeVolumes", &[("VolumeId.1", volume)]).await {
            Err(e) if format!("{e:#}").contains("InvalidVolume.NotFound") => return Ok(()),
            Err(e) => return Err(e),
            Ok(answer) if first(&answer, "status").is_none_or(|s| s == "deleted") => return Ok(()),
            Ok(_) if Instant::now() > deadline => {
                bail!("{volume} was not deleted within {:?}", attach::PATIENCE)
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// What one cloud gave for parts 1 and 3.
struct AttachRun {
    rounds: Vec<Round>,
    /// Guest and host `dd` MB/s: (guest write, guest read, host write, host read).
    dd: Option<(f64, f64, f64, f64)>,
}

/// Parts 1 (and 3 with a real guest) on one cloud, then stops it and reads
/// its log.
async fn attach_run(mut cloud: Yukari, real: bool, opts: &Options) -> Result<AttachRun> {
    let client = cloud.client()?;
    let volume = create_volume(&client, 1).await?;
    let io_volume = if real { Some(create_volume(&client, io::IO_VOLUME_GIB).await?) } else { None };
    let user_data = base64::engine::general_purpose::STANDARD.encode(io::guest_script(opts.dd_mib));
    let answer = client
        .call(
            "RunInstances",
            &[
                ("ImageId", YUKARI_IMAGE),
                ("MinCount", "1"),
                ("MaxCount", "1"),
                ("InstanceType", "m1.small"),
                ("UserData", &user_data),
            ],
        )
        .await?;
    let instance = first(&answer, "instanceId").context("RunInstances answered no instanceId")?.to_owned();
    wait_instance(&client, &instance, "running").await?;
    let console = cloud.dir.join("node/instances").join(&instance).join("console.log");
    let console = real.then_some(console.as_path());
    if let Some(c) = console {
        eprintln!("ebs bench: waiting for the guest's script");
        attach::wait_console(c, "EBS-BENCH ready", 0).await?;
    }
    eprintln!(
        "ebs bench: {} attach rounds after a warm-up ({})",
        opts.rounds,
        if real { "libvirt" } else { "sim" }
    );
    attach::round(&client, &volume, &instance, console).await.context("the warm-up round failed")?;
    let mut rounds = Vec::with_capacity(opts.rounds);
    for _ in 0..opts.rounds {
        rounds.push(attach::round(&client, &volume, &instance, console).await?);
    }
    let dd = match (console, &io_volume) {
        (Some(c), Some(io_volume)) => {
            eprintln!("ebs bench: dd of {} MiB in the guest", opts.dd_mib);
            client
                .call(
                    "AttachVolume",
                    &[("VolumeId", io_volume), ("InstanceId", &instance), ("Device", "/dev/sdg")],
                )
                .await?;
            let (guest_write, guest_read) = io::guest_dd(c, opts.dd_mib).await?;
            client.call("DetachVolume", &[("VolumeId", io_volume)]).await?;
            attach::wait_volume(&client, io_volume, "available", |s, _| s == "available").await?;
            eprintln!("ebs bench: dd of {} MiB on the host", opts.dd_mib);
            let file = cloud.dir.join("storage/volumes").join(io_volume);
            let (host_write, host_read) = io::host_dd(&file, opts.dd_mib)?;
            Some((guest_write, guest_read, host_write, host_read))
        }
        _ => None,
    };
    client.call("TerminateInstances", &[("InstanceId.1", &instance)]).await?;
    wait_instance(&client, &instance, "terminated").await?;
    for v in std::iter::once(&volume).chain(io_volume.as_ref()) {
        client.call("DeleteVolume", &[("VolumeId", v)]).await?;
    }
    // Stopping while the storage controller still reports a deletion can
    // leave `yukari up` waiting for ever (see BENCHMARKS.md); let it finish.
    for v in std::iter::once(&volume).chain(io_volume.as_ref()) {
        wait_gone(&client, v).await?;
    }
    // A clean stop closes the log; a controller that does not stop in time
    // is killed, and the log is read after redb's repair.
    if let Err(e) = cloud.stop_within(Duration::from_secs(30)) {
        eprintln!("ebs bench: warning: {e:#}; reading its log after the kill");
    }
    attach::events_of(&cloud.log_path(), &volume, &mut rounds)?;
    Ok(AttachRun { rounds, dd })
}

fn report_attach(sim: &AttachRun, real: &AttachRun, domain_type: &str) {
    let med =
        |run: &AttachRun, f: &dyn Fn(&Round) -> Option<Duration>| median(run.rounds.iter().filter_map(f));
    let base = med(sim, &|r| Some(r.attached)).unwrap_or_default();
    let line = |label: &str, d: Option<Duration>| match d {
        Some(d) => println!("  {label:<52} {:>12}   {:>8.1}×", ms(d), ratio(d, base)),
        None => println!("  {label:<52} {:>12}", "(none)"),
    };
    println!(
        "\n1. AttachVolume → disk visible (medians of {} rounds, from AttachVolume sent)",
        real.rounds.len()
    );
    println!("   ratios against the simulated cloud's AttachVolume → attached (baseline)");
    line("sim      AttachVolume answered", med(sim, &|r| Some(r.answered)));
    line("sim      → VolumeExported recorded (storage)", med(sim, &|r| r.exported_event));
    line("sim      → VolumeAttached recorded (node)", med(sim, &|r| r.attached_event));
    line("sim      → DescribeVolumes says attached (baseline)", Some(base));
    line("sim      DetachVolume → available", med(sim, &|r| Some(r.detached)));
    line("libvirt  AttachVolume answered", med(real, &|r| Some(r.answered)));
    line("libvirt  → VolumeExported recorded (tgtd grant)", med(real, &|r| r.exported_event));
    line("libvirt  → VolumeAttached recorded (QEMU hot-plug)", med(real, &|r| r.attached_event));
    line("libvirt  → DescribeVolumes says attached", med(real, &|r| Some(r.attached)));
    line(&format!("libvirt  → guest sees the disk ({domain_type})"), med(real, &|r| r.visible));
    line("libvirt  DetachVolume → available", med(real, &|r| Some(r.detached)));
    let split = |f: &dyn Fn(&Round) -> Option<(Duration, Duration)>| {
        median(real.rounds.iter().filter_map(f).map(|(a, b)| a.saturating_sub(b)))
    };
    println!("   libvirt, step by step (medians of each round's difference):");
    let steps: [(&str, Option<Duration>); 4] = [
        ("API: sent → answered", med(real, &|r| Some(r.answered))),
        ("storage: answered → VolumeExported", split(&|r| Some((r.exported_event?, r.answered)))),
        (
            "node/hypervisor: VolumeExported → VolumeAttached",
            split(&|r| Some((r.attached_event?, r.exported_event?))),
        ),
        (
            "guest: VolumeAttached → its script sees the disk",
            split(&|r| Some((r.visible?, r.attached_event?))),
        ),
    ];
    for (label, d) in steps {
        match d {
            Some(d) => println!("     {label:<52} {:>12}", ms(d)),
            None => println!("     {label:<52} {:>12}", "(none)"),
        }
    }
    for (i, r) in real.rounds.iter().enumerate() {
        let o = |d: Option<Duration>| d.map_or("-".to_owned(), ms);
        println!(
            "     round {}: answered {}, exported {}, attached event {}, attached {}, visible {}, detach {}",
            i + 1,
            ms(r.answered),
            o(r.exported_event),
            o(r.attached_event),
            ms(r.attached),
            o(r.visible),
            ms(r.detached)
        );
    }
    if let Some((gw, gr, hw, hr)) = real.dd {
        println!(
            "\n3. Sequential dd (best of {} passes, MiB/s), guest over iSCSI against the host on the volume's file",
            io::PASSES
        );
        println!("  write  guest {gw:>9.1}   host {hw:>9.1}   guest/host {:.3}×", gw / hw);
        println!("  read   guest {gr:>9.1}   host {hr:>9.1}   guest/host {:.3}×", gr / hr);
    }
}

fn report_describe(d: &describe::Describe) {
    println!("\n4. DescribeVolumes (p50 / p99), against DescribeInstances by id in the same cloud");
    let small = &d.sizes[0];
    for at in &d.sizes {
        println!(
            "   at {} volumes (filled at {:.0} CreateVolume/s from 8 clients; controller VmRSS {:.1} MiB):",
            at.volumes,
            at.fill_per_sec,
            at.rss as f64 / 1048576.0
        );
        // A figure, its ratio to DescribeInstances by id now, and to itself
        // at the smallest size.
        let row = |label: &str, now: Stats, then: Stats| {
            println!(
                "     {label:<38} {:>10} / {:>10}   {:>7.2}× DescribeInstances by id, {:>5.2}× at {}",
                ms(now.p50),
                ms(now.p99),
                ratio(now.p50, at.instance_by_id.p50),
                ratio(now.p50, then.p50),
                small.volumes
            )
        };
        row("DescribeVolumes by id", at.volume_by_id, small.volume_by_id);
        row("DescribeVolumes MaxResults=1000", at.page, small.page);
        row("DescribeInstances by id (baseline)", at.instance_by_id, small.instance_by_id);
    }
    if let (Some(first), Some(last)) = (d.sizes.first(), d.sizes.last())
        && last.volumes > first.volumes
    {
        let per = (last.rss as f64 - first.rss as f64) / (last.volumes - first.volumes) as f64;
        println!(
            "   controller VmRSS growth: {per:.0} B per volume (empty: {:.1} MiB)",
            d.rss_empty as f64 / 1048576.0
        );
    }
}

fn run(opts: &Options) -> Result<()> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let started = Instant::now();
    if opts.attach {
        let sim = Yukari::start_with(
            &data.join("ebs-sim"),
            &["--hypervisor", "sim", "--sim-boot-ms", "0", "--storage", "sim"],
        )?;
        let sim = runtime.block_on(attach_run(sim, false, opts))?;
        let domain_type = std::env::var("YUKARI_DOMAIN_TYPE").unwrap_or_else(|_| "qemu".to_owned());
        let control = free_control_port()?;
        // Not under target/: libvirt puts QEMU's monitor socket under the
        // data directory, and a Unix socket's path is at most 107 bytes.
        let dir = std::env::temp_dir().join("yukari-ebs-bench");
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // QEMU runs as another user and must reach the guest's files.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        let dir = dir.join("data");
        let _reaper = Reaper { control, dir: dir.clone() };
        let (iscsi, control) = (free_port()?.to_string(), control.to_string());
        let real = Yukari::start_with(
            &dir,
            &[
                "--hypervisor",
                "libvirt",
                "--domain-type",
                &domain_type,
                "--stop-timeout-secs",
                "5",
                "--storage",
                "tgt",
                "--iscsi-port",
                &iscsi,
                "--tgt-control-port",
                &control,
            ],
        )?;
        let real = runtime.block_on(attach_run(real, true, opts))?;
        report_attach(&sim, &real, &domain_type);
    }
    if opts.describe {
        // Room for every volume, twice over.
        let gib = (2 * opts.volumes).max(200_000).to_string();
        let mut cloud = Yukari::start_with(
            &data.join("ebs-describe"),
            &["--hypervisor", "sim", "--sim-boot-ms", "0", "--storage", "sim", "--storage-gib", &gib],
        )?;
        let d = runtime.block_on(describe::run(&cloud, opts.volumes))?;
        if let Err(e) = cloud.stop_within(Duration::from_secs(60)) {
            eprintln!("ebs bench: warning: {e:#}");
        }
        report_describe(&d);
    }
    eprintln!("ebs bench: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ebs benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
