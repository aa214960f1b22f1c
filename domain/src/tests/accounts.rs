//! Accounts, their names, users and access keys.

use super::samples::*;
use super::*;
use crate::command::*;

#[test]
fn accounts_and_keys_are_unique() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    let again = Command::CreateAccount(CreateAccount {
        account: admin(),
        name: "x".into(),
        default_group: SecurityGroupId::from_bits(0xbeef),
        access_key: None,
        at: t(2),
    });
    assert_eq!(g.when(&again), Err(DecideError::AccountExists(admin())));
    let same_name = Command::CreateAccount(CreateAccount {
        account: AccountId::from_bits(999),
        name: "admin".into(),
        default_group: SecurityGroupId::from_bits(0xbeef),
        access_key: None,
        at: t(2),
    });
    assert_eq!(g.when(&same_name), Err(DecideError::AccountNameTaken("admin".into())));
    let key = CreateAccessKey {
        account: admin(),
        key: NewAccessKey {
            user: UserName::admin(),
            access_key: AccessKeyId::from_bits(7),
            secret: secret(),
        },
        at: t(2),
    };
    assert_eq!(
        g.when(&Command::CreateAccessKey(key.clone())),
        Err(DecideError::AccessKeyExists(AccessKeyId::from_bits(7)))
    );
    let missing = CreateAccessKey { account: other_account(), ..key.clone() };
    assert_eq!(
        g.when(&Command::CreateAccessKey(missing)),
        Err(DecideError::AccountNotFound(other_account()))
    );
    // Keys go to users that exist.
    let alice = UserName::parse("alice").unwrap();
    let for_alice = CreateAccessKey {
        key: NewAccessKey { user: alice.clone(), access_key: AccessKeyId::from_bits(8), secret: secret() },
        ..key
    };
    assert_eq!(
        g.when(&Command::CreateAccessKey(for_alice.clone())),
        Err(DecideError::UserNotFound(alice.clone()))
    );
    let user = Command::CreateUser(CreateUser { account: admin(), user: alice.clone(), at: t(3) });
    g.then_apply(&user).unwrap();
    assert_eq!(g.when(&user), Err(DecideError::UserExists(alice)));
    assert_eq!(
        event_types(&g.then_apply(&Command::CreateAccessKey(for_alice)).unwrap()),
        vec!["AccessKeyCreated"]
    );
    // Keys are turned off, on, and deleted; a user goes once keyless.
    let key8 = AccessKeyId::from_bits(8);
    let alice = UserName::parse("alice").unwrap();
    let update = |active| {
        Command::UpdateAccessKey(UpdateAccessKey {
            account: admin(),
            user: alice.clone(),
            access_key: key8.clone(),
            active,
            at: t(4),
        })
    };
    let delete = |user: &UserName| {
        Command::DeleteAccessKey(DeleteAccessKey {
            account: admin(),
            user: user.clone(),
            access_key: key8.clone(),
            at: t(4),
        })
    };
    assert_eq!(event_types(&g.then_apply(&update(false)).unwrap()), vec!["AccessKeyStatusChanged"]);
    assert!(g.when(&update(false)).unwrap().events.is_empty(), "already off");
    let delete_user = Command::DeleteUser(DeleteUser { account: admin(), user: alice.clone(), at: t(5) });
    assert_eq!(g.when(&delete_user), Err(DecideError::UserInUse(alice.clone())));
    let wrong_user = delete(&UserName::admin());
    assert_eq!(g.when(&wrong_user), Err(DecideError::AccessKeyNotFound(key8.clone())));
    g.then_apply(&delete(&alice)).unwrap();
    assert_eq!(event_types(&g.then_apply(&delete_user).unwrap()), vec!["UserDeleted"]);
    let admin_user = Command::DeleteUser(DeleteUser { account: admin(), user: UserName::admin(), at: t(5) });
    assert_eq!(g.when(&admin_user), Err(DecideError::UserInUse(UserName::admin())));
}
