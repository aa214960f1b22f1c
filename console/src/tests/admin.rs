//! The administrators' pages: only the cloud administrator sees them
//! (anyone else gets the page that does not exist, as for any unknown
//! path); the audit trail's filters and pages; time travel and the diff.

use super::*;
use api::app::bootstrap::default_images;

/// Every administrators' page.
const ADMIN_PAGES: [&str; 9] = [
    "/admin/clusters",
    "/admin/accounts",
    "/admin/usage",
    "/admin/usage?from=-1d&to=now",
    "/admin/audit",
    "/admin/audit?action=RunInstances&outcome=ok",
    "/admin/time",
    "/admin/time?at=1",
    "/admin/diff?from=0&to=5",
];

/// A user of `account` with the console password [`PASSWORD`].
pub(super) async fn user_with_password(w: &World, account: &AccountId, name: &str) {
    let user = UserName::parse(name).unwrap();
    w.app.create_user(account, &user, &meta(account)).await.unwrap();
    w.app
        .change_login_profile(
            account,
            &user,
            LoginProfileKind::Create,
            Some(PASSWORD.into()),
            None,
            &meta(account),
        )
        .await
        .unwrap();
}

/// Signs in as `user` of `account`.
pub(super) async fn signed_in_as(w: &World, account: &str, user: &str) -> Browser {
    let mut b = Browser::default();
    let answer = b.sign_in(&w.router, account, user, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    b
}

/// Runs an EC2 action as `account`'s admin in a request of its own (the
/// shared test metadata gives every call one request id, which the audit
/// trail would take for one request).
async fn call(w: &World, action: &str, params: &[(&str, &str)]) -> Result<crate::ec2::Answer, String> {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    pairs.push(("Action".into(), action.into()));
    pairs.push(("Version".into(), api::ec2::NEWEST_VERSION.into()));
    let params = api::ec2::params::Params::from_request(pairs).unwrap();
    let mut m = meta(&w.admin);
    m.request_id = w.app.ids.request_id();
    m.correlation_id = m.request_id.clone();
    api::ec2::invoke(&w.app, &params, m).await.map(crate::ec2::Answer).map_err(|e| e.code.to_string())
}

/// A page's body with this page's own path taken out (the language
/// switch links back to it), to compare two answers.
fn without_path(body: &str, path: &str) -> String {
    body.replace(&crate::pages::q(path), "PATH")
}

#[tokio::test]
async fn no_one_but_the_cloud_administrator_sees_the_administrators_pages() {
    let w = world().await;
    let other = w.app.create_account("team-b", &meta(&w.admin)).await.unwrap();
    w.app
        .change_login_profile(
            &other.account,
            &UserName::admin(),
            LoginProfileKind::Create,
            Some(PASSWORD.into()),
            None,
            &meta(&other.account),
        )
        .await
        .unwrap();
    // A user of the admin account who is not its admin, and another account's admin.
    user_with_password(&w, &w.admin, "ops").await;
    let mut ops = signed_in_as(&w, "admin", "ops").await;
    let mut bob = signed_in_as(&w, "team-b", "admin").await;
    for browser in [&mut ops, &mut bob] {
        let unknown = browser.get(&w.router, "/admin/no-such-page").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(!browser.get(&w.router, "/").await.body.contains("/admin/"), "no way in is shown");
        for path in ADMIN_PAGES {
            let page = browser.get(&w.router, path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                without_path(&page.body, path),
                without_path(&unknown.body, "/admin/no-such-page"),
                "{path} answers as a page that does not exist"
            );
        }
    }
    // Not signed in: the sign-in form, as for any page; a path that is no
    // page is a bare 404 that starts no sign-in form (the browser asks for
    // /favicon.ico behind the form on screen).
    let mut nobody = Browser::default();
    let page = nobody.get(&w.router, "/admin/clusters").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/signin"), "{}", page.location());
    let page = nobody.get(&w.router, "/favicon.ico").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.headers.get(header::SET_COOKIE).is_none() && nobody.cookies.is_empty());
    // The administrator sees every one.
    let mut admin = signed_in(&w, "admin").await;
    assert!(admin.get(&w.router, "/").await.body.contains("href=\"/admin/clusters\""));
    for path in ADMIN_PAGES {
        let page = admin.get(&w.router, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(page.body.contains("id=\"admin-tabs\""), "{path}");
    }
}

#[tokio::test]
async fn clusters_and_accounts_show_nodes_capacity_and_users() {
    let w = world().await;
    let (emi, _, _) = default_images();
    ec2(&w, &w.admin, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "2"), ("MaxCount", "2")])
        .await;
    user_with_password(&w, &w.admin, "ops").await;
    let mut admin = signed_in(&w, "admin").await;
    let page = admin.get(&w.router, "/admin/clusters").await;
    assert!(page.body.contains("data-zone=\"yukari-1a\""), "{}", page.body);
    assert!(page.body.contains("127.0.0.1"), "the node's host");
    // m1.small is 1 CPU: 16 fit on the node, 2 are taken.
    let m1 = page.body.split("data-type=\"m1.small\"").nth(1).expect("a capacity row for m1.small");
    let free = m1.split("class=\"free\">").nth(1).unwrap();
    let cells: Vec<&str> = free.split("</td>").take(3).map(|c| c.trim_start_matches("<td>")).collect();
    assert_eq!(cells, ["14", "2", "16"], "{m1}");
    let page = admin.get(&w.router, "/admin/accounts").await;
    assert!(page.body.contains("data-user=\"ops\""), "{}", page.body);
    assert!(page.body.contains("may sign in to the console"));
    admin.lang = Some("ja");
    let page = admin.get(&w.router, "/admin/accounts").await;
    assert!(page.body.contains("コンソールにサインイン可能"), "{}", page.body);
}

