//! CreateSnapshot (one volume) and CreateSnapshots (every volume attached
//! to an instance): point-in-time snapshots, `pending` until the zone's
//! storage controller has them whole, with the progress it reports.

use super::volume_items::{snapshot_fields, volume_id};
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::tagging;
use domain::aggregates::tags::MAX_TAGS;
use domain::volumes::CreateSnapshot;
use domain::{Command, InstanceId, SnapshotId, Tag, VolumeId};

/// Longest description EC2 takes.
const MAX_DESCRIPTION: usize = 255;

#[derive(Debug)]
pub enum Request {
    One { volume: VolumeId, description: String, tags: Vec<Tag> },
    OfInstance { instance: InstanceId, description: String, tags: Vec<Tag>, copy_tags: bool },
}

fn description(params: &Params) -> Result<String, Ec2Error> {
    let d = params.get("Description").unwrap_or("");
    if d.len() > MAX_DESCRIPTION {
        return Err(Ec2Error::invalid(format!(
            "The description is longer than {MAX_DESCRIPTION} characters."
        )));
    }
    Ok(d.to_owned())
}

fn tags(params: &Params) -> Result<Vec<Tag>, Ec2Error> {
    let tags = tagging::specifications(params, "snapshot", &["snapshot"])?;
    if tags.len() > MAX_TAGS {
        return Err(Ec2Error::new(Code::TagLimitExceeded, format!("At most {MAX_TAGS} tags may be given.")));
    }
    Ok(tags)
}

pub fn parse_one(params: &Params) -> Result<Request, Ec2Error> {
    Ok(Request::One {
        volume: volume_id(params.required("VolumeId")?)?,
        description: description(params)?,
        tags: tags(params)?,
    })
}

pub fn parse_of_instance(params: &Params) -> Result<Request, Ec2Error> {
    let text = params.required("InstanceSpecification.InstanceId")?;
    let instance = InstanceId::parse(text)
        .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{text}\"")))?;
    Ok(Request::OfInstance {
        instance,
        description: description(params)?,
        tags: tags(params)?,
        copy_tags: match params.get("CopyTagsFromSource") {
            None => false,
            Some("volume") => true,
            Some(other) => {
                return Err(Ec2Error::invalid(format!(
                    "Value ({other}) for parameter CopyTagsFromSource is invalid. Expected: 'volume'."
                )));
            }
        },
    })
}

async fn take(
    app: &App,
    ctx: &Ctx,
    volume: &VolumeId,
    description: &str,
    tags: Vec<Tag>,
) -> Result<SnapshotId, Ec2Error> {
    super::volume_items::volume_storage_reachable(app, ctx, volume)?;
    let snapshot = app.ids.snapshot();
    let command = Command::CreateSnapshot(CreateSnapshot {
        account: ctx.account().clone(),
        snapshot: snapshot.clone(),
        volume: volume.clone(),
        description: description.to_owned(),
        tags,
        at: now(),
    });
    ctx.execute(app, command).await?;
    Ok(snapshot)
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    match r {
        Request::One { volume, description, tags } => {
            let snapshot = take(app, ctx, &volume, &description, tags).await?;
            let models = ctx.models(app);
            let row = models.volumes.snapshots.get(&snapshot).ok_or_else(Ec2Error::internal)?;
            let mut x = ctx.response("CreateSnapshotResponse");
            snapshot_fields(&mut x, &snapshot, row, &models.tags);
            Ok(x.finish())
        }
        Request::OfInstance { instance, description, tags, copy_tags } => {
            let volumes: Vec<(VolumeId, Vec<Tag>)> = {
                let models = ctx.models(app);
                match models.instances.get(instance.as_str()) {
                    Some(row) if &row.account == ctx.account() => {}
                    _ => return Err(domain::DecideError::InstanceNotFound(vec![instance]).into()),
                }
                let attached = models.volumes.by_instance.get(&instance).into_iter().flatten();
                attached
                    .map(|(_, volume)| {
                        let mut all = tags.clone();
                        if copy_tags {
                            let theirs = models.tags.of(volume.as_str());
                            all.extend(theirs.map(|(k, v)| Tag { key: k.clone(), value: v.clone() }));
                        }
                        (volume.clone(), all)
                    })
                    .collect()
            };
            let mut taken = Vec::new();
            for (volume, tags) in volumes {
                taken.push(take(app, ctx, &volume, &description, tags).await?);
            }
            let models = ctx.models(app);
            let mut x = ctx.response("CreateSnapshotsResponse");
            x.open("snapshotSet");
            for snapshot in &taken {
                let Some(row) = models.volumes.snapshots.get(snapshot) else { continue };
                x.open("item");
                x.text("snapshotId", snapshot.as_str());
                x.text("volumeId", row.volume.as_str());
                x.text("state", row.state.as_str());
                x.text("startTime", &crate::ec2::render::iso_time(row.started_at));
                x.text("progress", &super::volume_items::progress(row));
                x.text("ownerId", row.account.as_str());
                x.display("volumeSize", row.size_gib);
                x.text("description", &row.description);
                x.display("encrypted", false);
                crate::ec2::tagging::tag_set(&mut x, &models.tags, snapshot.as_str());
                x.close();
            }
            x.close();
            Ok(x.finish())
        }
    }
}
