//! DescribeInstances: the caller's instances, by id or filter, in pages.

use super::instance_ids;
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names, tagged};
use crate::ec2::params::{Filter, Params};
use crate::ec2::render::reservation_item;
use base64::Engine;
use domain::InstanceId;
use projections::{InstanceRow, ReadModels};
use std::borrow::Cow;

const FILTERS: &[&str] = &[
    "instance-id",
    "instance-state-name",
    "instance-state-code",
    "instance-type",
    "image-id",
    "reservation-id",
    "availability-zone",
    "launch-index",
    "kernel-id",
    "ramdisk-id",
    "owner-id",
    "client-token",
    "architecture",
    "root-device-type",
    "virtualization-type",
    "hypervisor",
    "tenancy",
    "key-name",
    "private-ip-address",
    "ip-address",
    "group-id",
    "group-name",
    "instance.group-id",
    "instance.group-name",
    "instance-lifecycle",
    "reason",
    "state-reason-code",
    "dns-name",
    "private-dns-name",
    "network-interface.addresses.private-ip-address",
    "launch-time",
    "monitoring-state",
    "platform",
    "requester-id",
    "vpc-id",
    "subnet-id",
];

#[derive(Debug)]
pub struct Request {
    ids: Vec<InstanceId>,
    filters: Vec<Filter>,
    page: Option<usize>,
    after: Option<InstanceId>,
}

fn token_engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ids = instance_ids(params, "InstanceId")?;
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    let page = match params.int("MaxResults")? {
        None => None,
        Some(_) if !ids.is_empty() => {
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                "The parameter instancesSet cannot be used with the parameter maxResults",
            ));
        }
        Some(n) if !(5..=1000).contains(&n) => {
            return Err(Ec2Error::invalid(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000."
            )));
        }
        Some(n) => Some(n as usize),
    };
    let after = match params.get("NextToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => {
            let id = token_engine()
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| InstanceId::parse(&s).ok())
                .ok_or_else(|| {
                    Ec2Error::new(Code::InvalidPaginationToken, format!("Invalid NextToken: {token}"))
                })?;
            Some(id)
        }
    };
    Ok(Request { ids, filters, page, after })
}

/// The values an instance has for a filter name.
fn values<'a>(row: &'a InstanceRow, name: &str, models: &'a ReadModels) -> Vec<Cow<'a, str>> {
    let image = models.images.get(&row.image);
    let borrowed: Vec<&'a str> = match name {
        "instance-id" => vec![row.id.as_str()],
        "instance-state-name" => vec![row.state.name()],
        "instance-state-code" => return vec![Cow::Owned(row.state.code().to_string())],
        "instance-type" => vec![row.vm_type.as_str()],
        "image-id" => vec![row.image.as_str()],
        "reservation-id" => vec![row.reservation.as_str()],
        "availability-zone" => row.zone.iter().map(|z| z.as_str()).collect(),
        "launch-index" => return vec![Cow::Owned(row.launch_index.to_string())],
        "kernel-id" => row.kernel.iter().map(|k| k.as_str()).collect(),
        "ramdisk-id" => row.ramdisk.iter().map(|k| k.as_str()).collect(),
        "owner-id" => vec![row.account.as_str()],
        "client-token" => row.client_token.iter().map(String::as_str).collect(),
        "architecture" => vec![image.map_or("x86_64", |i| i.architecture.as_str())],
        "root-device-type" => vec!["instance-store"],
        "virtualization-type" => vec!["paravirtual"],
        "hypervisor" => vec!["xen"],
        "tenancy" => vec!["default"],
        "key-name" => row.key_name.iter().map(String::as_str).collect(),
        "private-ip-address" => row.private_address.iter().map(|a| a.as_str()).collect(),
        "ip-address" => row.public_address.iter().map(String::as_str).collect(),
        "group-id" | "instance.group-id" => row.groups.iter().map(|g| g.as_str()).collect(),
        "group-name" | "instance.group-name" => {
            row.groups.iter().filter_map(|g| models.security.groups.get(g)).map(|g| g.name.as_str()).collect()
        }
        "instance-lifecycle" => vec!["normal"],
        "state-reason-code" => row.reason.iter().map(|r| r.code.as_str()).collect(),
        // As the answer shows them: the addresses are the names.
        "dns-name" => row.public_address.iter().map(String::as_str).collect(),
        "private-dns-name" | "network-interface.addresses.private-ip-address" => {
            row.private_address.iter().map(|a| a.as_str()).collect()
        }
        "launch-time" => return vec![Cow::Owned(crate::ec2::render::iso_time(row.launched_at))],
        "monitoring-state" => vec!["disabled"],
        // Linux guests (EC2 names only `windows`), started by their
        // owners, outside any VPC: these match nothing, as in EC2-Classic.
        "platform" | "requester-id" | "vpc-id" | "subnet-id" => Vec::new(),
        _ => Vec::new(),
    };
    borrowed.into_iter().map(Cow::Borrowed).collect()
}

