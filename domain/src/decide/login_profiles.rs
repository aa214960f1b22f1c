//! Login profiles: a user of the account may have one console password.

use crate::aggregate::StateView;
use crate::command::{ChangeLoginProfile, LoginProfileChange};
use crate::error::DecideError;
use crate::event::*;
use crate::stream::StreamId;

type Events = Vec<(StreamId, Event)>;

pub(super) fn change_login_profile(
    c: &ChangeLoginProfile,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if !account.users.contains(&c.user) {
        return Err(DecideError::UserNotFound(c.user.clone()));
    }
    let current = account.login_profiles.users.get(&c.user).copied();
    let stream = StreamId::account(&c.account);
    let (account_id, user, at) = (c.account.clone(), c.user.clone(), c.at);
    let event: Event = match (&c.change, current) {
        (LoginProfileChange::Create { .. }, Some(_)) => {
            return Err(DecideError::LoginProfileExists(c.user.clone()));
        }
        (LoginProfileChange::Create { password, reset_required }, None) => LoginProfileCreated {
            account: account_id,
            user,
            password: password.clone(),
            reset_required: *reset_required,
            at,
        }
        .into(),
        (LoginProfileChange::Update { .. } | LoginProfileChange::Delete, None) => {
            return Err(DecideError::LoginProfileNotFound(c.user.clone()));
        }
        (LoginProfileChange::Update { password: None, reset_required }, Some(was))
            if reset_required.is_none_or(|r| r == was) =>
        {
            return Ok(Vec::new());
        }
        (LoginProfileChange::Update { password, reset_required }, Some(was)) => LoginProfileUpdated {
            account: account_id,
            user,
            password: password.clone(),
            reset_required: reset_required.unwrap_or(was),
            at,
        }
        .into(),
        (LoginProfileChange::Delete, Some(_)) => LoginProfileDeleted { account: account_id, user, at }.into(),
    };
    Ok(vec![(stream, event)])
}
