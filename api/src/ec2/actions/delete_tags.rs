//! DeleteTags: removes tags from the caller's resources, by key, by key
//! and value, or all of them when no `Tag.N` is given.

use super::create_tags::resources;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::tagging;
use domain::command::DeleteTags;
use domain::{Command, TagRemoval};

#[derive(Debug)]
pub struct Request {
    resources: Vec<String>,
    /// Empty: every tag of the resources.
    removals: Vec<TagRemoval>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    Ok(Request { resources: resources(params)?, removals: tagging::removals(params)? })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::DeleteTags(DeleteTags {
        account: ctx.account().clone(),
        resources: r.resources,
        removals: r.removals,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("DeleteTagsResponse");
    x.display("return", true);
    Ok(x.finish())
}
