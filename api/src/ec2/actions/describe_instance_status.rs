//! DescribeInstanceStatus: running instances (or all, with
//! IncludeAllInstances) and their status checks.

use super::instance_ids;
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use crate::ec2::render::state;
use domain::{InstanceId, InstanceState};
use std::borrow::Cow;

const FILTERS: &[&str] = &[
    "availability-zone",
    "instance-state-name",
    "instance-state-code",
    "instance-status.status",
    "system-status.status",
    "instance-status.reachability",
    "system-status.reachability",
];

#[derive(Debug)]
pub struct Request {
    ids: Vec<InstanceId>,
    all: bool,
    filters: Vec<Filter>,
    page: Page,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    let ids = instance_ids(params, "InstanceId")?;
    let page = Page::parse(params, 5, 1000)?;
    if !ids.is_empty() && page.size.is_some() {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    Ok(Request { ids, all: params.bool("IncludeAllInstances")?.unwrap_or(false), filters, page })
}

/// The status checks of an instance: (status, reachability). A running
/// instance on a node the controller does not hear from any more is
/// impaired: it may still run, but nobody can tell.
fn checks(row: &projections::InstanceRow, cloud: &projections::CloudView) -> (&'static str, &'static str) {
    if row.state != InstanceState::Running {
        return ("not-applicable", "not-applicable");
    }
    let lost = row.node.as_ref().and_then(|n| cloud.node(n)).is_some_and(|(_, node)| !node.reachable);
    if lost { ("impaired", "failed") } else { ("ok", "passed") }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let mut missing = Vec::new();
    for id in &r.ids {
        if models.instances.get(id.as_str()).is_none_or(|row| &row.account != account) {
            missing.push(id.clone());
        }
    }
    if !missing.is_empty() {
        return Err(domain::DecideError::InstanceNotFound(missing).into());
    }
    let candidates = models.instances.of_account(account, r.page.after.as_deref()).filter(|row| {
        let (status, reachability) = checks(row, &models.cloud);
        (r.ids.is_empty() || r.ids.iter().any(|i| i == &row.id))
            && (r.all || row.state == InstanceState::Running)
            && all_match(&r.filters, &models.tags, row.id.as_str(), |name| match name {
                "availability-zone" => row.zone.iter().map(|z| Cow::Borrowed(z.as_str())).collect(),
                "instance-state-name" => vec![Cow::Borrowed(row.state.name())],
                "instance-state-code" => vec![Cow::Owned(row.state.code().to_string())],
                "instance-status.status" | "system-status.status" => vec![Cow::Borrowed(status)],
                _ => vec![Cow::Borrowed(reachability)],
            })
    });
    let (rows, next) = r.page.take(candidates, |row| row.id.to_string());
    let mut x = ctx.response("DescribeInstanceStatusResponse");
    x.open("instanceStatusSet");
    for row in rows {
        let (status, reachability) = checks(row, &models.cloud);
        x.open("item");
        x.text("instanceId", row.id.as_str());
        x.opt("availabilityZone", row.zone.as_ref().map(|z| z.as_str()));
        state(&mut x, "instanceState", row.state);
        for check in ["systemStatus", "instanceStatus"] {
            x.open(check);
            x.text("status", status);
            x.open("details").open("item");
            x.text("name", "reachability").text("status", reachability);
            x.close().close();
            x.close();
        }
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}
