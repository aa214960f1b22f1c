//! ModifyInstanceAttribute: instance type and user data (while stopped),
//! termination protection, the shutdown behavior, security groups, and
//! `BlockDeviceMapping.N.Ebs.DeleteOnTermination` of its volumes.

use super::run_instances::{shutdown_behavior, user_data};
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::command::{AttributeChange, ModifyInstanceAttribute};
use domain::{Command, InstanceId};

#[derive(Debug)]
pub struct Request {
    instance: InstanceId,
    change: AttributeChange,
}

fn boolean(value: &str) -> Result<bool, Ec2Error> {
    crate::ec2::params::boolean(value)
        .ok_or_else(|| Ec2Error::invalid(format!("Value ({value}) is invalid. Expected a boolean.")))
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let id = params.required("InstanceId")?;
    let instance = InstanceId::parse(id)
        .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{id}\"")))?;
    // Either `Attribute` + `Value`, or `<Attribute>.Value` (newer clients).
    let pick = |name: &str| {
        params.get(&format!("{name}.Value")).or_else(|| {
            let attribute = params.get("Attribute")?;
            attribute.eq_ignore_ascii_case(name).then(|| params.get("Value")).flatten()
        })
    };
    let groups = params.list("GroupId");
    let unsupported =
        ["Kernel", "Ramdisk", "SourceDestCheck", "EbsOptimized", "SriovNetSupport", "EnaSupport"];
    if let Some(name) = unsupported.iter().find(|n| pick(n).is_some()) {
        return Err(Ec2Error::new(
            Code::UnsupportedOperation,
            format!("The instance attribute '{name}' cannot be modified in Yukari"),
        ));
    }
    let mappings = super::block_device_mappings::delete_on_termination(params)?;
    let change = if let Some(changes) = mappings {
        AttributeChange::DeleteOnTermination(changes)
    } else if !groups.is_empty() {
        let mut refs = Vec::with_capacity(groups.len());
        for id in groups {
            let id = domain::SecurityGroupId::parse(id)
                .map_err(|_| Ec2Error::new(Code::InvalidGroupIdMalformed, format!("Invalid id: \"{id}\"")))?;
            refs.push(domain::command::GroupRef::Id(id));
        }
        AttributeChange::Groups(refs)
    } else if let Some(t) = pick("InstanceType") {
        AttributeChange::InstanceType(t.to_owned())
    } else if let Some(d) = pick("UserData") {
        AttributeChange::UserData(user_data(Some(d))?)
    } else if let Some(v) = pick("DisableApiTermination") {
        AttributeChange::DisableApiTermination(boolean(v)?)
    } else if let Some(b) = pick("InstanceInitiatedShutdownBehavior") {
        AttributeChange::ShutdownBehavior(shutdown_behavior(b)?)
    } else if let Some(attribute) = params.get("Attribute") {
        const KNOWN: [&str; 5] = [
            "instanceType",
            "userData",
            "disableApiTermination",
            "instanceInitiatedShutdownBehavior",
            "groupSet",
        ];
        if KNOWN.iter().any(|k| k.eq_ignore_ascii_case(attribute)) && params.get("Value").is_none() {
            return Err(Ec2Error::missing("Value"));
        }
        return Err(Ec2Error::invalid(format!("The attribute '{attribute}' cannot be modified")));
    } else {
        return Err(Ec2Error::missing("Attribute"));
    };
    Ok(Request { instance, change })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::ModifyInstanceAttribute(ModifyInstanceAttribute {
        account: ctx.account().clone(),
        instance: r.instance,
        change: r.change,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("ModifyInstanceAttributeResponse");
    x.display("return", true);
    Ok(x.finish())
}
