//! RunInstances: launch instances of an image, with a key pair, security
//! groups, user data, tags, EC2's instance attributes and block device
//! mappings (a new EBS volume per `Ebs` mapping for each instance, with its
//! id and sealed grant made here: see `block_device_mappings`).

use super::block_device_mappings;
use crate::app::{App, ids::now, volumes::new_grant};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::render::{group_set, instance_item};
use crate::ec2::tagging;
use base64::Engine;
use domain::command::{GroupRef, RunInstances};
use domain::volumes::{BlockDevice, LaunchVolume};
use domain::{Command, ImageId, Reply, SecurityGroupId, ShutdownBehavior, Tag, ZoneName};

/// Most instances one call may launch.
const MAX_PER_CALL: i64 = 1000;
/// EC2's limit on user data, before base64.
const USER_DATA_LIMIT: usize = 16 * 1024;

/// `KernelId` or `RamdiskId`: an image id of that kind (eki-/aki-,
/// eri-/ari-), or none.
fn boot_image(params: &Params, name: &str, prefixes: [&str; 2]) -> Result<Option<ImageId>, Ec2Error> {
    let Some(value) = params.get(name).filter(|v| !v.is_empty()) else { return Ok(None) };
    match ImageId::parse(value) {
        Ok(id) if prefixes.contains(&value.split('-').next().unwrap_or_default()) => Ok(Some(id)),
        _ => Err(Ec2Error::new(Code::InvalidAmiIdMalformed, format!("Invalid id: \"{value}\" ({name})"))),
    }
}

/// The resource types RunInstances' TagSpecification may name (network
/// interfaces are accepted and have nothing to tag yet).
const TAGGABLE: &[&str] = &["instance", "volume", "network-interface"];

#[derive(Debug)]
pub struct Request {
    image: ImageId,
    vm_type: String,
    min: u32,
    max: u32,
    zone: Option<ZoneName>,
    user_data: Vec<u8>,
    client_token: Option<String>,
    key_name: Option<String>,
    groups: Vec<GroupRef>,
    shutdown_behavior: ShutdownBehavior,
    disable_api_termination: bool,
    tags: Vec<Tag>,
    /// Tags for the volumes of the launch's block device mappings.
    volume_tags: Vec<Tag>,
    kernel: Option<ImageId>,
    ramdisk: Option<ImageId>,
    block_devices: Vec<BlockDevice>,
}

fn count(params: &Params, name: &str) -> Result<u32, Ec2Error> {
    let n = params.int(name)?.ok_or_else(|| Ec2Error::missing(name))?;
    if !(1..=MAX_PER_CALL).contains(&n) {
        return Err(Ec2Error::invalid(format!(
            "Value ({n}) for parameter {name} is invalid. Expected a number from 1 to {MAX_PER_CALL}."
        )));
    }
    Ok(n as u32)
}

/// Decodes EC2 user data (base64, at most 16 KiB decoded).
pub(crate) fn user_data(encoded: Option<&str>) -> Result<Vec<u8>, Ec2Error> {
    let data = match encoded {
        None | Some("") => Vec::new(),
        // Refused before decoding when even its base64 is too long.
        Some(encoded) if encoded.trim().len() > USER_DATA_LIMIT.div_ceil(3) * 4 => {
            return Err(Ec2Error::invalid(format!("User data is limited to {USER_DATA_LIMIT} bytes")));
        }
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| Ec2Error::invalid("Invalid BASE64 encoding of user data."))?,
    };
    if data.len() > USER_DATA_LIMIT {
        return Err(Ec2Error::invalid(format!("User data is limited to {USER_DATA_LIMIT} bytes")));
    }
    Ok(data)
}

