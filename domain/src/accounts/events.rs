//! Events of account streams (and of the stream claiming an account's
//! name).

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountCreated {
    pub account: AccountId,
    pub name: String,
    pub at: Timestamp,
}

/// An access key for a user; the secret is sealed with the master key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyCreated {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
    pub at: Timestamp,
}

/// A user was added to an account (Eucalyptus's Euare user).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserCreated {
    pub account: AccountId,
    pub user: UserName,
    pub at: Timestamp,
}

/// An access key was turned on or off (IAM's UpdateAccessKey).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyStatusChanged {
    pub access_key: AccessKeyId,
    pub active: bool,
    pub at: Timestamp,
}

/// An access key was deleted; requests signed with it fail from now on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyDeleted {
    pub access_key: AccessKeyId,
    pub at: Timestamp,
}

/// A user (not the account's admin) was deleted, with no keys left.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDeleted {
    pub user: UserName,
    pub at: Timestamp,
}

/// An account name is taken (names are unique in the cloud).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountNameClaimed {
    pub name: String,
    pub account: AccountId,
}
