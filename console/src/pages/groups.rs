//! Security groups: the list (a page at a time, in id order) with a form
//! for a new one, and one group's rules with an editor (a rule added or
//! removed is EC2's Authorize/RevokeSecurityGroupIngress/Egress, with
//! IpPermissions).

use super::{Chrome, Form, PageQuery, Paging, Signed, done, failed, paged, q, render};
use crate::Console;
use crate::ec2::{self, Call};
use crate::i18n::Tr;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::{AccountId, Direction, RuleSource, SecurityRule};
use projections::ReadModels;
use std::ops::Bound;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/groups", get(list).post(create))
        .route("/groups/{id}", get(details))
        .route("/groups/{id}/rules", post(change_rule))
        .route("/groups/{id}/delete", post(delete))
}

pub(crate) struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub ingress: usize,
    pub egress: usize,
    pub members: String,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct Groups {
    chrome: Chrome,
    groups: Vec<Group>,
    paging: Paging,
}

/// A page of the account's groups, in id order. The read models keep
/// groups by id only (no index by account), so the walk starts at the
/// page's start and passes over other accounts' groups until the page is
/// full.
fn groups_of(
    tr: &Tr,
    models: &ReadModels,
    account: &AccountId,
    page: &PageQuery,
    size: usize,
) -> (Vec<Group>, Paging) {
    let after = match page.after.as_str() {
        "" => Bound::Unbounded,
        after => Bound::Excluded(after),
    };
    let groups = models
        .security
        .groups
        .range::<str, _>((after, Bound::Unbounded))
        .filter(|(_, g)| &g.account == account)
        .map(|(id, g)| Group {
            id: id.to_string(),
            name: g.name.clone(),
            description: g.description.clone(),
            ingress: g.ingress.len(),
            egress: g.egress.len(),
            members: tr.number(u64::from(g.members)),
        });
    paged(groups, page, size, |g| &g.id)
}

async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(page): Query<PageQuery>,
) -> Response {
    let tr = signed.tr;
    let (groups, paging) = {
        let models = console.app.projections.read();
        groups_of(&tr, &models, &signed.session.account, &page, console.config.page_size)
    };
    let chrome = Chrome::new(&console, &signed, "groups", tr.msg("groups-title"));
    render(&Groups { chrome, groups, paging })
}

async fn create(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let name = form.get("name").trim().to_owned();
    let call = Call::new("CreateSecurityGroup")
        .param("GroupName", name.clone())
        .param("GroupDescription", form.get("description").trim());
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(answer) => {
            let to = answer
                .first("groupId")
                .map_or_else(|| "/groups".to_owned(), |id| format!("/groups/{}", q(&id)));
            done(&console, &signed, &to, "group-created", &[("name", &name)])
        }
        Err(e) => failed(&console, &signed, "/groups", &e),
    }
}

/// One rule as shown, with what its removal form sends back.
pub(crate) struct Rule {
    pub direction: &'static str,
    pub protocol: String,
    pub protocol_text: String,
    pub ports: String,
    pub from: String,
    pub to: String,
    /// What the source is, as shown.
    pub source: String,
    /// The removal form's fields for the source.
    pub cidr: String,
    pub group: String,
    pub group_name: String,
    pub owner: String,
}

