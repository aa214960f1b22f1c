//! DescribeRegions: this cloud's one region and its endpoint.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::filter::any_matches;
use crate::ec2::params::Params;

pub type Request = super::NamedQuery;

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    super::NamedQuery::parse(params, "RegionName", &["region-name", "endpoint", "opt-in-status"])
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let region = ctx.models(app).cloud.region.clone();
    let endpoint = app.config.ec2_url.clone();
    if let Some(unknown) = r.names.iter().find(|n| **n != region) {
        return Err(Ec2Error::invalid(format!("Invalid region: {unknown}")));
    }
    let keep = r.filters.iter().all(|f| {
        let have: &[&str] = match f.name.as_str() {
            "region-name" => &[region.as_str()],
            "endpoint" => &[endpoint.as_str()],
            _ => &["opt-in-not-required"],
        };
        any_matches(f, have)
    });
    let mut x = ctx.response("DescribeRegionsResponse");
    x.open("regionInfo");
    if keep {
        x.open("item").text("regionName", &region).text("regionEndpoint", &endpoint).close();
    }
    x.close();
    Ok(x.finish())
}
