//! DescribeVolumeStatus: the caller's volumes' I/O status. A volume that
//! its storage controller holds is `ok` with I/O enabled; one in error is
//! `impaired`; one still being made is `insufficient-data`.

use super::volume_items::volume_ids;
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use domain::VolumeId;
use domain::volumes::VolumeState;
use projections::VolumeRow;
use std::borrow::Cow;

const FILTERS: &[&str] = &[
    "volume-id",
    "availability-zone",
    "volume-status.status",
    "volume-status.details-name",
    "volume-status.details-status",
];

#[derive(Debug)]
pub struct Request {
    ids: Vec<VolumeId>,
    filters: Vec<Filter>,
    page: Page,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ids = volume_ids(params, "VolumeId")?;
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    let page = Page::parse(params, 5, 1000)?;
    Ok(Request { ids, filters, page })
}

/// The volume's status and its io-enabled check.
fn status(row: &VolumeRow) -> (&'static str, &'static str) {
    match row.state {
        VolumeState::Available | VolumeState::InUse => ("ok", "passed"),
        VolumeState::Error => ("impaired", "failed"),
        VolumeState::Creating | VolumeState::Deleting | VolumeState::Deleted => {
            ("insufficient-data", "insufficient-data")
        }
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let view = &models.volumes;
    for id in &r.ids {
        if view.volumes.get(id).is_none_or(|row| &row.account != account) {
            return Err(Ec2Error::new(
                Code::InvalidVolumeNotFound,
                format!("The volume '{id}' does not exist."),
            ));
        }
    }
    let candidates = view
        .by_account
        .get(account)
        .into_iter()
        .flatten()
        .filter(|id| r.ids.is_empty() || r.ids.contains(id))
        .filter(|id| r.page.after(id.as_str()))
        .filter_map(|id| view.volumes.get_key_value(id))
        .filter(|(id, row)| {
            let (status, check) = status(row);
            all_match(&r.filters, &models.tags, id.as_str(), |name| match name {
                "volume-id" => vec![Cow::Borrowed(id.as_str())],
                "availability-zone" => vec![Cow::Borrowed(row.zone.as_str())],
                "volume-status.status" => vec![Cow::Borrowed(status)],
                "volume-status.details-name" => vec![Cow::Borrowed("io-enabled")],
                "volume-status.details-status" => vec![Cow::Borrowed(check)],
                _ => Vec::new(),
            })
        });
    let (rows, next) = r.page.take(candidates, |(id, _)| id.to_string());
    let mut x = ctx.response("DescribeVolumeStatusResponse");
    x.open("volumeStatusSet");
    for (id, row) in rows {
        let (status, check) = status(row);
        x.open("item");
        x.text("volumeId", id.as_str());
        x.text("availabilityZone", row.zone.as_str());
        x.open("volumeStatus");
        x.text("status", status);
        x.open("details").open("item").text("name", "io-enabled").text("status", check).close().close();
        x.close();
        x.empty("eventsSet");
        x.empty("actionsSet");
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}
