//! Events of account streams: the account, its users, access keys, key
//! pairs and the names of its security groups.

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

/// A key pair was created (its private key was handed out once and never
/// stored) or imported. Only the public half is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPairCreated {
    pub account: AccountId,
    pub name: String,
    pub key_pair: KeyPairId,
    /// As EC2 computes it for this kind of key.
    pub fingerprint: String,
    /// The OpenSSH public key line (`ssh-rsa AAAA…`).
    pub public_key: String,
    /// `rsa` or `ed25519`.
    pub key_type: String,
    pub imported: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPairDeleted {
    pub account: AccountId,
    pub name: String,
    pub at: Timestamp,
}

/// A security group name is taken in its account (names are unique there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupNameClaimed {
    pub name: String,
    pub group: SecurityGroupId,
}

/// A security group name is free again (its group was deleted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupNameReleased {
    pub name: String,
    pub group: SecurityGroupId,
}

/// An account name is taken (names are unique in the cloud).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountNameClaimed {
    pub name: String,
    pub account: AccountId,
}
