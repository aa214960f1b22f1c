//! The boot benchmark: how long a real guest takes from RunInstances to
//! `running` (the API, scheduling, the append, the node executor and
//! libvirt starting QEMU), split from the time QEMU itself then takes to
//! boot the guest (until the built-in image prints `Yukari guest … is up`
//! on its serial console).
//!
//! In one run it starts `yukari up` twice on `target/bench-data/boot-*`:
//!
//! 1. `--hypervisor sim --sim-boot-ms 0`: RunInstances → running with no
//!    hypervisor work at all, the control plane's own share (baseline);
//! 2. `--hypervisor libvirt` (embedded driver, `--domain-type qemu` unless
//!    `YUKARI_DOMAIN_TYPE` says otherwise): RunInstances → running, then
//!    running → the guest's boot line.
//!
//! Instances are launched one at a time (each terminated before the next),
//! after one warm-up launch, and the medians are printed with their ratio
//! to the baseline measured in the same run.
//!
//! 3. in the same libvirt cloud, the built-in image's kernel, initramfs and
//!    disk imported as Walrus bundles (`yukari image import`): the import,
//!    the first launch (the node fetches, checks, decrypts and caches the
//!    three images; the split comes from its log) and a second launch that
//!    finds them cached, against the built-in image's launch (2.).
//!
//! Needs what `scripts/run` installs (libvirt, QEMU, the built-in image).
//! Run: `cargo bench --bench boot` (about a minute under emulation), or
//! `cargo bench --bench boot -- --rounds N`.

#[path = "foundation/ec2.rs"]
#[allow(dead_code)]
mod ec2;
#[path = "foundation/servers.rs"]
#[allow(dead_code)]
mod servers;

use anyhow::{Context, Result, bail};
use ec2::{Ec2Client, client_token, first};
use servers::{YUKARI_IMAGE, Yukari};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Longest a guest may take to reach running, or to print its boot line.
const PATIENCE: Duration = Duration::from_secs(300);
/// How often the state and the console are looked at.
const POLL: Duration = Duration::from_millis(5);

/// One launch, timed from just before RunInstances was sent.
#[derive(Clone, Copy, Debug)]
struct Sample {
    answered: Duration,
    running: Duration,
    /// When the guest printed its boot line (real guests only).
    up: Option<Duration>,
}

fn state(describe: &str) -> Option<&str> {
    first(first(describe, "instanceState")?, "name")
}

