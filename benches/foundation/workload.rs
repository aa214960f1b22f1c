//! The workloads, written once and run against both servers: RunInstances
//! throughput from concurrent clients, filling a cloud with instances
//! (RunInstances of 1,000), waiting for launches to settle, and
//! DescribeInstances latency by id and by page.

use crate::ec2::{Ec2Client, client_token, elements};
use crate::servers::cpu_secs;
use anyhow::{Context, Result, bail};
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

/// What to launch.
#[derive(Clone, Debug)]
pub struct Launch {
    pub image: String,
    pub vm_type: String,
}

impl Launch {
    /// RunInstances of exactly `count`, with a fresh client token; returns
    /// the new instance ids.
    pub async fn run(&self, client: &Ec2Client, count: usize) -> Result<Vec<String>> {
        let (count_text, token) = (count.to_string(), client_token());
        let body = client
            .call(
                "RunInstances",
                &[
                    ("ImageId", &self.image),
                    ("InstanceType", &self.vm_type),
                    ("MinCount", &count_text),
                    ("MaxCount", &count_text),
                    ("ClientToken", &token),
                ],
            )
            .await?;
        let ids: Vec<String> = elements(&body, "instanceId").into_iter().map(str::to_owned).collect();
        if ids.len() != count {
            bail!("RunInstances of {count} answered {} instance ids", ids.len());
        }
        Ok(ids)
    }
}

/// Calls completed by concurrent clients in a timed window, and the CPU
/// time the server and this (client) process spent meanwhile.
#[derive(Debug)]
pub struct Throughput {
    pub clients: usize,
    pub calls: u64,
    pub secs: f64,
    pub server_cpu_secs: f64,
    pub client_cpu_secs: f64,
}

impl Throughput {
    pub fn per_sec(&self) -> f64 {
        self.calls as f64 / self.secs
    }

    /// Server CPU per call, in microseconds.
    pub fn server_us_per_call(&self) -> f64 {
        self.server_cpu_secs * 1e6 / self.calls.max(1) as f64
    }

    /// Client (this process) CPU per call, in microseconds.
    pub fn client_us_per_call(&self) -> f64 {
        self.client_cpu_secs * 1e6 / self.calls.max(1) as f64
    }

    /// Share of the machine's CPUs the two used together.
    pub fn cpu_busy(&self) -> f64 {
        (self.server_cpu_secs + self.client_cpu_secs) / (self.secs * cpus())
    }

    /// Calls per second the machine's CPUs allow at this CPU per call
    /// (server and client together, every CPU busy): the CPUs' limit.
    pub fn cpu_limit(&self) -> f64 {
        cpus() * 1e6 / (self.server_us_per_call() + self.client_us_per_call()).max(1e-3)
    }
}

/// The machine's CPUs.
pub fn cpus() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

/// Every client loops RunInstances (MinCount = MaxCount = 1) for
/// `duration`, after one warm-up call each that opens its connection.
/// `server` is the server's process id, for its CPU time.
pub async fn run_instances_load(
    clients: Vec<Ec2Client>,
    launch: &Launch,
    duration: Duration,
    server: u32,
) -> Result<Throughput> {
    let server = server.to_string();
    let count = clients.len();
    let barrier = Arc::new(Barrier::new(count + 1));
    let mut tasks = JoinSet::new();
    for (n, client) in clients.into_iter().enumerate() {
        let (barrier, launch) = (barrier.clone(), launch.clone());
        tasks.spawn(async move {
            let warmed = launch.run(&client, 1).await;
            barrier.wait().await;
            warmed.with_context(|| format!("warm-up of client {n}"))?;
            let deadline = Instant::now() + duration;
            let mut calls = 0u64;
            while Instant::now() < deadline {
                launch.run(&client, 1).await.with_context(|| format!("client {n}, call {calls}"))?;
                calls += 1;
            }
            Ok::<_, anyhow::Error>((calls, Instant::now()))
        });
    }
    barrier.wait().await;
    let started = Instant::now();
    let (server_cpu, client_cpu) = (cpu_secs(&server)?, cpu_secs("self")?);
    let (mut calls, mut ended) = (0u64, started);
    while let Some(joined) = tasks.join_next().await {
        let (n, end) = joined.context("a RunInstances client panicked")??;
        calls += n;
        ended = ended.max(end);
    }
    Ok(Throughput {
        clients: count,
        calls,
        secs: (ended - started).as_secs_f64(),
        server_cpu_secs: cpu_secs(&server)? - server_cpu,
        client_cpu_secs: cpu_secs("self")? - client_cpu,
    })
}

/// Instances launched by [`fill`] and how long it took.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fill {
    pub instances: usize,
    pub secs: f64,
}

