//! A security group: its rules and the instances in it. Rules are only
//! recorded here; nodes enforce them.

use super::tags::{Tags, tag_resource};
use crate::error::DecideError;
use crate::event::*;
use crate::ids::{AccountId, InstanceId, SecurityGroupId};
use crate::model::{Direction, SecurityRule, Timestamp};
use std::collections::BTreeSet;

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

impl SecurityGroup {
    pub(crate) fn new(e: &SecurityGroupCreated) -> Self {
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

    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::SecurityRulesAuthorized(e) => self.rules_mut(e.direction).extend(e.rules.iter().cloned()),
            Event::SecurityRulesRevoked(e) => {
                let rules = self.rules_mut(e.direction);
                for r in &e.rules {
                    rules.remove(r);
                }
            }
            Event::SecurityGroupMemberAdded(e) => {
                self.members.insert(e.instance.clone());
            }
            Event::SecurityGroupMemberRemoved(e) => {
                self.members.remove(&e.instance);
            }
            Event::SecurityGroupReferenced(e) => *self.referenced_by.entry(e.by.clone()).or_default() += 1,
            Event::SecurityGroupDereferenced(e) => {
                if let Some(n) = self.referenced_by.get_mut(&e.by) {
                    *n -= 1;
                    if *n == 0 {
                        self.referenced_by.remove(&e.by);
                    }
                }
            }
            Event::SecurityGroupDeleted(_) => self.deleted = true,
            _ => {
                if let Some(resource) = tag_resource(event) {
                    self.tags.apply(resource, event);
                }
            }
        }
    }

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
    ) -> Result<Event, DecideError> {
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
    ) -> Result<Event, DecideError> {
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
