//! The Walrus (S3) benchmark (issue 11), each figure next to a baseline
//! measured in the same run:
//!
//! 1. **PUT and GET of small objects** (4 KiB) per second, 8 concurrent
//!    clients each on its own keep-alive connection, signing SigV4 like
//!    boto3, against `yukari up`'s S3 port and against moto_server's S3
//!    (path style), with the same client code (`benches/s3/small.rs`);
//! 2. **one large streaming PUT and GET** (1 GiB) against the disk writing
//!    the same bytes to a plain file with fsync and reading it back, both
//!    reads from a cold page cache (`benches/s3/stream.rs`);
//! 3. **the controller's VmRSS** before, at its peak during, and after the
//!    large PUT: it must stay flat (objects are streamed, never held).
//!
//! Sizes come from the environment: `S3_BENCH_CLIENTS` (8),
//! `S3_BENCH_OBJECT_BYTES` (4096), `S3_BENCH_PHASE_SECS` (5, each of the
//! four small-object phases), `S3_BENCH_STREAM_MIB` (1024). Everything goes
//! under `target/bench-data/s3-*` (logs `target/bench-data/s3-*.log`).
//!
//! Run: `cargo bench --bench s3` (about a minute on 2 CPUs). Without
//! moto_server (`pip install 'moto[server]'`) the moto comparison is
//! skipped and says why.

#[path = "s3/client.rs"]
mod client;
#[path = "foundation/ec2.rs"]
#[allow(dead_code)]
mod ec2;
#[path = "foundation/servers.rs"]
#[allow(dead_code)]
mod servers;
#[path = "s3/small.rs"]
mod small;
#[path = "s3/stream.rs"]
mod stream;

use anyhow::{Context, Result};
use client::{Endpoint, S3Client};
use servers::{Moto, Yukari};
use small::Rates;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use stream::{MIB, mb_per_sec};

struct Config {
    clients: usize,
    object_bytes: usize,
    phase: Duration,
    stream_bytes: u64,
    data: PathBuf,
}

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().with_context(|| format!("{name}={text:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

impl Config {
    fn from_env() -> Result<Config> {
        Ok(Config {
            clients: env_number("S3_BENCH_CLIENTS", 8)?.max(1) as usize,
            object_bytes: env_number("S3_BENCH_OBJECT_BYTES", 4096)? as usize,
            phase: Duration::from_secs(env_number("S3_BENCH_PHASE_SECS", 5)?.max(1)),
            stream_bytes: env_number("S3_BENCH_STREAM_MIB", 1024)?.max(1) * MIB,
            data: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"),
        })
    }
}

/// The S3 endpoint and the admin's key, from the cloud's eucarc.
fn yukari_endpoint(dir: &Path) -> Result<Endpoint> {
    let path = dir.join("eucarc");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let var = |name: &str| -> Result<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches(|c| c == '"' || c == '\'').to_owned())
            .with_context(|| format!("{name} missing from {}", path.display()))
    };
    let url = var("AWS_ENDPOINT_URL_S3")?;
    let port = url
        .trim_end_matches('/')
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .with_context(|| format!("no port in AWS_ENDPOINT_URL_S3={url}"))?;
    Ok(Endpoint {
        port,
        access_key: var("AWS_ACCESS_KEY_ID")?,
        secret: var("AWS_SECRET_ACCESS_KEY")?,
        region: var("AWS_DEFAULT_REGION")?,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3 benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let config = Config::from_env()?;
    let began = Instant::now();
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("cannot create {}", config.data.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    eprintln!(
        "[s3] {} clients, {} B objects, {} s phases, {} MiB stream; data under {}; {} CPUs",
        config.clients,
        config.object_bytes,
        config.phase.as_secs(),
        config.stream_bytes / MIB,
        config.data.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    eprintln!("[s3] 1. small objects on yukari up");
    let cloud = Yukari::start(&config.data.join("s3-yukari"))?;
    let endpoint = yukari_endpoint(&cloud.dir)?;
    runtime.block_on(S3Client::new(&endpoint)?.create_bucket(small::BUCKET))?;
    let yukari =
        runtime.block_on(small::measure(&endpoint, config.clients, config.object_bytes, config.phase))?;
    eprintln!("[s3]   yukari: {:.0} PUT/s, {:.0} GET/s", yukari.put, yukari.get);

    eprintln!("[s3] 2. large streaming PUT and GET on the same cloud, and the disk");
    let large = runtime.block_on(stream::measure(
        &endpoint,
        cloud.pid()?,
        &cloud.dir,
        &config.data,
        config.stream_bytes,
    ))?;
    drop(cloud);

    eprintln!("[s3] 1. small objects on moto_server");
    let moto = match Moto::start(&config.data.join("s3-moto.log"))? {
        Ok(moto) => {
            let endpoint = Endpoint {
                port: moto.port,
                access_key: "AKIAMOTOBENCH0000000".into(),
                secret: "moto-accepts-any-secret".into(),
                region: "us-east-1".into(),
            };
            runtime.block_on(S3Client::new(&endpoint)?.create_bucket(small::BUCKET))?;
            let rates = runtime.block_on(small::measure(
                &endpoint,
                config.clients,
                config.object_bytes,
                config.phase,
            ))?;
            eprintln!("[s3]   moto: {:.0} PUT/s, {:.0} GET/s", rates.put, rates.get);
            Ok(rates)
        }
        Err(why) => Err(why),
    };

    print_table(&config, &yukari, &moto, &large);
    eprintln!("[s3] done in {:.0} s", began.elapsed().as_secs_f64());
    Ok(())
}

fn print_table(
    config: &Config,
    yukari: &Rates,
    moto: &std::result::Result<Rates, String>,
    large: &stream::Stream,
) {
    let size = config.object_bytes;
    let clients = config.clients;
    println!();
    println!("| measure | Yukari | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
    for (what, ours, theirs) in
        [("PUT", yukari.put, moto.as_ref().map(|m| m.put)), ("GET", yukari.get, moto.as_ref().map(|m| m.get))]
    {
        match theirs {
            Ok(theirs) => println!(
                "| {what} {size} B objects/s, {clients} clients | {ours:.0}/s | moto_server {theirs:.0}/s | {:.1}× |",
                ours / theirs
            ),
            Err(why) => println!(
                "| {what} {size} B objects/s, {clients} clients | {ours:.0}/s | moto skipped: {why} | - |"
            ),
        }
    }
    let mib = large.bytes / MIB;
    let (put, write) = (mb_per_sec(large.bytes, large.put), mb_per_sec(large.bytes, large.disk_write));
    let (get, read) = (mb_per_sec(large.bytes, large.get), mb_per_sec(large.bytes, large.disk_read));
    println!(
        "| {mib} MiB streaming PUT | {put:.0} MB/s | disk write+fsync {write:.0} MB/s | {:.2}× |",
        put / write
    );
    println!(
        "| {mib} MiB streaming GET{} | {get:.0} MB/s | disk cold read {read:.0} MB/s | {:.2}× |",
        if large.cold_get { " (cold)" } else { " (blob not found: warm cache)" },
        get / read
    );
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "| controller VmRSS before / peak during / after the PUT | {:.1} / {:.1} / {:.1} MB | - | peak growth {:+.1} MB ({:.2}% of the object) |",
        mb(large.rss_before),
        mb(large.rss_peak),
        mb(large.rss_after),
        mb(large.rss_peak) - mb(large.rss_before),
        100.0 * (large.rss_peak.saturating_sub(large.rss_before)) as f64 / large.bytes as f64
    );
}