/// An OpenSSH public key to import.
const PUBLIC_KEY: &str = include_str!("../../../api/src/keys_fixtures/ed25519.pub");

/// The ids of the audit rows a page shows (their actions), in order.
fn actions(body: &str) -> Vec<String> {
    body.split("class=\"entry\" data-action=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn the_audit_trail_filters_and_pages_newest_first() {
    let w = world_with(ConsoleConfig { page_size: 3, ..ConsoleConfig::default() }).await;
    let (emi, _, _) = default_images();
    let run = call(&w, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "1"), ("MaxCount", "1")])
        .await
        .unwrap();
    let instance = run.first("instanceId").unwrap();
    for name in ["k1", "k2", "k3", "k4"] {
        call(&w, "ImportKeyPair", &[("KeyName", name), ("PublicKeyMaterial", PUBLIC_KEY)]).await.unwrap();
    }
    // A refused call: a key pair that exists.
    let refused = call(&w, "ImportKeyPair", &[("KeyName", "k1"), ("PublicKeyMaterial", PUBLIC_KEY)]).await;
    assert_eq!(refused.err().as_deref(), Some("InvalidKeyPair.Duplicate"));
    let mut admin = signed_in(&w, "admin").await;

    // By action: the four key pairs, newest first, three to a page.
    let page = admin.get(&w.router, "/admin/audit?action=importkeypair&outcome=ok").await;
    assert_eq!(actions(&page.body), ["ImportKeyPair"; 3], "{}", page.body);
    let rows: Vec<&str> = page.body.split("data-request=").skip(1).collect();
    assert_eq!(rows.len(), 3);
    let first_page = page.body.clone();
    let next = page.body.split("id=\"next-page\"").next().unwrap();
    let href = next.rsplit("href=\"").next().unwrap();
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&").replace("&#38;", "&");
    assert!(href.contains("before="), "{href}");
    let older = admin.get(&w.router, &href).await;
    assert_eq!(actions(&older.body), ["ImportKeyPair"]);
    assert!(!older.body.contains("id=\"next-page\""), "the last page");
    assert!(older.body.contains("id=\"first-page\""));
    // Newest first: k4's request is on the first page, k1's on the second.
    let position = |body: &str| -> Vec<u64> {
        body.split("data-position=\"").skip(1).map(|s| s[..s.find('"').unwrap()].parse().unwrap()).collect()
    };
    let (p1, p2) = (position(&first_page), position(&older.body));
    assert!(p1.windows(2).all(|w| w[0] > w[1]) && p1.last() > p2.first(), "{p1:?} {p2:?}");

    // By outcome: the refusal, with its code.
    let page = admin.get(&w.router, "/admin/audit?outcome=refused").await;
    assert_eq!(actions(&page.body), ["ImportKeyPair"]);
    assert!(page.body.contains("InvalidKeyPair.Duplicate"), "{}", page.body);
    // By resource: the instance's launch (through the stream index).
    let page = admin.get(&w.router, &format!("/admin/audit?resource={instance}")).await;
    assert_eq!(actions(&page.body), ["RunInstances"], "{}", page.body);
    // By account and user, by name.
    let page = admin.get(&w.router, "/admin/audit?account=admin&user=admin&action=RunInstances").await;
    assert_eq!(actions(&page.body), ["RunInstances"]);
    let page = admin.get(&w.router, "/admin/audit?user=nobody").await;
    assert!(actions(&page.body).is_empty() && page.body.contains("No request matches"));
    // By time: nothing before the epoch's second second, everything after it.
    let page = admin.get(&w.router, "/admin/audit?to=1").await;
    assert!(actions(&page.body).is_empty());
    let page = admin.get(&w.router, "/admin/audit?from=1&action=RunInstances").await;
    assert_eq!(actions(&page.body), ["RunInstances"]);
    let page = admin.get(&w.router, "/admin/audit?from=yesterday-ish").await;
    assert!(page.body.contains("id=\"audit-invalid\""));

    // Read back from the newest records in windows of any size, every page
    // of every filter is what a scan of the whole log finds.
    use crate::pages::admin::audit::{AuditQuery, newest_in};
    let queries = [
        AuditQuery::default(),
        AuditQuery { outcome: "ok".into(), ..AuditQuery::default() },
        AuditQuery { outcome: "refused".into(), ..AuditQuery::default() },
        AuditQuery { action: "ImportKeyPair".into(), ..AuditQuery::default() },
        AuditQuery { action: "RunInstances".into(), ..AuditQuery::default() },
        AuditQuery { from: "1".into(), ..AuditQuery::default() },
        AuditQuery { account: "admin".into(), ..AuditQuery::default() },
    ];
    for query in queries {
        let filter = query.filter().unwrap();
        let mut before = None;
        loop {
            let query = AuditQuery { before, ..query.clone() };
            let whole = newest_in(&w.app.log, &query, &filter, 2, u64::MAX / 2).unwrap();
            for window in [1, 2, 3, 5, 8] {
                let windowed = newest_in(&w.app.log, &query, &filter, 2, window).unwrap();
                assert_eq!(windowed, whole, "{query:?} in windows of {window}");
            }
            match (whole.1, whole.0.last()) {
                (true, Some(last)) => before = Some(last.first_position),
                _ => break,
            }
        }
    }
}

