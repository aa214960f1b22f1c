//! One module per EC2 action: `parse` (parameters → request, before
//! anything happens) and `run` (request → command or query → XML).

mod describe_availability_zones;
mod describe_images;
mod describe_instances;
mod describe_regions;
mod run_instances;
mod terminate_instances;

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;

/// Every action this endpoint answers, parsed.
#[derive(Debug)]
pub enum Action {
    RunInstances(run_instances::Request),
    DescribeInstances(describe_instances::Request),
    TerminateInstances(terminate_instances::Request),
    DescribeImages(describe_images::Request),
    DescribeRegions(describe_regions::Request),
    DescribeAvailabilityZones(describe_availability_zones::Request),
}

impl Action {
    pub fn parse(name: &str, params: &Params) -> Result<Action, Ec2Error> {
        Ok(match name {
            "RunInstances" => Action::RunInstances(run_instances::parse(params)?),
            "DescribeInstances" => Action::DescribeInstances(describe_instances::parse(params)?),
            "TerminateInstances" => Action::TerminateInstances(terminate_instances::parse(params)?),
            "DescribeImages" => Action::DescribeImages(describe_images::parse(params)?),
            "DescribeRegions" => Action::DescribeRegions(describe_regions::parse(params)?),
            "DescribeAvailabilityZones" => {
                Action::DescribeAvailabilityZones(describe_availability_zones::parse(params)?)
            }
            other => {
                return Err(Ec2Error::new(
                    "InvalidAction",
                    format!("The action {other} is not valid for this web service."),
                ));
            }
        })
    }

    pub async fn run(self, app: &App, ctx: &Ctx) -> Result<String, Ec2Error> {
        match self {
            Action::RunInstances(r) => run_instances::run(app, ctx, r).await,
            Action::DescribeInstances(r) => describe_instances::run(app, ctx, r),
            Action::TerminateInstances(r) => terminate_instances::run(app, ctx, r).await,
            Action::DescribeImages(r) => describe_images::run(app, ctx, r),
            Action::DescribeRegions(r) => describe_regions::run(app, ctx, r),
            Action::DescribeAvailabilityZones(r) => describe_availability_zones::run(app, ctx, r),
        }
    }
}

/// Parses `prefix.N` instance ids; a malformed one is EC2's
/// InvalidInstanceID.Malformed.
pub(crate) fn instance_ids(params: &Params, prefix: &str) -> Result<Vec<domain::InstanceId>, Ec2Error> {
    params
        .list(prefix)
        .into_iter()
        .map(|s| {
            domain::InstanceId::parse(s)
                .map_err(|_| Ec2Error::new("InvalidInstanceID.Malformed", format!("Invalid id: \"{s}\"")))
        })
        .collect()
}

/// A Describe* request of names (`prefix.N`) and filters, checked against
/// the filter names the action knows.
#[derive(Debug)]
pub struct NamedQuery {
    pub names: Vec<String>,
    pub filters: Vec<crate::ec2::params::Filter>,
}

impl NamedQuery {
    pub fn parse(params: &Params, prefix: &str, known_filters: &[&str]) -> Result<NamedQuery, Ec2Error> {
        let filters = params.filters()?;
        crate::ec2::filter::check_names(&filters, known_filters)?;
        Ok(NamedQuery { names: params.list(prefix).into_iter().map(str::to_owned).collect(), filters })
    }
}
