//! ReleaseAddress: gives one of the caller's elastic IPs back to the pool
//! (taking it off its instance first, as EC2-Classic does).

use super::associate_address::address_ref;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::Command;
use domain::command::{AddressRef, ReleaseAddress};

#[derive(Debug)]
pub struct Request {
    address: AddressRef,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    Ok(Request { address: address_ref(params)? })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::ReleaseAddress(ReleaseAddress {
        account: ctx.account().clone(),
        address: r.address,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("ReleaseAddressResponse");
    x.display("return", true);
    Ok(x.finish())
}
