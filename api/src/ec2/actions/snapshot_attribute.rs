//! Describe/Modify/ResetSnapshotAttribute: `createVolumePermission`, who
//! besides its owner may make volumes of (or copy) a snapshot: accounts
//! by id, and everyone (`all`). Both shapes are taken: the old flat one
//! (`Attribute`, `OperationType`, `UserId.N`, `UserGroup.N`, as euca2ools
//! sends it) and `CreateVolumePermission.Add.N.UserId` / `.Group` (the
//! AWS CLI's and boto3's). `productCodes` reads empty.

use super::volume_items::snapshot_id;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use domain::volumes::{ModifySnapshotAttribute, ResetSnapshotAttribute};
use domain::{AccountId, Command, SnapshotId};

#[derive(Debug)]
pub enum Request {
    Describe { snapshot: SnapshotId, attribute: &'static str },
    Modify { snapshot: SnapshotId, add: Grantees, remove: Grantees },
    Reset { snapshot: SnapshotId },
}

/// Accounts, and whether `all` is among them.
#[derive(Debug, Default)]
pub struct Grantees {
    accounts: Vec<AccountId>,
    all: bool,
}

fn attribute(params: &Params, required: bool) -> Result<Option<&'static str>, Ec2Error> {
    match params.get("Attribute") {
        None if !required => Ok(None),
        None => Err(Ec2Error::missing("Attribute")),
        Some("createVolumePermission") => Ok(Some("createVolumePermission")),
        Some("productCodes") => Ok(Some("productCodes")),
        Some(other) => Err(Ec2Error::invalid(format!(
            "Value ({other}) for parameter attribute is invalid. Expected: createVolumePermission, productCodes."
        ))),
    }
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

/// `CreateVolumePermission.{Add|Remove}.N.UserId` / `.Group`.
fn structured(params: &Params, which: &str) -> Result<Grantees, Ec2Error> {
    let prefix = format!("CreateVolumePermission.{which}");
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
    let snapshot = snapshot_id(params.required("SnapshotId")?)?;
    let attribute = attribute(params, true)?.unwrap_or("createVolumePermission");
    Ok(Request::Describe { snapshot, attribute })
}

pub fn parse_modify(params: &Params) -> Result<Request, Ec2Error> {
    let snapshot = snapshot_id(params.required("SnapshotId")?)?;
    if attribute(params, false)? == Some("productCodes") {
        return Err(Ec2Error::invalid("productCodes cannot be modified."));
    }
    let mut add = structured(params, "Add")?;
    let mut remove = structured(params, "Remove")?;
    let flat = Grantees {
        accounts: params.list("UserId").into_iter().map(account).collect::<Result<_, _>>()?,
        all: params
            .list("UserGroup")
            .into_iter()
            .map(group)
            .collect::<Result<Vec<bool>, _>>()?
            .contains(&true),
    };
    if !flat.accounts.is_empty() || flat.all {
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
        target.accounts.extend(flat.accounts);
        target.all |= flat.all;
    }
    if add.accounts.is_empty() && !add.all && remove.accounts.is_empty() && !remove.all {
        return Err(Ec2Error::missing("CreateVolumePermission"));
    }
    Ok(Request::Modify { snapshot, add, remove })
}

pub fn parse_reset(params: &Params) -> Result<Request, Ec2Error> {
    let snapshot = snapshot_id(params.required("SnapshotId")?)?;
    match attribute(params, true)? {
        Some("createVolumePermission") => Ok(Request::Reset { snapshot }),
        _ => Err(Ec2Error::invalid("Only createVolumePermission can be reset.")),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    match r {
        Request::Describe { snapshot, attribute } => {
            let models = ctx.models(app);
            let row = models
                .volumes
                .snapshots
                .get(&snapshot)
                .filter(|row| &row.account == ctx.account())
                .ok_or_else(|| domain::DecideError::SnapshotNotFound(snapshot.clone()))?;
            let mut x = ctx.response("DescribeSnapshotAttributeResponse");
            x.text("snapshotId", snapshot.as_str());
            if attribute == "productCodes" {
                x.empty("productCodes");
            } else {
                x.open("createVolumePermission");
                for account in &row.shared_with {
                    x.open("item").text("userId", account.as_str()).close();
                }
                if row.public {
                    x.open("item").text("group", "all").close();
                }
                x.close();
            }
            Ok(x.finish())
        }
        Request::Modify { snapshot, add, remove } => {
            let public = match (add.all, remove.all) {
                (true, _) => Some(true),
                (false, true) => Some(false),
                (false, false) => None,
            };
            let command = Command::ModifySnapshotAttribute(ModifySnapshotAttribute {
                account: ctx.account().clone(),
                snapshot,
                add: add.accounts,
                remove: remove.accounts,
                public,
                at: now(),
            });
            ctx.execute(app, command).await?;
            let mut x = ctx.response("ModifySnapshotAttributeResponse");
            x.display("return", true);
            Ok(x.finish())
        }
        Request::Reset { snapshot } => {
            let command = Command::ResetSnapshotAttribute(ResetSnapshotAttribute {
                account: ctx.account().clone(),
                snapshot,
                at: now(),
            });
            ctx.execute(app, command).await?;
            let mut x = ctx.response("ResetSnapshotAttributeResponse");
            x.display("return", true);
            Ok(x.finish())
        }
    }
}