fn matches(row: &InstanceRow, filters: &[Filter], models: &ReadModels) -> bool {
    all_match(filters, &models.tags, row.id.as_str(), |name| values(row, name, models))
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let mut rows: Vec<&InstanceRow> = Vec::new();
    let mut next = None;
    if !r.ids.is_empty() {
        let mut missing = Vec::new();
        for id in &r.ids {
            match models.instances.get(id.as_str()) {
                Some(row) if &row.account == account => {
                    if !rows.iter().any(|r| r.id == row.id) {
                        rows.push(row);
                    }
                }
                _ => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(domain::DecideError::InstanceNotFound(missing).into());
        }
        rows.retain(|row| matches(row, &r.filters, &models));
    } else {
        let limit = r.page.unwrap_or(usize::MAX);
        let after = r.after.as_ref().map(|a| a.as_str());
        // Tag filters are answered from the tag index when they can be: the
        // same rows in the same (id) order, without looking at the others.
        let rows_in_order: Box<dyn Iterator<Item = &InstanceRow>> = match tagged(&r.filters, &models.tags) {
            Some(ids) => Box::new(
                ids.into_iter()
                    .filter(move |id| after.is_none_or(|a| *id > a))
                    .filter_map(|id| models.instances.get(id))
                    .filter(|row| &row.account == account),
            ),
            None => Box::new(models.instances.of_account(account, after)),
        };
        let mut candidates = rows_in_order.filter(|row| matches(row, &r.filters, &models));
        for row in candidates.by_ref() {
            rows.push(row);
            if rows.len() == limit {
                break;
            }
        }
        if rows.len() == limit && candidates.next().is_some() {
            next = rows.last().map(|row| token_engine().encode(row.id.as_str()));
        }
    }
    // Group by reservation, in the order reservations first appear.
    let mut groups: Vec<Vec<&InstanceRow>> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|g| g[0].reservation == row.reservation) {
            Some(g) => g.push(row),
            None => groups.push(vec![row]),
        }
    }
    let mut x = ctx.response("DescribeInstancesResponse");
    x.open("reservationSet");
    for group in &groups {
        reservation_item(&mut x, group, &models);
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use crate::app::testing::test_app;
    use crate::ec2::block_device_tests::{call, ok, texts};
    use crate::ec2::limits_tests::emi;

    /// The filters clients send for what the answer shows (names, launch
    /// time) and for what Yukari has none of (a VPC, Windows).
    #[tokio::test]
    async fn instances_are_filtered_by_dns_names_launch_time_and_what_they_are_not() {
        let t = test_app().await;
        let emi = emi();
        let launch =
            [("Action", "RunInstances"), ("ImageId", emi.as_str()), ("MinCount", "2"), ("MaxCount", "2")];
        ok(&t, &launch).await;
        let all = ok(&t, &[("Action", "DescribeInstances")]).await;
        let ids = texts(&all, "instanceId");
        let (private, public, launched) =
            (texts(&all, "privateDnsName"), texts(&all, "dnsName"), texts(&all, "launchTime"));
        assert_eq!((ids.len(), private.len(), public.len()), (2, 2, 2), "{all}");
        assert!(!private[0].is_empty() && private[0] != private[1], "{all}");
        let filtered = |name: &'static str, value: String| {
            let t = &t;
            async move {
                let body = ok(
                    t,
                    &[("Action", "DescribeInstances"), ("Filter.1.Name", name), ("Filter.1.Value.1", &value)],
                )
                .await;
                texts(&body, "instanceId")
            }
        };
        assert_eq!(filtered("private-dns-name", private[0].clone()).await, vec![ids[0].clone()]);
        // This cloud has no public pool: no instance has a public name.
        let named: Vec<String> =
            ids.iter().zip(&public).filter(|(_, name)| !name.is_empty()).map(|(id, _)| id.clone()).collect();
        assert_eq!(filtered("dns-name", "*".into()).await, named);
        assert!(
            filtered("dns-name", private[0].clone()).await.is_empty(),
            "a private name is not a public one"
        );
        assert_eq!(
            filtered("network-interface.addresses.private-ip-address", private[1].clone()).await,
            vec![ids[1].clone()]
        );
        assert_eq!(filtered("launch-time", launched[0].clone()).await.len(), 2, "launched together");
        assert_eq!(filtered("launch-time", "2001-*".into()).await.len(), 0);
        assert_eq!(filtered("monitoring-state", "disabled".into()).await.len(), 2);
        for name in ["platform", "vpc-id", "subnet-id", "requester-id"] {
            assert!(filtered(name, "*".into()).await.is_empty(), "{name}");
        }
        let refused = call(
            &t,
            &[
                ("Action", "DescribeInstances"),
                ("Filter.1.Name", "instance-colour"),
                ("Filter.1.Value.1", "red"),
            ],
        )
        .await;
        assert_eq!(refused.code(), "InvalidParameterValue");
    }
}