/// The log position after the request that launched `instance`, and the
/// one just before it.
fn launch_positions(w: &World, instance: &str) -> (u64, u64) {
    let log = &w.app.log;
    let records = replay_tools::Records::stream(log, &format!("instance/{instance}")).unwrap();
    let first = records.first().unwrap().position;
    (first - 1, records.iter().map(|r| r.position).max().unwrap())
}

#[tokio::test]
async fn time_travel_shows_the_cloud_as_it_was_and_the_diff_resource_by_resource() {
    let w = world().await;
    let (emi, _, _) = default_images();
    let run =
        ec2(&w, &w.admin, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "1"), ("MaxCount", "1")])
            .await;
    let instance = run.first("instanceId").unwrap();
    let group =
        ec2(&w, &w.admin, "CreateSecurityGroup", &[("GroupName", "web"), ("GroupDescription", "web")])
            .await
            .first("groupId")
            .unwrap();
    w.app.projections.wait_for(w.app.head()).await.unwrap();
    let (before, after) = launch_positions(&w, &instance);
    let mut admin = signed_in(&w, "admin").await;
    let row = format!("data-id=\"{instance}\"");

    let page = admin.get(&w.router, &format!("/admin/time?at={before}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&format!("data-position=\"{before}\"")));
    assert!(!page.body.contains(&row), "not launched yet at {before}");
    assert!(page.body.contains("type=\"range\"") && page.body.contains(&format!("max=\"{}\"", w.app.head())));
    let page = admin.get(&w.router, &format!("/admin/time?at={after}")).await;
    assert!(page.body.contains(&row), "launched at {after}");
    assert!(!page.body.contains(&format!("data-id=\"{group}\"")), "the group came later");
    let now = admin.get(&w.router, "/admin/time").await;
    assert!(now.body.contains(&row) && now.body.contains(&format!("data-id=\"{group}\"")));
    // The beginning: an empty cloud.
    let page = admin.get(&w.router, "/admin/time?at=0").await;
    assert!(page.body.contains("Before the first record"), "{}", page.body);
    // At a time: now is the latest moment; the epoch, the beginning.
    let page = admin.get(&w.router, "/admin/time?time=now").await;
    assert!(page.body.contains(&row));
    let page = admin.get(&w.router, "/admin/time?time=1").await;
    assert!(page.body.contains("data-position=\"0\""));

    // The diff across the launch: the instance was added, resource by resource.
    let page = admin.get(&w.router, &format!("/admin/diff?from={before}&to={after}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let added = format!("data-kind=\"added\" data-resource=\"instances/rows/{instance}\"");
    assert!(page.body.contains(&added), "{}", page.body);
    assert!(!page.body.contains(&format!("sg/{group}")) && !page.body.contains(&group), "the group is later");
    // Backwards it is removed; from the launch to now the group is added
    // and the instance changed (or nothing of it did), never added again.
    let page = admin.get(&w.router, &format!("/admin/diff?from={after}&to={before}")).await;
    assert!(page.body.contains(&added), "the positions are taken in order: {}", page.body);
    let page = admin.get(&w.router, &format!("/admin/diff?from={after}")).await;
    assert!(page.body.contains(&group), "{}", page.body);
    assert!(!page.body.contains(&added));
    // Nothing changed between a position and itself.
    let page = admin.get(&w.router, &format!("/admin/diff?from={after}&to={after}")).await;
    assert!(page.body.contains("Nothing changed"), "{}", page.body);
    admin.lang = Some("ja");
    let page = admin.get(&w.router, &format!("/admin/diff?from={before}&to={after}")).await;
    assert!(page.body.contains("追加"), "{}", page.body);
}

