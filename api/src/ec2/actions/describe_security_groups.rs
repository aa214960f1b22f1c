//! DescribeSecurityGroups: the caller's groups by name, id or filter, in
//! pages, with their rules in EC2's shape (rules of one protocol and port
//! range make one `ipPermissions` item with all their sources).

use super::security_group_rules::group_id;
use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use crate::ec2::tagging::tag_set;
use crate::ec2::xml::Xml;
use domain::{AccountId, DecideError, RuleSource, SecurityGroupId, SecurityRule};
use projections::{GroupRow, ReadModels};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Filters on rules, for ingress (`ip-permission.…`) and egress
/// (`egress.ip-permission.…`).
const RULE_FILTERS: &[&str] =
    &["protocol", "from-port", "to-port", "cidr", "group-id", "group-name", "user-id"];

fn known_filters() -> Vec<String> {
    let mut known: Vec<String> =
        ["group-name", "group-id", "description", "owner-id"].iter().map(|s| s.to_string()).collect();
    for prefix in ["ip-permission", "egress.ip-permission"] {
        known.extend(RULE_FILTERS.iter().map(|f| format!("{prefix}.{f}")));
    }
    known
}

#[derive(Debug)]
pub struct Request {
    names: Vec<String>,
    ids: Vec<SecurityGroupId>,
    filters: Vec<Filter>,
    page: Page,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ids = params.list("GroupId").into_iter().map(group_id).collect::<Result<Vec<_>, _>>()?;
    let filters = params.filters()?;
    let known = known_filters();
    check_names(&filters, &known.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(Request {
        names: params.list("GroupName").into_iter().map(str::to_owned).collect(),
        ids,
        filters,
        page: Page::parse(params, 5, 1000)?,
    })
}

/// One `ipPermissions` item: a protocol and port range with every source
/// the group's rules give it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Permission<'a> {
    pub protocol: &'a str,
    pub from_port: i32,
    pub to_port: i32,
    pub groups: Vec<Peer<'a>>,
    pub cidrs: Vec<&'a str>,
}

/// A group a rule names: by id, or (another account's) by name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Peer<'a> {
    Id(&'a AccountId, &'a SecurityGroupId),
    Name(&'a AccountId, &'a str),
}

/// Groups rules by protocol and port range, as EC2 answers them.
pub(crate) fn permissions(rules: &[SecurityRule]) -> Vec<Permission<'_>> {
    let mut sorted: Vec<&SecurityRule> = rules.iter().collect();
    sorted.sort();
    let mut out: Vec<Permission<'_>> = Vec::new();
    for rule in sorted {
        let same = |p: &Permission<'_>| {
            (p.protocol, p.from_port, p.to_port) == (rule.protocol.as_str(), rule.from_port, rule.to_port)
        };
        if !out.last().is_some_and(same) {
            out.push(Permission {
                protocol: &rule.protocol,
                from_port: rule.from_port,
                to_port: rule.to_port,
                groups: Vec::new(),
                cidrs: Vec::new(),
            });
        }
        let permission = out.last_mut().expect("just pushed");
        match &rule.source {
            RuleSource::Cidr(c) => permission.cidrs.push(c),
            RuleSource::Group { account, group } => permission.groups.push(Peer::Id(account, group)),
            RuleSource::NamedGroup { account, name } => permission.groups.push(Peer::Name(account, name)),
        }
    }
    out
}

