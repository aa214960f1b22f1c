//! A security group's state: its rules, its members, who names it; and the
//! rules on changing them.

use super::events::*;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::error::DecideError;
use crate::ids::{AccountId, InstanceId, SecurityGroupId};
use crate::model::Timestamp;
use crate::registry::SecurityGroupEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which traffic a security group rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    Ingress,
    Egress,
}

/// Where traffic of a rule comes from (ingress) or goes to (egress).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RuleSource {
    /// An IPv4 CIDR block, e.g. `0.0.0.0/0`.
    Cidr(String),
    /// The members of a security group (of this or another account).
    Group { account: AccountId, group: SecurityGroupId },
    /// The members of another account's group named `name`, if it has
    /// one: a reference by name (euca2ools' `-o NAME -u ACCOUNT`) kept as
    /// given, since looking it up would tell the caller whether that
    /// account and group exist.
    NamedGroup { account: AccountId, name: String },
}

/// One security group rule: a protocol and port range for one source.
/// `protocol` is `tcp`, `udp`, `icmp` or `-1` (all); for icmp the ports are
/// type and code, `-1` meaning all.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecurityRule {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: RuleSource,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SecurityGroup {
    pub id: SecurityGroupId,
    pub account: AccountId,
    pub name: String,
    pub ingress: BTreeSet<SecurityRule>,
    pub egress: BTreeSet<SecurityRule>,
    pub members: BTreeSet<InstanceId>,
    /// Rules of other groups (or of this one) naming this group: how many,
    /// by group.
    pub referenced_by: std::collections::BTreeMap<SecurityGroupId, u32>,
    pub deleted: bool,
    pub tags: Tags,
}

impl State for SecurityGroup {
    type Created = SecurityGroupCreated;

    fn created(e: &SecurityGroupCreated) -> Self {
        SecurityGroup {
            id: e.group.clone(),
            account: e.account.clone(),
            name: e.name.clone(),
            ingress: BTreeSet::new(),
            egress: BTreeSet::new(),
            members: BTreeSet::new(),
            referenced_by: std::collections::BTreeMap::new(),
            deleted: false,
            tags: Tags::default(),
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        Some(&mut self.tags)
    }
}

impl Evolve for SecurityGroup {
    type Event<'a> = SecurityGroupEvent<'a>;

    fn apply(&mut self, event: SecurityGroupEvent<'_>) {
        match event {
            SecurityGroupEvent::SecurityRulesAuthorized(e) => {
                self.rules_mut(e.direction).extend(e.rules.iter().cloned())
            }
            SecurityGroupEvent::SecurityRulesRevoked(e) => {
                let rules = self.rules_mut(e.direction);
                for r in &e.rules {
                    rules.remove(r);
                }
            }
            SecurityGroupEvent::SecurityGroupMemberAdded(e) => {
                self.members.insert(e.instance.clone());
            }
            SecurityGroupEvent::SecurityGroupMemberRemoved(e) => {
                self.members.remove(&e.instance);
            }
            SecurityGroupEvent::SecurityGroupReferenced(e) => {
                *self.referenced_by.entry(e.by.clone()).or_default() += 1
            }
            SecurityGroupEvent::SecurityGroupDereferenced(e) => {
                if let Some(n) = self.referenced_by.get_mut(&e.by) {
                    *n -= 1;
                    if *n == 0 {
                        self.referenced_by.remove(&e.by);
                    }
                }
            }
            SecurityGroupEvent::SecurityGroupDeleted(_) => self.deleted = true,
        }
    }
}

impl SecurityGroup {
    fn rules_mut(&mut self, direction: Direction) -> &mut BTreeSet<SecurityRule> {
        match direction {
            Direction::Ingress => &mut self.ingress,
            Direction::Egress => &mut self.egress,
        }
    }

    pub fn rules(&self, direction: Direction) -> &BTreeSet<SecurityRule> {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// Authorize: every rule must be new (EC2 refuses duplicates).
    pub fn authorize(
        &self,
        direction: Direction,
        rules: &[SecurityRule],
        at: Timestamp,
    ) -> Result<crate::Event, DecideError> {
        let have = self.rules(direction);
        let mut seen = BTreeSet::new();
        for r in rules {
            if have.contains(r) || !seen.insert(r) {
                return Err(DecideError::DuplicateRule { group: self.id.clone(), rule: Box::new(r.clone()) });
            }
        }
        Ok(SecurityRulesAuthorized { direction, rules: rules.to_vec(), at }.into())
    }

    /// Revoke: every rule must exist.
    pub fn revoke(
        &self,
        direction: Direction,
        rules: &[SecurityRule],
        at: Timestamp,
    ) -> Result<crate::Event, DecideError> {
        let have = self.rules(direction);
        if let Some(missing) = rules.iter().find(|r| !have.contains(*r)) {
            return Err(DecideError::RuleNotFound {
                group: self.id.clone(),
                rule: Box::new(missing.clone()),
            });
        }
        Ok(SecurityRulesRevoked { direction, rules: rules.to_vec(), at }.into())
    }
}

impl dyn StateView + '_ {
    /// A group that exists (not deleted).
    pub fn security_group(&self, group: &SecurityGroupId) -> Option<&SecurityGroup> {
        match self.get(&StreamId::security_group(group)) {
            Some(Aggregate::SecurityGroup(g)) if !g.deleted => Some(g),
            _ => None,
        }
    }
}