#[tokio::test]
async fn usage_is_charted_per_account_and_no_admin_page_shows_a_secret() {
    let w = world().await;
    let (emi, _, _) = default_images();
    let run =
        ec2(&w, &w.admin, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "1"), ("MaxCount", "1")])
            .await;
    let instance = run.first("instanceId").unwrap();
    // The node reports it running: from then on it is used.
    let node = w.app.first_node().unwrap();
    let report = domain::command::NodeReport {
        node: node.0,
        zone: node.1,
        instance: domain::InstanceId::parse(&instance).unwrap(),
        attempt: None,
        outcome: domain::command::NodeOutcome::Running,
        at: api::app::ids::now(),
    };
    w.app.execute(domain::Command::from(report), &meta(&w.admin)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut admin = signed_in(&w, "admin").await;
    let page = admin.get(&w.router, "/admin/usage").await;
    assert!(page.body.contains("id=\"usage-bars\"") && page.body.contains("id=\"usage-steps\""));
    // One line: the admin account's m1.small, one instance, with a bar and a step line.
    let line = format!("data-account=\"{}\" data-unit=\"m1.small\"", w.admin);
    assert!(page.body.contains(&line), "{}", page.body);
    assert_eq!(page.body.matches("<rect x=").count(), 1, "one bar");
    assert_eq!(page.body.matches("<polyline").count(), 1, "one step line");
    assert!(page.body.contains("admin: running instances"), "the legend: {}", page.body);
    // A period before anything ran: nothing.
    let page = admin.get(&w.router, "/admin/usage?from=1&to=2").await;
    assert!(page.body.contains("Nothing was used"), "{}", page.body);
    let page = admin.get(&w.router, "/admin/usage?from=now&to=-1d").await;
    assert!(page.body.contains("id=\"usage-invalid\""), "an empty period");
    for path in ADMIN_PAGES.iter().map(|p| p.to_string()).chain(["/admin/diff?from=0".to_owned()]) {
        let page = admin.get(&w.router, &path).await;
        for secret in [w.admin_secret.as_str(), PASSWORD, "$argon2", "SecretAccessKey"] {
            assert!(!page.body.contains(secret), "{path} shows a secret ({secret})");
        }
    }
}
