//! Which refused EC2 requests are recorded in the log, and what they named
//! (docs/adr/0006-refusals-and-time-travel-in-the-controller.md).
//!
//! Recorded: requests whose signature and access key checked out (so the
//! record names who was refused; an unauthenticated caller could fill the
//! disk with garbage) and that either tried to change something (any
//! refusal: authorization, parameters, the domain's rules, DryRun checks
//! that would have failed) or were refused for authorization (a read of
//! what the caller may not see, such as `AsOf`). Not recorded: refused
//! reads for other reasons (a Describe* of an id that does not exist),
//! unknown actions, `DryRunOperation` (the check passed), and
//! `InternalError` and `ServiceUnavailable` (the server failed or cannot
//! store now, not the caller).

use crate::ec2::actions::Action;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;

/// The action under which to record `error`, when it is recorded.
pub fn recorded<'p>(params: &'p Params, error: &Ec2Error) -> Option<&'p str> {
    let action = params.get("Action")?;
    let changes = Action::access_by_name(action)?.changes();
    let wanted = match error.code {
        Code::DryRunOperation | Code::InternalError | Code::ServiceUnavailable => false,
        Code::UnauthorizedOperation => true,
        _ => changes,
    };
    wanted.then_some(action)
}

/// Parameters (the last part of the name, without list numbers) whose
/// values are resource ids or names.
const NAMING: &[&str] = &[
    "InstanceId",
    "ImageId",
    "GroupId",
    "GroupName",
    "KeyName",
    "KeyPairId",
    "AllocationId",
    "AssociationId",
    "PublicIp",
    "ResourceId",
    "VolumeId",
    "SnapshotId",
];

/// The resource ids and names the request named, in parameter order.
pub fn named_resources(params: &Params) -> Vec<String> {
    params
        .pairs()
        .filter(|&(name, value)| {
            let last = name.rsplit('.').find(|part| part.parse::<u64>().is_err()).unwrap_or(name);
            !value.is_empty() && NAMING.contains(&last)
        })
        .map(|(_, value)| value.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn changes_are_recorded_reads_only_when_unauthorized() {
        let terminate = params(&[("Action", "TerminateInstances")]);
        let describe = params(&[("Action", "DescribeInstances")]);
        let unknown = params(&[("Action", "LaunchMissiles")]);
        let state = Ec2Error::new(Code::IncorrectInstanceState, "no");
        let denied = Ec2Error::new(Code::UnauthorizedOperation, "no");
        assert_eq!(recorded(&terminate, &state), Some("TerminateInstances"));
        assert_eq!(recorded(&terminate, &denied), Some("TerminateInstances"));
        assert_eq!(recorded(&terminate, &Ec2Error::dry_run()), None);
        assert_eq!(recorded(&terminate, &Ec2Error::internal()), None);
        assert_eq!(recorded(&terminate, &Ec2Error::new(Code::ServiceUnavailable, "disk full")), None);
        assert_eq!(recorded(&describe, &Ec2Error::new(Code::InvalidInstanceIdNotFound, "no")), None);
        assert_eq!(recorded(&describe, &denied), Some("DescribeInstances"));
        assert_eq!(recorded(&unknown, &denied), None);
        assert_eq!(recorded(&params(&[]), &denied), None);
    }

    #[test]
    fn named_resources_come_from_id_parameters() {
        let p = params(&[
            ("Action", "AuthorizeSecurityGroupIngress"),
            ("GroupId", "sg-1"),
            ("IpPermissions.1.Groups.1.GroupId", "sg-2"),
            ("IpPermissions.1.FromPort", "22"),
            ("InstanceId.1", "i-1"),
            ("InstanceId.2", ""),
            ("UserData", "i-9"),
        ]);
        let mut named = named_resources(&p);
        named.sort();
        assert_eq!(named, ["i-1", "sg-1", "sg-2"]);
    }
}
