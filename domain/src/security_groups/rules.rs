//! Authorize/RevokeSecurityGroupIngress/Egress: the rules of a group,
//! decided by the group's stream; the account's own groups a rule names
//! learn it, so that they are not deleted while it does.

use super::commands::{GroupRef, resolve_group};
use super::events::*;
use super::state::{Direction, RuleSource, SecurityRule};
use crate::aggregate::{StateView, need};
use crate::decide::{Decision, Reply};
use crate::error::DecideError;
use crate::event::Event;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

/// A rule as asked for: a group source may be named, in this or another
/// account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceRef {
    Cidr(String),
    Group { account: Option<AccountId>, group: GroupRef },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: SourceRef,
}

/// The rules of a group that Authorize/RevokeSecurityGroupIngress/Egress
/// add or take away (the verb says which and in what direction).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRules {
    pub account: AccountId,
    pub group: GroupRef,
    pub rules: Vec<RuleRef>,
    pub at: Timestamp,
}

impl GroupRules {
    /// The group's stream is asked for once its name is resolved.
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

/// Resolves rule sources that name groups of the caller's account.
/// Another account's group is recorded as named (by id, or by name), not
/// looked up: whether that account or group exists is not the caller's to
/// learn, so the answer is the same either way, and nothing of the other
/// account changes (see [`RuleSource::NamedGroup`]).
fn resolve_rules(
    c: &GroupRules,
    authorize: bool,
    view: &dyn StateView,
) -> Result<Vec<SecurityRule>, DecideError> {
    c.rules
        .iter()
        .map(|r| {
            let source = match &r.source {
                SourceRef::Cidr(cidr) => RuleSource::Cidr(cidr.clone()),
                SourceRef::Group { account: Some(owner), group } if *owner != c.account => match group {
                    GroupRef::Id(id) => RuleSource::Group { account: owner.clone(), group: id.clone() },
                    GroupRef::Name(name) => {
                        RuleSource::NamedGroup { account: owner.clone(), name: name.clone() }
                    }
                },
                SourceRef::Group { account, group } => {
                    let owner = account.clone().unwrap_or_else(|| c.account.clone());
                    let id = match (resolve_group(view, &owner, group), group, authorize) {
                        // A rule naming a group that has since gone can still be revoked.
                        (Err(DecideError::GroupNotFound(_)), GroupRef::Id(id), false) => id.clone(),
                        (resolved, _, _) => resolved?,
                    };
                    RuleSource::Group { account: owner, group: id }
                }
            };
            Ok(SecurityRule {
                protocol: r.protocol.clone(),
                from_port: r.from_port,
                to_port: r.to_port,
                source,
            })
        })
        .collect()
}

pub(crate) fn authorize_ingress(c: &GroupRules, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_rules(c, Direction::Ingress, true, view)
}

pub(crate) fn authorize_egress(c: &GroupRules, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_rules(c, Direction::Egress, true, view)
}

pub(crate) fn revoke_ingress(c: &GroupRules, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_rules(c, Direction::Ingress, false, view)
}

pub(crate) fn revoke_egress(c: &GroupRules, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_rules(c, Direction::Egress, false, view)
}

/// Authorize (`authorize`) or revoke rules of `direction`.
fn change_rules(
    c: &GroupRules,
    direction: Direction,
    authorize: bool,
    view: &dyn StateView,
) -> Result<Decision, DecideError> {
    let id = resolve_group(view, &c.account, &c.group)?;
    need(view, [StreamId::security_group(&id)])?;
    let rules = resolve_rules(c, authorize, view)?;
    let group = view.security_group(&id).ok_or_else(|| DecideError::GroupNotFound(id.to_string()))?;
    let event = if authorize {
        group.authorize(direction, &rules, c.at)?
    } else {
        group.revoke(direction, &rules, c.at)?
    };
    let mut events = vec![(StreamId::security_group(&id), event)];
    // The account's own groups the rules name learn it (a named group is
    // not deleted while rules name it); a group deleted meanwhile learns
    // nothing, and another account's groups are not touched.
    for rule in &rules {
        let RuleSource::Group { group: source, account } = &rule.source else { continue };
        if *account != c.account {
            continue;
        }
        need(view, [StreamId::security_group(source)])?;
        if view.security_group(source).is_none() {
            continue;
        }
        let by = id.clone();
        let fact: Event = if authorize {
            SecurityGroupReferenced { by }.into()
        } else {
            SecurityGroupDereferenced { by }.into()
        };
        events.push((StreamId::security_group(source), fact));
    }
    Ok(Decision { events, reply: Reply::Group(id) })
}
