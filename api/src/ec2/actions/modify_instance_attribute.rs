//! ModifyInstanceAttribute: instance type and user data (while stopped),
//! termination protection, the shutdown behavior, security groups, and
//! `BlockDeviceMapping.N.Ebs.DeleteOnTermination` of its volumes.

use super::run_instances::{shutdown_behavior, user_data};
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::command::{AttributeChange, ModifyInstanceAttribute};
use domain::{Command, InstanceId};

#[derive(Debug)]
pub struct Request {
    instance: InstanceId,
    change: AttributeChange,
}

fn boolean(value: &str) -> Result<bool, Ec2Error> {
    crate::ec2::params::boolean(value)
        .ok_or_else(|| Ec2Error::invalid(format!("Value ({value}) is invalid. Expected a boolean.")))
}

/// Every attribute, modifiable or not, as EC2 names it
/// (`Attribute=`'s values).
const ATTRIBUTES: [(&str, &str); 10] = [
    ("InstanceType", "instanceType"),
    ("UserData", "userData"),
    ("DisableApiTermination", "disableApiTermination"),
    ("InstanceInitiatedShutdownBehavior", "instanceInitiatedShutdownBehavior"),
    ("Kernel", "kernel"),
    ("Ramdisk", "ramdisk"),
    ("SourceDestCheck", "sourceDestCheck"),
    ("EbsOptimized", "ebsOptimized"),
    ("SriovNetSupport", "sriovNetSupport"),
    ("EnaSupport", "enaSupport"),
];

