//! Login profiles (console passwords): the sealed password hash of each
//! user that has one, for the console's sign-in. The hash stays sealed
//! here, as access key secrets do.

use domain::event::{LoginProfileCreated, LoginProfileDeleted, LoginProfileUpdated};
use domain::{AccountId, SealedSecret, Timestamp, UserName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoginProfilesView {
    /// Account → user → profile (nested rather than keyed by the pair, so
    /// that the view writes as JSON too: `yukari replay state`).
    pub profiles: BTreeMap<AccountId, BTreeMap<UserName, LoginProfileRow>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoginProfileRow {
    /// The password's hash (a PHC string), sealed with the master key.
    pub password: SealedSecret,
    pub reset_required: bool,
    pub created_at: Timestamp,
    /// When the password last changed (its creation, or an update with one).
    pub password_changed_at: Timestamp,
}

impl LoginProfilesView {
    pub(crate) fn created(&mut self, e: &LoginProfileCreated) {
        self.profiles.entry(e.account.clone()).or_default().insert(
            e.user.clone(),
            LoginProfileRow {
                password: e.password.clone(),
                reset_required: e.reset_required,
                created_at: e.at,
                password_changed_at: e.at,
            },
        );
    }

    pub(crate) fn updated(&mut self, e: &LoginProfileUpdated) {
        if let Some(row) = self.profiles.get_mut(&e.account).and_then(|users| users.get_mut(&e.user)) {
            if let Some(password) = &e.password {
                row.password = password.clone();
                row.password_changed_at = e.at;
            }
            row.reset_required = e.reset_required;
        }
    }

    pub(crate) fn deleted(&mut self, e: &LoginProfileDeleted) {
        if let Some(users) = self.profiles.get_mut(&e.account) {
            users.remove(&e.user);
            if users.is_empty() {
                self.profiles.remove(&e.account);
            }
        }
    }

    /// The login profile of `user` in `account`, if it has one.
    pub fn get(&self, account: &AccountId, user: &UserName) -> Option<&LoginProfileRow> {
        self.profiles.get(account).and_then(|users| users.get(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(byte: u8) -> SealedSecret {
        SealedSecret { nonce: vec![byte; 12], ciphertext: vec![byte; 40] }
    }

    #[test]
    fn a_profile_is_created_updated_and_deleted_per_account_and_user() {
        let (a, b) = (AccountId::from_bits(1), AccountId::from_bits(2));
        let admin = UserName::admin();
        let mut view = LoginProfilesView::default();
        view.created(&LoginProfileCreated {
            account: a.clone(),
            user: admin.clone(),
            password: sealed(1),
            reset_required: true,
            at: Timestamp(10),
        });
        assert!(view.get(&b, &admin).is_none(), "another account's admin has none");
        let update = |password, reset_required, at| LoginProfileUpdated {
            account: a.clone(),
            user: admin.clone(),
            password,
            reset_required,
            at: Timestamp(at),
        };
        view.updated(&update(None, false, 20));
        let row = view.get(&a, &admin).unwrap();
        assert_eq!(
            (row.password.clone(), row.reset_required, row.password_changed_at),
            (sealed(1), false, Timestamp(10))
        );
        view.updated(&update(Some(sealed(2)), false, 30));
        let row = view.get(&a, &admin).unwrap();
        assert_eq!(
            (row.password.clone(), row.created_at, row.password_changed_at),
            (sealed(2), Timestamp(10), Timestamp(30))
        );
        view.deleted(&LoginProfileDeleted { account: a.clone(), user: admin.clone(), at: Timestamp(40) });
        assert!(view.get(&a, &admin).is_none());
        assert_eq!(view, LoginProfilesView::default(), "nothing left of the account");
    }
}
