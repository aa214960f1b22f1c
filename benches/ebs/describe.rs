//! Part 4: DescribeVolumes by one id and a page of 1,000, in a simulated
//! cloud (`--hypervisor sim --storage sim`) first holding 1,000 volumes,
//! then `--volumes` (100,000 by default), against DescribeInstances of one
//! id in the same cloud at the same moment (the baseline).
//!
//! Volumes are made by CreateVolume of 1 GiB from 8 clients, each on its
//! own connection; after each fill the bench waits until none is
//! `creating`, then sends its requests one at a time, the clock started
//! after signing.

use crate::ec2::{Ec2Client, client_token, elements, first};
use crate::servers::Yukari;
use crate::{Stats, ms};
use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
const BY_ID_CALLS: usize = 1000;
const PAGE_CALLS: usize = 100;

/// Figures at one size.
pub struct AtSize {
    pub volumes: usize,
    /// CreateVolume calls per second while filling up to this size.
    pub fill_per_sec: f64,
    pub volume_by_id: Stats,
    pub page: Stats,
    pub instance_by_id: Stats,
    /// Controller resident memory (bytes).
    pub rss: u64,
}

pub struct Describe {
    pub sizes: Vec<AtSize>,
    pub rss_empty: u64,
}

/// CreateVolume until the cloud holds `target` volumes, from `CLIENTS`
/// connections; the ids made.
async fn fill(cloud: &Yukari, have: usize, target: usize) -> Result<Vec<String>> {
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = cloud.client()?;
        let share = (target - have) / CLIENTS + usize::from(c < (target - have) % CLIENTS);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(share);
            for _ in 0..share {
                let token = client_token();
                let answer = client
                    .call(
                        "CreateVolume",
                        &[("Size", "1"), ("AvailabilityZone", "yukari-1a"), ("ClientToken", &token)],
                    )
                    .await?;
                ids.push(first(&answer, "volumeId").context("CreateVolume answered no volumeId")?.to_owned());
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.context("a filling task panicked")??);
    }
    Ok(ids)
}

/// Waits until no volume is `creating`.
async fn settle(client: &Ec2Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let answer = client
            .call(
                "DescribeVolumes",
                &[("Filter.1.Name", "status"), ("Filter.1.Value.1", "creating"), ("MaxResults", "5")],
            )
            .await?;
        if elements(&answer, "volumeId").is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("volumes were still creating after 600 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `calls` sequential requests; the i-th made by `params(i)`.
async fn time_calls(
    client: &Ec2Client,
    action: &str,
    calls: usize,
    expect: usize,
    params: impl Fn(usize) -> Vec<(&'static str, String)>,
) -> Result<Stats> {
    let mut took = Vec::with_capacity(calls);
    for i in 0..calls {
        let p = params(i);
        let borrowed: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (d, body) = client.timed(action, &borrowed).await?;
        let items = if action == "DescribeInstances" {
            elements(&body, "instanceId").len()
        } else {
            elements(&body, "volumeId").len()
        };
        if items != expect {
            bail!("{action} answered {items} items, expected {expect}");
        }
        took.push(d);
    }
    Ok(Stats::of(took))
}

async fn measure_at(cloud: &Yukari, ids: &[String], instance: &str, fill_per_sec: f64) -> Result<AtSize> {
    let client = cloud.client()?;
    settle(&client).await?;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut pick = Vec::with_capacity(BY_ID_CALLS);
    for _ in 0..BY_ID_CALLS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pick.push(ids[(x % ids.len() as u64) as usize].clone());
    }
    // One warm-up call of each kind.
    client.call("DescribeVolumes", &[("VolumeId.1", &ids[0])]).await?;
    client.call("DescribeInstances", &[("InstanceId.1", instance)]).await?;
    let volume_by_id =
        time_calls(&client, "DescribeVolumes", BY_ID_CALLS, 1, |i| vec![("VolumeId.1", pick[i].clone())])
            .await?;
    let instance_by_id = time_calls(&client, "DescribeInstances", BY_ID_CALLS, 1, |_| {
        vec![("InstanceId.1", instance.to_owned())]
    })
    .await?;
    let page =
        time_calls(&client, "DescribeVolumes", PAGE_CALLS, 1000, |_| vec![("MaxResults", "1000".to_owned())])
            .await?;
    Ok(AtSize { volumes: ids.len(), fill_per_sec, volume_by_id, page, instance_by_id, rss: cloud.rss()? })
}

pub async fn run(cloud: &Yukari, volumes: usize) -> Result<Describe> {
    let client = cloud.client()?;
    let rss_empty = cloud.rss()?;
    let answer = client
        .call(
            "RunInstances",
            &[("ImageId", crate::servers::YUKARI_IMAGE), ("MinCount", "1"), ("MaxCount", "1")],
        )
        .await?;
    let instance = first(&answer, "instanceId").context("RunInstances answered no instanceId")?.to_owned();
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    for size in [1000.min(volumes), volumes] {
        if size <= ids.len() {
            continue;
        }
        eprintln!("ebs bench: creating volumes up to {size}");
        let started = Instant::now();
        let made = fill(cloud, ids.len(), size).await?;
        let fill_per_sec = made.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
        ids.extend(made);
        eprintln!("ebs bench: {} volumes; timing DescribeVolumes", ids.len());
        let at = measure_at(cloud, &ids, &instance, fill_per_sec).await?;
        eprintln!(
            "ebs bench: at {}: by id p50 {}, page p50 {}",
            at.volumes,
            ms(at.volume_by_id.p50),
            ms(at.page.p50)
        );
        sizes.push(at);
    }
    Ok(Describe { sizes, rss_empty })
}
