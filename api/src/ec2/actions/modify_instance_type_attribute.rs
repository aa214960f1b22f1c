//! ModifyInstanceTypeAttribute (Eucalyptus's extension, as
//! `euca-modify-instance-type` sends it): the cloud administrator resizes a
//! VM type (`Name`, `Cpu`, `Memory` in MiB, `Disk` in GiB) or resets it to
//! Eucalyptus's default (`Reset`). Running instances keep their size.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::command::SetVmType;
use domain::{Command, VmType};

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
    if !app.is_cloud_admin(ctx.account()) {
        return Err(Ec2Error::new(
            "UnauthorizedOperation",
            "Only the cloud administrator changes instance types.",
        ));
    }
    let current = app.projections.read().cloud.vm_type(&r.name).cloned();
    let base = if r.reset {
        VmType::eucalyptus_defaults().into_iter().find(|t| t.name == r.name)
    } else {
        current.clone()
    };
    let vm_type = match base {
        Some(t) => VmType {
            cpus: r.cpus.unwrap_or(t.cpus),
            memory_mib: r.memory_mib.unwrap_or(t.memory_mib),
            disk_gib: r.disk_gib.unwrap_or(t.disk_gib),
            ..t
        },
        None => match (r.cpus, r.memory_mib, r.disk_gib) {
            (Some(cpus), Some(memory_mib), Some(disk_gib)) => {
                VmType { name: r.name.clone(), cpus, memory_mib, disk_gib }
            }
            _ => {
                return Err(Ec2Error::invalid(format!(
                    "The instance type '{}' does not exist; a new one needs Cpu, Memory and Disk",
                    r.name
                )));
            }
        },
    };
    let command = Command::ModifyInstanceTypeAttribute(SetVmType { vm_type: vm_type.clone(), at: now() });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("ModifyInstanceTypeAttributeResponse");
    x.display("return", true);
    x.open("instanceType")
        .text("name", &vm_type.name)
        .display("cpu", vm_type.cpus)
        .display("disk", vm_type.disk_gib)
        .display("memory", vm_type.memory_mib)
        .close();
    if let Some(previous) = current {
        x.open("previousInstanceType")
            .text("name", &previous.name)
            .display("cpu", previous.cpus)
            .display("disk", previous.disk_gib)
            .display("memory", previous.memory_mib)
            .close();
    }
    Ok(x.finish())
}