/// The attributes a request names, each once, in EC2's spelling: by
/// `<Attribute>.Value`, `GroupId.N` (groupSet), `BlockDeviceMapping.N.*`
/// (blockDeviceMapping) or `Attribute`.
fn attributes_named(params: &Params) -> Vec<String> {
    let mut named: Vec<String> = ATTRIBUTES
        .iter()
        .filter(|(parameter, _)| params.get(&format!("{parameter}.Value")).is_some())
        .map(|(_, name)| (*name).to_owned())
        .collect();
    if !params.list("GroupId").is_empty() {
        named.push("groupSet".into());
    }
    if params.pairs().any(|(name, _)| name.starts_with("BlockDeviceMapping.")) {
        named.push("blockDeviceMapping".into());
    }
    if let Some(attribute) = params.get("Attribute") {
        let known = ["groupSet", "blockDeviceMapping"];
        let name = ATTRIBUTES
            .iter()
            .map(|(_, name)| *name)
            .chain(known)
            .find(|name| name.eq_ignore_ascii_case(attribute))
            .unwrap_or(attribute);
        if !named.iter().any(|n| n == name) {
            named.push(name.to_owned());
        }
    }
    named
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let id = params.required("InstanceId")?;
    let instance = InstanceId::parse(id)
        .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{id}\"")))?;
    // Either `Attribute` + `Value`, or `<Attribute>.Value` (newer clients).
    let pick = |name: &str| {
        params.get(&format!("{name}.Value")).or_else(|| {
            let attribute = params.get("Attribute")?;
            attribute.eq_ignore_ascii_case(name).then(|| params.get("Value")).flatten()
        })
    };
    let named = attributes_named(params);
    if named.len() > 1 {
        // EC2 modifies one attribute per call, and refuses a call that
        // names more rather than apply one of them.
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("Fields for multiple attribute types specified: {}", named.join(", ")),
        ));
    }
    let groups = params.list("GroupId");
    let unsupported =
        ["Kernel", "Ramdisk", "SourceDestCheck", "EbsOptimized", "SriovNetSupport", "EnaSupport"];
    if let Some(name) = unsupported.iter().find(|n| pick(n).is_some()) {
        return Err(Ec2Error::new(
            Code::UnsupportedOperation,
            format!("The instance attribute '{name}' cannot be modified in Yukari"),
        ));
    }
    let mappings = super::block_device_mappings::delete_on_termination(params)?;
    let change = if let Some(changes) = mappings {
        AttributeChange::DeleteOnTermination(changes)
    } else if !groups.is_empty() {
        let mut refs = Vec::with_capacity(groups.len());
        for id in groups {
            let id = domain::SecurityGroupId::parse(id)
                .map_err(|_| Ec2Error::new(Code::InvalidGroupIdMalformed, format!("Invalid id: \"{id}\"")))?;
            refs.push(domain::command::GroupRef::Id(id));
        }
        AttributeChange::Groups(refs)
    } else if let Some(t) = pick("InstanceType") {
        AttributeChange::InstanceType(t.to_owned())
    } else if let Some(d) = pick("UserData") {
        AttributeChange::UserData(user_data(Some(d))?)
    } else if let Some(v) = pick("DisableApiTermination") {
        AttributeChange::DisableApiTermination(boolean(v)?)
    } else if let Some(b) = pick("InstanceInitiatedShutdownBehavior") {
        AttributeChange::ShutdownBehavior(shutdown_behavior(b)?)
    } else if let Some(attribute) = params.get("Attribute") {
        const KNOWN: [&str; 5] = [
            "instanceType",
            "userData",
            "disableApiTermination",
            "instanceInitiatedShutdownBehavior",
            "groupSet",
        ];
        if KNOWN.iter().any(|k| k.eq_ignore_ascii_case(attribute)) && params.get("Value").is_none() {
            return Err(Ec2Error::missing("Value"));
        }
        return Err(Ec2Error::invalid(format!("The attribute '{attribute}' cannot be modified")));
    } else {
        return Err(Ec2Error::missing("Attribute"));
    };
    Ok(Request { instance, change })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::ModifyInstanceAttribute(ModifyInstanceAttribute {
        account: ctx.account().clone(),
        instance: r.instance,
        change: r.change,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("ModifyInstanceAttributeResponse");
    x.display("return", true);
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_of(query: &str) -> Result<Request, Ec2Error> {
        let pairs = query.split('&').map(|p| {
            let (name, value) = p.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        });
        parse(&Params::from_pairs(pairs))
    }

    fn refusal(query: &str) -> (Code, String) {
        let e = parse_of(query).unwrap_err();
        (e.code, e.message)
    }

    /// EC2 modifies one attribute per call and refuses a call naming more
    /// (before, the first one named was applied and the rest dropped,
    /// answering true).
    #[test]
    fn a_call_naming_more_than_one_attribute_is_refused() {
        const I: &str = "InstanceId=i-0123456789abcdef0";
        let cases = [
            (
                "InstanceType.Value=m1.small&DisableApiTermination.Value=true",
                "instanceType, disableApiTermination",
            ),
            (
                "UserData.Value=aGk=&InstanceInitiatedShutdownBehavior.Value=stop",
                "userData, instanceInitiatedShutdownBehavior",
            ),
            (
                "GroupId.1=sg-0123456789abcdef0&DisableApiTermination.Value=false",
                "disableApiTermination, groupSet",
            ),
            (
                "BlockDeviceMapping.1.DeviceName=/dev/sdf&BlockDeviceMapping.1.Ebs.DeleteOnTermination=false\
                 &InstanceType.Value=m1.small",
                "instanceType, blockDeviceMapping",
            ),
            (
                "Attribute=instanceType&Value=m1.small&DisableApiTermination.Value=true",
                "disableApiTermination, instanceType",
            ),
            ("Kernel.Value=eki-0123456789abcdef0&InstanceType.Value=m1.small", "instanceType, kernel"),
        ];
        for (given, named) in cases {
            assert_eq!(
                refusal(&format!("{I}&{given}")),
                (
                    Code::InvalidParameterCombination,
                    format!("Fields for multiple attribute types specified: {named}")
                ),
                "{given}"
            );
        }
        // One attribute named twice, in both shapes, is one attribute.
        let one = parse_of(&format!("{I}&Attribute=instanceType&Value=m1.small&InstanceType.Value=m1.small"));
        assert_eq!(one.unwrap().change, AttributeChange::InstanceType("m1.small".into()));
        let groups = parse_of(&format!("{I}&Attribute=groupSet&GroupId.1=sg-0123456789abcdef0"));
        assert!(matches!(groups.unwrap().change, AttributeChange::Groups(_)));
    }
}