impl Fill {
    pub fn per_sec(&self) -> f64 {
        self.instances as f64 / self.secs.max(1e-9)
    }
}

/// Launches instances 1,000 a call (one client) until `ids` holds `total`.
pub async fn fill(client: &Ec2Client, launch: &Launch, total: usize, ids: &mut Vec<String>) -> Result<Fill> {
    let (before, started) = (ids.len(), Instant::now());
    while ids.len() < total {
        let count = (total - ids.len()).min(1000);
        let new =
            launch.run(client, count).await.with_context(|| format!("filling the cloud at {}", ids.len()))?;
        ids.extend(new);
    }
    Ok(Fill { instances: ids.len() - before, secs: started.elapsed().as_secs_f64() })
}

/// Waits until no instance is `pending` (Yukari's simulated guests report
/// `running` a moment after their launch), so measurements that follow do
/// not compete with those reports.
pub async fn wait_until_none_pending(client: &Ec2Client, timeout: Duration) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let body = client
            .call(
                "DescribeInstances",
                &[
                    ("Filter.1.Name", "instance-state-name"),
                    ("Filter.1.Value.1", "pending"),
                    ("MaxResults", "5"),
                ],
            )
            .await?;
        if elements(&body, "instanceId").is_empty() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > timeout {
            bail!("instances were still pending after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many requests a latency sample takes: `requests`, unless `time`
/// runs out first (but never fewer than `min`).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub requests: usize,
    pub time: Duration,
    pub min: usize,
}

/// Median and 99th percentile of sequential requests from one client,
/// and the server's CPU time per request meanwhile.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub requests: usize,
    /// Server CPU per request, in microseconds (10 ms clock ticks, so
    /// only meaningful over hundreds of requests).
    pub server_us: f64,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

struct Samples {
    budget: Budget,
    started: Instant,
    times: Vec<Duration>,
    server: String,
    server_cpu: f64,
}

impl Samples {
    /// Starts a sample; `server` is the server's process id.
    fn new(budget: Budget, server: u32) -> Result<Samples> {
        let server = server.to_string();
        let server_cpu = cpu_secs(&server)?;
        Ok(Samples {
            budget,
            started: Instant::now(),
            times: Vec::with_capacity(budget.requests),
            server,
            server_cpu,
        })
    }

    fn more(&self) -> bool {
        let n = self.times.len();
        n < self.budget.requests && (n < self.budget.min || self.started.elapsed() < self.budget.time)
    }

    fn latency(mut self) -> Result<Latency> {
        if self.times.is_empty() {
            bail!("no request was timed");
        }
        let server_us = (cpu_secs(&self.server)? - self.server_cpu) * 1e6 / self.times.len() as f64;
        self.times.sort();
        Ok(Latency {
            p50: percentile(&self.times, 0.5),
            p99: percentile(&self.times, 0.99),
            requests: self.times.len(),
            server_us,
        })
    }
}

/// DescribeInstances with `InstanceId.1` = a random one of `ids`.
pub async fn describe_by_id(
    client: &Ec2Client,
    ids: &[String],
    budget: Budget,
    server: u32,
) -> Result<Latency> {
    if ids.is_empty() {
        bail!("no instance ids to describe");
    }
    let mut samples = Samples::new(budget, server)?;
    while samples.more() {
        let id = &ids[rand::thread_rng().gen_range(0..ids.len())];
        let (took, body) = client.timed("DescribeInstances", &[("InstanceId.1", id)]).await?;
        if elements(&body, "instanceId").first() != Some(&id.as_str()) {
            bail!("DescribeInstances of {id} did not answer that instance");
        }
        samples.times.push(took);
    }
    samples.latency()
}

/// DescribeInstances with `MaxResults=1000` (the first page).
pub async fn describe_page(client: &Ec2Client, budget: Budget, server: u32) -> Result<Latency> {
    let mut samples = Samples::new(budget, server)?;
    while samples.more() {
        let (took, body) = client.timed("DescribeInstances", &[("MaxResults", "1000")]).await?;
        if samples.times.is_empty() {
            let n = elements(&body, "instanceId").len();
            if n != 1000 {
                bail!("a page of MaxResults=1000 held {n} instances");
            }
        }
        samples.times.push(took);
    }
    samples.latency()
}

/// Unsigned requests the server refuses at once: the round-trip floor.
pub async fn http_floor(client: &Ec2Client, budget: Budget, server: u32) -> Result<Latency> {
    let mut samples = Samples::new(budget, server)?;
    while samples.more() {
        samples.times.push(client.timed_unsigned("DescribeRegions").await?);
    }
    samples.latency()
}
