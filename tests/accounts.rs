//! Accounts: `yukari account create` through the Euare API while the cloud
//! runs, its credential files, and isolation: a walk through every compute
//! action shows that one account can neither see nor change another's
//! resources.

mod common;
use common::*;
use std::collections::HashMap;
use std::process::Output;

/// Runs the AWS CLI as another account (its eucarc).
fn aws_as(cloud: &Cloud, env: &HashMap<String, String>, args: &[&str]) -> Output {
    cloud.client("aws").envs(env).arg("ec2").args(args).args(["--output", "json"]).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn refused(out: &Output, code: &str) -> bool {
    !out.status.success() && String::from_utf8_lossy(&out.stderr).contains(code)
}

#[test]
fn accounts_are_created_from_the_command_line_and_isolated_from_each_other() {
    let cloud = Cloud::start();
    let made = yukari().args(["account", "create", "team-b", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let b_dir = cloud.dir.join("accounts/team-b");
    let b = parse_eucarc(&std::fs::read_to_string(b_dir.join("eucarc")).unwrap());
    assert_ne!(b["AWS_ACCESS_KEY_ID"], cloud.env["AWS_ACCESS_KEY_ID"]);
    let ini = std::fs::read_to_string(b_dir.join("euca2ools.ini")).unwrap();
    assert!(
        ini.contains("[user team-b-admin]") && ini.contains(&format!("key-id = {}", b["AWS_ACCESS_KEY_ID"])),
        "{ini}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(b_dir.join("eucarc")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again =
        yukari().args(["account", "create", "team-b", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("EntityAlreadyExists"));
    // Only the cloud's administrator makes accounts.
    let by_b = yukari().args(["account", "create", "team-c", "--data-dir"]).arg(&b_dir).output().unwrap();
    assert!(
        String::from_utf8_lossy(&by_b.stderr).contains("AccessDenied"),
        "{}",
        String::from_utf8_lossy(&by_b.stderr)
    );
    let list = yukari().args(["account", "list", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("admin") && list.contains("team-b") && !list.contains("team-c"), "{list}");

    // Account A's resources.
    cloud.aws(&["create-key-pair", "--key-name", "shared-name"]);
    let group =
        cloud.aws(&["create-security-group", "--group-name", "web", "--description", "web"])["GroupId"]
            .as_str()
            .unwrap()
            .to_owned();
    cloud.aws(&[
        "authorize-security-group-ingress",
        "--group-id",
        &group,
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "0.0.0.0/0",
    ]);
    let run = cloud.aws(&[
        "run-instances",
        "--image-id",
        DEFAULT_IMAGE,
        "--key-name",
        "shared-name",
        "--security-group-ids",
        &group,
    ]);
    let id = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    cloud.aws(&["create-tags", "--resources", &id, "--tags", "Key=owner,Value=a"]);
    let eip = cloud.aws(&["allocate-address"]);
    let allocation = eip["AllocationId"].as_str().unwrap().to_owned();
    let address = eip["PublicIp"].as_str().unwrap().to_owned();
    cloud.eventually(30, "A's instance running", || {
        instance_states(&cloud.aws(&["describe-instances", "--instance-ids", &id]))
            == vec![(id.clone(), "running".to_owned())]
    });
    cloud.aws(&["associate-address", "--allocation-id", &allocation, "--instance-id", &id]);
    let before = cloud.aws(&["describe-instances", "--instance-ids", &id]);

    // B sees none of it.
    assert!(instance_states(&json(&aws_as(&cloud, &b, &["describe-instances"]))).is_empty());
    assert!(json(&aws_as(&cloud, &b, &["describe-key-pairs"]))["KeyPairs"].as_array().unwrap().is_empty());
    let b_groups = json(&aws_as(&cloud, &b, &["describe-security-groups"]));
    let names: Vec<&str> = b_groups["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["default"], "B has only its own default group");
    assert!(json(&aws_as(&cloud, &b, &["describe-addresses"]))["Addresses"].as_array().unwrap().is_empty());
    assert!(json(&aws_as(&cloud, &b, &["describe-tags"]))["Tags"].as_array().unwrap().is_empty());
    assert!(json(&aws_as(&cloud, &b, &["describe-instance-status", "--include-all-instances"]))["InstanceStatuses"]
        .as_array()
        .unwrap()
        .is_empty());

    // Every action aimed at A's resources fails as if they did not exist.
    let checks: Vec<(Vec<&str>, &str)> = vec![
        (vec!["describe-instances", "--instance-ids", &id], "InvalidInstanceID.NotFound"),
        (vec!["terminate-instances", "--instance-ids", &id], "InvalidInstanceID.NotFound"),
        (vec!["stop-instances", "--instance-ids", &id], "InvalidInstanceID.NotFound"),
        (vec!["start-instances", "--instance-ids", &id], "InvalidInstanceID.NotFound"),
        (vec!["reboot-instances", "--instance-ids", &id], "InvalidInstanceID.NotFound"),
        (vec!["describe-instance-status", "--instance-ids", &id], "InvalidInstanceID.NotFound"),
        (
            vec!["describe-instance-attribute", "--instance-id", &id, "--attribute", "userData"],
            "InvalidInstanceID.NotFound",
        ),
        (
            vec!["modify-instance-attribute", "--instance-id", &id, "--disable-api-termination"],
            "InvalidInstanceID.NotFound",
        ),
        (vec!["get-console-output", "--instance-id", &id], "InvalidInstanceID.NotFound"),
        (
            vec!["create-tags", "--resources", &id, "--tags", "Key=owner,Value=b"],
            "InvalidInstanceID.NotFound",
        ),
        (vec!["delete-tags", "--resources", &id], "InvalidInstanceID.NotFound"),
        (vec!["describe-security-groups", "--group-ids", &group], "InvalidGroup.NotFound"),
        (vec!["delete-security-group", "--group-id", &group], "InvalidGroup.NotFound"),
        (
            vec![
                "authorize-security-group-ingress",
                "--group-id",
                &group,
                "--protocol",
                "tcp",
                "--port",
                "80",
                "--cidr",
                "0.0.0.0/0",
            ],
            "InvalidGroup.NotFound",
        ),
        (
            vec![
                "revoke-security-group-ingress",
                "--group-id",
                &group,
                "--protocol",
                "tcp",
                "--port",
                "22",
                "--cidr",
                "0.0.0.0/0",
            ],
            "InvalidGroup.NotFound",
        ),
        (
            vec!["run-instances", "--image-id", DEFAULT_IMAGE, "--security-group-ids", &group],
            "InvalidGroup.NotFound",
        ),
        (
            vec!["run-instances", "--image-id", DEFAULT_IMAGE, "--key-name", "shared-name"],
            "InvalidKeyPair.NotFound",
        ),
        (vec!["describe-key-pairs", "--key-names", "shared-name"], "InvalidKeyPair.NotFound"),
        (
            vec!["associate-address", "--allocation-id", &allocation, "--instance-id", &id],
            "InvalidAllocationID.NotFound",
        ),
        (vec!["disassociate-address", "--public-ip", &address], "InvalidAddress.NotFound"),
        (vec!["release-address", "--allocation-id", &allocation], "InvalidAllocationID.NotFound"),
        (vec!["describe-addresses", "--allocation-ids", &allocation], "InvalidAllocationID.NotFound"),
    ];
    for (args, code) in &checks {
        let out = aws_as(&cloud, &b, args);
        assert!(
            refused(&out, code),
            "B: {args:?} should fail with {code}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Names are per account: B has its own key "shared-name", and deleting
    // it leaves A's alone.
    json(&aws_as(&cloud, &b, &["create-key-pair", "--key-name", "shared-name"]));
    json(&aws_as(&cloud, &b, &["create-security-group", "--group-name", "web", "--description", "b's web"]));
    json(&aws_as(&cloud, &b, &["delete-key-pair", "--key-name", "shared-name"]));
    assert_eq!(cloud.aws(&["describe-key-pairs"])["KeyPairs"].as_array().unwrap().len(), 1);

    // A's resources are exactly as they were.
    let after = cloud.aws(&["describe-instances", "--instance-ids", &id]);
    assert_eq!(before, after);
    let rules = cloud.aws(&["describe-security-groups", "--group-ids", &group]);
    assert_eq!(rules["SecurityGroups"][0]["IpPermissions"].as_array().unwrap().len(), 1);
    let tags = cloud.aws(&["describe-tags"]);
    assert_eq!(tags["Tags"].as_array().unwrap().len(), 1);
    assert_eq!(tags["Tags"][0]["Value"], "a");
    let addresses = cloud.aws(&["describe-addresses"]);
    assert_eq!(addresses["Addresses"][0]["InstanceId"], id.as_str());
}

/// Euare as euca2ools uses it: the cloud administrator acts for another
/// account with DelegateAccount (never for its own by mistake), users read
/// themselves, keys are turned off and deleted, and a turned-off key stops
/// working at once.
#[test]
fn euare_delegation_users_and_key_life() {
    use common::wire::Signer;
    let cloud = Cloud::start();
    let admin = cloud.wire("/services/Euare");
    let iam = |client: &common::wire::Client, params: &[(&str, &str)]| {
        let mut p = params.to_vec();
        p.push(("Version", "2010-05-08"));
        client.send(&p, Signer::Boto3)
    };
    let made = iam(&admin, &[("Action", "CreateAccount"), ("AccountName", "acct3")]);
    assert_eq!(made.status, 200, "{}", made.body);
    let acct3 = made.element("AccountId").unwrap().to_owned();
    // euare-accountcreate -k: a key for the new account's admin.
    let delegated =
        iam(&admin, &[("Action", "CreateAccessKey"), ("UserName", "admin"), ("DelegateAccount", &acct3)]);
    assert_eq!(delegated.status, 200, "{}", delegated.body);
    let mut as3 = cloud.wire("/");
    as3.access_key = delegated.element("AccessKeyId").unwrap().to_owned();
    as3.secret = delegated.element("SecretAccessKey").unwrap().to_owned();
    // The key is acct3's: it sees acct3's default group, not the cloud admin's.
    let groups = as3.send(&[("Action", "DescribeSecurityGroups"), ("Version", "2016-11-15")], Signer::Boto3);
    assert_eq!(groups.element("ownerId"), Some(acct3.as_str()), "{}", groups.body);
    // ListAccessKeys for acct3 lists acct3's keys only (two: CreateAccount's and this one).
    let keys =
        iam(&admin, &[("Action", "ListAccessKeys"), ("UserName", "admin"), ("DelegateAccount", "acct3")]);
    let ids = keys.all("AccessKeyId");
    assert_eq!(ids.len(), 2, "{}", keys.body);
    assert!(ids.contains(&as3.access_key));
    assert!(!ids.contains(&cloud.access_key().to_owned()));
    // An unknown account, and a non-administrator delegating, are refused.
    let unknown = iam(&admin, &[("Action", "ListUsers"), ("DelegateAccount", "nosuch")]);
    assert_eq!((unknown.status, unknown.code()), (404, Some("NoSuchEntity")), "{}", unknown.body);
    let mut acct3_admin = cloud.wire("/services/Euare");
    acct3_admin.access_key = as3.access_key.clone();
    acct3_admin.secret = as3.secret.clone();
    let sneaky = iam(&acct3_admin, &[("Action", "ListUsers"), ("DelegateAccount", "admin")]);
    assert_eq!(sneaky.code(), Some("AccessDenied"), "{}", sneaky.body);

    // Users: made, read, keyed, key turned off (it stops working), deleted.
    assert_eq!(iam(&acct3_admin, &[("Action", "CreateUser"), ("UserName", "dev")]).status, 200);
    let key = iam(&acct3_admin, &[("Action", "CreateAccessKey"), ("UserName", "dev")]);
    let mut dev = cloud.wire("/");
    dev.access_key = key.element("AccessKeyId").unwrap().to_owned();
    dev.secret = key.element("SecretAccessKey").unwrap().to_owned();
    let mut dev_iam = cloud.wire("/services/Euare");
    dev_iam.access_key = dev.access_key.clone();
    dev_iam.secret = dev.secret.clone();
    let me = iam(&dev_iam, &[("Action", "GetUser")]);
    assert_eq!(me.element("UserName"), Some("dev"), "{}", me.body);
    assert_eq!(iam(&dev_iam, &[("Action", "ListUserPolicies")]).status, 200);
    let look = || dev.send(&[("Action", "DescribeInstances"), ("Version", "2016-11-15")], Signer::Boto3);
    assert_eq!(look().status, 200);
    let off = iam(
        &acct3_admin,
        &[
            ("Action", "UpdateAccessKey"),
            ("UserName", "dev"),
            ("AccessKeyId", &dev.access_key),
            ("Status", "Inactive"),
        ],
    );
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(look().code(), Some("AuthFailure"), "an inactive key must not authenticate");
    let busy = iam(&acct3_admin, &[("Action", "DeleteUser"), ("UserName", "dev")]);
    assert_eq!(busy.code(), Some("DeleteConflict"), "{}", busy.body);
    assert_eq!(
        iam(
            &acct3_admin,
            &[("Action", "DeleteAccessKey"), ("UserName", "dev"), ("AccessKeyId", &dev.access_key)]
        )
        .status,
        200
    );
    assert_eq!(iam(&acct3_admin, &[("Action", "DeleteUser"), ("UserName", "dev")]).status, 200);
    let gone = iam(&acct3_admin, &[("Action", "GetUser"), ("UserName", "dev")]);
    assert_eq!(gone.code(), Some("NoSuchEntity"), "{}", gone.body);
}

/// Console passwords are Euare login profiles (IAM's shapes): the cloud
/// administrator gets one on first start, written to DATA_DIR/console-password
/// (0600), and a new one only at a start where it has none; other users get
/// theirs from an account admin; no answer holds a password; a user with
/// one cannot be deleted.
#[test]
fn euare_login_profiles() {
    use common::wire::Signer;
    use std::os::unix::fs::PermissionsExt;
    let mut cloud = Cloud::start();
    let file = cloud.dir.join("console-password");
    let first = std::fs::read_to_string(&file).expect("the admin's first console password");
    assert_eq!(first.trim().len(), 20, "{first:?}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let admin = cloud.wire("/services/Euare");
    let iam = |params: &[(&str, &str)]| {
        let mut p = params.to_vec();
        p.push(("Version", "2010-05-08"));
        admin.send(&p, Signer::Boto3)
    };
    let mine = iam(&[("Action", "GetLoginProfile"), ("UserName", "admin")]);
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.element("UserName"), Some("admin"));
    assert_eq!(mine.element("PasswordResetRequired"), Some("false"));

    assert_eq!(iam(&[("Action", "CreateUser"), ("UserName", "dev")]).status, 200);
    let none = iam(&[("Action", "GetLoginProfile"), ("UserName", "dev")]);
    assert_eq!((none.status, none.code()), (404, Some("NoSuchEntity")), "{}", none.body);
    let short = iam(&[("Action", "CreateLoginProfile"), ("UserName", "dev"), ("Password", "short")]);
    assert_eq!((short.status, short.code()), (400, Some("PasswordPolicyViolation")), "{}", short.body);
    let secret = "a long enough password";
    let made = iam(&[("Action", "CreateLoginProfile"), ("UserName", "dev"), ("Password", secret)]);
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.element("UserName"), Some("dev"));
    assert!(made.element("CreateDate").is_some_and(|d| d.ends_with('Z')), "{}", made.body);
    assert!(!made.body.contains(secret), "the password is never answered");
    let twice = iam(&[("Action", "CreateLoginProfile"), ("UserName", "dev"), ("Password", secret)]);
    assert_eq!((twice.status, twice.code()), (409, Some("EntityAlreadyExists")), "{}", twice.body);
    let flag =
        iam(&[("Action", "UpdateLoginProfile"), ("UserName", "dev"), ("PasswordResetRequired", "true")]);
    assert_eq!(flag.status, 200, "{}", flag.body);
    let read = iam(&[("Action", "GetLoginProfile"), ("UserName", "dev")]);
    assert_eq!(read.element("PasswordResetRequired"), Some("true"), "{}", read.body);
    let busy = iam(&[("Action", "DeleteUser"), ("UserName", "dev")]);
    assert_eq!(busy.code(), Some("DeleteConflict"), "{}", busy.body);
    assert_eq!(iam(&[("Action", "DeleteLoginProfile"), ("UserName", "dev")]).status, 200);
    let gone = iam(&[("Action", "GetLoginProfile"), ("UserName", "dev")]);
    assert_eq!(gone.code(), Some("NoSuchEntity"), "{}", gone.body);
    assert_eq!(iam(&[("Action", "DeleteUser"), ("UserName", "dev")]).status, 200);

    // Another account's admin cannot touch the cloud admin's profile.
    let other = iam(&[("Action", "CreateAccount"), ("AccountName", "acct9")]);
    let mut other_iam = cloud.wire("/services/Euare");
    other_iam.access_key = other.element("AccessKeyId").unwrap().to_owned();
    other_iam.secret = other.element("SecretAccessKey").unwrap().to_owned();
    let sneaky = other_iam.send(
        &[
            ("Action", "UpdateLoginProfile"),
            ("UserName", "admin"),
            ("Password", "taken over at last"),
            ("DelegateAccount", "admin"),
            ("Version", "2010-05-08"),
        ],
        Signer::Boto3,
    );
    assert_eq!(sneaky.code(), Some("AccessDenied"), "{}", sneaky.body);

    // A restart keeps the password; with the file gone, it is not made
    // again while the admin has one.
    assert!(cloud.stop().success());
    cloud.restart();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);
    std::fs::remove_file(&file).unwrap();
    assert!(cloud.stop().success());
    cloud.restart();
    assert!(!file.exists(), "a new password was made although the admin has one");
    // An admin without one gets a new one at the next start.
    let admin = cloud.wire("/services/Euare");
    let iam = |params: &[(&str, &str)]| {
        let mut p = params.to_vec();
        p.push(("Version", "2010-05-08"));
        admin.send(&p, Signer::Boto3)
    };
    assert_eq!(iam(&[("Action", "DeleteLoginProfile"), ("UserName", "admin")]).status, 200);
    assert!(cloud.stop().success());
    cloud.restart();
    let second = std::fs::read_to_string(&file).expect("a new password for the admin");
    assert!(second.trim().len() == 20 && second != first, "{second:?}");
    assert_eq!(iam(&[("Action", "GetLoginProfile"), ("UserName", "admin")]).status, 200);
}

/// The command line speaks the user's language: help and errors in
/// Japanese under a Japanese locale, English otherwise; bad input exits
/// non-zero without a backtrace.
#[test]
fn the_command_line_answers_in_english_or_japanese() {
    let run = |lang: &str, args: &[&str]| {
        let out = yukari()
            .args(args)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", lang)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run("ja_JP.UTF-8", &["account", "list", "--data-dir", "/nonexistent-yukari"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("エラー: /nonexistent-yukari/eucarc を読めません"), "{err}");
    let (code, _, err) = run("C.UTF-8", &["account", "list", "--data-dir", "/nonexistent-yukari"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("error: cannot read /nonexistent-yukari/eucarc"), "{err}");
    assert!(!err.contains("backtrace"), "{err}");

    let (code, help, _) = run("ja_JP.UTF-8", &["up", "--help"]);
    assert_eq!(code, Some(0));
    assert!(help.contains("使い方: yukari up"), "{help}");
    assert!(
        help.contains("クラウドがイベントログ、鍵、認証情報を置くディレクトリ [既定: yukari-data]"),
        "{help}"
    );
    let (_, help, _) = run("en_US.UTF-8", &["up", "--help"]);
    assert!(help.contains("Where the cloud keeps its event log, keys and credentials"), "{help}");
    assert!(help.is_ascii(), "English help is English: {help}");
}
