//! DescribeAvailabilityZones: the clusters of this cloud.

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
    let models = app.projections.read();
    let region = models.cloud.region.as_str();
    for name in &r.names {
        if !models.cloud.zones.contains_key(name.as_str()) {
            return Err(Ec2Error::invalid(format!("The zone '{name}' does not exist.")));
        }
    }
    let mut x = ctx.response("DescribeAvailabilityZonesResponse");
    x.open("availabilityZoneInfo");
    for zone in models.cloud.zones.keys() {
        if !r.names.is_empty() && !r.names.iter().any(|n| n == zone.as_str()) {
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
        if keep {
            x.open("item")
                .text("zoneName", zone.as_str())
                .text("zoneState", "available")
                .text("regionName", region)
                .empty("messageSet")
                .close();
        }
    }
    x.close();
    Ok(x.finish())
}
