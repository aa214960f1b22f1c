//! CreateAccount, CreateUser, DeleteUser, CreateAccessKey,
//! UpdateAccessKey and DeleteAccessKey, decided by the account's stream
//! (and the stream claiming its name).

use super::events::*;
use super::state::Account;
use crate::aggregate::StateView;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::security_groups::new_group_events;
use crate::stream::StreamId;

/// A new access key for a user, its secret already sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAccessKey {
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
}

/// A new account with its `default` security group and, optionally, a
/// first access key for its admin user.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateAccount {
    pub account: AccountId,
    pub name: String,
    pub default_group: SecurityGroupId,
    pub access_key: Option<NewAccessKey>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateUser {
    pub account: AccountId,
    pub user: UserName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteUser {
    pub account: AccountId,
    pub user: UserName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateAccessKey {
    pub account: AccountId,
    pub key: NewAccessKey,
    pub at: Timestamp,
}

/// Turns a user's key on or off.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateAccessKey {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub active: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteAccessKey {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub at: Timestamp,
}

impl CreateAccount {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![
            StreamId::account(&self.account),
            StreamId::account_name(&self.name),
            StreamId::security_group(&self.default_group),
        ]
    }
}

impl CreateUser {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl DeleteUser {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl CreateAccessKey {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl UpdateAccessKey {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl DeleteAccessKey {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

/// The account, its `default` security group and its first access key.
pub(crate) fn create_account(c: &CreateAccount, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.account(&c.account).is_some() {
        return Err(DecideError::AccountExists(c.account.clone()));
    }
    if view.get(&StreamId::account_name(&c.name)).is_some_and(|a| !a.is_empty()) {
        return Err(DecideError::AccountNameTaken(c.name.clone()));
    }
    if view.security_group(&c.default_group).is_some() {
        return Err(DecideError::IdInUse(c.default_group.to_string()));
    }
    let mut events: Events = vec![
        (
            StreamId::account_name(&c.name),
            AccountNameClaimed { name: c.name.clone(), account: c.account.clone() }.into(),
        ),
        (
            StreamId::account(&c.account),
            AccountCreated { account: c.account.clone(), name: c.name.clone(), at: c.at }.into(),
        ),
    ];
    events.extend(new_group_events(&c.account, &c.default_group, "default", "default group", true, c.at));
    if let Some(key) = &c.access_key {
        events.push((StreamId::account(&c.account), access_key_created(&c.account, key, c.at).into()));
    }
    Ok(events)
}

pub(crate) fn create_user(c: &CreateUser, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.users.contains(&c.user) {
        return Err(DecideError::UserExists(c.user.clone()));
    }
    Ok(vec![(
        StreamId::account(&c.account),
        UserCreated { account: c.account.clone(), user: c.user.clone(), at: c.at }.into(),
    )])
}

/// A user without keys or login profile, and not the account's admin.
pub(crate) fn delete_user(c: &DeleteUser, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if !account.users.contains(&c.user) {
        return Err(DecideError::UserNotFound(c.user.clone()));
    }
    if c.user == UserName::admin() {
        return Err(DecideError::UserInUse(c.user.clone()));
    }
    // Like IAM: its keys and its login profile go first.
    if account.access_keys.values().any(|u| u == &c.user) || account.login_profiles.contains_key(&c.user) {
        return Err(DecideError::UserInUse(c.user.clone()));
    }
    Ok(vec![(StreamId::account(&c.account), UserDeleted { user: c.user.clone(), at: c.at }.into())])
}

fn access_key_created(account: &AccountId, key: &NewAccessKey, at: Timestamp) -> AccessKeyCreated {
    AccessKeyCreated {
        account: account.clone(),
        user: key.user.clone(),
        access_key: key.access_key.clone(),
        secret: key.secret.clone(),
        at,
    }
}

pub(crate) fn create_access_key(c: &CreateAccessKey, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.access_keys.contains_key(&c.key.access_key) {
        return Err(DecideError::AccessKeyExists(c.key.access_key.clone()));
    }
    if !account.users.contains(&c.key.user) {
        return Err(DecideError::UserNotFound(c.key.user.clone()));
    }
    Ok(vec![(StreamId::account(&c.account), access_key_created(&c.account, &c.key, c.at).into())])
}

/// The account whose user `user` has the key `key`.
fn key_of<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    user: &UserName,
    key: &AccessKeyId,
) -> Result<&'v Account, DecideError> {
    let account = view.account(account).ok_or_else(|| DecideError::AccountNotFound(account.clone()))?;
    if account.access_keys.get(key) != Some(user) {
        return Err(DecideError::AccessKeyNotFound(key.clone()));
    }
    Ok(account)
}

/// Nothing when the key already is as asked.
pub(crate) fn update_access_key(c: &UpdateAccessKey, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = key_of(view, &c.account, &c.user, &c.access_key)?;
    if c.active != account.inactive_keys.contains(&c.access_key) {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::account(&c.account),
        AccessKeyStatusChanged { access_key: c.access_key.clone(), active: c.active, at: c.at }.into(),
    )])
}

pub(crate) fn delete_access_key(c: &DeleteAccessKey, view: &dyn StateView) -> Result<Events, DecideError> {
    key_of(view, &c.account, &c.user, &c.access_key)?;
    Ok(vec![(
        StreamId::account(&c.account),
        AccessKeyDeleted { access_key: c.access_key.clone(), at: c.at }.into(),
    )])
}
