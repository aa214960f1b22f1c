//! A user sees only their own account, exactly as through the API, and no
//! page shows a secret.

use super::*;
use crate::pages::q;
use api::app::bootstrap::default_images;

/// What account A owns, as its pages would show it.
struct Owned {
    instance: String,
    instance_name: String,
    key_name: String,
    key_id: String,
    group_id: String,
    group_name: String,
    address: String,
    allocation: String,
    /// The key pair's private key, shown once by CreateKeyPair.
    private_key: String,
    volume: String,
    volume_name: String,
    snapshot: String,
    snapshot_description: String,
}

async fn make_resources(w: &World) -> Owned {
    let (emi, _, _) = default_images();
    let run = ec2(
        w,
        &w.admin,
        "RunInstances",
        &[
            ("ImageId", emi.as_str()),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("TagSpecification.1.ResourceType", "instance"),
            ("TagSpecification.1.Tag.1.Key", "Name"),
            ("TagSpecification.1.Tag.1.Value", "secret-project-web"),
        ],
    )
    .await;
    let key = ec2(w, &w.admin, "CreateKeyPair", &[("KeyName", "alices-key"), ("KeyType", "ed25519")]).await;
    let group = ec2(
        w,
        &w.admin,
        "CreateSecurityGroup",
        &[("GroupName", "alices-web"), ("GroupDescription", "web tier")],
    )
    .await;
    let address = ec2(w, &w.admin, "AllocateAddress", &[("Domain", "vpc")]).await;
    let zone = ZoneName::parse("yukari-1a").unwrap();
    w.app.configure_storage(&zone, 100).await.unwrap();
    let volume = ec2(
        w,
        &w.admin,
        "CreateVolume",
        &[
            ("Size", "1"),
            ("AvailabilityZone", "yukari-1a"),
            ("TagSpecification.1.ResourceType", "volume"),
            ("TagSpecification.1.Tag.1.Key", "Name"),
            ("TagSpecification.1.Tag.1.Value", "alices-disk"),
        ],
    )
    .await
    .first("volumeId")
    .unwrap();
    let made = api::app::volumes::StorageDone::Created { volume: domain::VolumeId::parse(&volume).unwrap() };
    w.app.record_storage(&zone, made).await.unwrap();
    let snapshot =
        ec2(w, &w.admin, "CreateSnapshot", &[("VolumeId", &volume), ("Description", "alices-backup")])
            .await
            .first("snapshotId")
            .unwrap();
    Owned {
        instance: run.first("instanceId").unwrap(),
        instance_name: "secret-project-web".into(),
        key_name: "alices-key".into(),
        key_id: key.first("keyPairId").unwrap(),
        group_id: group.first("groupId").unwrap(),
        group_name: "alices-web".into(),
        address: address.first("publicIp").unwrap(),
        allocation: address.first("allocationId").unwrap(),
        private_key: key.first("keyMaterial").unwrap(),
        volume,
        volume_name: "alices-disk".into(),
        snapshot,
        snapshot_description: "alices-backup".into(),
    }
}

/// Another account, `team-b`, whose admin has a console password; its secret key.
async fn second_account(w: &World) -> String {
    let key = w.app.create_account("team-b", &meta(&w.admin)).await.unwrap();
    w.app
        .change_login_profile(
            &key.account,
            &UserName::admin(),
            LoginProfileKind::Create,
            Some(PASSWORD.into()),
            None,
            &meta(&key.account),
        )
        .await
        .unwrap();
    key.secret
}

/// Every page a signed-in user can open, for `owned`'s resources.
fn pages(o: &Owned) -> Vec<String> {
    vec![
        "/".into(),
        "/instances".into(),
        "/instances?state=pending".into(),
        "/instances?state=running".into(),
        "/instances?q=secret-project".into(),
        "/instances/new".into(),
        format!("/instances/{}", o.instance),
        format!("/instances/{}/console", o.instance),
        "/images".into(),
        "/keypairs".into(),
        "/groups".into(),
        format!("/groups/{}", o.group_id),
        "/addresses".into(),
        "/volumes".into(),
        "/snapshots".into(),
        "/password".into(),
    ]
}

