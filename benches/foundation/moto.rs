//! Item 7: the RunInstances and DescribeInstances-by-id workloads against
//! moto_server, the baseline for items 3 and 4. Each part runs on a fresh
//! moto, as Yukari's do. moto is filled only to the first size: it launches
//! a few hundred instances a second and slows as it grows, so the second
//! size is extrapolated from its measured fill rate, not measured.
//!
//! moto's `MaxResults` pages reservations, not instances (a page of 1,000
//! would be all 10,000 instances here), so pages are not compared.

use crate::Config;
use crate::ec2::{Ec2Client, first};
use crate::servers::Moto;
use crate::workload::{self, Budget, Fill, Latency, Launch, Throughput};
use anyhow::{Context, Result};
use tokio::runtime::Runtime;

#[derive(Debug)]
pub struct MotoResults {
    pub image: String,
    pub throughput: Throughput,
    /// Filled to `Config::sizes[0]`.
    pub fill: Fill,
    pub by_id: Latency,
    /// By id at a tenth of that size, to see how moto's latency grows.
    pub by_id_tenth: Latency,
}

impl MotoResults {
    /// moto's by-id median at `size`, extrapolated linearly from the two
    /// sizes measured (its DescribeInstances walks every instance).
    pub fn by_id_p50_estimate(&self, size: usize) -> std::time::Duration {
        let (small, large) = (self.fill.instances as f64 / 10.0, self.fill.instances as f64);
        let (a, b) = (self.by_id_tenth.p50.as_secs_f64(), self.by_id.p50.as_secs_f64());
        let slope = ((b - a) / (large - small)).max(0.0);
        std::time::Duration::from_secs_f64(b + slope * (size as f64 - large))
    }
}

/// The results, or why the comparison was skipped.
pub type MotoOutcome = std::result::Result<MotoResults, String>;

/// An image moto knows (it validates ids), from its DescribeImages.
async fn some_image(client: &Ec2Client) -> Result<String> {
    let body = client.call("DescribeImages", &[]).await?;
    first(&body, "imageId").map(str::to_owned).context("moto's DescribeImages listed no image")
}

pub fn measure(config: &Config, runtime: &Runtime) -> Result<MotoOutcome> {
    let log = config.data.join("moto.log");
    let moto = match Moto::start(&log)? {
        Ok(m) => m,
        Err(why) => return Ok(Err(why)),
    };
    let probe = moto.client()?;
    let image = runtime.block_on(some_image(&probe)).context("moto_server does not answer DescribeImages")?;
    let launch = Launch { image: image.clone(), vm_type: "m1.small".to_owned() };
    let clients = (0..config.clients).map(|_| moto.client()).collect::<Result<Vec<_>>>()?;
    let throughput = runtime
        .block_on(workload::run_instances_load(clients, &launch, config.load_phase, moto.pid()))
        .context("RunInstances load on moto_server")?;
    eprintln!("[foundation]   moto RunInstances: {:.0} calls/s", throughput.per_sec());
    drop(moto);

    let moto = match Moto::start(&log)? {
        Ok(m) => m,
        Err(why) => return Ok(Err(format!("second start: {why}"))),
    };
    let client = moto.client()?;
    let mut ids = Vec::new();
    let tenth = Budget { requests: 200, time: config.moto_latency_budget / 4, min: 20 };
    let first = runtime.block_on(workload::fill(&client, &launch, config.sizes[0] / 10, &mut ids))?;
    let by_id_tenth = runtime.block_on(workload::describe_by_id(&client, &ids, tenth, moto.pid()))?;
    let rest = runtime.block_on(workload::fill(&client, &launch, config.sizes[0], &mut ids))?;
    let fill = Fill { instances: ids.len(), secs: first.secs + rest.secs };
    eprintln!("[foundation]   moto filled to {} ({:.0} instances/s)", config.sizes[0], fill.per_sec());
    let budget = Budget { requests: config.latency_requests, time: config.moto_latency_budget, min: 20 };
    let by_id = runtime.block_on(workload::describe_by_id(&client, &ids, budget, moto.pid()))?;
    drop(moto);
    Ok(Ok(MotoResults { image, throughput, fill, by_id, by_id_tenth }))
}
