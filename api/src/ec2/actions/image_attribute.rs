//! Describe/Modify/ResetImageAttribute: `launchPermission` (accounts by
//! id, and everyone: group `all`) and `description`. Both shapes of
//! ModifyImageAttribute are taken: the flat one (`Attribute`,
//! `OperationType`, `UserId.N`, `UserGroup.N`, `Value`, as euca2ools sends
//! it) and `LaunchPermission.Add.N.UserId` / `.Group`, `Description.Value`
//! (the AWS CLI's and boto3's). Describe answers the owner only.

use super::deregister_image::image_id;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::command::{ModifyImageAttribute, ResetImageAttribute};
use domain::{AccountId, Command, DecideError, ImageId};

const ATTRIBUTES: &str = "launchPermission, description, kernel, ramdisk, productCodes, blockDeviceMapping";

#[derive(Debug)]
pub enum Request {
    Describe { image: ImageId, attribute: String },
    Modify { image: ImageId, add: Grantees, remove: Grantees, description: Option<String> },
    Reset { image: ImageId },
}

#[derive(Debug, Default)]
pub struct Grantees {
    accounts: Vec<AccountId>,
    all: bool,
}

fn account(text: &str) -> Result<AccountId, Ec2Error> {
    AccountId::parse(text).map_err(|_| Ec2Error::invalid(format!("Invalid user id: \"{text}\"")))
}

fn group(text: &str) -> Result<bool, Ec2Error> {
    match text {
        "all" => Ok(true),
        other => Err(Ec2Error::invalid(format!("Invalid group \"{other}\": only \"all\" is a group."))),
    }
}

fn structured(params: &Params, which: &str) -> Result<Grantees, Ec2Error> {
    let prefix = format!("LaunchPermission.{which}");
    let mut out = Grantees::default();
    for (_, user) in params.list_fields(&prefix, "UserId") {
        out.accounts.push(account(&user)?);
    }
    for (_, g) in params.list_fields(&prefix, "Group") {
        out.all |= group(&g)?;
    }
    Ok(out)
}

pub fn parse_describe(params: &Params) -> Result<Request, Ec2Error> {
    let image = image_id(params.required("ImageId")?)?;
    let attribute = params.required("Attribute")?;
    if !ATTRIBUTES.split(", ").any(|a| a == attribute) {
        return Err(Ec2Error::invalid(format!(
            "Value ({attribute}) for parameter attribute is invalid. Expected: {ATTRIBUTES}."
        )));
    }
    Ok(Request::Describe { image, attribute: attribute.to_owned() })
}

pub fn parse_modify(params: &Params) -> Result<Request, Ec2Error> {
    let image = image_id(params.required("ImageId")?)?;
    let mut add = structured(params, "Add")?;
    let mut remove = structured(params, "Remove")?;
    let mut description = params.get("Description.Value").map(str::to_owned);
    match params.get("Attribute") {
        Some("description") => {
            description = Some(params.required("Value")?.to_owned());
        }
        None | Some("launchPermission") => {
            let accounts: Vec<AccountId> =
                params.list("UserId").into_iter().map(account).collect::<Result<_, _>>()?;
            let all = params
                .list("UserGroup")
                .into_iter()
                .map(group)
                .collect::<Result<Vec<bool>, _>>()?
                .contains(&true);
            if !accounts.is_empty() || all {
                let target = match params.get("OperationType") {
                    Some("add") => &mut add,
                    Some("remove") => &mut remove,
                    Some(other) => {
                        return Err(Ec2Error::invalid(format!(
                            "Value ({other}) for parameter operationType is invalid. Expected: add, remove."
                        )));
                    }
                    None => return Err(Ec2Error::missing("OperationType")),
                };
                target.accounts.extend(accounts);
                target.all |= all;
            }
        }
        Some(other) => {
            return Err(Ec2Error::invalid(format!(
                "Value ({other}) for parameter attribute is invalid. Only launchPermission and description can be modified."
            )));
        }
    }
    if add.accounts.is_empty()
        && !add.all
        && remove.accounts.is_empty()
        && !remove.all
        && description.is_none()
    {
        return Err(Ec2Error::missing("LaunchPermission or Description"));
    }
    Ok(Request::Modify { image, add, remove, description })
}

pub fn parse_reset(params: &Params) -> Result<Request, Ec2Error> {
    let image = image_id(params.required("ImageId")?)?;
    match params.required("Attribute")? {
        "launchPermission" => Ok(Request::Reset { image }),
        _ => Err(Ec2Error::invalid("Only launchPermission can be reset.")),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    match r {
        Request::Describe { image, attribute } => {
            let models = ctx.models(app);
            let row = models
                .images
                .get(&image)
                .filter(|row| &row.owner == ctx.account() && !row.deregistered)
                .ok_or_else(|| DecideError::ImageNotFound(image.clone()))?;
            let mut x = ctx.response("DescribeImageAttributeResponse");
            x.text("imageId", image.as_str());
            match attribute.as_str() {
                "launchPermission" => {
                    x.open("launchPermission");
                    for account in &row.shared_with {
                        x.open("item").text("userId", account.as_str()).close();
                    }
                    if row.public {
                        x.open("item").text("group", "all").close();
                    }
                    x.close();
                }
                "description" => {
                    x.open("description").text("value", &row.description).close();
                }
                "kernel" => {
                    x.open("kernel");
                    x.opt("value", row.kernel.as_ref().map(|k| k.as_str()));
                    x.close();
                }
                "ramdisk" => {
                    x.open("ramdisk");
                    x.opt("value", row.ramdisk.as_ref().map(|k| k.as_str()));
                    x.close();
                }
                "productCodes" => {
                    x.empty("productCodes");
                }
                _ => crate::ec2::render::image_block_device_mapping(&mut x, row),
            }
            Ok(x.finish())
        }
        Request::Modify { image, add, remove, description } => {
            let public = match (add.all, remove.all) {
                (true, _) => Some(true),
                (false, true) => Some(false),
                (false, false) => None,
            };
            let command = Command::ModifyImageAttribute(ModifyImageAttribute {
                account: ctx.account().clone(),
                image,
                add: add.accounts,
                remove: remove.accounts,
                public,
                description,
                at: now(),
            });
            ctx.execute(app, command).await?;
            let mut x = ctx.response("ModifyImageAttributeResponse");
            x.display("return", true);
            Ok(x.finish())
        }
        Request::Reset { image } => {
            let command = Command::ResetImageAttribute(ResetImageAttribute {
                account: ctx.account().clone(),
                image,
                at: now(),
            });
            ctx.execute(app, command).await?;
            let mut x = ctx.response("ResetImageAttributeResponse");
            x.display("return", true);
            Ok(x.finish())
        }
    }
}
