//! The foundation benchmark: how close Yukari's core (the redb event log
//! with group commit, the read models and the EC2 endpoint) comes to the
//! physical limit of this machine's disk, and how it compares with
//! moto_server, the usual stand-in for EC2 in tests.
//!
//! In one run, on one disk (`target/bench-data`, where a real data
//! directory would live), it measures:
//!
//! 1. raw 4 KiB append + fdatasync per second: the disk's limit for "one
//!    durable commit per request";
//! 2. durable appends per second on `EventLog`, 1 writer and 64 concurrent
//!    writers, with the number of commits (group sizes);
//! 3. RunInstances calls per second over HTTP against the real `yukari up`,
//!    8 concurrent clients signing like boto3;
//! 4. DescribeInstances latency (by id, and a page of 1,000) with 10,000 and
//!    100,000 instances in the cloud;
//! 5. memory per instance: the read models alone (folded in a fresh process)
//!    and the whole controller's VmRSS;
//! 6. replay: rebuilding the read models from the log, against a bare scan;
//! 7. items 3 and 4 against moto_server, when it is installed.
//!
//! Every figure is printed with its ratio against a baseline measured in
//! the same run (the fsync rate, moto, another size), because absolute
//! numbers on a shared machine vary up to 2× from run to run: only ratios
//! measured together compare. Targets are checked and a miss is said so.
//!
//! Run: `cargo bench --bench foundation` (about 2 minutes), or
//! `cargo bench --bench foundation -- --quick` (1 s phases, 10,000
//! instances at most). See BENCHMARKS.md.

#[path = "foundation/disk.rs"]
mod disk;
#[path = "foundation/ec2.rs"]
mod ec2;
#[path = "foundation/moto.rs"]
mod moto;
#[path = "foundation/replay.rs"]
mod replay;
#[path = "foundation/report.rs"]
mod report;
#[path = "foundation/servers.rs"]
mod servers;
#[path = "foundation/summary.rs"]
mod summary;
#[path = "foundation/workload.rs"]
mod workload;
#[path = "foundation/yukari.rs"]
mod yukari;

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Sizes and durations of one run.
#[derive(Clone, Debug)]
pub struct Config {
    pub quick: bool,
    /// Length of each disk phase (fsync, appends).
    pub disk_phase: Duration,
    /// Length of each RunInstances throughput phase.
    pub load_phase: Duration,
    /// Concurrent RunInstances clients.
    pub clients: usize,
    /// The two cloud sizes DescribeInstances is measured at (moto only at
    /// the first: it fills too slowly for the second).
    pub sizes: [usize; 2],
    /// DescribeInstances requests per latency figure for Yukari.
    pub latency_requests: usize,
    /// Time allowed for moto's DescribeInstances-by-id sample.
    pub moto_latency_budget: Duration,
    /// Where every file of the run goes (the same disk as a data dir).
    pub data: PathBuf,
}

impl Config {
    fn new(quick: bool) -> Config {
        let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
        if quick {
            Config {
                quick,
                disk_phase: Duration::from_secs(1),
                load_phase: Duration::from_secs(1),
                clients: 8,
                sizes: [1_000, 10_000],
                latency_requests: 200,
                moto_latency_budget: Duration::from_secs(5),
                data,
            }
        } else {
            Config {
                quick,
                disk_phase: Duration::from_secs(3),
                load_phase: Duration::from_secs(5),
                clients: 8,
                sizes: [10_000, 100_000],
                latency_requests: 1_000,
                moto_latency_budget: Duration::from_secs(45),
                data,
            }
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The memory measurement re-runs this binary to fold in a clean process.
    if let Some(i) = args.iter().position(|a| a == replay::FOLD_FLAG) {
        let Some(log) = args.get(i + 1) else {
            eprintln!("{} needs the path of an event log", replay::FOLD_FLAG);
            return ExitCode::FAILURE;
        };
        return match replay::fold_child(log.as_ref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fold measurement failed: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let config = Config::new(args.iter().any(|a| a == "--quick"));
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("foundation benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn step(what: &str) {
    eprintln!("[foundation] {what}");
}

fn run(config: &Config) -> Result<()> {
    let began = Instant::now();
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("cannot create {}", config.data.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    eprintln!(
        "[foundation] {} run; data under {}; {} CPUs",
        if config.quick { "quick" } else { "full" },
        config.data.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    step("1. raw fsync rate");
    let fsync = disk::fsync_rate(&config.data, config.disk_phase)?;
    step("2. EventLog appends, 1 and 64 writers");
    let one = runtime.block_on(disk::append_rate(&config.data, 1, config.disk_phase))?;
    let many = runtime.block_on(disk::append_rate(&config.data, 64, config.disk_phase))?;
    step("3-5. yukari up: RunInstances, DescribeInstances, memory");
    let cloud = yukari::measure(config, &runtime)?;
    step("6. replay of the controller's log");
    let replayed = replay::measure_replay(&cloud.log_path)?;
    step("5. read-model memory (fold in a fresh process)");
    let fold = replay::fold_in_child(&cloud.log_path)?;
    step("7. moto_server");
    let moto = moto::measure(config, &runtime)?;

    let results = summary::Results { config, fsync, one, many, cloud, replayed, fold, moto };
    let table = summary::table(&results);
    println!();
    println!("{}", summary::heading(&results));
    table.print();
    eprintln!("[foundation] done in {:.0} s", began.elapsed().as_secs_f64());
    Ok(())
}
