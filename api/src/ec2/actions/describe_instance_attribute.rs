//! DescribeInstanceAttribute: one attribute of one of the caller's instances.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::render::group_set;
use base64::Engine;
use domain::InstanceId;

const ATTRIBUTES: &[&str] = &[
    "instanceType",
    "kernel",
    "ramdisk",
    "userData",
    "disableApiTermination",
    "instanceInitiatedShutdownBehavior",
    "rootDeviceName",
    "blockDeviceMapping",
    "productCodes",
    "groupSet",
    "ebsOptimized",
    "sourceDestCheck",
];

#[derive(Debug)]
pub struct Request {
    instance: InstanceId,
    attribute: String,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let id = params.required("InstanceId")?;
    let instance = InstanceId::parse(id)
        .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{id}\"")))?;
    let attribute = params.required("Attribute")?;
    if !ATTRIBUTES.contains(&attribute) {
        return Err(Ec2Error::invalid(format!(
            "Value ({attribute}) for parameter attribute is invalid. Unknown attribute."
        )));
    }
    Ok(Request { instance, attribute: attribute.to_owned() })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let user_data = if r.attribute == "userData" { Some(app.user_data(&r.instance)?) } else { None };
    let models = app.projections.read();
    let row = match models.instances.get(r.instance.as_str()) {
        Some(row) if &row.account == ctx.account() => row,
        _ => return Err(domain::DecideError::InstanceNotFound(vec![r.instance.clone()]).into()),
    };
    let mut x = ctx.response("DescribeInstanceAttributeResponse");
    x.text("instanceId", row.id.as_str());
    let value = |x: &mut crate::ec2::xml::Xml, element: &'static str, v: &str| {
        x.open(element).text("value", v).close();
    };
    match r.attribute.as_str() {
        "instanceType" => value(&mut x, "instanceType", &row.vm_type),
        "kernel" => value(&mut x, "kernel", row.kernel.as_ref().map_or("", |k| k.as_str())),
        "ramdisk" => value(&mut x, "ramdisk", row.ramdisk.as_ref().map_or("", |k| k.as_str())),
        "userData" => {
            let data = user_data.unwrap_or_default();
            if data.is_empty() {
                x.empty("userData");
            } else {
                value(&mut x, "userData", &base64::engine::general_purpose::STANDARD.encode(data));
            }
        }
        "disableApiTermination" => {
            value(&mut x, "disableApiTermination", if row.disable_api_termination { "true" } else { "false" })
        }
        "instanceInitiatedShutdownBehavior" => {
            value(&mut x, "instanceInitiatedShutdownBehavior", row.shutdown_behavior.ec2_name())
        }
        "rootDeviceName" => value(
            &mut x,
            "rootDeviceName",
            crate::ec2::render::root_device(&row.id, &models).unwrap_or("/dev/sda1"),
        ),
        "groupSet" => group_set(&mut x, &row.groups, &models),
        "ebsOptimized" => value(&mut x, "ebsOptimized", "false"),
        "sourceDestCheck" => value(&mut x, "sourceDestCheck", "true"),
        "blockDeviceMapping" => crate::ec2::render::block_device_mapping(&mut x, &row.id, &models),
        _ => {
            x.empty("productCodes");
        }
    }
    Ok(x.finish())
}
