//! CreateTags: adds or overwrites tags on the caller's resources.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::tagging;
use domain::command::CreateTags;
use domain::{Command, Tag};

/// Most resources one call may tag (EC2's limit).
pub(crate) const MAX_RESOURCES: usize = 1000;

#[derive(Debug)]
pub struct Request {
    resources: Vec<String>,
    tags: Vec<Tag>,
}

/// `ResourceId.N`, at least one.
pub(crate) fn resources(params: &Params) -> Result<Vec<String>, Ec2Error> {
    let resources: Vec<String> = params.list("ResourceId").into_iter().map(str::to_owned).collect();
    if resources.is_empty() {
        return Err(Ec2Error::missing("ResourceId"));
    }
    if resources.len() > MAX_RESOURCES {
        return Err(Ec2Error::invalid(format!("At most {MAX_RESOURCES} resources may be tagged at once.")));
    }
    Ok(resources)
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let resources = resources(params)?;
    let tags = tagging::tags(params, "Tag")?;
    if tags.is_empty() {
        return Err(Ec2Error::missing("Tag"));
    }
    Ok(Request { resources, tags })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::CreateTags(CreateTags {
        account: ctx.account().clone(),
        resources: r.resources,
        tags: r.tags,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("CreateTagsResponse");
    x.display("return", true);
    Ok(x.finish())
}
