//! DescribeAccountAttributes: what an account may use in this cloud.
//!
//! The numbers are the limits Yukari enforces, or the cloud's own bounds:
//! - `max-instances`: how many instances of the default type (m1.small, or
//!   the first type if it is gone) the registered nodes hold when empty;
//! - `max-elastic-ips` / `vpc-max-elastic-ips`: the elastic IPs the
//!   account may hold (5 unless the cloud administrator set another
//!   limit), or the size of the public address pool when that is smaller
//!   or the account is the cloud administrator's, which has no limit
//!   (instances' auto-assigned addresses come from the pool too);
//! - `vpc-max-security-groups-per-interface`: 5, EC2's default;
//! - `supported-platforms`: `EC2` (EC2-Classic-like networking), and
//!   `default-vpc`: `none`.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::VmType;
use projections::ReadModels;

const ATTRIBUTES: &[&str] = &[
    "supported-platforms",
    "vpc-max-security-groups-per-interface",
    "max-elastic-ips",
    "max-instances",
    "vpc-max-elastic-ips",
    "default-vpc",
];

/// The type RunInstances launches when none is asked for.
const DEFAULT_TYPE: &str = "m1.small";

#[derive(Debug)]
pub struct Request {
    names: Vec<&'static str>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let asked = params.list("AttributeName");
    if asked.is_empty() {
        return Ok(Request { names: ATTRIBUTES.to_vec() });
    }
    let names = asked
        .into_iter()
        .map(|name| {
            ATTRIBUTES.iter().copied().find(|a| *a == name).ok_or_else(|| {
                Ec2Error::invalid(format!("Value ({name}) for parameter attributeName is invalid."))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Request { names })
}

/// Instances of `vm` that fit on every node, empty.
fn instances_that_fit(models: &ReadModels, vm: &VmType) -> u64 {
    let per_node = |c: &domain::Resources| {
        let cpus = u64::from(c.cpus) / u64::from(vm.cpus.max(1));
        let memory = c.memory_mib / u64::from(vm.memory_mib.max(1));
        let disk = c.disk_gib / u64::from(vm.disk_gib.max(1));
        cpus.min(memory).min(disk)
    };
    models.cloud.zones.values().flat_map(|z| z.nodes.values()).map(|n| per_node(&n.capacity)).sum()
}

/// `cloud_admin`: the caller's account is the cloud administrator's.
fn values(name: &str, models: &ReadModels, cloud_admin: bool) -> Vec<String> {
    match name {
        "supported-platforms" => vec!["EC2".to_owned()],
        "default-vpc" => vec!["none".to_owned()],
        "vpc-max-security-groups-per-interface" => vec!["5".to_owned()],
        "max-elastic-ips" | "vpc-max-elastic-ips" => {
            let pool = models.network.public_pool.len();
            let limit = usize::try_from(models.network.elastic_ip_limit).unwrap_or(usize::MAX);
            vec![if cloud_admin { pool } else { pool.min(limit) }.to_string()]
        }
        "max-instances" => {
            let cloud = &models.cloud;
            let vm = cloud.vm_type(DEFAULT_TYPE).or(cloud.vm_types.first());
            vec![vm.map_or(0, |vm| instances_that_fit(models, vm)).to_string()]
        }
        _ => Vec::new(),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let cloud_admin = app.is_cloud_admin(ctx.account());
    let models = ctx.models(app);
    let mut x = ctx.response("DescribeAccountAttributesResponse");
    x.open("accountAttributeSet");
    for name in r.names {
        x.open("item").text("attributeName", name).open("attributeValueSet");
        for value in values(name, &models, cloud_admin) {
            x.open("item").text("attributeValue", &value).close();
        }
        x.close().close();
    }
    x.close();
    Ok(x.finish())
}
