//! Events of login profiles: a user's console password (IAM's login
//! profile), kept in the account's stream like the user it belongs to.
//! Only a sealed password hash is ever stored: the password itself is
//! hashed (argon2) before the command is made, and the hash is sealed with
//! the master key (as secret access keys are).

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

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
