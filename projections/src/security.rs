//! Security groups with their rules, and key pairs (public halves only).

use domain::event::*;
use domain::{AccountId, Direction, KeyPairId, ParsedStream, SecurityGroupId, SecurityRule, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityView {
    pub groups: BTreeMap<SecurityGroupId, GroupRow>,
    /// Key pairs by account and name.
    pub key_pairs: BTreeMap<(AccountId, String), KeyPairRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub account: AccountId,
    pub name: String,
    pub description: String,
    pub ingress: Vec<SecurityRule>,
    pub egress: Vec<SecurityRule>,
    pub members: u32,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPairRow {
    pub id: KeyPairId,
    pub fingerprint: String,
    pub public_key: String,
    pub key_type: String,
    pub created_at: Timestamp,
}

impl SecurityView {
    pub(crate) fn apply(&mut self, stream: &str, event: Event) {
        let group = || match ParsedStream::of(stream) {
            ParsedStream::SecurityGroup(id) => Some(id),
            _ => None,
        };
        match event {
            Event::SecurityGroupCreated(e) => {
                self.groups.insert(
                    e.group,
                    GroupRow {
                        account: e.account,
                        name: e.name,
                        description: e.description,
                        ingress: Vec::new(),
                        egress: Vec::new(),
                        members: 0,
                        created_at: e.at,
                    },
                );
            }
            Event::SecurityRulesAuthorized(e) => {
                if let Some(row) = group().and_then(|g| self.groups.get_mut(&g)) {
                    let rules = row.rules_mut(e.direction);
                    rules.extend(e.rules);
                    rules.sort();
                }
            }
            Event::SecurityRulesRevoked(e) => {
                if let Some(row) = group().and_then(|g| self.groups.get_mut(&g)) {
                    row.rules_mut(e.direction).retain(|r| !e.rules.contains(r));
                }
            }
            Event::SecurityGroupMemberAdded(_) => {
                if let Some(row) = group().and_then(|g| self.groups.get_mut(&g)) {
                    row.members += 1;
                }
            }
            Event::SecurityGroupMemberRemoved(_) => {
                if let Some(row) = group().and_then(|g| self.groups.get_mut(&g)) {
                    row.members = row.members.saturating_sub(1);
                }
            }
            Event::SecurityGroupDeleted(_) => {
                if let Some(g) = group() {
                    self.groups.remove(&g);
                }
            }
            Event::KeyPairCreated(e) => {
                self.key_pairs.insert(
                    (e.account, e.name),
                    KeyPairRow {
                        id: e.key_pair,
                        fingerprint: e.fingerprint,
                        public_key: e.public_key,
                        key_type: e.key_type,
                        created_at: e.at,
                    },
                );
            }
            Event::KeyPairDeleted(e) => {
                self.key_pairs.remove(&(e.account, e.name));
            }
            _ => {}
        }
    }

    /// The account's group with this name.
    pub fn group_by_name(&self, account: &AccountId, name: &str) -> Option<(&SecurityGroupId, &GroupRow)> {
        self.groups.iter().find(|(_, g)| &g.account == account && g.name == name)
    }

    /// The account's key pairs, in name order.
    pub fn key_pairs_of<'a>(
        &'a self,
        account: &'a AccountId,
    ) -> impl Iterator<Item = (&'a str, &'a KeyPairRow)> + 'a {
        self.key_pairs
            .range((account.clone(), String::new())..)
            .take_while(move |((a, _), _)| a == account)
            .map(|((_, n), r)| (n.as_str(), r))
    }
}

impl GroupRow {
    fn rules_mut(&mut self, direction: Direction) -> &mut Vec<SecurityRule> {
        match direction {
            Direction::Ingress => &mut self.ingress,
            Direction::Egress => &mut self.egress,
        }
    }
}
