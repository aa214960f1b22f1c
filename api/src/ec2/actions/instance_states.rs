//! TerminateInstances, StopInstances, StartInstances and RebootInstances:
//! the four requests that change an instance's state share their shape
//! (`InstanceId.N`) and their answer (previous and current state).

use super::instance_ids;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::render::state;
use domain::command::{InstanceIds, StopInstances};
use domain::{Command, InstanceId, Reply};

/// Which of the four it is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum StateRequest {
    Terminate,
    Stop { force: bool },
    Start,
    Reboot,
}

#[derive(Debug)]
pub struct Request {
    ids: Vec<InstanceId>,
    request: StateRequest,
}

fn parse(params: &Params, request: StateRequest) -> Result<Request, Ec2Error> {
    let ids = instance_ids(params, "InstanceId")?;
    if ids.is_empty() {
        return Err(Ec2Error::missing("InstanceId"));
    }
    Ok(Request { ids, request })
}

pub fn parse_terminate(params: &Params) -> Result<Request, Ec2Error> {
    parse(params, StateRequest::Terminate)
}

pub fn parse_stop(params: &Params) -> Result<Request, Ec2Error> {
    let force = params.bool("Force")?.unwrap_or(false);
    parse(params, StateRequest::Stop { force })
}

pub fn parse_start(params: &Params) -> Result<Request, Ec2Error> {
    parse(params, StateRequest::Start)
}

pub fn parse_reboot(params: &Params) -> Result<Request, Ec2Error> {
    parse(params, StateRequest::Reboot)
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let (account, instances, at) = (ctx.account().clone(), r.ids, now());
    let command = match r.request {
        StateRequest::Terminate => Command::TerminateInstances(InstanceIds { account, instances, at }),
        StateRequest::Stop { force } => {
            Command::StopInstances(StopInstances { account, instances, force, at })
        }
        StateRequest::Start => Command::StartInstances(InstanceIds { account, instances, at }),
        StateRequest::Reboot => Command::RebootInstances(InstanceIds { account, instances, at }),
    };
    let executed = ctx.execute(app, command).await?;
    let Reply::StateChanges(changes) = executed.decision.reply else { return Err(Ec2Error::internal()) };
    let (root, set) = match r.request {
        StateRequest::Terminate => ("TerminateInstancesResponse", "instancesSet"),
        StateRequest::Stop { .. } => ("StopInstancesResponse", "instancesSet"),
        StateRequest::Start => ("StartInstancesResponse", "instancesSet"),
        StateRequest::Reboot => {
            let mut x = ctx.response("RebootInstancesResponse");
            x.display("return", true);
            return Ok(x.finish());
        }
    };
    let mut x = ctx.response(root);
    x.open(set);
    for change in &changes {
        x.open("item").text("instanceId", change.instance.as_str());
        state(&mut x, "currentState", change.current);
        state(&mut x, "previousState", change.previous);
        x.close();
    }
    x.close();
    Ok(x.finish())
}
