//! CreateVolume: an empty volume of `Size` GiB, or one restored from
//! `SnapshotId`, in `AvailabilityZone`; `creating` until the zone's
//! storage controller has made it. A `ClientToken` makes the call
//! idempotent: the volume's id is derived from it, so a retry names the
//! same volume and gets it back instead of a second one.

use super::volume_items::{snapshot_id, volume_fields};
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::tagging;
use domain::aggregates::tags::MAX_TAGS;
use domain::volumes::{CreateVolume, MAX_VOLUME_GIB};
use domain::{AccountId, Command, SnapshotId, Tag, VolumeId, ZoneName};
use sha2::Digest;

/// Volume types Yukari records (all served alike, from the same store).
pub const VOLUME_TYPES: &[&str] = &["standard", "gp2", "gp3"];

#[derive(Debug)]
pub struct Request {
    size_gib: Option<u32>,
    snapshot: Option<SnapshotId>,
    zone: ZoneName,
    volume_type: String,
    tags: Vec<Tag>,
    client_token: Option<String>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let size_gib = match params.int("Size")? {
        None => None,
        Some(n) if (1..=i64::from(MAX_VOLUME_GIB)).contains(&n) => Some(n as u32),
        Some(n) => {
            return Err(Ec2Error::invalid(format!(
                "Volume of {n} GiB is not between 1 and {MAX_VOLUME_GIB} GiB (parameter size)"
            )));
        }
    };
    let snapshot = params.get("SnapshotId").filter(|s| !s.is_empty()).map(snapshot_id).transpose()?;
    if size_gib.is_none() && snapshot.is_none() {
        return Err(Ec2Error::new(
            Code::MissingParameter,
            "The request must contain the parameter size or snapshotId",
        ));
    }
    let zone_text = params.required("AvailabilityZone")?;
    let zone = ZoneName::parse(zone_text)
        .map_err(|_| Ec2Error::invalid(format!("Invalid availability zone: [{zone_text}]")))?;
    let volume_type = params.get("VolumeType").filter(|t| !t.is_empty()).unwrap_or("gp2");
    if !VOLUME_TYPES.contains(&volume_type) {
        return Err(Ec2Error::invalid(format!(
            "Value ({volume_type}) for parameter volumeType is invalid. Expected: standard, gp2, gp3."
        )));
    }
    iops(params.int("Iops")?, volume_type)?;
    if params.bool("Encrypted")? == Some(true) {
        return Err(Ec2Error::new(Code::UnsupportedOperation, "Encrypted volumes are not supported."));
    }
    if params.bool("MultiAttachEnabled")? == Some(true) {
        return Err(Ec2Error::new(Code::UnsupportedOperation, "Multi-attach volumes are not supported."));
    }
    let tags = tagging::specifications(params, "volume", &["volume"])?;
    if tags.len() > MAX_TAGS {
        return Err(Ec2Error::new(Code::TagLimitExceeded, format!("At most {MAX_TAGS} tags may be given.")));
    }
    let client_token = params.get("ClientToken").filter(|t| !t.is_empty()).map(str::to_owned);
    if client_token.as_ref().is_some_and(|t| t.len() > 64) {
        return Err(Ec2Error::invalid("The client token is longer than 64 characters."));
    }
    Ok(Request { size_gib, snapshot, zone, volume_type: volume_type.to_owned(), tags, client_token })
}

/// `Iops`, as EC2 takes it: refused for the types whose IOPS are not
/// provisioned (`standard`, `gp2`), and within gp3's range (3000 to
/// 16000). Yukari serves every type from the same store and records no
/// IOPS: gp3 volumes show gp3's baseline whatever was asked.
fn iops(iops: Option<i64>, volume_type: &str) -> Result<(), Ec2Error> {
    let Some(n) = iops else { return Ok(()) };
    match volume_type {
        "gp3" if n < 3000 => {
            Err(Ec2Error::invalid(format!("Volume iops of {n} is too low; minimum is 3000.")))
        }
        "gp3" if n > 16_000 => {
            Err(Ec2Error::invalid(format!("Volume iops of {n} is too high; maximum is 16000.")))
        }
        "gp3" => Ok(()),
        other => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("The parameter iops is not supported for {other} volumes."),
        )),
    }
}

/// The volume a client token names, for this account.
fn volume_of_token(account: &AccountId, token: &str) -> VolumeId {
    let digest = sha2::Sha256::digest(format!("volume-client-token\0{account}\0{token}"));
    let mut bits = [0u8; 16];
    bits.copy_from_slice(&digest[..16]);
    VolumeId::from_bits(u128::from_be_bytes(bits))
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let volume = match &r.client_token {
        Some(token) => volume_of_token(ctx.account(), token),
        None => app.ids.volume(),
    };
    if r.client_token.is_none() || !made_before(app, ctx, &volume, &r)? {
        super::volume_items::storage_reachable(app, &r.zone)?;
        let command = Command::CreateVolume(CreateVolume {
            account: ctx.account().clone(),
            volume: volume.clone(),
            zone: r.zone.clone(),
            size_gib: r.size_gib,
            snapshot: r.snapshot.clone(),
            volume_type: r.volume_type.clone(),
            tags: r.tags.clone(),
            at: now(),
        });
        match ctx.execute(app, command).await {
            Ok(_) => {}
            // The same token at the same moment: the other call made it.
            Err(e) if r.client_token.is_some() && made_before(app, ctx, &volume, &r)? => {
                tracing::debug!(error = %e.message, "a client token's volume made by a concurrent call");
            }
            Err(e) => return Err(e),
        }
    }
    let models = ctx.models(app);
    let row = models.volumes.volumes.get(&volume).ok_or_else(Ec2Error::internal)?;
    let mut x = ctx.response("CreateVolumeResponse");
    volume_fields(&mut x, &volume, row, &models.tags);
    Ok(x.finish())
}

/// Whether the volume a client token names exists already (made by an
/// earlier call with that token); asked differently, it is
/// IdempotentParameterMismatch.
fn made_before(app: &App, ctx: &Ctx, volume: &VolumeId, r: &Request) -> Result<bool, Ec2Error> {
    let models = ctx.models(app);
    let Some(row) = models.volumes.volumes.get(volume).filter(|row| &row.account == ctx.account()) else {
        return Ok(false);
    };
    let alike = row.zone == r.zone
        && row.snapshot == r.snapshot
        && r.size_gib.is_none_or(|s| s == row.size_gib)
        && row.volume_type == r.volume_type;
    if alike {
        Ok(true)
    } else {
        Err(Ec2Error::new(
            Code::IdempotentParameterMismatch,
            "The client token was already used with different parameters",
        ))
    }
}
