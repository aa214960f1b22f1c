//! AuthorizeSecurityGroupIngress/Egress and RevokeSecurityGroupIngress/
//! Egress. Rules arrive in one of two shapes:
//!
//! - flat, as EC2-Classic defined them and older clients send them:
//!   `IpProtocol`, `FromPort`, `ToPort`, `CidrIp`, `SourceSecurityGroupName`,
//!   `SourceSecurityGroupOwnerId`;
//! - `IpPermissions.N.{IpProtocol,FromPort,ToPort}` with
//!   `IpRanges.M.CidrIp` and `Groups.M.{GroupId,GroupName,UserId}`, as
//!   boto3, the AWS CLI (`--ip-permissions`) and euca2ools 3 send them.
//!
//! Both become the same `RuleRef`s: the protocol in its EC2 name (`tcp`,
//! `udp`, `icmp`, `-1`), ports checked for it, one rule per source.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::command::{GroupRef, GroupRules, RuleRef, SourceRef};
use domain::{AccountId, Command, Direction, SecurityGroupId};
use std::collections::BTreeSet;

#[derive(Debug)]
pub struct Request {
    group: GroupRef,
    direction: Direction,
    authorize: bool,
    rules: Vec<RuleRef>,
}

pub fn parse_authorize_ingress(params: &Params) -> Result<Request, Ec2Error> {
    parse(params, Direction::Ingress, true)
}

pub fn parse_authorize_egress(params: &Params) -> Result<Request, Ec2Error> {
    parse(params, Direction::Egress, true)
}

pub fn parse_revoke_ingress(params: &Params) -> Result<Request, Ec2Error> {
    parse(params, Direction::Ingress, false)
}

pub fn parse_revoke_egress(params: &Params) -> Result<Request, Ec2Error> {
    parse(params, Direction::Egress, false)
}

fn parse(params: &Params, direction: Direction, authorize: bool) -> Result<Request, Ec2Error> {
    let group = group_ref(params, "GroupId", "GroupName")?
        .ok_or_else(|| Ec2Error::missing("GroupId or GroupName"))?;
    let flat = flat_rules(params)?;
    let listed = !permission_indices(params).is_empty();
    if listed && !flat.is_empty() {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameter IpPermissions cannot be used with IpProtocol, FromPort, ToPort, CidrIp \
             or SourceSecurityGroupName",
        ));
    }
    let rules = if listed { permission_rules(params)? } else { flat };
    if rules.is_empty() {
        return Err(Ec2Error::missing("IpPermissions"));
    }
    Ok(Request { group, direction, authorize, rules })
}

fn non_empty<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).filter(|v| !v.is_empty())
}

/// A group named by `id_key` or `name_key`. A name that is a well-formed
/// group id is taken as one: EC2 refuses names starting with `sg-`, and
/// euca2ools 3.4 sends ids longer than 8 hex digits as names.
pub(crate) fn group_ref(params: &Params, id_key: &str, name_key: &str) -> Result<Option<GroupRef>, Ec2Error> {
    match (non_empty(params, id_key), non_empty(params, name_key)) {
        (Some(_), Some(_)) => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("The parameter {name_key} cannot be used with the parameter {id_key}"),
        )),
        (Some(id), None) => Ok(Some(GroupRef::Id(group_id(id)?))),
        (None, Some(name)) => Ok(Some(named_group(name))),
        (None, None) => Ok(None),
    }
}

pub(crate) fn group_id(id: &str) -> Result<SecurityGroupId, Ec2Error> {
    SecurityGroupId::parse(id)
        .map_err(|_| Ec2Error::new(Code::InvalidGroupIdMalformed, format!("Invalid id: \"{id}\"")))
}

fn named_group(name: &str) -> GroupRef {
    match SecurityGroupId::parse(name) {
        Ok(id) => GroupRef::Id(id),
        Err(_) => GroupRef::Name(name.to_owned()),
    }
}

/// EC2's name for a protocol given by name or number.
fn protocol(value: &str) -> Result<&'static str, Ec2Error> {
    match value.to_ascii_lowercase().as_str() {
        "tcp" | "6" => Ok("tcp"),
        "udp" | "17" => Ok("udp"),
        "icmp" | "1" => Ok("icmp"),
        "-1" | "all" => Ok("-1"),
        _ => Err(Ec2Error::new(
            Code::InvalidPermissionMalformed,
            format!("Unsupported IP protocol \"{value}\"  - supported: [tcp, udp, icmp, -1]"),
        )),
    }
}

