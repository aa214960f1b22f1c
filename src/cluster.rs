//! `yukari cluster add|list|set-policy`: clusters (availability zones) of a
//! running cloud, through its admin API with the admin credentials of the
//! data directory's eucarc.

use crate::credentials;
use anyhow::{Context, bail};
use api::admin::client::AdminClient;
use api::nodes::wire::ClusterInfo;
use domain::{SchedulingPolicy, ZoneName};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum ClusterCommand {
    /// Add a cluster (an availability zone) to the cloud.
    Add {
        /// Letters, digits, dashes and underscores (at most 64).
        name: String,
        /// How the cluster places instances on its nodes.
        #[arg(long, default_value = "greedy", value_parser = policy)]
        policy: SchedulingPolicy,
        /// The cloud's data directory (its eucarc has the admin's key).
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
    /// List the clusters with their policy and nodes.
    List {
        /// The cloud's data directory (its eucarc has the admin's key).
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
    /// Change how a cluster places new instances.
    SetPolicy {
        /// The cluster (availability zone).
        name: String,
        /// greedy, roundrobin or powersave.
        #[arg(value_parser = policy)]
        policy: SchedulingPolicy,
        /// The cloud's data directory (its eucarc has the admin's key).
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
}

/// Parses `greedy`, `roundrobin` or `powersave` (any case).
pub fn policy(text: &str) -> Result<SchedulingPolicy, String> {
    SchedulingPolicy::parse(text).ok_or_else(|| {
        say!(
            "unknown policy {text:?}: use greedy, roundrobin or powersave",
            "不明なポリシー {text:?}: greedy、roundrobin、powersave のいずれかを指定してください"
        )
    })
}

/// Checks a cluster name before anything is sent.
pub fn zone_name(name: &str) -> anyhow::Result<ZoneName> {
    ZoneName::parse(name).map_err(|_| {
        anyhow::anyhow!(say!(
            "{name:?} is not a cluster name: use letters, digits, - and _ (at most 64)",
            "{name:?} はクラスター名に使えません: 英数字、- と _ で 64 文字まで"
        ))
    })
}

/// The endpoint, access key and secret of an eucarc.
pub fn admin_key(eucarc: &Path) -> anyhow::Result<(String, String, String)> {
    let env = credentials::read_eucarc(eucarc)?;
    let get = |name: &str| {
        env.get(name)
            .cloned()
            .with_context(|| say!("{} has no {name}", "{} に {name} がありません", eucarc.display()))
    };
    Ok((get("AWS_ENDPOINT_URL")?, get("AWS_ACCESS_KEY_ID")?, get("AWS_SECRET_ACCESS_KEY")?))
}

/// An admin API client with the admin credentials of `eucarc`.
pub fn admin_client(eucarc: &Path) -> anyhow::Result<AdminClient> {
    let (url, key, secret) = admin_key(eucarc)?;
    Ok(AdminClient::new(&url, &key, &secret)?)
}

fn query(name: &str, policy: SchedulingPolicy) -> String {
    format!("name={name}&policy={}", policy.name())
}

pub async fn run(command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Add { name, policy, data_dir } => {
            let zone = zone_name(&name)?;
            let client = admin_client(&data_dir.join("eucarc"))?;
            client.call("POST", "/admin/clusters", &query(zone.as_str(), policy), Vec::new()).await?;
            let policy = policy.name();
            println!(
                "{}",
                say!("cluster {zone} added ({policy})", "クラスター {zone} を追加しました({policy})")
            );
        }
        ClusterCommand::SetPolicy { name, policy, data_dir } => {
            let zone = zone_name(&name)?;
            let client = admin_client(&data_dir.join("eucarc"))?;
            client.call("POST", "/admin/clusters/policy", &query(zone.as_str(), policy), Vec::new()).await?;
            let policy = policy.name();
            println!(
                "{}",
                say!(
                    "cluster {zone} now places by {policy}",
                    "クラスター {zone} の配置ポリシーを {policy} にしました"
                )
            );
        }
        ClusterCommand::List { data_dir } => {
            let client = admin_client(&data_dir.join("eucarc"))?;
            let body = client.call("GET", "/admin/clusters", "", Vec::new()).await?.bytes().await?;
            let rows: Vec<ClusterInfo> = serde_json::from_slice(&body).with_context(|| {
                say!(
                    "the controller's answer is not a cluster list",
                    "コントローラーの応答がクラスター一覧ではありません"
                )
            })?;
            println!(
                "{}",
                say!(
                    "CLUSTER              POLICY       NODES  REACHABLE  INSTANCES",
                    "クラスター           ポリシー     ノード   到達可能  インスタンス"
                )
            );
            for r in rows {
                println!(
                    "{:<20} {:<11} {:>6} {:>10} {:>10}",
                    r.zone, r.policy, r.nodes, r.reachable_nodes, r.instances
                );
            }
        }
    }
    Ok(())
}

/// Refuses an empty or absent value with a clear message.
pub fn required<'a>(value: &'a Option<String>, flag: &str) -> anyhow::Result<&'a str> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => bail!(say!("{flag} is required", "{flag} を指定してください")),
    }
}
