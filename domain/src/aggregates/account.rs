//! An account: the owner of resources, with users and their access keys.

use crate::event::*;
use crate::ids::{AccessKeyId, AccountId, UserName};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub access_keys: BTreeMap<AccessKeyId, UserName>,
}

impl Account {
    pub(crate) fn new(e: &AccountCreated) -> Self {
        Account { id: e.account.clone(), name: e.name.clone(), access_keys: BTreeMap::new() }
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        if let Event::AccessKeyCreated(e) = event {
            self.access_keys.insert(e.access_key.clone(), e.user.clone());
        }
    }
}