/// `stop` or `terminate`.
pub(crate) fn shutdown_behavior(value: &str) -> Result<ShutdownBehavior, Ec2Error> {
    match value {
        "stop" => Ok(ShutdownBehavior::Stop),
        "terminate" => Ok(ShutdownBehavior::Terminate),
        other => Err(Ec2Error::invalid(format!(
            "Value ({other}) for parameter instanceInitiatedShutdownBehavior is invalid. Expected: stop, terminate."
        ))),
    }
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let image = params.required("ImageId")?;
    let image = ImageId::parse(image)
        .map_err(|_| Ec2Error::new(Code::InvalidAmiIdMalformed, format!("Invalid id: \"{image}\"")))?;
    let min = count(params, "MinCount")?;
    let max = count(params, "MaxCount")?;
    if min > max {
        return Err(Ec2Error::invalid(format!("MinCount ({min}) must not be greater than MaxCount ({max})")));
    }
    let zone = match params.get("Placement.AvailabilityZone").filter(|z| !z.is_empty()) {
        Some(z) => Some(
            ZoneName::parse(z).map_err(|_| Ec2Error::invalid(format!("Invalid availability zone: [{z}]")))?,
        ),
        None => None,
    };
    let client_token = match params.get("ClientToken").filter(|t| !t.is_empty()) {
        Some(t) if t.len() > 64 || !t.is_ascii() => {
            return Err(Ec2Error::invalid("ClientToken must be at most 64 ASCII characters"));
        }
        t => t.map(str::to_owned),
    };
    let mut groups: Vec<GroupRef> =
        params.list("SecurityGroup").into_iter().map(|n| GroupRef::Name(n.to_owned())).collect();
    for id in params.list("SecurityGroupId") {
        let id = SecurityGroupId::parse(id)
            .map_err(|_| Ec2Error::new(Code::InvalidGroupIdMalformed, format!("Invalid id: \"{id}\"")))?;
        groups.push(GroupRef::Id(id));
    }
    let shutdown_behavior = match params.get("InstanceInitiatedShutdownBehavior").filter(|v| !v.is_empty()) {
        Some(v) => shutdown_behavior(v)?,
        None => ShutdownBehavior::Stop,
    };
    Ok(Request {
        image,
        vm_type: params.get("InstanceType").filter(|t| !t.is_empty()).unwrap_or("m1.small").to_owned(),
        min,
        max,
        zone,
        user_data: user_data(params.get("UserData"))?,
        client_token,
        key_name: params.get("KeyName").filter(|k| !k.is_empty()).map(str::to_owned),
        groups,
        shutdown_behavior,
        disable_api_termination: params.bool("DisableApiTermination")?.unwrap_or(false),
        tags: tagging::specifications(params, "instance", TAGGABLE)?,
        volume_tags: tagging::specifications(params, "volume", TAGGABLE)?,
        kernel: boot_image(params, "KernelId", ["eki", "aki"])?,
        ramdisk: boot_image(params, "RamdiskId", ["eri", "ari"])?,
        block_devices: block_device_mappings::for_launch(params)?,
    })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    // An EBS-backed image's devices make volumes too: as many ids as the
    // decision will merge from the image (an image never changes its
    // mapping, so the count read here is the count decided).
    let per_instance = {
        let models = app.projections.read();
        let ebs = models.images.get(&r.image).and_then(|i| i.ebs.as_ref());
        domain::images::launch_block_devices(ebs, &r.block_devices).len()
    };
    let volumes = (0..r.max as usize * per_instance)
        .map(|_| {
            let volume = app.ids.volume();
            let (_, grant) = new_grant(app, &volume);
            LaunchVolume { volume, grant }
        })
        .collect();
    let command = Command::RunInstances(RunInstances {
        account: ctx.account().clone(),
        requester: ctx.meta.principal.user.clone(),
        reservation: app.ids.reservation(),
        instance_ids: (0..r.max).map(|_| app.ids.instance()).collect(),
        image: r.image,
        vm_type: r.vm_type,
        min_count: r.min,
        max_count: r.max,
        zone: r.zone,
        user_data: r.user_data,
        client_token: r.client_token,
        key_name: r.key_name,
        groups: r.groups,
        shutdown_behavior: r.shutdown_behavior,
        disable_api_termination: r.disable_api_termination,
        tags: r.tags,
        volume_tags: r.volume_tags,
        kernel: r.kernel,
        ramdisk: r.ramdisk,
        block_devices: r.block_devices,
        volumes,
        at: now(),
    });
    let executed = ctx.execute(app, command).await?;
    let Reply::Launched { reservation, .. } = executed.decision.reply else {
        return Err(Ec2Error::internal());
    };
    let models = app.projections.read();
    let rows: Vec<_> = models
        .instances
        .reservations
        .get(&reservation)
        .map(|res| res.instances.iter().filter_map(|id| models.instances.get(id.as_str())).collect())
        .unwrap_or_default();
    // A retry (the same ClientToken) of a launch whose instances ended
    // more than an hour ago: they are no longer shown, as in EC2.
    let Some(first) = rows.first() else {
        return Err(Ec2Error::new(
            Code::IdempotentInstanceTerminated,
            format!(
                "The client token was used by reservation {reservation}, whose instances have been terminated"
            ),
        ));
    };
    let mut x = ctx.response("RunInstancesResponse");
    x.text("reservationId", reservation.as_str());
    x.text("ownerId", first.account.as_str());
    group_set(&mut x, &first.groups, &models);
    x.open("instancesSet");
    for row in &rows {
        instance_item(&mut x, row, &models);
    }
    x.close();
    Ok(x.finish())
}
