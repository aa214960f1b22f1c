//! What the pages do goes through EC2's actions: launch, state changes,
//! key pairs, security group rules and addresses, each refused without
//! its CSRF token, and recorded in the log as a console request. The
//! instance page's live part follows the read models.

use super::*;
use api::app::bootstrap::default_images;
use futures::StreamExt;

/// Every POST of the console, with fields that would do something.
const POSTS: &[&str] = &[
    "/instances",
    "/instances/i-00000000000000001/action",
    "/keypairs/create",
    "/keypairs/import",
    "/keypairs/delete",
    "/groups",
    "/groups/sg-00000000000000001/rules",
    "/groups/sg-00000000000000001/delete",
    "/addresses/allocate",
    "/addresses/associate",
    "/addresses/disassociate",
    "/addresses/release",
    "/volumes",
    "/volumes/attach",
    "/volumes/detach",
    "/volumes/delete",
    "/volumes/snapshot",
    "/snapshots/volume",
    "/snapshots/delete",
    "/password",
    "/signout",
];

#[tokio::test]
async fn every_form_posted_without_its_csrf_token_is_refused_and_changes_nothing() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let before = w.app.log.head();
    for path in POSTS {
        for csrf in [None, Some("forged-token")] {
            let mut fields = vec![("name", "k1"), ("op", "terminate"), ("image", "emi-0000059554b415249")];
            fields.extend(csrf.map(|c| ("csrf", c)));
            let answer = b.post(&w.router, path, &fields).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path} with {csrf:?}");
        }
    }
    assert_eq!(w.app.log.head(), before, "nothing was stored");
    assert_eq!(b.get(&w.router, "/").await.status, StatusCode::OK, "and the session is still there");
}

