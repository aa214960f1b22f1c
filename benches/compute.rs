//! The compute API benchmark: DescribeInstances with filters and tags on a
//! cloud of 100,000 instances, and CreateTags throughput, against the real
//! `yukari up` (simulated guests) over HTTP, signed like boto3.
//!
//! In one run, on `target/bench-data/compute`:
//!
//! 1. the cloud is filled with 100,000 instances (RunInstances of 1,000,
//!    half m1.small, half c1.medium) and every one is tagged
//!    `team=t0…t9`; one in a hundred also `role=db` (CreateTags of 1,000
//!    resources a call: tags per second in bulk);
//! 2. CreateTags of one resource per call from 8 concurrent clients, against
//!    RunInstances of one instance per call from the same clients (both are
//!    one durable append per call): calls per second and their ratio;
//! 3. DescribeInstances p50/p99 with filters (instance type, tag value,
//!    tag key, wildcard, tag and state together), each against DescribeInstances
//!    of one id measured in the same run.
//!
//! Run: `cargo bench --bench compute` (a few minutes), or
//! `cargo bench --bench compute -- --quick` (10,000 instances). See
//! BENCHMARKS.md.

#[path = "foundation/ec2.rs"]
#[allow(dead_code)]
mod ec2;
#[path = "foundation/servers.rs"]
#[allow(dead_code)]
mod servers;
#[path = "foundation/workload.rs"]
#[allow(dead_code)]
mod workload;

use anyhow::{Context, Result, bail};
use ec2::{Ec2Client, elements};
use servers::{YUKARI_IMAGE, Yukari};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use workload::Launch;

const TEAMS: usize = 10;
/// One instance in this many gets `role=db`.
const DB_EVERY: usize = 100;
const CLIENTS: usize = 8;

/// A DescribeInstances case: its name, parameters and expected count.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, usize);

