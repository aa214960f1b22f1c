//! CreateSecurityGroup: a named group in the caller's account, with
//! egress to anywhere and no ingress, and optional tags.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::tagging;
use domain::command::CreateSecurityGroup;
use domain::{Command, Tag};

/// Longest group name and description (EC2: 255 ASCII characters).
const MAX_LENGTH: usize = 255;

#[derive(Debug)]
pub struct Request {
    name: String,
    description: String,
    tags: Vec<Tag>,
}

fn checked(parameter: &str, value: &str) -> Result<String, Ec2Error> {
    if value.len() > MAX_LENGTH || !value.is_ascii() {
        return Err(Ec2Error::invalid(format!(
            "Value ({value}) for parameter {parameter} is invalid. It must be at most {MAX_LENGTH} ASCII \
             characters."
        )));
    }
    Ok(value.to_owned())
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let name = checked("GroupName", params.required("GroupName")?)?;
    if name.to_ascii_lowercase().starts_with("sg-") {
        return Err(Ec2Error::invalid(format!(
            "Value ({name}) for parameter GroupName is invalid. Group names may not be in the format sg-*"
        )));
    }
    let description = checked("GroupDescription", params.required("GroupDescription")?)?;
    // VpcId is accepted and ignored: Yukari's groups are EC2-Classic's.
    let tags = tagging::specifications(params, "security-group", &["security-group"])?;
    Ok(Request { name, description, tags })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let group = app.ids.security_group();
    let command = Command::CreateSecurityGroup(CreateSecurityGroup {
        account: ctx.account().clone(),
        group: group.clone(),
        name: r.name,
        description: r.description,
        tags: r.tags,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let models = app.projections.read();
    let mut x = ctx.response("CreateSecurityGroupResponse");
    x.display("return", true);
    x.text("groupId", group.as_str());
    tagging::tag_set(&mut x, &models.tags, group.as_str());
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    #[test]
    fn names_and_descriptions_are_checked() {
        let r = parse(&p(&[
            ("GroupName", "web"),
            ("GroupDescription", "web servers"),
            ("TagSpecification.1.ResourceType", "security-group"),
            ("TagSpecification.1.Tag.1.Key", "env"),
            ("TagSpecification.1.Tag.1.Value", "prod"),
        ]))
        .unwrap();
        assert_eq!((r.name.as_str(), r.description.as_str()), ("web", "web servers"));
        assert_eq!(r.tags, vec![Tag { key: "env".into(), value: "prod".into() }]);
        let code = |pairs: &[(&str, &str)]| parse(&p(pairs)).unwrap_err().code;
        assert_eq!(code(&[("GroupName", "web")]), "MissingParameter");
        assert_eq!(code(&[("GroupDescription", "d")]), "MissingParameter");
        assert_eq!(code(&[("GroupName", "sg-web"), ("GroupDescription", "d")]), "InvalidParameterValue");
        assert_eq!(code(&[("GroupName", "ウェブ"), ("GroupDescription", "d")]), "InvalidParameterValue");
        let long = "x".repeat(256);
        assert_eq!(code(&[("GroupName", "web"), ("GroupDescription", &long)]), "InvalidParameterValue");
        assert_eq!(
            code(&[
                ("GroupName", "w"),
                ("GroupDescription", "d"),
                ("TagSpecification.1.ResourceType", "instance")
            ]),
            "InvalidParameterValue"
        );
    }
}