/// `<ipPermissions>` or `<ipPermissionsEgress>` of a group of `owner`.
/// A group named by id shows its name only when it is `owner`'s own, as
/// EC2 does: of another account's group a rule shows the id and owner
/// it was given, whether or not that group exists.
pub(crate) fn render_permissions(
    x: &mut Xml,
    element: &'static str,
    rules: &[SecurityRule],
    owner: &AccountId,
    models: &ReadModels,
) {
    x.open(element);
    for p in permissions(rules) {
        x.open("item").text("ipProtocol", p.protocol);
        if p.protocol != "-1" {
            x.display("fromPort", p.from_port).display("toPort", p.to_port);
        }
        x.open("groups");
        for peer in &p.groups {
            x.open("item");
            match *peer {
                Peer::Id(account, group) => {
                    x.text("userId", account.as_str()).text("groupId", group.as_str());
                    x.opt("groupName", own_group_name(group, account, owner, models));
                }
                Peer::Name(account, name) => {
                    x.text("userId", account.as_str()).text("groupName", name);
                }
            }
            x.close();
        }
        x.close();
        x.open("ipRanges");
        for cidr in &p.cidrs {
            x.open("item").text("cidrIp", cidr).close();
        }
        x.close();
        x.empty("ipv6Ranges").empty("prefixListIds");
        x.close();
    }
    x.close();
}

/// The name of `group` when it is one of `owner`'s own groups.
fn own_group_name<'a>(
    group: &SecurityGroupId,
    account: &AccountId,
    owner: &AccountId,
    models: &'a ReadModels,
) -> Option<&'a str> {
    if account != owner {
        return None;
    }
    models.security.groups.get(group).filter(|g| &g.account == owner).map(|g| g.name.as_str())
}