/// The port range of a rule: TCP/UDP ports (both needed, 0–65535, from ≤
/// to), ICMP type and code (-1 for all; all types means all codes), and
/// -1/-1 for all protocols, whatever was asked.
fn ports(protocol: &str, from: Option<i64>, to: Option<i64>) -> Result<(i32, i32), Ec2Error> {
    match protocol {
        "-1" => Ok((-1, -1)),
        "icmp" => {
            let (kind, code) = (from.unwrap_or(-1), to.unwrap_or(-1));
            for (what, v) in [("type", kind), ("code", code)] {
                if !(-1..=255).contains(&v) {
                    return Err(Ec2Error::invalid(format!(
                        "Invalid value '{v}' for ICMP {what}: expected -1 (all) or 0 to 255."
                    )));
                }
            }
            if kind == -1 && code != -1 {
                return Err(Ec2Error::invalid("ICMP code must be -1 when the ICMP type is -1 (all types)."));
            }
            Ok((kind as i32, code as i32))
        }
        _ => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(Ec2Error::invalid(
                    "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.",
                ));
            };
            for (what, v) in [("fromPort", from), ("toPort", to)] {
                if !(0..=65535).contains(&v) {
                    return Err(Ec2Error::invalid(format!(
                        "Invalid value '{v}' for {what}. Must be in the range 0 to 65535."
                    )));
                }
            }
            if from > to {
                return Err(Ec2Error::invalid(format!(
                    "Invalid TCP/UDP port range: fromPort ({from}) is greater than toPort ({to})."
                )));
            }
            Ok((from as i32, to as i32))
        }
    }
}

/// An IPv4 CIDR block `a.b.c.d/n`: four decimal octets without leading
/// zeros, a prefix length of 0–32.
fn cidr(value: &str) -> Result<String, Ec2Error> {
    let bad = || {
        Ec2Error::invalid(format!(
            "Value ({value}) for parameter cidrIp is invalid. This is not a valid CIDR block."
        ))
    };
    let number = |s: &str, max: u32| -> Option<u32> {
        let ok = !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        let ok = ok && !(s.len() > 1 && s.starts_with('0'));
        ok.then(|| s.parse::<u32>().ok()).flatten().filter(|n| *n <= max)
    };
    let (address, prefix) = value.split_once('/').ok_or_else(bad)?;
    let octets: Vec<&str> = address.split('.').collect();
    if octets.len() != 4 || octets.iter().any(|o| number(o, 255).is_none()) || number(prefix, 32).is_none() {
        return Err(bad());
    }
    Ok(value.to_owned())
}

fn owner(value: Option<&str>) -> Result<Option<AccountId>, Ec2Error> {
    value
        .map(|v| {
            AccountId::parse(v).map_err(|_| {
                Ec2Error::invalid(format!(
                    "Value ({v}) for parameter userId is invalid. Expected a 12-digit account id."
                ))
            })
        })
        .transpose()
}

fn no_source() -> Ec2Error {
    Ec2Error::new(
        Code::InvalidPermissionMalformed,
        "A rule needs a source: a CIDR block or a security group.",
    )
}

/// The flat (EC2-Classic) parameters; empty when none is given.
fn flat_rules(params: &Params) -> Result<Vec<RuleRef>, Ec2Error> {
    let ip_protocol = non_empty(params, "IpProtocol");
    let cidr_ip = non_empty(params, "CidrIp");
    let source = non_empty(params, "SourceSecurityGroupName");
    let source_owner = owner(non_empty(params, "SourceSecurityGroupOwnerId"))?;
    let (from, to) = (params.int("FromPort")?, params.int("ToPort")?);
    let group_source =
        source.map(|name| SourceRef::Group { account: source_owner.clone(), group: named_group(name) });
    let Some(ip_protocol) = ip_protocol else {
        return match (&group_source, cidr_ip, from, to) {
            (None, None, None, None) if source_owner.is_none() => Ok(Vec::new()),
            // EC2-Classic: a source group alone opens all of TCP, UDP and ICMP.
            (Some(source), None, None, None) => Ok([("tcp", 0, 65535), ("udp", 0, 65535), ("icmp", -1, -1)]
                .into_iter()
                .map(|(protocol, from_port, to_port)| RuleRef {
                    protocol: protocol.to_owned(),
                    from_port,
                    to_port,
                    source: source.clone(),
                })
                .collect()),
            _ => Err(Ec2Error::missing("IpProtocol")),
        };
    };
    let protocol = protocol(ip_protocol)?;
    let (from_port, to_port) = ports(protocol, from, to)?;
    let source = match (cidr_ip, group_source) {
        (Some(_), Some(_)) => {
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                "The parameter CidrIp cannot be used with the parameter SourceSecurityGroupName",
            ));
        }
        (Some(c), None) => SourceRef::Cidr(cidr(c)?),
        (None, Some(g)) => g,
        (None, None) => return Err(no_source()),
    };
    Ok(vec![RuleRef { protocol: protocol.to_owned(), from_port, to_port, source }])
}

