//! Items 3 to 5 against the real `yukari up`: RunInstances throughput on a
//! fresh cloud; then, on a second cloud, DescribeInstances latency at each
//! size and the controller's memory; the second cloud's log is left for the
//! replay and fold measurements.

use crate::Config;
use crate::servers::{YUKARI_IMAGE, Yukari};
use crate::workload::{self, Budget, Fill, Latency, Launch, Throughput};
use anyhow::{Context, Result};
use api::admin::WriterReport;
use std::path::PathBuf;
use std::time::Duration;
use tokio::runtime::Runtime;

/// DescribeInstances latencies with `instances` in the cloud.
#[derive(Debug)]
pub struct AtSize {
    pub instances: usize,
    pub fill: Fill,
    pub by_id: Latency,
    pub page: Latency,
}

#[derive(Debug)]
pub struct CloudResults {
    pub throughput: Throughput,
    /// What the log's writer did during the RunInstances phase.
    pub writer: WriterReport,
    /// Unsigned requests refused at once (the round-trip floor).
    pub floor: Latency,
    pub sizes: Vec<AtSize>,
    /// Controller VmRSS once bootstrapped (one request served).
    pub rss_boot: u64,
    /// Controller VmRSS with the largest size in, every launch settled.
    pub rss_full: u64,
    /// The stopped second cloud's event log.
    pub log_path: PathBuf,
    pub log_bytes: u64,
}

pub fn launch() -> Launch {
    Launch { image: YUKARI_IMAGE.to_owned(), vm_type: "m1.small".to_owned() }
}

fn throughput(config: &Config, runtime: &Runtime) -> Result<(Throughput, WriterReport)> {
    let mut cloud = Yukari::start(&config.data.join("yukari-throughput"))?;
    let clients = (0..config.clients).map(|_| cloud.client()).collect::<Result<Vec<_>>>()?;
    let admin = cloud.admin()?;
    let writer_before = runtime.block_on(admin.writer()).context("GET /admin/writer")?;
    // YUKARI_BENCH_PERF=FILE: the server's profile during the load phase
    // (`perf record --call-graph dwarf`; read it with `perf report -i FILE`).
    // With YUKARI_BENCH_PERF_OFF_CPU=1, where its threads wait instead: every
    // switch off and onto a CPU with its stack (read it with `perf sched
    // timehist -i FILE -s` for each thread's time running, waiting and
    // runnable, and `perf script -i FILE` for the stacks they wait in).
    // YUKARI_BENCH_PERF_FREQ=N samples N times a second (499 unless set);
    // YUKARI_BENCH_PERF_CALL_GRAPH=fp unwinds by frame pointers (a `yukari`
    // built with RUSTFLAGS="-C force-frame-pointers=yes") instead of DWARF.
    let off_cpu = std::env::var_os("YUKARI_BENCH_PERF_OFF_CPU").is_some_and(|v| v == "1");
    let freq = std::env::var("YUKARI_BENCH_PERF_FREQ").unwrap_or_else(|_| "499".to_owned());
    let call_graph =
        std::env::var("YUKARI_BENCH_PERF_CALL_GRAPH").unwrap_or_else(|_| "dwarf,32768".to_owned());
    let events: Vec<&str> = if off_cpu {
        vec!["-e", "sched:sched_switch", "-e", "sched:sched_wakeup", "-e", "sched:sched_stat_runtime", "-g"]
    } else {
        vec!["-F", &freq, "--call-graph", &call_graph]
    };
    let perf = match std::env::var_os("YUKARI_BENCH_PERF") {
        Some(out) => Some(
            std::process::Command::new("perf")
                .arg("record")
                .args(&events)
                .arg("-o")
                .arg(&out)
                .args(["-p", &cloud.pid()?.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .context("perf record (YUKARI_BENCH_PERF)")?,
        ),
        None => None,
    };
    let result = runtime
        .block_on(workload::run_instances_load(clients, &launch(), config.load_phase, cloud.pid()?))
        .context("RunInstances load on yukari");
    if let Some(mut perf) = perf {
        // SIGINT makes perf write its file and exit.
        let _ = std::process::Command::new("kill").args(["-INT", &perf.id().to_string()]).status();
        let _ = perf.wait();
    }
    let result = result?;
    let writer = runtime.block_on(admin.writer()).context("GET /admin/writer")?.since(&writer_before);
    cloud.stop()?;
    Ok((result, writer))
}

pub fn measure(config: &Config, runtime: &Runtime) -> Result<CloudResults> {
    let (throughput, writer) = throughput(config, runtime)?;
    eprintln!("[foundation]   yukari RunInstances: {:.0} calls/s", throughput.per_sec());

    let mut cloud = Yukari::start(&config.data.join("yukari"))?;
    let client = cloud.client()?;
    let launch = launch();
    runtime.block_on(client.call("DescribeInstances", &[]))?;
    let rss_boot = cloud.rss()?;
    let budget = Budget { requests: config.latency_requests, time: Duration::from_secs(600), min: 1 };
    let pid = cloud.pid()?;
    let floor = runtime.block_on(workload::http_floor(&client, budget, pid))?;
    let (mut ids, mut sizes, mut rss_full) = (Vec::new(), Vec::new(), rss_boot);
    for &size in &config.sizes {
        let fill = runtime.block_on(workload::fill(&client, &launch, size, &mut ids))?;
        let settled =
            runtime.block_on(workload::wait_until_none_pending(&client, Duration::from_secs(600)))?;
        eprintln!(
            "[foundation]   yukari filled to {size} ({:.0} instances/s, settled {:.1} s later)",
            fill.per_sec(),
            settled.as_secs_f64()
        );
        rss_full = cloud.rss()?;
        let by_id = runtime.block_on(workload::describe_by_id(&client, &ids, budget, pid))?;
        let page = runtime.block_on(workload::describe_page(&client, budget, pid))?;
        sizes.push(AtSize { instances: size, fill, by_id, page });
    }
    let log_path = cloud.log_path();
    cloud.stop()?;
    let log_bytes =
        std::fs::metadata(&log_path).with_context(|| format!("cannot stat {}", log_path.display()))?.len();
    Ok(CloudResults { throughput, writer, floor, sizes, rss_boot, rss_full, log_path, log_bytes })
}
