//! Lists come a page at a time, in id order, with their filters.

use super::*;
use api::app::bootstrap::default_images;

/// The ids in the rows of an instance list page.
fn ids(page: &Page) -> Vec<String> {
    page.body.split("<tr data-id=\"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_instance_list_comes_a_page_at_a_time_with_its_filters() {
    let w = world_with(ConsoleConfig { page_size: 2, ..ConsoleConfig::default() }).await;
    let (emi, _, _) = default_images();
    let run =
        ec2(&w, &w.admin, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "5"), ("MaxCount", "5")])
            .await;
    let mut all = run.all("instanceId");
    all.sort();
    assert_eq!(all.len(), 5);
    ec2(
        &w,
        &w.admin,
        "TerminateInstances",
        &[("InstanceId.1", all[1].as_str()), ("InstanceId.2", all[3].as_str())],
    )
    .await;
    ec2(
        &w,
        &w.admin,
        "CreateTags",
        &[("ResourceId.1", all[4].as_str()), ("Tag.1.Key", "Name"), ("Tag.1.Value", "Database")],
    )
    .await;
    let mut b = signed_in(&w, "admin").await;
    // Every instance once, in id order, two per page.
    let mut seen = Vec::new();
    let mut path = "/instances".to_owned();
    let mut pages = 0;
    loop {
        let page = b.get(&w.router, &path).await;
        let rows = ids(&page);
        assert!(rows.len() <= 2, "{rows:?}");
        seen.extend(rows);
        pages += 1;
        if !page.body.contains("id=\"next-page\"") {
            break;
        }
        let href = page.body.split("href=\"/instances?").find(|s| s.contains("id=\"next-page\"")).unwrap();
        path = format!(
            "/instances?{}",
            href.split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&")
        );
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(seen, all);
    assert_eq!(pages, 3);
    // The state filter, and paging within it.
    let terminated: Vec<String> = [&all[1], &all[3]].iter().map(|s| s.to_string()).collect();
    let mut shutting_or_terminated = ids(&b.get(&w.router, "/instances?state=shutting-down").await);
    shutting_or_terminated.extend(ids(&b.get(&w.router, "/instances?state=terminated").await));
    shutting_or_terminated.sort();
    assert_eq!(shutting_or_terminated, terminated);
    // The search, on the Name tag (any case) or the id.
    assert_eq!(ids(&b.get(&w.router, "/instances?q=database").await), [all[4].clone()]);
    assert_eq!(ids(&b.get(&w.router, &format!("/instances?q={}", &all[2][2..])).await), [all[2].clone()]);
    // The dashboard counts them all.
    let dashboard = b.get(&w.router, "/").await;
    assert!(
        dashboard.body.contains("<div class=\"value\">5</div><div class=\"label\">Instances</div>"),
        "{}",
        dashboard.body
    );
}

/// Registers an image of `owner` the way the built-in ones are (no bundle).
async fn register(w: &World, owner: &domain::AccountId, n: u128, name: &str) -> String {
    let image = domain::ImageId::with_kind(domain::ImageKind::Machine, n);
    let command = domain::command::RegisterImage {
        image: image.clone(),
        owner: owner.clone(),
        kind: domain::ImageKind::Machine,
        name: name.into(),
        description: String::new(),
        architecture: "x86_64".into(),
        location: format!("images/{name}.manifest.xml"),
        kernel: None,
        ramdisk: None,
        public: false,
        bundle: None,
        ebs: None,
        at: api::app::ids::now(),
    };
    w.app.execute(domain::Command::RegisterImage(command), &meta(owner)).await.unwrap();
    image.to_string()
}

#[tokio::test]
async fn the_image_list_shows_what_the_account_may_launch_and_where_it_came_from() {
    let w = world().await;
    let team = w.app.create_account("team-b", &meta(&w.admin)).await.unwrap().account;
    let shared = register(&w, &team, 0x51, "shared-disk").await;
    let private = register(&w, &team, 0x52, "their-disk").await;
    let gone = register(&w, &w.admin, 0x53, "old-disk").await;
    let own = register(&w, &w.admin, 0x54, "my-disk").await;
    let admin_id = w.admin.to_string();
    let add = [("ImageId", shared.as_str()), ("LaunchPermission.Add.1.UserId", admin_id.as_str())];
    ec2(&w, &team, "ModifyImageAttribute", &add).await;
    ec2(&w, &w.admin, "DeregisterImage", &[("ImageId", gone.as_str())]).await;
    let mut b = signed_in(&w, "admin").await;
    let page = b.get(&w.router, "/images").await;
    assert!(page.body.contains(&own) && page.body.contains("images/my-disk.manifest.xml"), "{}", page.body);
    let at = page.body.find(&shared).expect("an image shared with the account is listed");
    let row = &page.body[at..at + page.body[at..].find("</tr>").unwrap()];
    assert!(row.contains("shared with you") && row.contains("images/shared-disk.manifest.xml"), "{row}");
    assert!(!page.body.contains(&private), "another account's private image");
    assert!(!page.body.contains(&gone), "a deregistered image");
}