/// The indices N of every `IpPermissions.N.…` parameter: an entry with
/// sources but no protocol is one too (and refused for its missing
/// `IpProtocol`, not dropped).
fn permission_indices(params: &Params) -> BTreeSet<u64> {
    params
        .pairs()
        .filter_map(|(name, _)| name.strip_prefix("IpPermissions.")?.split('.').next()?.parse().ok())
        .collect()
}

/// The indices N of `prefix.N.field` over several fields, in order.
fn indices(params: &Params, prefix: &str, fields: &[&str]) -> BTreeSet<u64> {
    fields.iter().flat_map(|f| params.list_fields(prefix, f)).map(|(n, _)| n).collect()
}

/// `IpPermissions.N…`; empty when none is given.
fn permission_rules(params: &Params) -> Result<Vec<RuleRef>, Ec2Error> {
    let mut rules = Vec::new();
    for n in permission_indices(params) {
        let key = |field: &str| format!("IpPermissions.{n}.{field}");
        let ip_protocol =
            non_empty(params, &key("IpProtocol")).ok_or_else(|| Ec2Error::missing(&key("IpProtocol")))?;
        let protocol = protocol(ip_protocol)?;
        let (from_port, to_port) =
            ports(protocol, params.int(&key("FromPort"))?, params.int(&key("ToPort"))?)?;
        let unsupported =
            [("Ipv6Ranges", "CidrIpv6", "IPv6 ranges"), ("PrefixListIds", "PrefixListId", "prefix lists")];
        for (list, field, what) in unsupported {
            if !params.list_fields(&key(list), field).is_empty() {
                return Err(Ec2Error::invalid(format!(
                    "Security group rules with {what} are not supported."
                )));
            }
        }
        let mut sources = Vec::new();
        let ranges = params.list_fields(&key("IpRanges"), "CidrIp");
        for (_, c) in &ranges {
            sources.push(SourceRef::Cidr(cidr(c)?));
        }
        let groups = key("Groups");
        for m in indices(params, &groups, &["GroupId", "GroupName", "UserId"]) {
            let group =
                group_ref(params, &format!("{groups}.{m}.GroupId"), &format!("{groups}.{m}.GroupName"))?
                    .ok_or_else(|| Ec2Error::missing(&format!("{groups}.{m}.GroupId")))?;
            let account = owner(non_empty(params, &format!("{groups}.{m}.UserId")))?;
            sources.push(SourceRef::Group { account, group });
        }
        // euca2ools 3 (`euca-authorize -o GROUP`) always adds the whole
        // Internet as a range beside the group it names; Eucalyptus took
        // such a rule as from the group alone (a rule is from groups or
        // from CIDRs, never both), and so does Yukari: that shape would
        // otherwise open the port to everyone.
        let with_group = sources.iter().any(|s| matches!(s, SourceRef::Group { .. }));
        let only_everywhere = ranges.len() == 1 && ranges[0].1 == "0.0.0.0/0";
        if with_group && only_everywhere {
            sources.retain(|s| matches!(s, SourceRef::Group { .. }));
        }
        if sources.is_empty() {
            return Err(no_source());
        }
        rules.extend(sources.into_iter().map(|source| RuleRef {
            protocol: protocol.to_owned(),
            from_port,
            to_port,
            source,
        }));
    }
    Ok(rules)
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let rules = GroupRules { account: ctx.account().clone(), group: r.group, rules: r.rules, at: now() };
    let (root, command) = match (r.direction, r.authorize) {
        (Direction::Ingress, true) => {
            ("AuthorizeSecurityGroupIngressResponse", Command::AuthorizeSecurityGroupIngress(rules))
        }
        (Direction::Egress, true) => {
            ("AuthorizeSecurityGroupEgressResponse", Command::AuthorizeSecurityGroupEgress(rules))
        }
        (Direction::Ingress, false) => {
            ("RevokeSecurityGroupIngressResponse", Command::RevokeSecurityGroupIngress(rules))
        }
        (Direction::Egress, false) => {
            ("RevokeSecurityGroupEgressResponse", Command::RevokeSecurityGroupEgress(rules))
        }
    };
    ctx.execute(app, command).await?;
    let mut x = ctx.response(root);
    x.display("return", true);
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SG: &str = "sg-0123456789abcdef0";

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    fn rule(protocol: &str, from_port: i32, to_port: i32, source: SourceRef) -> RuleRef {
        RuleRef { protocol: protocol.into(), from_port, to_port, source }
    }

    fn cidr_source(c: &str) -> SourceRef {
        SourceRef::Cidr(c.into())
    }

    fn code(params: &[(&str, &str)]) -> &'static str {
        parse_authorize_ingress(&p(params)).unwrap_err().code.as_str()
    }

    #[test]
    fn flat_parameters_as_euca2ools_and_old_clients_send_them() {
        let r = parse_authorize_ingress(&p(&[
            ("GroupName", "web"),
            ("IpProtocol", "tcp"),
            ("FromPort", "22"),
            ("ToPort", "22"),
            ("CidrIp", "10.0.0.0/8"),
        ]))
        .unwrap();
        assert_eq!(r.group, GroupRef::Name("web".into()));
        assert_eq!((r.direction, r.authorize), (Direction::Ingress, true));
        assert_eq!(r.rules, vec![rule("tcp", 22, 22, cidr_source("10.0.0.0/8"))]);

        let r = parse_revoke_egress(&p(&[
            ("GroupId", SG),
            ("IpProtocol", "17"),
            ("FromPort", "53"),
            ("ToPort", "53"),
            ("CidrIp", "0.0.0.0/0"),
        ]))
        .unwrap();
        assert_eq!(r.group, GroupRef::Id(SecurityGroupId::parse(SG).unwrap()));
        assert_eq!((r.direction, r.authorize), (Direction::Egress, false));
        assert_eq!(r.rules, vec![rule("udp", 53, 53, cidr_source("0.0.0.0/0"))]);
    }

    #[test]
    fn a_flat_source_group_alone_opens_tcp_udp_and_icmp() {
        let r = parse_authorize_ingress(&p(&[
            ("GroupName", "db"),
            ("SourceSecurityGroupName", "web"),
            ("SourceSecurityGroupOwnerId", "123456789012"),
        ]))
        .unwrap();
        let source = SourceRef::Group {
            account: Some(AccountId::parse("123456789012").unwrap()),
            group: GroupRef::Name("web".into()),
        };
        assert_eq!(
            r.rules,
            vec![
                rule("tcp", 0, 65535, source.clone()),
                rule("udp", 0, 65535, source.clone()),
                rule("icmp", -1, -1, source)
            ]
        );
    }

    #[test]
    fn ip_permissions_as_boto3_and_the_aws_cli_send_them() {
        let r = parse_authorize_ingress(&p(&[
            ("GroupId", SG),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "80"),
            ("IpPermissions.1.ToPort", "443"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "192.0.2.0/24"),
            ("IpPermissions.1.IpRanges.2.CidrIp", "198.51.100.7/32"),
            ("IpPermissions.1.Groups.1.GroupName", "web"),
            ("IpPermissions.1.Groups.1.UserId", "123456789012"),
            ("IpPermissions.2.IpProtocol", "icmp"),
            ("IpPermissions.2.FromPort", "8"),
            ("IpPermissions.2.ToPort", "-1"),
            ("IpPermissions.2.Groups.1.GroupId", SG),
            ("IpPermissions.3.IpProtocol", "-1"),
            ("IpPermissions.3.FromPort", "0"),
            ("IpPermissions.3.ToPort", "65535"),
            ("IpPermissions.3.IpRanges.1.CidrIp", "10.1.0.0/16"),
        ]))
        .unwrap();
        let web = SourceRef::Group {
            account: Some(AccountId::parse("123456789012").unwrap()),
            group: GroupRef::Name("web".into()),
        };
        let own =
            SourceRef::Group { account: None, group: GroupRef::Id(SecurityGroupId::parse(SG).unwrap()) };
        assert_eq!(
            r.rules,
            vec![
                rule("tcp", 80, 443, cidr_source("192.0.2.0/24")),
                rule("tcp", 80, 443, cidr_source("198.51.100.7/32")),
                rule("tcp", 80, 443, web),
                rule("icmp", 8, -1, own),
                // All protocols: the ports asked for do not matter.
                rule("-1", -1, -1, cidr_source("10.1.0.0/16")),
            ]
        );
    }

    #[test]
    fn euca2ools_authorize_from_a_group_does_not_open_the_port_to_everyone() {
        // `euca-authorize -P tcp -p 5000 -o g2 -u ACCOUNT default` and
        // `-o sg-…`: euca2ools 3.4 adds 0.0.0.0/0 beside the group.
        for (field, value, group) in [
            ("GroupName", "g2", GroupRef::Name("g2".into())),
            ("GroupId", SG, GroupRef::Id(SecurityGroupId::parse(SG).unwrap())),
        ] {
            for parse in [parse_authorize_ingress, parse_revoke_ingress] {
                let r = parse(&p(&[
                    ("GroupName", "default"),
                    ("IpPermissions.1.IpProtocol", "tcp"),
                    ("IpPermissions.1.FromPort", "5000"),
                    ("IpPermissions.1.ToPort", "5000"),
                    (&format!("IpPermissions.1.Groups.1.{field}"), value),
                    ("IpPermissions.1.Groups.1.UserId", "123456789012"),
                    ("IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"),
                ]))
                .unwrap();
                let source = SourceRef::Group {
                    account: Some(AccountId::parse("123456789012").unwrap()),
                    group: group.clone(),
                };
                assert_eq!(r.rules, vec![rule("tcp", 5000, 5000, source)]);
            }
        }
        // Narrower ranges beside a group are what the caller asked for.
        let r = parse_authorize_ingress(&p(&[
            ("GroupName", "default"),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "22"),
            ("IpPermissions.1.ToPort", "22"),
            ("IpPermissions.1.Groups.1.GroupName", "g2"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8"),
        ]))
        .unwrap();
        assert_eq!(r.rules.len(), 2);
        assert_eq!(r.rules[0].source, cidr_source("10.0.0.0/8"));
    }

    #[test]
    fn euca2ools_3_sends_long_group_ids_as_names() {
        // euca2ools 3.4 takes only 11-character `sg-` ids for ids.
        let r = parse_authorize_ingress(&p(&[
            ("GroupName", SG),
            ("IpPermissions.1.IpProtocol", "6"),
            ("IpPermissions.1.FromPort", "22"),
            ("IpPermissions.1.ToPort", "22"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"),
        ]))
        .unwrap();
        assert_eq!(r.group, GroupRef::Id(SecurityGroupId::parse(SG).unwrap()));
        assert_eq!(r.rules, vec![rule("tcp", 22, 22, cidr_source("0.0.0.0/0"))]);
    }

    #[test]
    fn protocols_have_names_and_numbers() {
        for (given, name) in [
            ("TCP", "tcp"),
            ("6", "tcp"),
            ("udp", "udp"),
            ("17", "udp"),
            ("1", "icmp"),
            ("all", "-1"),
            ("-1", "-1"),
        ] {
            assert_eq!(protocol(given).unwrap(), name, "{given}");
        }
        assert_eq!(protocol("gre").unwrap_err().code, "InvalidPermission.Malformed");
        assert_eq!(protocol("47").unwrap_err().code, "InvalidPermission.Malformed");
    }

    #[test]
    fn ports_are_checked_for_their_protocol() {
        assert_eq!(ports("tcp", Some(0), Some(65535)).unwrap(), (0, 65535));
        assert_eq!(ports("icmp", None, None).unwrap(), (-1, -1));
        assert_eq!(ports("icmp", Some(3), Some(4)).unwrap(), (3, 4));
        assert_eq!(ports("-1", Some(5), None).unwrap(), (-1, -1));
        for (protocol, from, to) in [
            ("tcp", Some(22), None),
            ("tcp", Some(-1), Some(-1)),
            ("udp", Some(0), Some(65536)),
            ("tcp", Some(100), Some(99)),
            ("icmp", Some(256), Some(0)),
            ("icmp", Some(-2), Some(0)),
            ("icmp", Some(-1), Some(3)),
        ] {
            assert_eq!(
                ports(protocol, from, to).unwrap_err().code,
                "InvalidParameterValue",
                "{protocol} {from:?} {to:?}"
            );
        }
    }

    #[test]
    fn cidrs_are_ipv4_blocks() {
        for good in ["0.0.0.0/0", "10.0.0.0/8", "192.0.2.1/32", "255.255.255.255/32"] {
            assert_eq!(cidr(good).unwrap(), good);
        }
        for bad in [
            "10.0.0.0",
            "10.0.0/8",
            "10.0.0.256/8",
            "10.0.0.0/33",
            "010.0.0.0/8",
            "a.b.c.d/8",
            "::/0",
            "10.0.0.0/",
            " 10.0.0.0/8",
        ] {
            assert_eq!(cidr(bad).unwrap_err().code, "InvalidParameterValue", "{bad}");
        }
    }

    #[test]
    fn malformed_requests_get_ec2_codes() {
        let tcp22 = [("IpProtocol", "tcp"), ("FromPort", "22"), ("ToPort", "22")];
        assert_eq!(code(&[("IpProtocol", "tcp")]), "MissingParameter");
        assert_eq!(code(&[("GroupName", "web")]), "MissingParameter");
        assert_eq!(code(&[("GroupId", "sg-nope"), ("IpProtocol", "tcp")]), "InvalidGroupId.Malformed");
        assert_eq!(code(&[&[("GroupName", "web")], &tcp22[..]].concat()), "InvalidPermission.Malformed");
        assert_eq!(
            code(&[&[("GroupName", "web"), ("CidrIp", "1.2.3.4/40")], &tcp22[..]].concat()),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(
                &[
                    &[("GroupName", "web"), ("CidrIp", "1.2.3.4/32"), ("SourceSecurityGroupName", "db")],
                    &tcp22[..]
                ]
                .concat()
            ),
            "InvalidParameterCombination"
        );
        assert_eq!(code(&[("GroupName", "web"), ("CidrIp", "1.2.3.4/32")]), "MissingParameter");
        assert_eq!(
            code(&[
                ("GroupName", "web"),
                ("IpPermissions.1.IpProtocol", "tcp"),
                ("IpPermissions.1.FromPort", "1"),
                ("IpPermissions.1.ToPort", "2"),
            ]),
            "InvalidPermission.Malformed"
        );
        // An entry with a source but no protocol is refused, not dropped.
        let second_without_protocol = parse_authorize_ingress(&p(&[
            ("GroupName", "web"),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "22"),
            ("IpPermissions.1.ToPort", "22"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8"),
            ("IpPermissions.2.IpRanges.1.CidrIp", "0.0.0.0/0"),
        ]))
        .unwrap_err();
        assert_eq!(second_without_protocol.code, "MissingParameter");
        assert!(second_without_protocol.message.contains("IpPermissions.2.IpProtocol"));
        assert_eq!(
            code(&[
                ("GroupName", "web"),
                ("IpPermissions.1.IpProtocol", "tcp"),
                ("IpPermissions.1.FromPort", "1"),
                ("IpPermissions.1.ToPort", "2"),
                ("IpPermissions.1.Ipv6Ranges.1.CidrIpv6", "::/0"),
            ]),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(&[
                ("GroupName", "web"),
                ("IpPermissions.1.IpProtocol", "udp"),
                ("IpPermissions.1.FromPort", "1"),
                ("IpPermissions.1.ToPort", "2"),
                ("IpPermissions.1.Groups.1.GroupName", "db"),
                ("IpPermissions.1.Groups.1.UserId", "alice"),
            ]),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(
                &[
                    &[("GroupName", "web"), ("CidrIp", "1.2.3.4/32"), ("IpPermissions.1.IpProtocol", "tcp")],
                    &tcp22[..]
                ]
                .concat()
            ),
            "InvalidParameterCombination"
        );
    }
}
