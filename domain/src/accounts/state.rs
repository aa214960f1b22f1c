//! An account: its users, access keys, key pairs and the names of its
//! security groups (names are unique per account, so they are decided
//! here); and the claim of an account name.

use super::events::*;
use super::signing_certificates::SigningCertificate;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::ids::{AccessKeyId, AccountId, SecurityGroupId, UserName};
use crate::key_pairs::KeyPair;
use crate::registry::AccountEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub users: BTreeSet<UserName>,
    pub access_keys: BTreeMap<AccessKeyId, UserName>,
    /// Keys turned off (they stay, but do not authenticate).
    pub inactive_keys: BTreeSet<AccessKeyId>,
    pub key_pairs: BTreeMap<String, KeyPair>,
    pub groups: BTreeMap<String, SecurityGroupId>,
    /// Users with a console password → whether they must change it at
    /// the next sign-in (`login_profiles.rs`).
    pub login_profiles: BTreeMap<UserName, bool>,
    /// Users' signing certificates by certificate id (`signing_certificates.rs`).
    pub signing_certificates: BTreeMap<String, SigningCertificate>,
}

impl State for Account {
    type Created = AccountCreated;

    fn created(e: &AccountCreated) -> Self {
        Account {
            id: e.account.clone(),
            name: e.name.clone(),
            users: BTreeSet::from([UserName::admin()]),
            access_keys: BTreeMap::new(),
            inactive_keys: BTreeSet::new(),
            key_pairs: BTreeMap::new(),
            groups: BTreeMap::new(),
            login_profiles: BTreeMap::new(),
            signing_certificates: BTreeMap::new(),
        }
    }

    /// Key pairs are tagged in their account.
    fn tags_mut(&mut self, resource: &str) -> Option<&mut Tags> {
        self.key_pairs.values_mut().find(|k| k.id.as_str() == resource).map(|k| &mut k.tags)
    }
}

impl Evolve for Account {
    type Event<'a> = AccountEvent<'a>;

    fn apply(&mut self, event: AccountEvent<'_>) {
        match event {
            AccountEvent::AccessKeyCreated(e) => {
                self.access_keys.insert(e.access_key.clone(), e.user.clone());
            }
            AccountEvent::UserCreated(e) => {
                self.users.insert(e.user.clone());
            }
            AccountEvent::UserDeleted(e) => {
                self.users.remove(&e.user);
            }
            AccountEvent::AccessKeyStatusChanged(e) => {
                if e.active {
                    self.inactive_keys.remove(&e.access_key);
                } else {
                    self.inactive_keys.insert(e.access_key.clone());
                }
            }
            AccountEvent::AccessKeyDeleted(e) => {
                self.access_keys.remove(&e.access_key);
                self.inactive_keys.remove(&e.access_key);
            }
            AccountEvent::KeyPairCreated(e) => self.key_pair_created(e),
            AccountEvent::KeyPairDeleted(e) => self.key_pair_deleted(e),
            AccountEvent::GroupNameClaimed(e) => {
                self.groups.insert(e.name.clone(), e.group.clone());
            }
            AccountEvent::GroupNameReleased(e) => {
                self.groups.remove(&e.name);
            }
            AccountEvent::LoginProfileCreated(e) => {
                self.login_profiles.insert(e.user.clone(), e.reset_required);
            }
            AccountEvent::LoginProfileUpdated(e) => {
                if let Some(flag) = self.login_profiles.get_mut(&e.user) {
                    *flag = e.reset_required;
                }
            }
            AccountEvent::LoginProfileDeleted(e) => {
                self.login_profiles.remove(&e.user);
            }
            AccountEvent::SigningCertificateUploaded(e) => {
                let certificate = SigningCertificate { user: e.user.clone(), active: true };
                self.signing_certificates.insert(e.certificate.clone(), certificate);
            }
            AccountEvent::SigningCertificateStatusChanged(e) => {
                if let Some(s) = self.signing_certificates.get_mut(&e.certificate) {
                    s.active = e.active;
                }
            }
            AccountEvent::SigningCertificateDeleted(e) => {
                self.signing_certificates.remove(&e.certificate);
            }
        }
    }
}

/// An account name taken, by the account it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountNameClaim {
    pub account: AccountId,
}

impl State for AccountNameClaim {
    type Created = AccountNameClaimed;

    fn created(e: &AccountNameClaimed) -> Self {
        AccountNameClaim { account: e.account.clone() }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl Account {
    /// The cloud administrator's account: the one named `admin`, which the
    /// cloud's bootstrap creates (so no other account can take the name).
    pub fn is_cloud_admin(&self) -> bool {
        self.name == "admin"
    }
}

impl dyn StateView + '_ {
    pub fn account(&self, account: &AccountId) -> Option<&Account> {
        match self.get(&StreamId::account(account)) {
            Some(Aggregate::Account(a)) => Some(a),
            _ => None,
        }
    }
}
