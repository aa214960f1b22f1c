//! An account: the owner of resources, with its users, access keys, key
//! pairs and the names of its security groups (names are unique per
//! account, so they are decided here).

use super::tags::{Tags, tag_resource};
use crate::event::*;
use crate::ids::{AccessKeyId, AccountId, KeyPairId, SecurityGroupId, UserName};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub users: BTreeSet<UserName>,
    pub access_keys: BTreeMap<AccessKeyId, UserName>,
    /// Keys turned off (they stay, but do not authenticate).
    pub inactive_keys: std::collections::BTreeSet<AccessKeyId>,
    pub key_pairs: BTreeMap<String, KeyPair>,
    pub groups: BTreeMap<String, SecurityGroupId>,
    /// Users with a console password (see `login_profiles.rs`).
    pub login_profiles: super::LoginProfiles,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyPair {
    pub id: KeyPairId,
    pub tags: Tags,
}

impl Account {
    pub(crate) fn new(e: &AccountCreated) -> Self {
        Account {
            id: e.account.clone(),
            name: e.name.clone(),
            users: BTreeSet::from([UserName::admin()]),
            access_keys: BTreeMap::new(),
            inactive_keys: std::collections::BTreeSet::new(),
            key_pairs: BTreeMap::new(),
            groups: BTreeMap::new(),
            login_profiles: super::LoginProfiles::default(),
        }
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::AccessKeyCreated(e) => {
                self.access_keys.insert(e.access_key.clone(), e.user.clone());
            }
            Event::UserCreated(e) => {
                self.users.insert(e.user.clone());
            }
            Event::UserDeleted(e) => {
                self.users.remove(&e.user);
            }
            Event::AccessKeyStatusChanged(e) => {
                if e.active {
                    self.inactive_keys.remove(&e.access_key);
                } else {
                    self.inactive_keys.insert(e.access_key.clone());
                }
            }
            Event::AccessKeyDeleted(e) => {
                self.access_keys.remove(&e.access_key);
                self.inactive_keys.remove(&e.access_key);
            }
            Event::KeyPairCreated(e) => {
                self.key_pairs
                    .insert(e.name.clone(), KeyPair { id: e.key_pair.clone(), tags: Tags::default() });
            }
            Event::KeyPairDeleted(e) => {
                self.key_pairs.remove(&e.name);
            }
            Event::GroupNameClaimed(e) => {
                self.groups.insert(e.name.clone(), e.group.clone());
            }
            Event::GroupNameReleased(e) => {
                self.groups.remove(&e.name);
            }
            Event::LoginProfileCreated(_) | Event::LoginProfileUpdated(_) | Event::LoginProfileDeleted(_) => {
                self.login_profiles.apply(event)
            }
            _ => {
                if let Some(resource) = tag_resource(event)
                    && let Some(k) = self.key_pairs.values_mut().find(|k| k.id.as_str() == resource)
                {
                    k.tags.apply(resource, event);
                }
            }
        }
    }

    /// The key pair with this id.
    pub fn key_pair_by_id(&self, id: &str) -> Option<(&String, &KeyPair)> {
        self.key_pairs.iter().find(|(_, k)| k.id.as_str() == id)
    }
}
