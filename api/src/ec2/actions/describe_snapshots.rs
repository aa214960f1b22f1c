//! DescribeSnapshots: the caller's snapshots, by id, owner or filter,
//! paged by MaxResults / NextToken: the caller's own, and others' shared
//! with it (createVolumePermission) or public.

use super::volume_items::{progress, snapshot_fields, snapshot_ids};
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use crate::ec2::render::iso_time;
use domain::SnapshotId;
use projections::SnapshotRow;
use std::borrow::Cow;

const FILTERS: &[&str] = &[
    "description",
    "owner-id",
    "owner-alias",
    "progress",
    "snapshot-id",
    "start-time",
    "status",
    "volume-id",
    "volume-size",
    "encrypted",
    "storage-tier",
];

#[derive(Debug)]
pub struct Request {
    ids: Vec<SnapshotId>,
    owners: Vec<String>,
    restorable_by: Vec<String>,
    filters: Vec<Filter>,
    page: Page,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ids = snapshot_ids(params, "SnapshotId")?;
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    let page = Page::parse_apart_from_ids(params, 5, 1000, !ids.is_empty(), "snapshotIds")?;
    let owners = params.list("Owner").into_iter().chain(params.list("OwnerId")).map(str::to_owned).collect();
    let restorable_by = params.list("RestorableBy").into_iter().map(str::to_owned).collect();
    Ok(Request { ids, owners, restorable_by, filters, page })
}

fn values<'a>(id: &'a SnapshotId, row: &'a SnapshotRow, name: &str) -> Vec<Cow<'a, str>> {
    match name {
        "description" => vec![Cow::Borrowed(row.description.as_str())],
        "owner-id" => vec![Cow::Borrowed(row.account.as_str())],
        "progress" => vec![Cow::Owned(progress(row))],
        "snapshot-id" => vec![Cow::Borrowed(id.as_str())],
        "start-time" => vec![Cow::Owned(iso_time(row.started_at))],
        "status" => vec![Cow::Borrowed(row.state.as_str())],
        "volume-id" => vec![Cow::Borrowed(row.volume.as_str())],
        "volume-size" => vec![Cow::Owned(row.size_gib.to_string())],
        "encrypted" => vec![Cow::Borrowed("false")],
        "storage-tier" => vec![Cow::Borrowed("standard")],
        _ => Vec::new(),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let view = &models.volumes;
    let me = |who: &str| who == "self" || who == account.as_str();
    let visible = |row: &SnapshotRow| row.restorable_by(account);
    for id in &r.ids {
        if view.snapshots.get(id).is_none_or(|row| !visible(row)) {
            return Err(Ec2Error::new(
                Code::InvalidSnapshotNotFound,
                format!("The snapshot '{id}' does not exist."),
            ));
        }
    }
    // Owner.N: snapshots of those owners. RestorableBy.N: `self`, those
    // others shared with the caller explicitly (as Eucalyptus answers it:
    // euca-describe-snapshots sends Owner=self, then RestorableBy=self, and
    // shows both answers together); `all`, the public ones; an account id,
    // the caller's own shared with that account. Neither: every snapshot
    // the caller may use (its own, shared with it, public).
    let asked = |row: &SnapshotRow| {
        let owner_ok = r.owners.is_empty()
            || r.owners
                .iter()
                .any(|o| if me(o) { &row.account == account } else { o == row.account.as_str() });
        let restorable_ok = r.restorable_by.is_empty()
            || r.restorable_by.iter().any(|who| match who.as_str() {
                "all" => row.public,
                w if me(w) => &row.account != account && row.shared_with.contains(account),
                other => &row.account == account && row.shared_with.iter().any(|a| a.as_str() == other),
            });
        visible(row) && owner_ok && restorable_ok
    };
    let candidates = view
        .snapshots
        .iter()
        .filter(|(id, row)| asked(row) && (r.ids.is_empty() || r.ids.contains(id)))
        .filter(|(id, _)| r.page.after(id.as_str()))
        .filter(|(id, row)| all_match(&r.filters, &models.tags, id.as_str(), |name| values(id, row, name)));
    let (rows, next) = r.page.take(candidates, |(id, _)| id.to_string());
    let mut x = ctx.response("DescribeSnapshotsResponse");
    x.open("snapshotSet");
    for (id, row) in rows {
        x.open("item");
        snapshot_fields(&mut x, id, row, &models.tags);
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}
