//! GetConsoleOutput: the guest's serial console so far (the last 64 KiB),
//! from the node executor's hypervisor.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::render::iso_time;
use base64::Engine;
use domain::InstanceId;

/// EC2 returns at most the last 64 KiB.
const LIMIT: usize = 64 * 1024;

#[derive(Debug)]
pub struct Request {
    instance: InstanceId,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let id = params.required("InstanceId")?;
    let instance = InstanceId::parse(id)
        .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{id}\"")))?;
    Ok(Request { instance })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let node = {
        let models = app.projections.read();
        match models.instances.get(r.instance.as_str()) {
            Some(row) if &row.account == ctx.account() => row.node.clone(),
            _ => return Err(domain::DecideError::InstanceNotFound(vec![r.instance.clone()]).into()),
        }
    };
    let output = match (app.consoles.get(), node) {
        (Some(consoles), Some(node)) => consoles.console_output(&node, &r.instance).map_err(|e| {
            tracing::warn!(error = %e, instance = %r.instance, "console output unavailable");
            Ec2Error::new(Code::Unavailable, "The console output of this instance cannot be read now")
        })?,
        _ => None,
    };
    // A guest on a node of another host: what that node pushed last.
    let output = output.or_else(|| app.liveness.console(&r.instance));
    let mut x = ctx.response("GetConsoleOutputResponse");
    x.text("instanceId", r.instance.as_str());
    x.text("timestamp", &iso_time(crate::app::ids::now()));
    if let Some(bytes) = output {
        let tail = &bytes[bytes.len().saturating_sub(LIMIT)..];
        x.text("output", &base64::engine::general_purpose::STANDARD.encode(tail));
    }
    Ok(x.finish())
}
