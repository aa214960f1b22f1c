//! DisassociateAddress: takes an elastic IP off its instance, named by the
//! address or by the association.

use super::associate_address::public_ip;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::command::{DisassociateAddress, DisassociateRef};
use domain::{AssociationId, Command};

#[derive(Debug)]
pub struct Request {
    address: DisassociateRef,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let get = |name| params.get(name).filter(|v: &&str| !v.is_empty());
    let address = match (get("PublicIp"), get("AssociationId")) {
        (Some(_), Some(_)) => {
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                "The parameter PublicIp cannot be used with the parameter AssociationId",
            ));
        }
        (Some(ip), None) => DisassociateRef::PublicIp(public_ip(ip)?),
        (None, Some(id)) => DisassociateRef::Association(AssociationId::parse(id).map_err(|_| {
            Ec2Error::new(
                Code::InvalidAssociationIdNotFound,
                format!("The association ID '{id}' does not exist"),
            )
        })?),
        (None, None) => return Err(Ec2Error::missing("PublicIp or AssociationId")),
    };
    Ok(Request { address })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::DisassociateAddress(DisassociateAddress {
        account: ctx.account().clone(),
        address: r.address,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("DisassociateAddressResponse");
    x.display("return", true);
    Ok(x.finish())
}
