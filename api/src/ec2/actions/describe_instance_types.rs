//! DescribeInstanceTypes: the cloud's VM types (Eucalyptus's m1.small,
//! c1.medium …) with their CPUs, memory and disk, in EC2's shape, in the
//! order the cloud lists them.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{any_matches, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use domain::VmType;

const FILTERS: &[&str] = &[
    "instance-type",
    "vcpu-info.default-vcpus",
    "vcpu-info.default-cores",
    "memory-info.size-in-mib",
    "current-generation",
    "hypervisor",
    "instance-storage-supported",
    "instance-storage-info.total-size-in-gb",
    "processor-info.supported-architecture",
    "supported-root-device-type",
    "supported-virtualization-type",
];

const ARCHITECTURES: &[&str] = &["i386", "x86_64"];

#[derive(Debug)]
pub struct Request {
    names: Vec<String>,
    filters: Vec<Filter>,
    page: Page,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    Ok(Request {
        names: params.list("InstanceType").into_iter().map(str::to_owned).collect(),
        filters,
        page: Page::parse(params, 5, 100)?,
    })
}

fn values(vm: &VmType, name: &str) -> Vec<String> {
    let one = |s: &str| vec![s.to_owned()];
    match name {
        "instance-type" => one(&vm.name),
        "vcpu-info.default-vcpus" | "vcpu-info.default-cores" => vec![vm.cpus.to_string()],
        "memory-info.size-in-mib" => vec![vm.memory_mib.to_string()],
        "current-generation" => one("false"),
        "hypervisor" => one("xen"),
        "instance-storage-supported" => one("true"),
        "instance-storage-info.total-size-in-gb" => vec![vm.disk_gib.to_string()],
        "processor-info.supported-architecture" => ARCHITECTURES.iter().map(|a| a.to_string()).collect(),
        "supported-root-device-type" => one("instance-store"),
        "supported-virtualization-type" => one("paravirtual"),
        _ => Vec::new(),
    }
}

fn matches(vm: &VmType, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let have = values(vm, &f.name);
        any_matches(f, &have.iter().map(String::as_str).collect::<Vec<_>>())
    })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let types = &models.cloud.vm_types;
    let unknown: Vec<&str> =
        r.names.iter().filter(|n| !types.iter().any(|t| t.name == *n)).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(Ec2Error::new(
            Code::InvalidInstanceType,
            format!("The following supplied instance types do not exist: [{}]", unknown.join(", ")),
        ));
    }
    let start = match &r.page.after {
        None => 0,
        Some(after) => match types.iter().position(|t| t.name == after) {
            Some(i) => i + 1,
            None => return Err(Ec2Error::new(Code::InvalidPaginationToken, "Invalid NextToken")),
        },
    };
    let candidates = types[start..]
        .iter()
        .filter(|t| (r.names.is_empty() || r.names.iter().any(|n| *n == t.name)) && matches(t, &r.filters));
    let (page, next) = r.page.take(candidates, |t| t.name.to_string());
    let mut x = ctx.response("DescribeInstanceTypesResponse");
    x.open("instanceTypeSet");
    for vm in &page {
        x.open("item");
        x.text("instanceType", &vm.name);
        x.display("currentGeneration", false);
        x.display("freeTierEligible", false);
        x.open("supportedUsageClasses").text("item", "on-demand").close();
        x.open("supportedRootDeviceTypes").text("item", "instance-store").close();
        x.open("supportedVirtualizationTypes").text("item", "paravirtual").close();
        x.display("bareMetal", false);
        x.text("hypervisor", "xen");
        x.open("processorInfo").open("supportedArchitectures");
        for a in ARCHITECTURES {
            x.text("item", a);
        }
        x.close().close();
        x.open("vCpuInfo");
        x.display("defaultVCpus", vm.cpus)
            .display("defaultCores", vm.cpus)
            .display("defaultThreadsPerCore", 1);
        x.close();
        x.open("memoryInfo").display("sizeInMiB", vm.memory_mib).close();
        x.display("instanceStorageSupported", true);
        x.open("instanceStorageInfo");
        x.display("totalSizeInGB", vm.disk_gib);
        x.open("disks").open("item");
        x.display("sizeInGB", vm.disk_gib).display("count", 1).text("type", "hdd");
        x.close().close();
        x.close();
        x.close();
    }
    x.close();
    // Eucalyptus's shape of the same answer, which euca2ools'
    // euca-describe-instance-types reads (with capacity per zone); clients
    // of the EC2 shape ignore it.
    x.open("instanceTypeDetails");
    for vm in &page {
        x.open("item");
        x.text("name", &vm.name)
            .display("cpu", vm.cpus)
            .display("disk", vm.disk_gib)
            .display("memory", vm.memory_mib);
        x.display("networkInterfaces", 1);
        x.open("availability");
        for (zone, row) in &models.cloud.zones {
            let (free, max) = row.capacity(vm);
            x.open("item")
                .text("zoneName", zone.as_str())
                .display("max", max)
                .display("available", free)
                .close();
        }
        x.close();
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}