/// The flash message of the page `answer` redirects to.
async fn flash_after(b: &mut Browser, w: &World, answer: &Page) -> String {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = b.get(&w.router, answer.location()).await;
    let at = page.body.find("id=\"flash\"").unwrap_or_else(|| panic!("no flash on {}", answer.location()));
    page.body[at..].split_once('>').unwrap().1.split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn launching_and_terminating_go_through_ec2_and_are_recorded_as_console_requests() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let form = b.get(&w.router, "/instances/new").await;
    assert!(form.body.contains("emi-0000059554b415249") && form.body.contains("m1.small"), "{}", form.body);
    let token = {
        let at = form.body.find("name=\"token\" value=\"").unwrap() + "name=\"token\" value=\"".len();
        form.body[at..at + 43].to_owned()
    };
    let group = w.app.projections.read().security.group_by_name(&w.admin, "default").unwrap().0.to_string();
    let (emi, _, _) = default_images();
    let fields = [
        ("csrf", form.csrf()),
        ("token", token),
        ("name", "web-1".to_owned()),
        ("image", emi.to_string()),
        ("type", "m1.small".to_owned()),
        ("count", "1".to_owned()),
        ("group", group.clone()),
        ("user_data", "#!/bin/sh\necho hi".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let launched = b.post(&w.router, "/instances", &fields).await;
    assert_eq!(launched.status, StatusCode::SEE_OTHER, "{}", launched.body);
    let id = launched.location().strip_prefix("/instances/").expect("to the new instance").to_owned();
    // The same form sent again launches nothing more (its token is the client token).
    b.post(&w.router, "/instances", &fields).await;
    assert_eq!(w.app.projections.read().instances.of_account(&w.admin, None).count(), 1);
    let page = b.get(&w.router, &format!("/instances/{id}")).await;
    assert!(page.body.contains("web-1") && page.body.contains(&group), "{}", page.body);
    assert_eq!(w.app.user_data(&domain::InstanceId::parse(&id).unwrap()).unwrap(), b"#!/bin/sh\necho hi");
    // Terminate.
    let csrf = page.csrf();
    let answer =
        b.post(&w.router, &format!("/instances/{id}/action"), &[("csrf", &csrf), ("op", "terminate")]).await;
    assert!(flash_after(&mut b, &w, &answer).await.contains(&id));
    let state = w.app.projections.read().instances.get(&id).unwrap().state;
    assert!(
        matches!(state, domain::InstanceState::ShuttingDown | domain::InstanceState::Terminated),
        "{state:?}"
    );
    // Both are in the log as the EC2 actions, from the console, by the admin.
    let records: Vec<(String, String, String)> = w
        .app
        .log
        .read_stream(&format!("instance/{id}"), 0)
        .unwrap()
        .into_iter()
        .map(|r| (r.metadata.action, r.metadata.user, r.metadata.source))
        .collect();
    for action in ["RunInstances", "TerminateInstances"] {
        let r =
            records.iter().find(|(a, _, _)| a == action).unwrap_or_else(|| panic!("{action} in {records:?}"));
        assert_eq!(r.1, "admin");
        assert!(r.2.starts_with("console"), "{r:?}");
    }
    // A refused action is a refusal in the log, as through the API.
    let again =
        b.post(&w.router, &format!("/instances/{id}/action"), &[("csrf", &csrf), ("op", "start")]).await;
    let text = flash_after(&mut b, &w, &again).await;
    assert_eq!(text, crate::i18n::Tr::new(crate::i18n::Lang::En).msg("ec2-IncorrectInstanceState"));
    let refused = w.app.log.read_stream("refused", 0).unwrap();
    assert!(refused.iter().any(|r| r.metadata.action == "StartInstances"), "the refused start is recorded");
}

#[tokio::test]
async fn a_new_key_pair_is_downloaded_once_and_listed_without_its_private_key() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let csrf = b.csrf(&w.router).await;
    let made = b
        .post(&w.router, "/keypairs/create", &[("csrf", &csrf), ("name", "laptop"), ("type", "ed25519")])
        .await;
    assert_eq!(made.status, StatusCode::OK);
    assert_eq!(made.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"laptop.pem\"");
    assert!(made.body.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"), "{}", made.body);
    let list = b.get(&w.router, "/keypairs").await;
    assert!(list.body.contains("laptop") && !list.body.contains("PRIVATE KEY"));
    // The same name again: refused, translated.
    b.lang = Some("ja");
    let again = b.post(&w.router, "/keypairs/create", &[("csrf", &csrf), ("name", "laptop")]).await;
    let text = flash_after(&mut b, &w, &again).await;
    assert_eq!(text, crate::i18n::Tr::new(crate::i18n::Lang::Ja).msg("ec2-InvalidKeyPair-Duplicate"));
    // Import and delete.
    let public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl imported";
    let imported = b
        .post(&w.router, "/keypairs/import", &[("csrf", &csrf), ("name", "imported"), ("public_key", public)])
        .await;
    assert!(flash_after(&mut b, &w, &imported).await.contains("imported"));
    let deleted = b.post(&w.router, "/keypairs/delete", &[("csrf", &csrf), ("name", "laptop")]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let names: Vec<String> =
        w.app.projections.read().security.key_pairs_of(&w.admin).map(|(n, _)| n.to_owned()).collect();
    assert_eq!(names, ["imported"]);
}

#[tokio::test]
async fn security_group_rules_are_added_and_removed_in_the_editor() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let csrf = b.csrf(&w.router).await;
    let made = b
        .post(&w.router, "/groups", &[("csrf", &csrf), ("name", "web"), ("description", "web servers")])
        .await;
    let group = made.location().strip_prefix("/groups/").expect("to the new group").to_owned();
    let rules = format!("/groups/{group}/rules");
    let add = |from: &'static str, source: &'static str| {
        [
            ("op", "add"),
            ("direction", "ingress"),
            ("protocol", "tcp"),
            ("from", from),
            ("to", from),
            ("source", source),
        ]
    };
    for (from, source) in [("22", "10.0.0.0/8"), ("443", "0.0.0.0/0")] {
        let mut fields = add(from, source).to_vec();
        fields.push(("csrf", &csrf));
        let answer = b.post(&w.router, &rules, &fields).await;
        assert_eq!(flash_after(&mut b, &w, &answer).await, "Rule added.");
    }
    let page = b.get(&w.router, &format!("/groups/{group}")).await;
    assert_eq!(page.body.matches("class=\"rule\" data-direction=\"ingress\"").count(), 2, "{}", page.body);
    // A bad CIDR is refused with EC2's code, translated.
    let mut bad = add("80", "10.0.0.0/33").to_vec();
    bad.push(("csrf", &csrf));
    let answer = b.post(&w.router, &rules, &bad).await;
    assert_eq!(
        flash_after(&mut b, &w, &answer).await,
        crate::i18n::Tr::new(crate::i18n::Lang::En).msg("ec2-InvalidParameterValue")
    );
    // Remove the ssh rule as its row's form sends it.
    let remove = [
        ("csrf", csrf.as_str()),
        ("op", "remove"),
        ("direction", "ingress"),
        ("protocol", "tcp"),
        ("from", "22"),
        ("to", "22"),
        ("cidr", "10.0.0.0/8"),
        ("group", ""),
        ("group_name", ""),
        ("owner", ""),
    ];
    let answer = b.post(&w.router, &rules, &remove).await;
    assert_eq!(flash_after(&mut b, &w, &answer).await, "Rule removed.");
    let id = domain::SecurityGroupId::parse(&group).unwrap();
    let models = w.app.projections.read();
    let ports: Vec<i32> = models.security.groups[&id].ingress.iter().map(|r| r.from_port).collect();
    assert_eq!(ports, [443]);
}

#[tokio::test]
async fn addresses_are_allocated_associated_disassociated_and_released() {
    let w = world().await;
    let (emi, _, _) = default_images();
    let run =
        ec2(&w, &w.admin, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "1"), ("MaxCount", "1")])
            .await;
    let instance = run.first("instanceId").unwrap();
    let mut b = signed_in(&w, "admin").await;
    let csrf = b.csrf(&w.router).await;
    let answer = b.post(&w.router, "/addresses/allocate", &[("csrf", &csrf)]).await;
    assert!(flash_after(&mut b, &w, &answer).await.contains("198.51.100."));
    let allocation = w.app.projections.read().network.addresses.keys().next().unwrap().to_string();
    let fields =
        [("csrf", csrf.as_str()), ("allocation", allocation.as_str()), ("instance", instance.as_str())];
    let answer = b.post(&w.router, "/addresses/associate", &fields).await;
    assert!(flash_after(&mut b, &w, &answer).await.contains("associated"));
    let association = {
        let models = w.app.projections.read();
        models
            .network
            .addresses
            .values()
            .next()
            .unwrap()
            .association
            .clone()
            .expect("associated")
            .0
            .to_string()
    };
    let page = b.get(&w.router, "/addresses").await;
    assert!(page.body.contains(&instance));
    b.post(&w.router, "/addresses/disassociate", &[("csrf", &csrf), ("association", &association)]).await;
    assert!(w.app.projections.read().network.addresses.values().next().unwrap().association.is_none());
    b.post(&w.router, "/addresses/release", &[("csrf", &csrf), ("allocation", &allocation)]).await;
    assert!(w.app.projections.read().network.addresses.is_empty());
}