/// An attribute's text as written in a page, unescaped.
fn unescape(text: &str) -> String {
    [("&#34;", "\""), ("&quot;", "\""), ("&#39;", "'"), ("&#60;", "<"), ("&#62;", ">"), ("&#38;", "&")]
        .iter()
        .chain(&[("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")])
        .fold(text.to_owned(), |t, (escaped, c)| t.replace(escaped, c))
}

/// Every row's `attribute` of a list, page by page from `path` through
/// the next-page links, checking the links and the page size on the way;
/// and how many pages.
async fn walk(w: &World, path: &str, attribute: &str) -> (Vec<String>, usize) {
    let mut b = signed_in(w, "admin").await;
    let (mut seen, mut pages, mut path) = (Vec::new(), 0, path.to_owned());
    let row = format!("<tr data-{attribute}=\"");
    loop {
        let page = b.get(&w.router, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let rows: Vec<String> =
            page.body.split(&row).skip(1).map(|s| unescape(s.split('"').next().unwrap())).collect();
        assert!(!rows.is_empty() && rows.len() <= 2, "{path}: {rows:?}");
        seen.extend(rows);
        pages += 1;
        assert_eq!(
            pages > 1,
            page.body.contains("id=\"first-page\""),
            "{path}: a later page links to the first"
        );
        let Some(at) = page.body.find("id=\"next-page\"") else { break };
        let href = page.body[..at].rsplit("href=\"").next().unwrap().split('"').next().unwrap();
        path = unescape(href);
        assert!(pages < 10, "paging must end");
    }
    (seen, pages)
}

/// Another account, with things of its own between the first's.
async fn neighbour(w: &World) -> AccountId {
    w.app.create_account("team-b", &meta(&w.admin)).await.unwrap().account
}

#[tokio::test]
async fn the_key_pair_list_comes_a_page_at_a_time_in_name_order() {
    let w = world_with(ConsoleConfig { page_size: 2, ..ConsoleConfig::default() }).await;
    let team = neighbour(&w).await;
    // Names a query must escape, and one that is a prefix of another.
    let mut names: Vec<String> =
        ["web", "web 2", "db&x=1", "a+b c", "50%/x?y#z"].iter().map(|s| (*s).to_owned()).collect();
    for (i, name) in names.iter().enumerate() {
        ec2(&w, &w.admin, "CreateKeyPair", &[("KeyName", name), ("KeyType", "ed25519")]).await;
        let theirs = format!("{name} {i}");
        ec2(&w, &team, "CreateKeyPair", &[("KeyName", &theirs), ("KeyType", "ed25519")]).await;
    }
    names.sort();
    assert_eq!(walk(&w, "/keypairs", "name").await, (names, 3), "every key pair once, in name order");
}

#[tokio::test]
async fn the_security_group_list_comes_a_page_at_a_time_in_id_order() {
    let w = world_with(ConsoleConfig { page_size: 2, ..ConsoleConfig::default() }).await;
    let team = neighbour(&w).await;
    for i in 0..4 {
        let (name, description) = (format!("tier-{i}"), format!("tier {i}"));
        let fields = [("GroupName", name.as_str()), ("GroupDescription", description.as_str())];
        ec2(&w, &w.admin, "CreateSecurityGroup", &fields).await;
        ec2(&w, &team, "CreateSecurityGroup", &fields).await;
    }
    // The account's groups (its default one too), by id.
    let groups: Vec<String> = {
        let models = w.app.projections.read();
        let own = models.security.groups.values().filter(|g| g.account == w.admin);
        own.map(|g| g.name.clone()).collect()
    };
    assert!(groups.len() > 4, "{groups:?}");
    let pages = groups.len().div_ceil(2);
    assert_eq!(walk(&w, "/groups", "name").await, (groups, pages), "every group once, in id order");
}

#[tokio::test]
async fn the_address_list_comes_a_page_at_a_time_in_allocation_order() {
    let w = world_with(ConsoleConfig { page_size: 2, ..ConsoleConfig::default() }).await;
    let team = neighbour(&w).await;
    for _ in 0..5 {
        ec2(&w, &w.admin, "AllocateAddress", &[("Domain", "vpc")]).await;
    }
    ec2(&w, &team, "AllocateAddress", &[("Domain", "vpc")]).await;
    ec2(&w, &w.admin, "AllocateAddress", &[("Domain", "vpc")]).await;
    // The account's addresses, by allocation id.
    let addresses: Vec<String> = {
        let models = w.app.projections.read();
        let own = models.network.addresses.values().filter(|a| a.account == w.admin);
        own.map(|a| a.address.clone()).collect()
    };
    assert_eq!(addresses.len(), 6);
    assert_eq!(walk(&w, "/addresses", "address").await, (addresses, 3), "every address once, in id order");
}
