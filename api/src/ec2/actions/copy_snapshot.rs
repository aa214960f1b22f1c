//! CopySnapshot within the cloud: a new snapshot of the caller's with the
//! source's content, `completed` at once (snapshots are content-addressed
//! chunks: the copy shares them, nothing is copied). The source may be the
//! caller's own, or one shared with it or public.

use super::volume_items::snapshot_id;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::tagging;
use domain::aggregates::tags::MAX_TAGS;
use domain::volumes::CopySnapshot;
use domain::{Command, SnapshotId, Tag};

#[derive(Debug)]
pub struct Request {
    source: SnapshotId,
    source_region: String,
    description: String,
    tags: Vec<Tag>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let source = snapshot_id(params.required("SourceSnapshotId")?)?;
    let source_region = params.required("SourceRegion")?.to_owned();
    if params.bool("Encrypted")? == Some(true) {
        return Err(Ec2Error::new(Code::UnsupportedOperation, "Encrypted snapshots are not supported."));
    }
    let description = params.get("Description").unwrap_or("").to_owned();
    if description.len() > 255 {
        return Err(Ec2Error::invalid("The description is longer than 255 characters."));
    }
    let tags = tagging::specifications(params, "snapshot", &["snapshot"])?;
    if tags.len() > MAX_TAGS {
        return Err(Ec2Error::new(Code::TagLimitExceeded, format!("At most {MAX_TAGS} tags may be given.")));
    }
    Ok(Request { source, source_region, description, tags })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let region = ctx.models(app).cloud.region.clone();
    if r.source_region != region {
        return Err(Ec2Error::invalid(format!(
            "Snapshots are copied within this cloud only: SourceRegion must be {region}, not {}.",
            r.source_region
        )));
    }
    let snapshot = app.ids.snapshot();
    let command = Command::CopySnapshot(CopySnapshot {
        account: ctx.account().clone(),
        snapshot: snapshot.clone(),
        source: r.source,
        description: r.description,
        tags: r.tags,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let models = ctx.models(app);
    let mut x = ctx.response("CopySnapshotResponse");
    x.text("snapshotId", snapshot.as_str());
    tagging::tag_set(&mut x, &models.tags, snapshot.as_str());
    Ok(x.finish())
}
