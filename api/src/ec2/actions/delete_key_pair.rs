//! DeleteKeyPair: by name (a missing name is not an error, as in EC2) or id.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::command::DeleteKeyPair;
use domain::{Command, KeyPairId};

#[derive(Debug)]
pub struct Request {
    name: Option<String>,
    id: Option<KeyPairId>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let name = params.get("KeyName").filter(|n| !n.is_empty()).map(str::to_owned);
    let id = match params.get("KeyPairId").filter(|n| !n.is_empty()) {
        Some(id) => Some(KeyPairId::parse(id).map_err(|_| {
            Ec2Error::new(Code::InvalidKeyPairNotFound, format!("The key pair '{id}' does not exist"))
        })?),
        None => None,
    };
    if name.is_none() && id.is_none() {
        return Err(Ec2Error::missing("KeyName"));
    }
    Ok(Request { name, id })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::DeleteKeyPair(DeleteKeyPair {
        account: ctx.account().clone(),
        name: r.name,
        key_pair: r.id,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("DeleteKeyPairResponse");
    x.display("return", true);
    Ok(x.finish())
}
