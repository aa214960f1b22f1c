//! TerminateInstances: shut instances down for good.

use super::instance_ids;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::render::state;
use domain::command::TerminateInstances;
use domain::{Command, InstanceId, Reply};

#[derive(Debug)]
pub struct Request {
    ids: Vec<InstanceId>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ids = instance_ids(params, "InstanceId")?;
    if ids.is_empty() {
        return Err(Ec2Error::missing("InstanceId"));
    }
    Ok(Request { ids })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::TerminateInstances(TerminateInstances {
        account: ctx.account().clone(),
        instances: r.ids,
        at: now(),
    });
    let executed = app.execute(command, &ctx.meta).await?;
    let Reply::StateChanges(changes) = executed.decision.reply else {
        return Err(Ec2Error::internal());
    };
    let mut x = ctx.response("TerminateInstancesResponse");
    x.open("instancesSet");
    for change in &changes {
        x.open("item").text("instanceId", change.instance.as_str());
        state(&mut x, "currentState", change.current);
        state(&mut x, "previousState", change.previous);
        x.close();
    }
    x.close();
    Ok(x.finish())
}
