//! AttachVolume and DetachVolume. An attach makes the attachment's grant
//! (a random iSCSI initiator name, sealed in the log): the storage
//! controller exports the volume to it alone, then the node plugs it into
//! the guest. A detach unplugs, then revokes; `Force` revokes without
//! waiting for the node.

use super::volume_items::{attachment_fields, volume_id};
use crate::app::{App, ids::now, volumes::new_grant};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::volumes::{AttachVolume, DetachVolume};
use domain::{Command, InstanceId, VolumeId};
use projections::AttachmentRow;

#[derive(Debug)]
pub enum Request {
    Attach(AttachRequest),
    Detach(DetachRequest),
}

#[derive(Debug)]
pub struct AttachRequest {
    volume: VolumeId,
    instance: InstanceId,
    device: String,
}

#[derive(Debug)]
pub struct DetachRequest {
    volume: VolumeId,
    instance: Option<InstanceId>,
    device: Option<String>,
    force: bool,
}

fn instance_id(text: &str) -> Result<InstanceId, Ec2Error> {
    InstanceId::parse(text)
        .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{text}\"")))
}

pub fn parse_attach(params: &Params) -> Result<Request, Ec2Error> {
    let volume = volume_id(params.required("VolumeId")?)?;
    let instance = instance_id(params.required("InstanceId")?)?;
    let device = params.required("Device")?;
    if domain::volumes::device_letter(device).is_none() {
        return Err(Ec2Error::invalid(format!(
            "Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name \
             (/dev/sd[b-z], /dev/xvd[b-z] or /dev/vd[b-z])."
        )));
    }
    Ok(Request::Attach(AttachRequest { volume, instance, device: device.to_owned() }))
}

pub fn parse_detach(params: &Params) -> Result<Request, Ec2Error> {
    let volume = volume_id(params.required("VolumeId")?)?;
    let instance = params.get("InstanceId").filter(|i| !i.is_empty()).map(instance_id).transpose()?;
    let device = params.get("Device").filter(|d| !d.is_empty()).map(str::to_owned);
    let force = params.bool("Force")?.unwrap_or(false);
    Ok(Request::Detach(DetachRequest { volume, instance, device, force }))
}

/// The volume's attachment as the read models have it now.
fn attachment(app: &App, ctx: &Ctx, volume: &VolumeId) -> Option<AttachmentRow> {
    ctx.models(app).volumes.volumes.get(volume).and_then(|row| row.attachment.clone())
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    match r {
        Request::Attach(r) => attach(app, ctx, r).await,
        Request::Detach(r) => detach(app, ctx, r).await,
    }
}

async fn attach(app: &App, ctx: &Ctx, r: AttachRequest) -> Result<String, Ec2Error> {
    super::volume_items::volume_storage_reachable(app, ctx, &r.volume)?;
    let (_, grant) = new_grant(app, &r.volume);
    let command = Command::AttachVolume(AttachVolume {
        account: ctx.account().clone(),
        volume: r.volume.clone(),
        instance: r.instance,
        device: r.device,
        grant,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let a = attachment(app, ctx, &r.volume).ok_or_else(Ec2Error::internal)?;
    let mut x = ctx.response("AttachVolumeResponse");
    attachment_fields(&mut x, &r.volume, &a, Some("attaching"));
    Ok(x.finish())
}

async fn detach(app: &App, ctx: &Ctx, r: DetachRequest) -> Result<String, Ec2Error> {
    let before = attachment(app, ctx, &r.volume);
    let command = Command::DetachVolume(DetachVolume {
        account: ctx.account().clone(),
        volume: r.volume.clone(),
        instance: r.instance,
        device: r.device,
        force: r.force,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let a = attachment(app, ctx, &r.volume).or(before).ok_or_else(Ec2Error::internal)?;
    let mut x = ctx.response("DetachVolumeResponse");
    attachment_fields(&mut x, &r.volume, &a, Some("detaching"));
    Ok(x.finish())
}
