//! ModifyInstanceTypeAttribute (Eucalyptus's extension, as
//! `euca-modify-instance-type` sends it): the cloud administrator resizes a
//! VM type (`Name`, `Cpu`, `Memory` in MiB, `Disk` in GiB) or resets it to
//! Eucalyptus's default (`Reset`); what is not given keeps the value the
//! domain has (the decision is the cloud stream's). Running instances keep
//! their size.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::command::ModifyInstanceTypeAttribute;
use domain::{Command, Reply};

#[derive(Debug)]
pub struct Request {
    name: String,
    cpus: Option<u32>,
    memory_mib: Option<u32>,
    disk_gib: Option<u32>,
    reset: bool,
}

fn number(params: &Params, name: &str) -> Result<Option<u32>, Ec2Error> {
    match params.int(name)? {
        None => Ok(None),
        Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(Ec2Error::invalid(format!("Value ({n}) for parameter {name} is invalid"))),
    }
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    Ok(Request {
        name: params.required("Name")?.to_owned(),
        cpus: number(params, "Cpu")?,
        memory_mib: number(params, "Memory")?,
        disk_gib: number(params, "Disk")?,
        reset: params.bool("Reset")?.unwrap_or(false),
    })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::ModifyInstanceTypeAttribute(ModifyInstanceTypeAttribute {
        name: r.name,
        cpus: r.cpus,
        memory_mib: r.memory_mib,
        disk_gib: r.disk_gib,
        reset: r.reset,
        at: now(),
    });
    let executed = ctx.execute(app, command).await?;
    let Reply::VmType { vm_type, previous } = executed.decision.reply else {
        return Err(Ec2Error::internal());
    };
    let mut x = ctx.response("ModifyInstanceTypeAttributeResponse");
    x.display("return", true);
    x.open("instanceType")
        .text("name", &vm_type.name)
        .display("cpu", vm_type.cpus)
        .display("disk", vm_type.disk_gib)
        .display("memory", vm_type.memory_mib)
        .close();
    if let Some(previous) = previous {
        x.open("previousInstanceType")
            .text("name", &previous.name)
            .display("cpu", previous.cpus)
            .display("disk", previous.disk_gib)
            .display("memory", previous.memory_mib)
            .close();
    }
    Ok(x.finish())
}
