//! DescribeAvailabilityZones: the clusters of this cloud. With the zone
//! name `verbose` (as `euca-describe-availability-zones verbose` sends it),
//! each zone is followed by Eucalyptus's capacity table: for every VM type,
//! how many more instances fit (free) and how many would fit on empty
//! nodes (max), as `projections::ZoneRow::capacity` counts them.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::filter::any_matches;
use crate::ec2::params::Params;

pub type Request = super::NamedQuery;

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    super::NamedQuery::parse(
        params,
        "ZoneName",
        &["zone-name", "state", "region-name", "zone-type", "message"],
    )
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let region = models.cloud.region.as_str();
    let verbose = r.names.iter().any(|n| n == "verbose");
    let names: Vec<&String> = r.names.iter().filter(|n| *n != "verbose").collect();
    for name in &names {
        if !models.cloud.zones.contains_key(name.as_str()) {
            return Err(Ec2Error::invalid(format!("The zone '{name}' does not exist.")));
        }
    }
    let mut x = ctx.response("DescribeAvailabilityZonesResponse");
    x.open("availabilityZoneInfo");
    for (zone, row) in &models.cloud.zones {
        if !names.is_empty() && !names.iter().any(|n| *n == zone.as_str()) {
            continue;
        }
        let keep = r.filters.iter().all(|f| {
            let have: &[&str] = match f.name.as_str() {
                "zone-name" => &[zone.as_str()],
                "state" => &["available"],
                "region-name" => &[region],
                "zone-type" => &["availability-zone"],
                _ => &[],
            };
            any_matches(f, have)
        });
        if !keep {
            continue;
        }
        x.open("item")
            .text("zoneName", zone.as_str())
            .text("zoneState", "available")
            .text("regionName", region)
            .empty("messageSet")
            .close();
        if verbose {
            let line = |x: &mut crate::ec2::xml::Xml, name: &str, state: &str| {
                x.open("item")
                    .text("zoneName", name)
                    .text("zoneState", state)
                    .text("regionName", region)
                    .close();
            };
            line(&mut x, "|- vm types", "free / max   cpu   ram  disk");
            for vm in &models.cloud.vm_types {
                let (free, max) = row.capacity(vm);
                let state =
                    format!("{free:04} / {max:04}  {:>3} {:>6} {:>5}", vm.cpus, vm.memory_mib, vm.disk_gib);
                line(&mut x, &format!("|- {}", vm.name), &state);
            }
            // The zone's block storage, in GiB of volumes (free / max).
            if let Some(storage) = models.volumes.storage.get(zone) {
                let free = storage.capacity_gib.saturating_sub(storage.used_gib());
                line(&mut x, "|- ebs storage (GiB)", &format!("{free:04} / {:04}", storage.capacity_gib));
                let host = storage.controller.as_ref().map_or("embedded", |c| c.host.as_str());
                let state =
                    if app.storage_targets.silent(zone).is_some() { "unreachable" } else { "reachable" };
                line(&mut x, "|- storage controller", &format!("{host} {state}"));
            }
        }
    }
    x.close();
    Ok(x.finish())
}
