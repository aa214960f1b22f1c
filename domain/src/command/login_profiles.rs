//! Commands of login profiles (a user's console password, IAM's
//! CreateLoginProfile / UpdateLoginProfile / DeleteLoginProfile). The
//! password arrives already hashed and sealed: the domain never sees it.

use crate::ids::*;
use crate::model::*;

/// What to do with a user's login profile.
#[derive(Clone, Debug, PartialEq)]
pub enum LoginProfileChange {
    /// Give the user a console password (refused if it has one).
    Create { password: SealedSecret, reset_required: bool },
    /// Change the password and/or the reset flag (`None`: unchanged).
    Update { password: Option<SealedSecret>, reset_required: Option<bool> },
    /// Remove the user's console password.
    Delete,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChangeLoginProfile {
    pub account: AccountId,
    pub user: UserName,
    pub change: LoginProfileChange,
    pub at: Timestamp,
}

impl ChangeLoginProfile {
    /// The IAM verb, for logs and audit.
    pub fn name(&self) -> &'static str {
        match self.change {
            LoginProfileChange::Create { .. } => "CreateLoginProfile",
            LoginProfileChange::Update { .. } => "UpdateLoginProfile",
            LoginProfileChange::Delete => "DeleteLoginProfile",
        }
    }
}
