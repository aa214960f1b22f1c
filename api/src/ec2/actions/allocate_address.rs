//! AllocateAddress: an elastic IP from the cloud's public pool, with
//! optional tags.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::tagging;
use domain::aggregates::tags::MAX_TAGS;
use domain::command::AllocateAddress;
use domain::{Command, Reply, Tag};

#[derive(Debug)]
pub struct Request {
    /// The `Domain` asked for, echoed in the answer: Yukari's addresses are
    /// the same either way (EC2-Classic-like, with allocation ids).
    domain: &'static str,
    tags: Vec<Tag>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let domain = match params.get("Domain").filter(|d| !d.is_empty()) {
        None | Some("standard") => "standard",
        Some("vpc") => "vpc",
        Some(other) => {
            return Err(Ec2Error::invalid(format!(
                "Value ({other}) for parameter domain is invalid. Expected: standard, vpc."
            )));
        }
    };
    for unsupported in ["Address", "PublicIpv4Pool", "CustomerOwnedIpv4Pool", "IpamPoolId"] {
        if params.get(unsupported).is_some_and(|v| !v.is_empty()) {
            return Err(Ec2Error::invalid(format!(
                "The parameter {unsupported} is not supported: addresses come from the cloud's public pool."
            )));
        }
    }
    let tags = tagging::specifications(params, "elastic-ip", &["elastic-ip"])?;
    if tags.len() > MAX_TAGS {
        return Err(Ec2Error::new(Code::TagLimitExceeded, format!("At most {MAX_TAGS} tags may be given.")));
    }
    Ok(Request { domain, tags })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::AllocateAddress(AllocateAddress {
        account: ctx.account().clone(),
        allocation: app.ids.allocation(),
        tags: r.tags,
        at: now(),
    });
    let executed = ctx.execute(app, command).await?;
    let Reply::Address { allocation, address } = executed.decision.reply else {
        return Err(Ec2Error::internal());
    };
    let mut x = ctx.response("AllocateAddressResponse");
    x.text("publicIp", &address);
    x.text("domain", r.domain);
    x.text("allocationId", allocation.as_str());
    Ok(x.finish())
}
