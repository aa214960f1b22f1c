//! CreateImage: an EBS-backed image of an EBS-backed instance, running or
//! stopped. Each volume attached to it is snapshotted (point in time, as
//! CreateSnapshot takes them: the guest is not rebooted, so the image is
//! crash-consistent; `NoReboot` is accepted either way), and the image maps
//! each device to its snapshot. It is `pending` until the snapshots are
//! completed. An instance-store instance is refused: bundle its image with
//! `yukari image bundle` instead.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::images::CreateImage;
use domain::{Command, ImageKind, InstanceId};

/// A guest has at most one disk per letter, a to z.
const MAX_VOLUMES: usize = 26;

#[derive(Debug)]
pub struct Request {
    instance: InstanceId,
    name: String,
    description: String,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let text = params.required("InstanceId")?;
    let instance = InstanceId::parse(text)
        .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{text}\"")))?;
    let name = params.required("Name")?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c);
    if name.len() < 3 || name.len() > 128 || !name.chars().all(allowed) {
        return Err(Ec2Error::new(
            Code::InvalidAmiNameMalformed,
            format!(
                "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, \
                 '(', ')', '.', '-', '/' and '_' ({name:?})"
            ),
        ));
    }
    let description = params.get("Description").unwrap_or("").to_owned();
    if description.len() > 255 {
        return Err(Ec2Error::invalid("The description is longer than 255 characters."));
    }
    params.bool("NoReboot")?;
    Ok(Request { instance, name: name.to_owned(), description })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let root = {
        let models = ctx.models(app);
        models.volumes.by_instance.get(&r.instance).and_then(|devices| {
            devices.iter().find(|(d, _)| domain::volumes::is_root_device(d)).map(|(_, v)| v.clone())
        })
    };
    if let Some(volume) = &root {
        super::volume_items::volume_storage_reachable(app, ctx, volume)?;
    }
    let image = app.ids.image(ImageKind::Machine);
    let command = Command::CreateImage(CreateImage {
        account: ctx.account().clone(),
        instance: r.instance,
        image: image.clone(),
        name: r.name,
        description: r.description,
        snapshots: (0..MAX_VOLUMES).map(|_| app.ids.snapshot()).collect(),
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("CreateImageResponse");
    x.text("imageId", image.as_str());
    Ok(x.finish())
}
