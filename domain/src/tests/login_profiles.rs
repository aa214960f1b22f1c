//! Login profiles: one console password per user, in the account's stream.

use super::samples::*;
use super::*;
use crate::command::*;

fn cloud() -> Given {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    g.then_apply(&create_other()).unwrap();
    g
}

fn create(account: AccountId, user: &str) -> Command {
    Command::CreateLoginProfile(CreateLoginProfile {
        account,
        user: UserName::parse(user).unwrap(),
        password: secret(),
        reset_required: false,
        at: t(9),
    })
}

fn update(password: Option<SealedSecret>, reset_required: Option<bool>) -> Command {
    Command::UpdateLoginProfile(UpdateLoginProfile {
        account: admin(),
        user: UserName::admin(),
        password,
        reset_required,
        at: t(9),
    })
}

fn delete(user: &str) -> Command {
    Command::DeleteLoginProfile(DeleteLoginProfile {
        account: admin(),
        user: UserName::parse(user).unwrap(),
        at: t(9),
    })
}

fn account(g: &Given, id: &AccountId) -> crate::accounts::Account {
    match g.streams.get(&StreamId::account(id)).map(|f| &f.state) {
        Some(Aggregate::Account(a)) => (**a).clone(),
        other => panic!("no account: {other:?}"),
    }
}

#[test]
fn a_user_gets_one_login_profile_in_its_accounts_stream() {
    let mut g = cloud();
    let d = g.then_apply(&create(admin(), "admin")).unwrap();
    assert_eq!(event_types(&d), ["LoginProfileCreated"]);
    assert_eq!(d.events[0].0, StreamId::account(&admin()));
    assert!(account(&g, &admin()).login_profiles.contains_key(&UserName::admin()));
    // The other account's admin has none.
    assert!(!account(&g, &other_account()).login_profiles.contains_key(&UserName::admin()));
    assert_eq!(g.when(&create(admin(), "admin")), Err(DecideError::LoginProfileExists(UserName::admin())));
}

#[test]
fn only_existing_users_get_one() {
    let g = cloud();
    let nobody = UserName::parse("nobody").unwrap();
    assert_eq!(g.when(&create(admin(), "nobody")), Err(DecideError::UserNotFound(nobody)));
    let missing = AccountId::from_bits(999);
    assert_eq!(g.when(&create(missing.clone(), "admin")), Err(DecideError::AccountNotFound(missing)));
}

#[test]
fn updates_change_the_password_or_the_flag_and_nothing_is_recorded_for_no_change() {
    let mut g = cloud();
    assert_eq!(
        g.when(&update(Some(secret()), None)),
        Err(DecideError::LoginProfileNotFound(UserName::admin()))
    );
    g.then_apply(&create(admin(), "admin")).unwrap();
    let d = g.then_apply(&update(Some(secret()), None)).unwrap();
    match &d.events[..] {
        [(_, Event::LoginProfileUpdated(e))] => {
            assert_eq!(e.password, Some(secret()));
            assert!(!e.reset_required, "the flag stays as it was");
        }
        other => panic!("{other:?}"),
    }
    let d = g.then_apply(&update(None, Some(true))).unwrap();
    assert_eq!(event_types(&d), ["LoginProfileUpdated"]);
    assert_eq!(account(&g, &admin()).login_profiles.get(&UserName::admin()), Some(&true));
    assert!(g.when(&update(None, Some(true))).unwrap().events.is_empty());
    assert!(g.when(&update(None, None)).unwrap().events.is_empty());
}

#[test]
fn deleting_removes_it_and_a_user_with_one_cannot_be_deleted() {
    let mut g = cloud();
    let alice = UserName::parse("alice").unwrap();
    g.then_apply(&Command::CreateUser(CreateUser { account: admin(), user: alice.clone(), at: t(3) }))
        .unwrap();
    g.then_apply(&create(admin(), "alice")).unwrap();
    let delete_user = Command::DeleteUser(DeleteUser { account: admin(), user: alice.clone(), at: t(10) });
    assert_eq!(g.when(&delete_user), Err(DecideError::UserInUse(alice.clone())));
    let d = g.then_apply(&delete("alice")).unwrap();
    assert_eq!(event_types(&d), ["LoginProfileDeleted"]);
    assert_eq!(g.when(&delete("alice")), Err(DecideError::LoginProfileNotFound(alice)));
    assert_eq!(event_types(&g.then_apply(&delete_user).unwrap()), ["UserDeleted"]);
}

#[test]
fn the_commands_are_named_as_iam_names_them() {
    assert_eq!(create(admin(), "admin").name(), "CreateLoginProfile");
    assert_eq!(update(None, None).name(), "UpdateLoginProfile");
    assert_eq!(delete("admin").name(), "DeleteLoginProfile");
}
