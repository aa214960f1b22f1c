//! Security groups and key pairs: names unique per account, rules, members
//! and the groups that rules name.

use super::samples::*;
use super::*;
use crate::command::*;

fn cloud() -> Given {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    g.then_apply(&create_other()).unwrap();
    g
}

fn key(account: AccountId, name: &str, bits: u128) -> Command {
    Command::ImportKeyPair(NewKeyPair {
        account,
        name: name.into(),
        key_pair: KeyPairId::from_bits(bits),
        fingerprint: "aa:bb".into(),
        public_key: "ssh-ed25519 AAAA".into(),
        key_type: "ed25519".into(),
        tags: vec![],
        at: t(5),
    })
}

fn group(account: AccountId, name: &str, bits: u128) -> Command {
    Command::CreateSecurityGroup(CreateSecurityGroup {
        account,
        group: SecurityGroupId::from_bits(bits),
        name: name.into(),
        description: "d".into(),
        tags: vec![],
        at: t(5),
    })
}

fn rules(account: AccountId, group: GroupRef, authorize: bool, rules: Vec<RuleRef>) -> Command {
    let rules = GroupRules { account, group, rules, at: t(6) };
    if authorize {
        Command::AuthorizeSecurityGroupIngress(rules)
    } else {
        Command::RevokeSecurityGroupIngress(rules)
    }
}

fn ssh() -> RuleRef {
    RuleRef {
        protocol: "tcp".into(),
        from_port: 22,
        to_port: 22,
        source: SourceRef::Cidr("0.0.0.0/0".into()),
    }
}

#[test]
fn key_pair_names_are_unique_per_account_and_deleting_a_missing_one_is_quiet() {
    let mut g = cloud();
    g.then_apply(&key(admin(), "mine", 1)).unwrap();
    assert_eq!(g.when(&key(admin(), "mine", 2)), Err(DecideError::KeyPairExists("mine".into())));
    assert!(g.when(&key(other_account(), "mine", 2)).is_ok());
    let delete = |name: Option<&str>, id: Option<u128>| {
        Command::DeleteKeyPair(DeleteKeyPair {
            account: admin(),
            name: name.map(str::to_owned),
            key_pair: id.map(KeyPairId::from_bits),
            at: t(7),
        })
    };
    assert!(g.when(&delete(Some("nothing"), None)).unwrap().events.is_empty());
    assert_eq!(
        g.when(&delete(None, Some(9))),
        Err(DecideError::KeyPairNotFound(KeyPairId::from_bits(9).to_string()))
    );
    assert_eq!(event_types(&g.when(&delete(None, Some(1))).unwrap()), vec!["KeyPairDeleted"]);
    g.then_apply(&delete(Some("mine"), None)).unwrap();
    assert!(g.when(&key(admin(), "mine", 3)).is_ok());
}

#[test]
fn instances_need_an_existing_key_pair_and_join_their_groups() {
    let mut g = cloud();
    let mut launch = run_in(admin(), 1, 1, 1, None);
    launch.key_name = Some("absent".into());
    assert_eq!(
        g.when(&Command::RunInstances(launch.clone())),
        Err(DecideError::KeyPairNotFound("absent".into()))
    );
    g.then_apply(&key(admin(), "absent", 1)).unwrap();
    g.then_apply(&group(admin(), "web", 0x55)).unwrap();
    launch.groups = vec![GroupRef::Name("web".into()), GroupRef::Name("default".into())];
    let d = g.then_apply(&Command::RunInstances(launch)).unwrap();
    let joined: Vec<&StreamId> = d
        .events
        .iter()
        .filter(|(_, e)| e.type_name() == "SecurityGroupMemberAdded")
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        joined,
        vec![
            &StreamId::security_group(&SecurityGroupId::from_bits(0x55)),
            &StreamId::security_group(&default_group(admin()))
        ]
    );
    // No group named: the default group.
    let d = g.then_apply(&run(admin(), 2, 1, 1, None)).unwrap();
    assert!(d.events.iter().any(|(s, e)| {
        e.type_name() == "SecurityGroupMemberAdded" && s == &StreamId::security_group(&default_group(admin()))
    }));
    // Another account's group is not found by name or id.
    let mut foreign = run_in(other_account(), 3, 1, 1, None);
    foreign.groups = vec![GroupRef::Id(SecurityGroupId::from_bits(0x55))];
    assert_eq!(
        g.when(&Command::RunInstances(foreign)),
        Err(DecideError::GroupNotFound(SecurityGroupId::from_bits(0x55).to_string()))
    );
}

#[test]
fn a_group_in_use_or_the_default_group_cannot_be_deleted() {
    let mut g = cloud();
    g.then_apply(&group(admin(), "web", 0x55)).unwrap();
    assert_eq!(g.when(&group(admin(), "web", 0x56)), Err(DecideError::GroupExists("web".into())));
    let mut launch = run_in(admin(), 1, 1, 1, None);
    launch.groups = vec![GroupRef::Name("web".into())];
    let id = match g.then_apply(&Command::RunInstances(launch)).unwrap().reply {
        Reply::Launched { instances, .. } => instances[0].clone(),
        _ => unreachable!(),
    };
    let delete =
        |group| Command::DeleteSecurityGroup(DeleteSecurityGroup { account: admin(), group, at: t(9) });
    assert_eq!(
        g.when(&delete(GroupRef::Name("web".into()))),
        Err(DecideError::GroupInUse { group: SecurityGroupId::from_bits(0x55), instances: 1 })
    );
    assert_eq!(g.when(&delete(GroupRef::Name("default".into()))), Err(DecideError::DefaultGroupUndeletable));
    g.then_apply(&report(&id, NodeOutcome::Running)).unwrap();
    g.then_apply(&terminate(admin(), std::slice::from_ref(&id))).unwrap();
    g.then_apply(&report(&id, NodeOutcome::Terminated)).unwrap();
    let d = g.then_apply(&delete(GroupRef::Id(SecurityGroupId::from_bits(0x55)))).unwrap();
    assert_eq!(event_types(&d), vec!["GroupNameReleased", "SecurityGroupDeleted"]);
    assert_eq!(g.when(&delete(GroupRef::Name("web".into()))), Err(DecideError::GroupNotFound("web".into())));
    // The name is free again.
    assert!(g.when(&group(admin(), "web", 0x57)).is_ok());
}