async fn wait_state(client: &Ec2Client, id: &str, wanted: &str) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = client.call("DescribeInstances", &[("InstanceId.1", id)]).await?;
        match state(&answer) {
            Some(s) if s == wanted => return Ok(()),
            Some("terminated") => {
                let reason = first(&answer, "stateReason").and_then(|r| first(r, "message"));
                bail!("{id} ended before it was {wanted}: {}", reason.unwrap_or("(no reason)"));
            }
            _ => {}
        }
        if Instant::now() > deadline {
            bail!("{id} was not {wanted} within {PATIENCE:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn launch(client: &Ec2Client, consoles: Option<&Path>) -> Result<Sample> {
    launch_image(client, YUKARI_IMAGE, consoles).await
}

async fn launch_image(client: &Ec2Client, image: &str, consoles: Option<&Path>) -> Result<Sample> {
    let token = client_token();
    let signed = client.sign(
        "RunInstances",
        &[
            ("ImageId", image),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("InstanceType", "m1.small"),
            ("ClientToken", &token),
        ],
    );
    let started = Instant::now();
    let answer = client.send(signed).await.context("RunInstances failed")?;
    let answered = started.elapsed();
    let id = first(&answer, "instanceId").context("RunInstances answered no instanceId")?.to_owned();
    wait_state(client, &id, "running").await?;
    let running = started.elapsed();
    let up = match consoles {
        None => None,
        Some(dir) => {
            let log = dir.join(&id).join("console.log");
            let line = format!("Yukari guest {id} is up");
            let deadline = Instant::now() + PATIENCE;
            loop {
                let text = std::fs::read(&log).unwrap_or_default();
                if String::from_utf8_lossy(&text).contains(&line) {
                    break Some(started.elapsed());
                }
                if Instant::now() > deadline {
                    bail!("{id} printed no boot line within {PATIENCE:?}; see {}", log.display());
                }
                tokio::time::sleep(POLL).await;
            }
        }
    };
    client.call("TerminateInstances", &[("InstanceId.1", &id)]).await?;
    wait_state(client, &id, "terminated").await?;
    Ok(Sample { answered, running, up })
}

/// Warm-up, then `rounds` timed launches.
async fn measure(cloud: &Yukari, rounds: usize, consoles: Option<&Path>) -> Result<Vec<Sample>> {
    let client = cloud.client()?;
    launch(&client, consoles).await.context("the warm-up launch failed")?;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        samples.push(launch(&client, consoles).await?);
    }
    Ok(samples)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn run(rounds: usize) -> Result<()> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let runtime = tokio::runtime::Runtime::new()?;

    println!("boot benchmark: {rounds} launches each, one at a time, after a warm-up\n");
    let sim_dir = data.join("boot-sim");
    let sim = {
        let mut cloud = Yukari::start(&sim_dir)?;
        let samples = runtime.block_on(measure(&cloud, rounds, None))?;
        cloud.stop()?;
        samples
    };
    let domain_type = std::env::var("YUKARI_DOMAIN_TYPE").unwrap_or_else(|_| "qemu".to_owned());
    let real_dir = data.join("boot-libvirt");
    let real = {
        let mut cloud = Yukari::start_logging(
            &real_dir,
            &["--hypervisor", "libvirt", "--domain-type", &domain_type, "--stop-timeout-secs", "5"],
            "warn,node_executor::image_cache=info",
        )?;
        let consoles = real_dir.join("node/instances");
        let samples = runtime.block_on(measure(&cloud, rounds, Some(&consoles)))?;
        let bundled = bundled(&runtime, &cloud, &consoles)?;
        cloud.stop()?;
        (samples, bundled)
    };
    let (real, bundled) = real;

    let sim_answer = median(sim.iter().map(|s| s.answered).collect());
    let sim_running = median(sim.iter().map(|s| s.running).collect());
    let answer = median(real.iter().map(|s| s.answered).collect());
    let running = median(real.iter().map(|s| s.running).collect());
    let qemu = median(real.iter().map(|s| s.up.unwrap_or_default().saturating_sub(s.running)).collect());
    let total = median(real.iter().map(|s| s.up.unwrap_or_default()).collect());
    let over = |d: Duration, base: Duration| d.as_secs_f64() / base.as_secs_f64().max(1e-9);
    println!("medians; ratios against the simulated hypervisor's RunInstances → running (baseline)");
    println!("  sim      RunInstances answered        {:>10}", ms(sim_answer));
    println!("  sim      RunInstances → running       {:>10}   1.0× (baseline)", ms(sim_running));
    println!(
        "  libvirt  RunInstances answered        {:>10}   ({:.2}× the simulator's answer)",
        ms(answer),
        over(answer, sim_answer)
    );
    println!(
        "  libvirt  RunInstances → running       {:>10}   {:.1}×",
        ms(running),
        over(running, sim_running)
    );
    println!("           of which libvirt starting QEMU {:>8}", ms(running.saturating_sub(sim_running)));
    println!(
        "  libvirt  running → guest boot line    {:>10}   {:.1}×  (QEMU's own boot, domain type {domain_type})",
        ms(qemu),
        over(qemu, sim_running)
    );
    println!("  libvirt  RunInstances → boot line     {:>10}   {:.1}×", ms(total), over(total, sim_running));
    println!(
        "\n  API, scheduling and libvirt are {:.1}% of the time to a booted guest; QEMU's boot the rest",
        100.0 * running.as_secs_f64() / total.as_secs_f64().max(1e-9)
    );
    let Bundled { import, first, cached, fetched_ms, download_ms } = bundled;
    println!("\nthe built-in image's kernel, initramfs and disk as Walrus bundles (issue 11 part 4);");
    println!("ratios against the built-in image's RunInstances → running under libvirt above");
    println!("  import (bundle, upload, register) of the three     {:>10}", ms(import));
    println!(
        "  first launch  RunInstances → running              {:>10}   {:.1}×",
        ms(first.running),
        over(first.running, running)
    );
    println!(
        "                of which fetching the three images  {:>10}   (download {}, check + decrypt + unpack {})",
        ms(Duration::from_millis(fetched_ms)),
        ms(Duration::from_millis(download_ms)),
        ms(Duration::from_millis(fetched_ms.saturating_sub(download_ms)))
    );
    println!(
        "                and the rest (node key, QEMU)       {:>10}",
        ms(first.running.saturating_sub(Duration::from_millis(fetched_ms)))
    );
    println!(
        "  first launch  running → guest boot line           {:>10}",
        ms(first.up.unwrap_or_default().saturating_sub(first.running))
    );
    println!(
        "  cached launch RunInstances → running              {:>10}   {:.1}×  (nothing fetched)",
        ms(cached.running),
        over(cached.running, running)
    );
    println!(
        "  image import to first boot line                   {:>10}",
        ms(import + first.up.unwrap_or_default())
    );
    Ok(())
}

