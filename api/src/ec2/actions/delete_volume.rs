//! DeleteVolume: a volume that is not attached goes (`deleting`, then
//! gone once its storage controller removed it).

use super::volume_items::volume_id;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::volumes::DeleteVolume;
use domain::{Command, VolumeId};

#[derive(Debug)]
pub struct Request {
    volume: VolumeId,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    Ok(Request { volume: volume_id(params.required("VolumeId")?)? })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command =
        Command::DeleteVolume(DeleteVolume { account: ctx.account().clone(), volume: r.volume, at: now() });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("DeleteVolumeResponse");
    x.display("return", true);
    Ok(x.finish())
}
