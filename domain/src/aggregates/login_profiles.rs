//! The login profiles of an account's users, folded from the account's
//! stream (see `event::login`).

use crate::event::Event;
use crate::ids::UserName;
use std::collections::BTreeMap;

/// Which users have a console password, and whether they must change it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoginProfiles {
    /// User → reset required.
    pub users: BTreeMap<UserName, bool>,
}

impl LoginProfiles {
    pub fn has(&self, user: &UserName) -> bool {
        self.users.contains_key(user)
    }

    /// Folds a login profile event; other events leave it as it is.
    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::LoginProfileCreated(e) => {
                self.users.insert(e.user.clone(), e.reset_required);
            }
            Event::LoginProfileUpdated(e) => {
                if let Some(flag) = self.users.get_mut(&e.user) {
                    *flag = e.reset_required;
                }
            }
            Event::LoginProfileDeleted(e) => {
                self.users.remove(&e.user);
            }
            _ => {}
        }
    }
}