/// The next `update` event's data of a live stream.
pub(crate) async fn next_update(
    body: &mut (impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
) -> String {
    let mut text = String::new();
    let wait = async {
        while let Some(chunk) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if let Some(at) = text.find("event: update")
                && let Some(end) = text[at..].find("\n\n")
            {
                return text[at..at + end].to_owned();
            }
        }
        panic!("the stream ended: {text}");
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), wait).await.expect("an update")
}

#[tokio::test]
async fn an_instance_page_is_told_of_its_new_state_without_reloading() {
    let w = world().await;
    let (emi, _, _) = default_images();
    let run =
        ec2(&w, &w.admin, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "1"), ("MaxCount", "1")])
            .await;
    let id = run.first("instanceId").unwrap();
    let mut b = signed_in(&w, "admin").await;
    let page = b.get(&w.router, &format!("/instances/{id}")).await;
    let at = page.body.find("data-live=\"").unwrap() + "data-live=\"".len();
    let live = page.body[at..].split('"').next().unwrap().replace("&amp;", "&");
    assert!(live.starts_with(&format!("/live/instances/{id}?since=")), "{live}");
    assert!(page.body.contains("data-state=\"pending\""), "{}", page.body);
    let request = b.request("GET", &live, None);
    let answer = w.router.clone().oneshot(request).await.unwrap();
    assert_eq!(answer.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = answer.into_body().into_data_stream();
    // The node reports the guest running: the page gets its new status.
    let node = w.app.first_node().unwrap();
    let report = domain::command::NodeReport {
        node: node.0,
        zone: node.1,
        instance: domain::InstanceId::parse(&id).unwrap(),
        attempt: None,
        outcome: domain::command::NodeOutcome::Running,
        at: api::app::ids::now(),
    };
    w.app.execute(domain::Command::from(report), &meta(&w.admin)).await.unwrap();
    let update = next_update(&mut body).await;
    assert!(update.contains("data-state=\"running\""), "{update}");
    assert!(update.contains("id=\"stop\""), "the actions follow the state: {update}");
    // The list's rows follow too: its live part, for its filters.
    let list = b.get(&w.router, "/instances?state=running").await;
    assert!(list.body.contains(&id), "{}", list.body);
    let at = list.body.find("data-live=\"").unwrap() + "data-live=\"".len();
    let live = list.body[at..].split('"').next().unwrap().replace("&#38;", "&");
    assert!(live.starts_with("/live/instances?state=running&q=&after=&since="), "{live}");
    let answer = w.router.clone().oneshot(b.request("GET", &live, None)).await.unwrap();
    let mut body = answer.into_body().into_data_stream();
    ec2(&w, &w.admin, "StopInstances", &[("InstanceId.1", id.as_str())]).await;
    let update = next_update(&mut body).await;
    assert!(!update.contains(&id), "a stopping instance leaves the running ones: {update}");
    assert!(update.contains("No instances."), "{update}");
}
