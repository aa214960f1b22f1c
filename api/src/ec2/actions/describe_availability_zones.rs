//! DescribeAvailabilityZones: the clusters of this cloud. With the zone
//! name `verbose` (as `euca-describe-availability-zones verbose` sends it),
//! each zone is followed by Eucalyptus's capacity table: for every VM type,
//! how many more instances fit (free) and how many would fit on empty
//! nodes (max).

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::filter::any_matches;
use crate::ec2::params::Params;
use domain::{Resources, VmType};
use projections::ZoneRow;

pub type Request = super::NamedQuery;

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    super::NamedQuery::parse(
        params,
        "ZoneName",
        &["zone-name", "state", "region-name", "zone-type", "message"],
    )
}

/// How many instances of `vm` fit in `room`.
fn fits(room: &Resources, vm: &VmType) -> u64 {
    let by = |have: u64, need: u64| have.checked_div(need).unwrap_or(u64::MAX);
    by(room.cpus.into(), vm.cpus.into())
        .min(by(room.memory_mib, vm.memory_mib.into()))
        .min(by(room.disk_gib, vm.disk_gib.into()))
}

/// (free, max) instances of `vm` in a zone, node by node.
pub(crate) fn capacity(zone: &ZoneRow, vm: &VmType) -> (u64, u64) {
    zone.nodes.values().fold((0, 0), |(free, max), node| {
        // An unreachable node has no free room (NodeRow::free).
        (free + fits(&node.free(), vm), max + fits(&node.capacity, vm))
    })
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
                let (free, max) = capacity(row, vm);
                let state =
                    format!("{free:04} / {max:04}  {:>3} {:>6} {:>5}", vm.cpus, vm.memory_mib, vm.disk_gib);
                line(&mut x, &format!("|- {}", vm.name), &state);
            }
        }
    }
    x.close();
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{NodeId, SchedulingPolicy, Timestamp};
    use projections::NodeRow;

    #[test]
    fn capacity_counts_what_fits_node_by_node() {
        let node = |cpus, used_cpus| NodeRow {
            host: "h".into(),
            hypervisor: "sim".into(),
            capacity: Resources { cpus, memory_mib: 4096, disk_gib: 100 },
            used: Resources { cpus: used_cpus, memory_mib: 0, disk_gib: 0 },
            instances: 0,
            registered_at: Timestamp(0),
            access_key: None,
            secret: None,
            reachable: true,
            unreachable_since: None,
        };
        let zone = ZoneRow {
            policy: SchedulingPolicy::Greedy,
            nodes: [(NodeId::from_bits(1), node(4, 3)), (NodeId::from_bits(2), node(3, 0))].into(),
        };
        let small = VmType { name: "s".into(), cpus: 1, memory_mib: 256, disk_gib: 5 };
        let big = VmType { name: "b".into(), cpus: 2, memory_mib: 1024, disk_gib: 10 };
        assert_eq!(capacity(&zone, &small), (1 + 3, 4 + 3));
        // One fits per node when empty (by CPU: 4/2 = 2 and 3/2 = 1), and only on the second now.
        assert_eq!(capacity(&zone, &big), (1, 3));
        let mut lost = zone.clone();
        lost.nodes.get_mut(&NodeId::from_bits(2)).unwrap().reachable = false;
        assert_eq!(capacity(&lost, &small), (1, 4 + 3), "an unreachable node has no free room");
    }
}
