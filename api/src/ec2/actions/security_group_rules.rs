//! (not written yet)

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;

#[derive(Debug)]
pub struct Request;

pub fn parse_authorize_ingress(_params: &Params) -> Result<Request, Ec2Error> {
    Err(Ec2Error::new("InvalidAction", "not implemented yet"))
}

pub fn parse_authorize_egress(_params: &Params) -> Result<Request, Ec2Error> {
    Err(Ec2Error::new("InvalidAction", "not implemented yet"))
}

pub fn parse_revoke_ingress(_params: &Params) -> Result<Request, Ec2Error> {
    Err(Ec2Error::new("InvalidAction", "not implemented yet"))
}

pub fn parse_revoke_egress(_params: &Params) -> Result<Request, Ec2Error> {
    Err(Ec2Error::new("InvalidAction", "not implemented yet"))
}

pub async fn run(_app: &App, _ctx: &Ctx, _r: Request) -> Result<String, Ec2Error> {
    Err(Ec2Error::internal())
}