/// The values a group has for a filter name.
fn values<'a>(
    id: &'a SecurityGroupId,
    row: &'a GroupRow,
    name: &str,
    models: &'a ReadModels,
) -> Vec<Cow<'a, str>> {
    let (rules, field) = match name.strip_prefix("egress.ip-permission.") {
        Some(field) => (&row.egress, field),
        None => match name.strip_prefix("ip-permission.") {
            Some(field) => (&row.ingress, field),
            None => {
                return match name {
                    "group-name" => vec![Cow::Borrowed(row.name.as_str())],
                    "group-id" => vec![Cow::Borrowed(id.as_str())],
                    "description" => vec![Cow::Borrowed(row.description.as_str())],
                    "owner-id" => vec![Cow::Borrowed(row.account.as_str())],
                    _ => Vec::new(),
                };
            }
        },
    };
    let ported = || rules.iter().filter(|r| r.protocol != "-1");
    let peers = || {
        rules.iter().filter_map(|r| match &r.source {
            RuleSource::Group { account, group } => Some(Peer::Id(account, group)),
            RuleSource::NamedGroup { account, name } => Some(Peer::Name(account, name)),
            RuleSource::Cidr(_) => None,
        })
    };
    match field {
        "protocol" => rules.iter().map(|r| Cow::Borrowed(r.protocol.as_str())).collect(),
        "from-port" => ported().map(|r| Cow::Owned(r.from_port.to_string())).collect(),
        "to-port" => ported().map(|r| Cow::Owned(r.to_port.to_string())).collect(),
        "cidr" => rules
            .iter()
            .filter_map(|r| match &r.source {
                RuleSource::Cidr(c) => Some(Cow::Borrowed(c.as_str())),
                RuleSource::Group { .. } | RuleSource::NamedGroup { .. } => None,
            })
            .collect(),
        "group-id" => peers()
            .filter_map(|p| match p {
                Peer::Id(_, g) => Some(Cow::Borrowed(g.as_str())),
                Peer::Name(..) => None,
            })
            .collect(),
        "group-name" => peers()
            .filter_map(|p| match p {
                Peer::Id(a, g) => own_group_name(g, a, &row.account, models).map(Cow::Borrowed),
                Peer::Name(_, name) => Some(Cow::Borrowed(name)),
            })
            .collect(),
        "user-id" => peers()
            .map(|p| match p {
                Peer::Id(a, _) | Peer::Name(a, _) => Cow::Borrowed(a.as_str()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let groups = &models.security.groups;
    let mut chosen: BTreeSet<&SecurityGroupId> = BTreeSet::new();
    let mut missing: Vec<String> = Vec::new();
    for name in &r.names {
        match models.security.group_by_name(account, name) {
            Some((id, _)) => {
                chosen.insert(id);
            }
            None => missing.push(name.clone()),
        }
    }
    for id in &r.ids {
        match groups.get_key_value(id) {
            Some((id, row)) if &row.account == account => {
                chosen.insert(id);
            }
            _ => missing.push(id.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(DecideError::GroupNotFound(missing.join(", ")).into());
    }
    let everything = r.names.is_empty() && r.ids.is_empty();
    let candidates = groups.iter().filter(|(id, row)| {
        let asked = if everything { &row.account == account } else { chosen.contains(id) };
        asked
            && r.page.after(id.as_str())
            && all_match(&r.filters, &models.tags, id.as_str(), |name| values(id, row, name, &models))
    });
    let (page, next) = r.page.take(candidates, |(id, _)| id.to_string());
    let mut x = ctx.response("DescribeSecurityGroupsResponse");
    x.open("securityGroupInfo");
    for (id, row) in page {
        x.open("item");
        x.text("ownerId", row.account.as_str());
        x.text("groupId", id.as_str());
        x.text("groupName", &row.name);
        x.text("groupDescription", &row.description);
        render_permissions(&mut x, "ipPermissions", &row.ingress, &row.account, &models);
        render_permissions(&mut x, "ipPermissionsEgress", &row.egress, &row.account, &models);
        tag_set(&mut x, &models.tags, id.as_str());
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Timestamp;

    fn account() -> AccountId {
        AccountId::parse("123456789012").unwrap()
    }

    fn sg(n: u128) -> SecurityGroupId {
        SecurityGroupId::from_bits(n)
    }

    fn rule(protocol: &str, from_port: i32, to_port: i32, source: RuleSource) -> SecurityRule {
        SecurityRule { protocol: protocol.into(), from_port, to_port, source }
    }

    fn cidr(c: &str) -> RuleSource {
        RuleSource::Cidr(c.into())
    }

    #[test]
    fn rules_of_one_protocol_and_port_range_make_one_permission() {
        let (a, web) = (account(), sg(1));
        let from_web = RuleSource::Group { account: a.clone(), group: web.clone() };
        let rules = vec![
            rule("tcp", 22, 22, cidr("10.0.0.0/8")),
            rule("icmp", -1, -1, from_web.clone()),
            rule("tcp", 80, 80, cidr("0.0.0.0/0")),
            rule("tcp", 22, 22, from_web.clone()),
            rule("tcp", 22, 22, cidr("192.0.2.0/24")),
        ];
        assert_eq!(
            permissions(&rules),
            vec![
                Permission {
                    protocol: "icmp",
                    from_port: -1,
                    to_port: -1,
                    groups: vec![Peer::Id(&a, &web)],
                    cidrs: vec![]
                },
                Permission {
                    protocol: "tcp",
                    from_port: 22,
                    to_port: 22,
                    groups: vec![Peer::Id(&a, &web)],
                    cidrs: vec!["10.0.0.0/8", "192.0.2.0/24"],
                },
                Permission {
                    protocol: "tcp",
                    from_port: 80,
                    to_port: 80,
                    groups: vec![],
                    cidrs: vec!["0.0.0.0/0"]
                },
            ]
        );
        assert!(permissions(&[]).is_empty());
    }

    #[test]
    fn permissions_render_in_ec2_shape() {
        let (a, web) = (account(), sg(1));
        let mut models = ReadModels::default();
        models.security.groups.insert(
            web.clone(),
            GroupRow {
                account: a.clone(),
                name: "web".into(),
                description: "d".into(),
                ingress: vec![],
                egress: vec![],
                members: 0,
                created_at: Timestamp(0),
            },
        );
        let rules = vec![
            rule("-1", -1, -1, cidr("0.0.0.0/0")),
            rule("tcp", 22, 22, RuleSource::Group { account: a.clone(), group: web.clone() }),
            rule("tcp", 22, 22, cidr("10.0.0.0/8")),
        ];
        let mut x = Xml::bare("r");
        render_permissions(&mut x, "ipPermissions", &rules, &a, &models);
        assert_eq!(
            x.finish(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r><ipPermissions>\
                 <item><ipProtocol>-1</ipProtocol><groups></groups>\
                 <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>\
                 <item><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort>\
                 <groups><item><userId>{a}</userId><groupId>{web}</groupId><groupName>web</groupName></item></groups>\
                 <ipRanges><item><cidrIp>10.0.0.0/8</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>\
                 </ipPermissions></r>"
            )
        );
    }

    #[test]
    fn another_accounts_group_shows_only_the_id_and_owner_it_was_given() {
        let (a, web) = (account(), sg(1));
        let b = AccountId::parse("210987654321").unwrap();
        let mut models = ReadModels::default();
        let row = |account: &AccountId, name: &str| GroupRow {
            account: account.clone(),
            name: name.into(),
            description: "d".into(),
            ingress: vec![],
            egress: vec![],
            members: 0,
            created_at: Timestamp(0),
        };
        models.security.groups.insert(web.clone(), row(&a, "secret-web"));
        // `b` names `a`'s group by id, an id that does not exist, and a name.
        let rules = vec![
            rule("tcp", 22, 22, RuleSource::Group { account: a.clone(), group: web.clone() }),
            rule("tcp", 22, 22, RuleSource::Group { account: a.clone(), group: sg(7) }),
            rule("tcp", 22, 22, RuleSource::NamedGroup { account: a.clone(), name: "g2".into() }),
        ];
        let mut x = Xml::bare("r");
        render_permissions(&mut x, "ipPermissions", &rules, &b, &models);
        let doc = x.finish();
        assert!(!doc.contains("secret-web"), "{doc}");
        assert!(doc.contains(&format!("<userId>{a}</userId><groupId>{web}</groupId></item>")), "{doc}");
        assert!(doc.contains(&format!("<userId>{a}</userId><groupId>{}</groupId></item>", sg(7))), "{doc}");
        assert!(doc.contains(&format!("<userId>{a}</userId><groupName>g2</groupName></item>")), "{doc}");
        let theirs = row(&b, "mine");
        let theirs = GroupRow { ingress: rules, ..theirs };
        let names: Vec<String> = values(&sg(9), &theirs, "ip-permission.group-name", &models)
            .into_iter()
            .map(|c| c.into_owned())
            .collect();
        assert_eq!(names, vec!["g2"]);
    }

    #[test]
    fn rule_filters_see_ingress_and_egress_apart() {
        let (a, web) = (account(), sg(1));
        let models = ReadModels::default();
        let row = GroupRow {
            account: a.clone(),
            name: "db".into(),
            description: "databases".into(),
            ingress: vec![
                rule("tcp", 5432, 5432, RuleSource::Group { account: a.clone(), group: web.clone() }),
                rule("-1", -1, -1, cidr("10.0.0.0/8")),
            ],
            egress: vec![rule("udp", 53, 53, cidr("0.0.0.0/0"))],
            members: 0,
            created_at: Timestamp(0),
        };
        let id = sg(2);
        let v = |name: &str| -> Vec<String> {
            values(&id, &row, name, &models).into_iter().map(|c| c.into_owned()).collect()
        };
        assert_eq!(v("ip-permission.protocol"), vec!["tcp", "-1"]);
        assert_eq!(v("ip-permission.from-port"), vec!["5432"]);
        assert_eq!(v("ip-permission.cidr"), vec!["10.0.0.0/8"]);
        assert_eq!(v("ip-permission.group-id"), vec![web.to_string()]);
        assert_eq!(v("ip-permission.user-id"), vec![a.to_string()]);
        assert_eq!(v("egress.ip-permission.protocol"), vec!["udp"]);
        assert_eq!(v("egress.ip-permission.to-port"), vec!["53"]);
        assert_eq!(v("egress.ip-permission.cidr"), vec!["0.0.0.0/0"]);
        assert_eq!(v("description"), vec!["databases"]);
        assert!(known_filters().contains(&"egress.ip-permission.group-name".to_string()));
    }
}