#[test]
fn a_group_named_by_another_groups_rule_is_not_deleted_until_the_rule_goes() {
    let mut g = cloud();
    g.then_apply(&group(admin(), "web", 0x55)).unwrap();
    g.then_apply(&group(admin(), "db", 0x56)).unwrap();
    let from_web = RuleRef {
        protocol: "tcp".into(),
        from_port: 5432,
        to_port: 5432,
        source: SourceRef::Group { account: None, group: GroupRef::Name("web".into()) },
    };
    let d = g.then_apply(&rules(admin(), GroupRef::Name("db".into()), true, vec![from_web.clone()])).unwrap();
    assert_eq!(event_types(&d), vec!["SecurityRulesAuthorized", "SecurityGroupReferenced"]);
    let delete = |name: &str| {
        Command::DeleteSecurityGroup(DeleteSecurityGroup {
            account: admin(),
            group: GroupRef::Name(name.into()),
            at: t(9),
        })
    };
    assert_eq!(
        g.when(&delete("web")),
        Err(DecideError::GroupReferenced {
            group: SecurityGroupId::from_bits(0x55),
            by: SecurityGroupId::from_bits(0x56)
        })
    );
    let d = g.then_apply(&rules(admin(), GroupRef::Name("db".into()), false, vec![from_web])).unwrap();
    assert_eq!(event_types(&d), vec!["SecurityRulesRevoked", "SecurityGroupDereferenced"]);
    assert!(g.when(&delete("web")).is_ok());
    // A group naming itself (like the default group) can still be deleted.
    let self_ref = RuleRef {
        protocol: "-1".into(),
        from_port: -1,
        to_port: -1,
        source: SourceRef::Group { account: None, group: GroupRef::Name("db".into()) },
    };
    g.then_apply(&rules(admin(), GroupRef::Name("db".into()), true, vec![self_ref])).unwrap();
    assert!(g.when(&delete("db")).is_ok());
}

#[test]
fn rules_are_added_once_removed_once_and_may_name_other_accounts_groups() {
    let mut g = cloud();
    let web = GroupRef::Name("default".into());
    g.then_apply(&rules(admin(), web.clone(), true, vec![ssh()])).unwrap();
    assert!(matches!(
        g.when(&rules(admin(), web.clone(), true, vec![ssh()])),
        Err(DecideError::DuplicateRule { .. })
    ));
    assert!(matches!(
        g.when(&rules(admin(), web.clone(), true, vec![ssh(), ssh()])),
        Err(DecideError::DuplicateRule { .. })
    ));
    let from_other = RuleRef {
        protocol: "tcp".into(),
        from_port: 80,
        to_port: 80,
        source: SourceRef::Group { account: Some(other_account()), group: GroupRef::Name("default".into()) },
    };
    // Another account's group is kept as it was named, not looked up, and
    // that account's streams are neither read nor written.
    let d = g.then_apply(&rules(admin(), web.clone(), true, vec![from_other.clone()])).unwrap();
    assert_eq!(d.events.len(), 1, "{:?}", d.events);
    match &d.events[0].1 {
        Event::SecurityRulesAuthorized(e) => assert_eq!(
            e.rules[0].source,
            RuleSource::NamedGroup { account: other_account(), name: "default".into() }
        ),
        other => panic!("{other:?}"),
    }
    let by_id = |group: SecurityGroupId, account: AccountId| RuleRef {
        source: SourceRef::Group { account: Some(account), group: GroupRef::Id(group) },
        ..from_other.clone()
    };
    let existing = by_id(default_group(other_account()), other_account());
    let d = g.then_apply(&rules(admin(), web.clone(), true, vec![existing])).unwrap();
    assert_eq!(d.events.len(), 1, "{:?}", d.events);
    // A group or an account that does not exist is answered the same.
    let nowhere = AccountId::parse("999999999999").unwrap();
    for (group, account) in [
        (SecurityGroupId::from_bits(0xdead), other_account()),
        (default_group(other_account()), nowhere.clone()),
        (SecurityGroupId::from_bits(0xbeef), nowhere),
    ] {
        let d = g.then_apply(&rules(admin(), web.clone(), true, vec![by_id(group.clone(), account.clone())]));
        let d = d.unwrap_or_else(|e| panic!("{group} of {account}: {e:?}"));
        assert_eq!(d.events.len(), 1);
    }
    let unknown = RuleRef {
        source: SourceRef::Group { account: None, group: GroupRef::Name("nope".into()) },
        ..from_other.clone()
    };
    assert_eq!(
        g.when(&rules(admin(), web.clone(), true, vec![unknown])),
        Err(DecideError::GroupNotFound("nope".into()))
    );
    g.then_apply(&rules(admin(), web.clone(), false, vec![ssh()])).unwrap();
    assert!(matches!(
        g.when(&rules(admin(), web, false, vec![ssh()])),
        Err(DecideError::RuleNotFound { .. })
    ));
    // Another account cannot touch this account's group.
    assert_eq!(
        g.when(&rules(other_account(), GroupRef::Id(default_group(admin())), true, vec![ssh()])),
        Err(DecideError::GroupNotFound(default_group(admin()).to_string()))
    );
}
