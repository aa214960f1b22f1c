//! DeleteSecurityGroup, by name or id; refused for `default` and while
//! instances are in the group.

use super::security_group_rules::group_ref;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::command::{DeleteSecurityGroup, GroupRef};
use domain::{Command, Reply};

#[derive(Debug)]
pub struct Request {
    group: GroupRef,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let group = group_ref(params, "GroupId", "GroupName")?
        .ok_or_else(|| Ec2Error::missing("GroupId or GroupName"))?;
    Ok(Request { group })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::DeleteSecurityGroup(DeleteSecurityGroup {
        account: ctx.account().clone(),
        group: r.group,
        at: now(),
    });
    let executed = ctx.execute(app, command).await?;
    let mut x = ctx.response("DeleteSecurityGroupResponse");
    x.display("return", true);
    if let Reply::Group(id) = &executed.decision.reply {
        x.text("groupId", id.as_str());
    }
    Ok(x.finish())
}
