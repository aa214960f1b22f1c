//! Login profiles: a user's console password (IAM's CreateLoginProfile,
//! UpdateLoginProfile and DeleteLoginProfile), decided in the account's
//! stream like the user it belongs to. The password arrives already hashed
//! (argon2) and sealed with the master key: the domain never sees it, and
//! the log stores only the sealed hash.

use super::state::Account;
use crate::aggregate::StateView;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;
use serde::{Deserialize, Serialize};

/// Give a user a console password (refused if it has one).
#[derive(Clone, Debug, PartialEq)]
pub struct CreateLoginProfile {
    pub account: AccountId,
    pub user: UserName,
    pub password: SealedSecret,
    pub reset_required: bool,
    pub at: Timestamp,
}

/// Change a user's password and/or its reset flag (`None`: unchanged).
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateLoginProfile {
    pub account: AccountId,
    pub user: UserName,
    pub password: Option<SealedSecret>,
    pub reset_required: Option<bool>,
    pub at: Timestamp,
}

/// Remove a user's console password.
#[derive(Clone, Debug, PartialEq)]
pub struct DeleteLoginProfile {
    pub account: AccountId,
    pub user: UserName,
    pub at: Timestamp,
}

/// A user was given a console password (CreateLoginProfile).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoginProfileCreated {
    pub account: AccountId,
    pub user: UserName,
    /// The password's hash (a PHC string), sealed.
    pub password: SealedSecret,
    /// The user must choose a new password at the next sign-in.
    pub reset_required: bool,
    pub at: Timestamp,
}

/// A user's console password or its reset flag changed (UpdateLoginProfile).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoginProfileUpdated {
    pub account: AccountId,
    pub user: UserName,
    /// The new password's hash, sealed; `None` when it did not change.
    pub password: Option<SealedSecret>,
    /// The flag from now on.
    pub reset_required: bool,
    pub at: Timestamp,
}

/// A user's console password was removed: the user cannot sign in to the
/// console any more (DeleteLoginProfile).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoginProfileDeleted {
    pub account: AccountId,
    pub user: UserName,
    pub at: Timestamp,
}

impl CreateLoginProfile {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl UpdateLoginProfile {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl DeleteLoginProfile {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

/// The account, with `user` in it, and whether that user must reset its
/// password (`None`: it has no login profile).
fn profile_of<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    user: &UserName,
) -> Result<(&'v Account, Option<bool>), DecideError> {
    let found = view.account(account).ok_or_else(|| DecideError::AccountNotFound(account.clone()))?;
    if !found.users.contains(user) {
        return Err(DecideError::UserNotFound(user.clone()));
    }
    Ok((found, found.login_profiles.get(user).copied()))
}

pub(crate) fn create_login_profile(
    c: &CreateLoginProfile,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    if profile_of(view, &c.account, &c.user)?.1.is_some() {
        return Err(DecideError::LoginProfileExists(c.user.clone()));
    }
    Ok(vec![(
        StreamId::account(&c.account),
        LoginProfileCreated {
            account: c.account.clone(),
            user: c.user.clone(),
            password: c.password.clone(),
            reset_required: c.reset_required,
            at: c.at,
        }
        .into(),
    )])
}

/// Nothing is recorded when nothing changes.
pub(crate) fn update_login_profile(
    c: &UpdateLoginProfile,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let Some(was) = profile_of(view, &c.account, &c.user)?.1 else {
        return Err(DecideError::LoginProfileNotFound(c.user.clone()));
    };
    if c.password.is_none() && c.reset_required.is_none_or(|r| r == was) {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::account(&c.account),
        LoginProfileUpdated {
            account: c.account.clone(),
            user: c.user.clone(),
            password: c.password.clone(),
            reset_required: c.reset_required.unwrap_or(was),
            at: c.at,
        }
        .into(),
    )])
}

pub(crate) fn delete_login_profile(
    c: &DeleteLoginProfile,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    if profile_of(view, &c.account, &c.user)?.1.is_none() {
        return Err(DecideError::LoginProfileNotFound(c.user.clone()));
    }
    Ok(vec![(
        StreamId::account(&c.account),
        LoginProfileDeleted { account: c.account.clone(), user: c.user.clone(), at: c.at }.into(),
    )])
}
