//! DescribeAddresses: the caller's elastic IPs, by address, allocation id
//! or filter, with the instance each is on.

use super::associate_address::{allocation_id, public_ip};
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::params::{Filter, Params};
use crate::ec2::tagging::tag_set;
use domain::AllocationId;
use projections::{AddressRow, ReadModels};
use std::borrow::Cow;
use std::collections::BTreeSet;

const FILTERS: &[&str] = &[
    "public-ip",
    "allocation-id",
    "association-id",
    "instance-id",
    "domain",
    "private-ip-address",
    "network-interface-owner-id",
];

/// Every address answers as EC2-Classic's: Yukari keeps no VPC domain.
const DOMAIN: &str = "standard";

#[derive(Debug)]
pub struct Request {
    ips: Vec<String>,
    allocations: Vec<AllocationId>,
    filters: Vec<Filter>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ips = params.list("PublicIp").into_iter().map(public_ip).collect::<Result<Vec<_>, _>>()?;
    let allocations =
        params.list("AllocationId").into_iter().map(allocation_id).collect::<Result<Vec<_>, _>>()?;
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    Ok(Request { ips, allocations, filters })
}

/// The private address of the instance an elastic IP is on.
fn private_address<'a>(row: &AddressRow, models: &'a ReadModels) -> Option<&'a str> {
    let (_, instance) = row.association.as_ref()?;
    models.instances.get(instance.as_str())?.private_address.as_deref()
}

fn values<'a>(
    id: &'a AllocationId,
    row: &'a AddressRow,
    name: &str,
    models: &'a ReadModels,
) -> Vec<Cow<'a, str>> {
    let association = row.association.as_ref();
    let borrowed: Vec<&'a str> = match name {
        "public-ip" => vec![row.address.as_str()],
        "allocation-id" => vec![id.as_str()],
        "association-id" => association.map(|(a, _)| a.as_str()).into_iter().collect(),
        "instance-id" => association.map(|(_, i)| i.as_str()).into_iter().collect(),
        "domain" => vec![DOMAIN],
        "private-ip-address" => private_address(row, models).into_iter().collect(),
        "network-interface-owner-id" => vec![row.account.as_str()],
        _ => Vec::new(),
    };
    borrowed.into_iter().map(Cow::Borrowed).collect()
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let addresses = &models.network.addresses;
    let mine = |row: &AddressRow| &row.account == account;
    let mut chosen: BTreeSet<&AllocationId> = BTreeSet::new();
    for ip in &r.ips {
        match models.network.by_address(ip).filter(|(_, row)| mine(row)) {
            Some((id, _)) => {
                chosen.insert(id);
            }
            None => {
                return Err(Ec2Error::new(
                    Code::InvalidAddressNotFound,
                    format!("Address '{ip}' not found."),
                ));
            }
        }
    }
    for id in &r.allocations {
        match addresses.get_key_value(id).filter(|(_, row)| mine(row)) {
            Some((id, _)) => {
                chosen.insert(id);
            }
            None => {
                return Err(Ec2Error::new(
                    Code::InvalidAllocationIdNotFound,
                    format!("The allocation ID '{id}' does not exist"),
                ));
            }
        }
    }
    let everything = r.ips.is_empty() && r.allocations.is_empty();
    let mut x = ctx.response("DescribeAddressesResponse");
    x.open("addressesSet");
    for (id, row) in addresses {
        let asked = if everything { mine(row) } else { chosen.contains(id) };
        if !asked || !all_match(&r.filters, &models.tags, id.as_str(), |name| values(id, row, name, &models))
        {
            continue;
        }
        let association = row.association.as_ref();
        x.open("item");
        x.text("publicIp", &row.address);
        x.text("allocationId", id.as_str());
        x.text("domain", DOMAIN);
        x.opt("instanceId", association.map(|(_, i)| i.as_str()));
        x.opt("associationId", association.map(|(a, _)| a.as_str()));
        x.opt("privateIpAddress", private_address(row, &models));
        tag_set(&mut x, &models.tags, id.as_str());
        x.close();
    }
    x.close();
    Ok(x.finish())
}