/// What the bundled-image phase measured.
struct Bundled {
    import: Duration,
    first: Sample,
    cached: Sample,
    /// Summed over the three images, from the node's log.
    fetched_ms: u64,
    download_ms: u64,
}

/// Imports the built-in image's three files as bundles, launches the
/// machine image twice (the first fetches, the second finds the cache)
/// and reads the node's fetch times from its log.
fn bundled(runtime: &tokio::runtime::Runtime, cloud: &Yukari, consoles: &Path) -> Result<Bundled> {
    let images = image_dir();
    let eucarc = cloud.dir.join("eucarc");
    let import = |file: &str, extra: &[&str]| -> Result<String> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_yukari"))
            .args(["image", "import"])
            .arg(images.join(file))
            .args(["--bucket", "bench-images", "--credentials"])
            .arg(&eucarc)
            .args(extra)
            .stderr(std::process::Stdio::null())
            .output()
            .context("cannot run yukari image import")?;
        if !out.status.success() {
            bail!("yukari image import {file} failed");
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let started = Instant::now();
    let eki = import("yukari-kernel", &["--image-type", "kernel"])?;
    let eri = import("yukari-initrd", &["--image-type", "ramdisk"])?;
    let emi = import("yukari-default", &["--kernel", &eki, "--ramdisk", &eri])?;
    let import = started.elapsed();
    let client = cloud.client()?;
    let first = runtime.block_on(launch_image(&client, &emi, Some(consoles)))?;
    let cached = runtime.block_on(launch_image(&client, &emi, Some(consoles)))?;
    let log_file = cloud.dir.with_extension("log");
    let log = std::fs::read(&log_file).context("cannot read the cloud's log")?;
    let log = without_colours(&String::from_utf8_lossy(&log));
    let field = |line: &str, name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .unwrap_or(0)
    };
    let fetches: Vec<&str> = log.lines().filter(|l| l.contains("bundled image fetched")).collect();
    if fetches.len() != 3 {
        bail!("the node fetched {} images, not 3; see {}", fetches.len(), log_file.display());
    }
    let fetched_ms = fetches.iter().map(|l| field(l, "took_ms")).sum();
    let download_ms = fetches.iter().map(|l| field(l, "download_ms")).sum();
    Ok(Bundled { import, first, cached, fetched_ms, download_ms })
}

/// A log line without its terminal colours (`ESC [ … m`).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where the built-in image's files are (`scripts/build-guest-image`'s rule).
fn image_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("YUKARI_IMAGE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if root.unwrap_or(false) {
        return PathBuf::from("/var/cache/yukari/images");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or(home.join(".cache")).join("yukari/images")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = match args.iter().position(|a| a == "--rounds") {
        Some(i) => match args.get(i + 1).and_then(|n| n.parse::<usize>().ok()).filter(|n| *n > 0) {
            Some(n) => n,
            None => {
                eprintln!("--rounds needs a positive number");
                return ExitCode::FAILURE;
            }
        },
        None => 5,
    };
    match run(rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boot benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