#[tokio::test]
async fn another_accounts_user_sees_none_of_the_first_accounts_resources_on_any_page() {
    let w = world().await;
    let owned = make_resources(&w).await;
    second_account(&w).await;
    // Account A's own pages show its resources (so the check below could fail).
    let mut alice = signed_in(&w, "admin").await;
    let mut seen = String::new();
    for path in pages(&owned) {
        let page = alice.get(&w.router, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        seen.push_str(&page.body);
    }
    let marks = [
        &owned.instance,
        &owned.instance_name,
        &owned.key_name,
        &owned.key_id,
        &owned.group_id,
        &owned.group_name,
        &owned.address,
        &owned.allocation,
        &owned.volume,
        &owned.volume_name,
        &owned.snapshot,
        &owned.snapshot_description,
    ];
    for mark in marks {
        assert!(seen.contains(mark.as_str()), "account A's pages show {mark}");
    }
    // Account B's user sees none of them, anywhere.
    let mut bob = signed_in(&w, "team-b").await;
    for path in pages(&owned) {
        let page = bob.get(&w.router, &path).await;
        assert!(
            page.status == StatusCode::OK || page.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            page.status
        );
        for mark in marks {
            // A page may say what B asked for (a not-found page keeps its
            // path for the language switch), nothing more.
            let shown = page.body.matches(mark.as_str()).count();
            let asked = if path.contains(mark.as_str()) { page.body.matches(&q(&path)).count() } else { 0 };
            assert_eq!(shown, asked, "{path} shows account A's {mark} to account B");
        }
    }
    assert_eq!(
        bob.get(&w.router, &format!("/instances/{}", owned.instance)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.get(&w.router, &format!("/groups/{}", owned.group_id)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_accounts_user_cannot_act_on_the_first_accounts_resources() {
    let w = world().await;
    let owned = make_resources(&w).await;
    second_account(&w).await;
    let mut bob = signed_in(&w, "team-b").await;
    let csrf = bob.csrf(&w.router).await;
    let path = format!("/instances/{}/action", owned.instance);
    let answer = bob.post(&w.router, &path, &[("csrf", &csrf), ("op", "terminate")]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let next = bob.get(&w.router, answer.location()).await;
    assert!(next.body.contains("class=\"flash error\""), "{}", next.body);
    let rules = format!("/groups/{}/rules", owned.group_id);
    let fields = [
        ("csrf", csrf.as_str()),
        ("op", "add"),
        ("protocol", "tcp"),
        ("from", "22"),
        ("to", "22"),
        ("source", "0.0.0.0/0"),
    ];
    bob.post(&w.router, &rules, &fields).await;
    let release = [("csrf", csrf.as_str()), ("allocation", owned.allocation.as_str())];
    bob.post(&w.router, "/addresses/release", &release).await;
    let volume = [("csrf", csrf.as_str()), ("volume", owned.volume.as_str())];
    for path in ["/volumes/delete", "/volumes/snapshot"] {
        let answer = bob.post(&w.router, path, &volume).await;
        let next = bob.get(&w.router, answer.location()).await;
        assert!(next.body.contains("There is no such volume."), "{path}: {}", next.body);
    }
    bob.post(&w.router, "/snapshots/delete", &[("csrf", &csrf), ("snapshot", &owned.snapshot)]).await;
    // Nothing of A's changed.
    let models = w.app.projections.read();
    let row = models.instances.get(&owned.instance).unwrap();
    assert_ne!(row.state, domain::InstanceState::ShuttingDown);
    assert_ne!(row.state, domain::InstanceState::Terminated);
    let group =
        models.security.groups.get(&domain::SecurityGroupId::parse(&owned.group_id).unwrap()).unwrap();
    assert!(group.ingress.is_empty());
    assert!(models.network.addresses.contains_key(&domain::AllocationId::parse(&owned.allocation).unwrap()));
    let volume = &models.volumes.volumes[&domain::VolumeId::parse(&owned.volume).unwrap()];
    assert_eq!(volume.state, domain::volumes::VolumeState::Available);
    assert_eq!(models.volumes.snapshots.len(), 1, "A's own snapshot, still there, and no other");
}

#[tokio::test]
async fn no_page_shows_a_secret_key_a_password_hash_or_a_sealed_secret() {
    let w = world().await;
    let owned = make_resources(&w).await;
    let b_secret = second_account(&w).await;
    let mut alice = signed_in(&w, "admin").await;
    let mut bob = signed_in(&w, "team-b").await;
    // The plain secrets, and the sealed forms the log and read models keep
    // of the access keys and console passwords, in every encoding.
    let mut secrets: Vec<String> =
        [w.admin_secret.as_str(), b_secret.as_str(), PASSWORD, "$argon2", "SecretAccessKey"]
            .map(str::to_owned)
            .to_vec();
    assert!(owned.private_key.contains("PRIVATE KEY"));
    secrets.push(owned.private_key.clone());
    secrets.extend(
        owned.private_key.lines().filter(|l| l.len() > 20 && !l.contains("PRIVATE")).map(str::to_owned),
    );
    {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let models = w.app.projections.read();
        let sealed = models
            .accounts
            .keys
            .values()
            .map(|row| row.secret.ciphertext.clone())
            .chain(
                models
                    .login_profiles
                    .profiles
                    .values()
                    .flat_map(|users| users.values())
                    .map(|p| p.password.ciphertext.clone()),
            )
            .collect::<Vec<_>>();
        assert!(sealed.len() >= 4, "{}", sealed.len());
        for bytes in sealed {
            secrets.extend([hex::encode(&bytes), STANDARD.encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes)]);
        }
    }
    for browser in [&mut alice, &mut bob] {
        for path in pages(&owned) {
            let page = browser.get(&w.router, &path).await;
            for secret in &secrets {
                assert!(!page.body.contains(secret.as_str()), "{path} shows a secret ({secret})");
            }
        }
    }
}
