//! DescribeVolumes: the caller's volumes, by id or filter, with their
//! attachments and tags, paged by MaxResults / NextToken.

use super::volume_items::{volume_fields, volume_ids};
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use crate::ec2::render::iso_time;
use domain::VolumeId;
use projections::VolumeRow;
use std::borrow::Cow;

const FILTERS: &[&str] = &[
    "volume-id",
    "status",
    "availability-zone",
    "size",
    "snapshot-id",
    "volume-type",
    "create-time",
    "encrypted",
    "multi-attach-enabled",
    "attachment.instance-id",
    "attachment.status",
    "attachment.device",
    "attachment.attach-time",
    "attachment.delete-on-termination",
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
    let page = Page::parse_apart_from_ids(params, 5, 1000, !ids.is_empty(), "volumeIds")?;
    Ok(Request { ids, filters, page })
}

fn values<'a>(id: &'a VolumeId, row: &'a VolumeRow, name: &str) -> Vec<Cow<'a, str>> {
    let a = row.attachment.as_ref();
    let owned = |s: String| vec![Cow::Owned(s)];
    match name {
        "volume-id" => vec![Cow::Borrowed(id.as_str())],
        "status" => vec![Cow::Borrowed(row.state.as_str())],
        "availability-zone" => vec![Cow::Borrowed(row.zone.as_str())],
        "size" => owned(row.size_gib.to_string()),
        "snapshot-id" => row.snapshot.iter().map(|s| Cow::Borrowed(s.as_str())).collect(),
        "volume-type" => vec![Cow::Borrowed(row.volume_type.as_str())],
        "create-time" => owned(iso_time(row.created_at)),
        "encrypted" | "multi-attach-enabled" => vec![Cow::Borrowed("false")],
        "attachment.instance-id" => a.map(|a| Cow::Borrowed(a.instance.as_str())).into_iter().collect(),
        "attachment.status" => a.map(|a| Cow::Borrowed(a.state.as_str())).into_iter().collect(),
        "attachment.device" => a.map(|a| Cow::Borrowed(a.device.as_str())).into_iter().collect(),
        "attachment.attach-time" => a.map(|a| Cow::Owned(iso_time(a.attach_time))).into_iter().collect(),
        "attachment.delete-on-termination" => {
            a.map(|a| Cow::Owned(a.delete_on_termination.to_string())).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let view = &models.volumes;
    let mine = |id: &VolumeId| view.volumes.get(id).filter(|row| &row.account == account);
    for id in &r.ids {
        if mine(id).is_none() {
            return Err(Ec2Error::new(
                Code::InvalidVolumeNotFound,
                format!("The volume '{id}' does not exist."),
            ));
        }
    }
    let keep = |id: &VolumeId, row: &VolumeRow| {
        all_match(&r.filters, &models.tags, id.as_str(), |name| values(id, row, name))
    };
    let (rows, next): (Vec<(&VolumeId, &VolumeRow)>, Option<String>) = if r.ids.is_empty() {
        let owned = view.by_account.get(account).into_iter().flatten();
        let candidates = owned
            .filter(|id| r.page.after(id.as_str()))
            .filter_map(|id| view.volumes.get_key_value(id))
            .filter(|(id, row)| keep(id, row));
        r.page.take(candidates, |(id, _)| id.to_string())
    } else {
        let mut ids: Vec<&VolumeId> = r.ids.iter().collect();
        ids.sort();
        ids.dedup();
        let rows =
            ids.into_iter().filter_map(|id| view.volumes.get_key_value(id)).filter(|(id, row)| keep(id, row));
        (rows.collect(), None)
    };
    let mut x = ctx.response("DescribeVolumesResponse");
    x.open("volumeSet");
    for (id, row) in rows {
        x.open("item");
        volume_fields(&mut x, id, row, &models.tags);
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}