fn rule(tr: &Tr, direction: &'static str, r: &SecurityRule) -> Rule {
    let (protocol_text, ports) = match r.protocol.as_str() {
        "-1" => (tr.msg("rule-protocol-all"), tr.msg("rule-ports-all")),
        "icmp" if r.from_port == -1 => ("ICMP".to_owned(), tr.msg("rule-ports-all")),
        "icmp" => ("ICMP".to_owned(), format!("{}/{}", r.from_port, r.to_port)),
        p if r.from_port == r.to_port => (p.to_uppercase(), r.from_port.to_string()),
        p => (p.to_uppercase(), format!("{}–{}", r.from_port, r.to_port)),
    };
    let (mut cidr, mut group, mut group_name, mut owner) =
        (String::new(), String::new(), String::new(), String::new());
    let source = match &r.source {
        RuleSource::Cidr(c) => {
            cidr = c.clone();
            c.clone()
        }
        RuleSource::Group { account, group: g } => {
            group = g.to_string();
            owner = account.to_string();
            format!("{g} ({account})")
        }
        RuleSource::NamedGroup { account, name } => {
            group_name = name.clone();
            owner = account.to_string();
            format!("{account}/{name}")
        }
    };
    Rule {
        direction,
        protocol: r.protocol.clone(),
        protocol_text,
        ports,
        from: r.from_port.to_string(),
        to: r.to_port.to_string(),
        source,
        cidr,
        group,
        group_name,
        owner,
    }
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    chrome: Chrome,
    id: String,
    description: String,
    rules: Vec<Rule>,
}

async fn details(State(console): State<Arc<Console>>, signed: Signed, Path(id): Path<String>) -> Response {
    let tr = signed.tr;
    let found = {
        let models = console.app.projections.read();
        domain::SecurityGroupId::parse(&id)
            .ok()
            .and_then(|gid| models.security.groups.get(&gid).cloned())
            .filter(|g| g.account == signed.session.account)
    };
    let Some(g) = found else { return super::instances::not_found(&console, &signed) };
    let rules = g
        .ingress
        .iter()
        .map(|r| rule(&tr, "ingress", r))
        .chain(g.egress.iter().map(|r| rule(&tr, "egress", r)))
        .collect();
    let chrome = Chrome::new(&console, &signed, "groups", tr.msg_args("group-title", &[("name", &g.name)]));
    render(&GroupPage { chrome, id, description: g.description, rules })
}

/// Adds or removes one rule: the form's direction, protocol, ports and
/// source (a CIDR block, or a group id `sg-…`).
async fn change_rule(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let back = format!("/groups/{}", q(&id));
    let add = form.get("op") != "remove";
    let action = match (Direction::Egress == direction(form.get("direction")), add) {
        (false, true) => "AuthorizeSecurityGroupIngress",
        (true, true) => "AuthorizeSecurityGroupEgress",
        (false, false) => "RevokeSecurityGroupIngress",
        (true, false) => "RevokeSecurityGroupEgress",
    };
    let p = "IpPermissions.1";
    let mut call = Call::new(action)
        .param("GroupId", id.clone())
        .param(format!("{p}.IpProtocol"), form.get("protocol"))
        .optional(&format!("{p}.FromPort"), form.get("from"))
        .optional(&format!("{p}.ToPort"), form.get("to"));
    let (source, group, group_name) = (form.get("source").trim(), form.get("group"), form.get("group_name"));
    if !group.is_empty() || source.starts_with("sg-") {
        let group = if group.is_empty() { source } else { group };
        call = call
            .param(format!("{p}.Groups.1.GroupId"), group)
            .optional(&format!("{p}.Groups.1.UserId"), form.get("owner"));
    } else if !group_name.is_empty() {
        call = call
            .param(format!("{p}.Groups.1.GroupName"), group_name)
            .optional(&format!("{p}.Groups.1.UserId"), form.get("owner"));
    } else {
        let cidr = if form.get("cidr").is_empty() { source } else { form.get("cidr") };
        call = call.param(format!("{p}.IpRanges.1.CidrIp"), cidr);
    }
    let key = if add { "rule-added" } else { "rule-removed" };
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(_) => done(&console, &signed, &back, key, &[]),
        Err(e) => failed(&console, &signed, &back, &e),
    }
}

fn direction(value: &str) -> Direction {
    if value == "egress" { Direction::Egress } else { Direction::Ingress }
}

async fn delete(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    drop(form);
    let call = Call::new("DeleteSecurityGroup").param("GroupId", id.clone());
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(_) => done(&console, &signed, "/groups", "group-deleted", &[("id", &id)]),
        Err(e) => failed(&console, &signed, &format!("/groups/{}", q(&id)), &e),
    }
}
