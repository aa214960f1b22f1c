//! DeregisterImage: the caller's own image is no longer described or
//! launchable; its bundle stays in Walrus (the user deletes it there).

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::command::DeregisterImage;
use domain::{Command, ImageId};

#[derive(Debug)]
pub struct Request {
    image: ImageId,
}

pub(crate) fn image_id(text: &str) -> Result<ImageId, Ec2Error> {
    ImageId::parse(text)
        .map_err(|_| Ec2Error::new(Code::InvalidAmiIdMalformed, format!("Invalid id: \"{text}\"")))
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    Ok(Request { image: image_id(params.required("ImageId")?)? })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::DeregisterImage(DeregisterImage {
        account: ctx.account().clone(),
        image: r.image,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("DeregisterImageResponse");
    x.display("return", true);
    Ok(x.finish())
}