struct Config {
    instances: usize,
    phase: Duration,
    requests: usize,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// p50 and p99 of `requests` sequential calls; `expect` checks one answer
/// (the number of instances it held).
async fn latency(
    client: &Ec2Client,
    params: &[(&str, &str)],
    requests: usize,
    expect: usize,
) -> Result<(Duration, Duration)> {
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests {
        let (took, body) = client.timed("DescribeInstances", params).await?;
        if i == 0 {
            let n = elements(&body, "instanceId").len();
            if n != expect {
                bail!("DescribeInstances {params:?} answered {n} instances, expected {expect}");
            }
        }
        times.push(took);
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

/// Calls per second of `call` from concurrent clients over `phase`.
async fn throughput<F, Fut>(clients: Vec<Ec2Client>, phase: Duration, call: F) -> Result<f64>
where
    F: Fn(Arc<Ec2Client>, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let (client, done, call) = (Arc::new(client), done.clone(), call.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < phase {
                call(client.clone(), n).await?;
                done.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a client task failed")??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

async fn tag(client: &Ec2Client, ids: &[String], key: &str, value: &str) -> Result<()> {
    let names: Vec<String> = (1..=ids.len()).map(|i| format!("ResourceId.{i}")).collect();
    let mut params: Vec<(&str, &str)> =
        names.iter().zip(ids).map(|(n, id)| (n.as_str(), id.as_str())).collect();
    params.push(("Tag.1.Key", key));
    params.push(("Tag.1.Value", value));
    client.call("CreateTags", &params).await.map(|_| ())
}

async fn run(config: &Config, cloud: &Yukari) -> Result<()> {
    let client = cloud.client()?;
    let n = config.instances;
    println!("compute benchmark: {n} instances, {CLIENTS} clients for throughput\n");

    // 1. Fill and tag.
    let (mut ids, started) = (Vec::with_capacity(n), Instant::now());
    let small = Launch { image: YUKARI_IMAGE.to_owned(), vm_type: "m1.small".to_owned() };
    let medium = Launch { image: YUKARI_IMAGE.to_owned(), vm_type: "c1.medium".to_owned() };
    while ids.len() < n {
        let launch = if (ids.len() / 1000) % 2 == 0 { &small } else { &medium };
        let count = (n - ids.len()).min(1000);
        ids.extend(launch.run(&client, count).await?);
    }
    println!("  filled:  {n} instances in {:.1} s", started.elapsed().as_secs_f64());
    workload::wait_until_none_pending(&client, Duration::from_secs(600)).await?;
    let started = Instant::now();
    let mut tags = 0usize;
    for (i, chunk) in ids.chunks(1000).enumerate() {
        tag(&client, chunk, "team", &format!("t{}", i % TEAMS)).await?;
        tags += chunk.len();
    }
    let db: Vec<String> = ids.iter().step_by(DB_EVERY).cloned().collect();
    for chunk in db.chunks(1000) {
        tag(&client, chunk, "role", "db").await?;
        tags += chunk.len();
    }
    let bulk = tags as f64 / started.elapsed().as_secs_f64();
    println!("  tagged:  {tags} tags, CreateTags of 1,000 resources: {bulk:.0} tags/s\n");

    // 2. CreateTags throughput against RunInstances of one.
    let clients = || (0..CLIENTS).map(|_| cloud.client()).collect::<Result<Vec<_>>>();
    let ids = Arc::new(ids);
    let targets = ids.clone();
    let create_tags = throughput(clients()?, config.phase, move |client, k| {
        let targets = targets.clone();
        async move {
            let id = &targets[(k as usize * 7919) % targets.len()];
            let value = format!("v{k}");
            client
                .call("CreateTags", &[("ResourceId.1", id), ("Tag.1.Key", "bench"), ("Tag.1.Value", &value)])
                .await
                .map(|_| ())
        }
    })
    .await?;
    let run_one = throughput(clients()?, config.phase, |client, _| async move {
        let token = ec2::client_token();
        client
            .call(
                "RunInstances",
                &[("ImageId", YUKARI_IMAGE), ("MinCount", "1"), ("MaxCount", "1"), ("ClientToken", &token)],
            )
            .await
            .map(|_| ())
    })
    .await?;
    println!("throughput ({CLIENTS} clients, {:?} each)", config.phase);
    println!("  RunInstances of 1 (baseline)     {run_one:>10.0} calls/s   1.00×");
    println!(
        "  CreateTags of 1 resource, 1 tag  {create_tags:>10.0} calls/s   {:.2}×",
        create_tags / run_one
    );
    println!("  CreateTags of 1,000 (bulk)       {bulk:>10.0} tags/s    {:.2}×\n", bulk / run_one);

    // 3. Filtered DescribeInstances.
    workload::wait_until_none_pending(&client, Duration::from_secs(600)).await?;
    let r = config.requests;
    let one = ids[ids.len() / 2].clone();
    let (base50, base99) = latency(&client, &[("InstanceId.1", &one)], r, 1).await?;
    let dbs = n.div_ceil(DB_EVERY);
    let cases: Vec<Case<'_>> = vec![
        ("first page of 1,000, no filter", vec![("MaxResults", "1000")], 1000),
        (
            "instance-type=c1.medium, page of 1,000",
            vec![
                ("Filter.1.Name", "instance-type"),
                ("Filter.1.Value.1", "c1.medium"),
                ("MaxResults", "1000"),
            ],
            1000,
        ),
        ("tag:role=db (all)", vec![("Filter.1.Name", "tag:role"), ("Filter.1.Value.1", "db")], dbs),
        ("tag-key=role (all)", vec![("Filter.1.Name", "tag-key"), ("Filter.1.Value.1", "role")], dbs),
        ("tag:role=d* (wildcard, all)", vec![("Filter.1.Name", "tag:role"), ("Filter.1.Value.1", "d*")], dbs),
        (
            "tag:team=t3 and running, page of 1,000",
            vec![
                ("Filter.1.Name", "tag:team"),
                ("Filter.1.Value.1", "t3"),
                ("Filter.2.Name", "instance-state-name"),
                ("Filter.2.Value.1", "running"),
                ("MaxResults", "1000"),
            ],
            1000.min(n / TEAMS),
        ),
    ];
    println!("DescribeInstances at {n} instances ({r} requests each; baseline: one instance by id)");
    println!("  {:<42} {:>10} {:>10} {:>8}", "", "p50", "p99", "p50 ×");
    println!("  {:<42} {:>10} {:>10} {:>8}", "by id (baseline)", ms(base50), ms(base99), "1.0×");
    for (name, params, expect) in cases {
        let (p50, p99) = latency(&client, &params, r, expect).await?;
        let ratio = p50.as_secs_f64() / base50.as_secs_f64();
        println!("  {name:<42} {:>10} {:>10} {:>7.1}×", ms(p50), ms(p99), ratio);
    }
    Ok(())
}

fn main() -> ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        Config { instances: 10_000, phase: Duration::from_secs(1), requests: 50 }
    } else {
        Config { instances: 100_000, phase: Duration::from_secs(3), requests: 200 }
    };
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/compute");
    let result = (|| -> Result<()> {
        let runtime = tokio::runtime::Runtime::new()?;
        let mut cloud = Yukari::start(&data)?;
        runtime.block_on(run(&config, &cloud))?;
        cloud.stop()
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compute benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
