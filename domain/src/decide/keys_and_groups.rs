//! Key pairs and security groups: names unique per account (decided by the
//! account stream), rules and membership (decided by the group's stream).

use super::{Decision, Reply, need, resolve_group};
use crate::aggregate::StateView;
use crate::command::*;
use crate::error::DecideError;
use crate::event::*;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

type Events = Vec<(StreamId, Event)>;

/// CreateKeyPair, or ImportKeyPair (`imported`).
pub(super) fn create_key_pair(
    c: &NewKeyPair,
    imported: bool,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.key_pairs.contains_key(&c.name) {
        return Err(DecideError::KeyPairExists(c.name.clone()));
    }
    let stream = StreamId::account(&c.account);
    let mut events: Events = vec![(
        stream.clone(),
        KeyPairCreated {
            account: c.account.clone(),
            name: c.name.clone(),
            key_pair: c.key_pair.clone(),
            fingerprint: c.fingerprint.clone(),
            public_key: c.public_key.clone(),
            key_type: c.key_type.clone(),
            imported,
            at: c.at,
        }
        .into(),
    )];
    if !c.tags.is_empty() {
        let tags = crate::aggregates::tags::Tags::default();
        events.push((stream, tags.create(c.key_pair.as_str(), &c.tags, c.at)?));
    }
    Ok(events)
}

/// EC2 answers success for a key pair that does not exist (nothing changes).
pub(super) fn delete_key_pair(c: &DeleteKeyPair, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    let name = match (&c.name, &c.key_pair) {
        (Some(name), _) => account.key_pairs.contains_key(name).then(|| name.clone()),
        (None, Some(id)) => match account.key_pair_by_id(id.as_str()) {
            Some((name, _)) => Some(name.clone()),
            None => return Err(DecideError::KeyPairNotFound(id.to_string())),
        },
        (None, None) => None,
    };
    Ok(name
        .map(|name| {
            vec![(
                StreamId::account(&c.account),
                KeyPairDeleted { account: c.account.clone(), name, at: c.at }.into(),
            )]
        })
        .unwrap_or_default())
}

/// A new group's events: its name in the account, the group, and its
/// initial rules (egress to anywhere; the default group also lets its own
/// members in).
pub(super) fn new_group_events(
    account: &AccountId,
    group: &SecurityGroupId,
    name: &str,
    description: &str,
    default: bool,
    at: Timestamp,
) -> Events {
    let stream = StreamId::security_group(group);
    let everything = |source| SecurityRule { protocol: "-1".into(), from_port: -1, to_port: -1, source };
    let mut events: Events = vec![
        (StreamId::account(account), GroupNameClaimed { name: name.to_owned(), group: group.clone() }.into()),
        (
            stream.clone(),
            SecurityGroupCreated {
                group: group.clone(),
                account: account.clone(),
                name: name.to_owned(),
                description: description.to_owned(),
                at,
            }
            .into(),
        ),
        (
            stream.clone(),
            SecurityRulesAuthorized {
                direction: Direction::Egress,
                rules: vec![everything(RuleSource::Cidr("0.0.0.0/0".into()))],
                at,
            }
            .into(),
        ),
    ];
    if default {
        let own = RuleSource::Group { account: account.clone(), group: group.clone() };
        events.push((
            stream,
            SecurityRulesAuthorized { direction: Direction::Ingress, rules: vec![everything(own)], at }
                .into(),
        ));
    }
    events
}

pub(super) fn create_group(c: &CreateSecurityGroup, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.groups.contains_key(&c.name) {
        return Err(DecideError::GroupExists(c.name.clone()));
    }
    if view.get(&StreamId::security_group(&c.group)).is_some_and(|a| !a.is_empty()) {
        return Err(DecideError::IdInUse(c.group.to_string()));
    }
    let mut events = new_group_events(&c.account, &c.group, &c.name, &c.description, false, c.at);
    if !c.tags.is_empty() {
        let tags = crate::aggregates::tags::Tags::default();
        events.push((StreamId::security_group(&c.group), tags.create(c.group.as_str(), &c.tags, c.at)?));
    }
    Ok(events)
}

pub(super) fn delete_group(c: &DeleteSecurityGroup, view: &dyn StateView) -> Result<Decision, DecideError> {
    let id = resolve_group(view, &c.account, &c.group)?;
    need(view, [StreamId::security_group(&id)])?;
    let group = view.security_group(&id).ok_or_else(|| DecideError::GroupNotFound(id.to_string()))?;
    if group.name == "default" {
        return Err(DecideError::DefaultGroupUndeletable);
    }
    if !group.members.is_empty() {
        return Err(DecideError::GroupInUse { group: id, instances: group.members.len() });
    }
    if let Some(by) = group.referenced_by.keys().find(|by| **by != id) {
        return Err(DecideError::GroupReferenced { group: id.clone(), by: by.clone() });
    }
    Ok(Decision {
        events: vec![
            (
                StreamId::account(&c.account),
                GroupNameReleased { name: group.name.clone(), group: id.clone() }.into(),
            ),
            (StreamId::security_group(&id), SecurityGroupDeleted { at: c.at }.into()),
        ],
        reply: Reply::Group(id),
    })
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

/// Authorize (`authorize`) or revoke rules of `direction`.
pub(super) fn change_rules(
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
