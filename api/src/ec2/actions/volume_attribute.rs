//! DescribeVolumeAttribute and ModifyVolumeAttribute. Yukari never turns
//! a volume's I/O off after a fault (its storage is the volume's file), so
//! `autoEnableIO` is always true: setting it true is accepted and changes
//! nothing, setting it false is refused. `productCodes` is empty.

use super::volume_items::volume_id;
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::VolumeId;

#[derive(Debug)]
pub enum Request {
    Describe { volume: VolumeId, attribute: &'static str },
    Modify { volume: VolumeId },
}

pub fn parse_describe(params: &Params) -> Result<Request, Ec2Error> {
    let volume = volume_id(params.required("VolumeId")?)?;
    let attribute = match params.required("Attribute")? {
        "autoEnableIO" => "autoEnableIO",
        "productCodes" => "productCodes",
        other => {
            return Err(Ec2Error::invalid(format!(
                "Value ({other}) for parameter attribute is invalid. Expected: autoEnableIO, productCodes."
            )));
        }
    };
    Ok(Request::Describe { volume, attribute })
}

pub fn parse_modify(params: &Params) -> Result<Request, Ec2Error> {
    let volume = volume_id(params.required("VolumeId")?)?;
    match params.bool("AutoEnableIO.Value")? {
        None => Err(Ec2Error::missing("AutoEnableIO.Value")),
        Some(true) => Ok(Request::Modify { volume }),
        Some(false) => Err(Ec2Error::new(
            Code::UnsupportedOperation,
            "Yukari never disables a volume's I/O, so autoEnableIO cannot be turned off.",
        )),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let volume = match &r {
        Request::Describe { volume, .. } | Request::Modify { volume } => volume,
    };
    let models = ctx.models(app);
    if models.volumes.volumes.get(volume).is_none_or(|row| &row.account != ctx.account()) {
        return Err(Ec2Error::new(
            Code::InvalidVolumeNotFound,
            format!("The volume '{volume}' does not exist."),
        ));
    }
    match r {
        Request::Describe { volume, attribute } => {
            let mut x = ctx.response("DescribeVolumeAttributeResponse");
            x.text("volumeId", volume.as_str());
            if attribute == "autoEnableIO" {
                x.open("autoEnableIO").display("value", true).close();
            } else {
                x.empty("productCodes");
            }
            Ok(x.finish())
        }
        Request::Modify { .. } => {
            if ctx.dry_run {
                return Err(Ec2Error::dry_run());
            }
            let mut x = ctx.response("ModifyVolumeAttributeResponse");
            x.display("return", true);
            Ok(x.finish())
        }
    }
}
