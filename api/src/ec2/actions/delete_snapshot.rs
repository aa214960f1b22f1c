//! DeleteSnapshot: a snapshot that is not being taken goes (its chunks
//! that no other snapshot shares are collected by its storage controller).

use super::volume_items::snapshot_id;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::volumes::DeleteSnapshot;
use domain::{Command, SnapshotId};

#[derive(Debug)]
pub struct Request {
    snapshot: SnapshotId,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    Ok(Request { snapshot: snapshot_id(params.required("SnapshotId")?)? })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::DeleteSnapshot(DeleteSnapshot {
        account: ctx.account().clone(),
        snapshot: r.snapshot,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("DeleteSnapshotResponse");
    x.display("return", true);
    Ok(x.finish())
}
