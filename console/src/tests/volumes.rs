//! The volume and snapshot pages: every form is an EC2 action of the
//! signed-in user (recorded as a console request), refusals show EC2's
//! answer, the rows are live, and an instance's page shows its volumes.

use super::actions::next_update;
use super::*;
use api::app::bootstrap::default_images;
use api::app::volumes::StorageDone;

fn zone() -> ZoneName {
    ZoneName::parse("yukari-1a").unwrap()
}

/// A world whose zone has block storage, and a running instance of the admin's.
async fn world_with_storage() -> (World, String) {
    let w = world().await;
    w.app.configure_storage(&zone(), 100).await.unwrap();
    let (emi, _, _) = default_images();
    let run =
        ec2(&w, &w.admin, "RunInstances", &[("ImageId", emi.as_str()), ("MinCount", "1"), ("MaxCount", "1")])
            .await;
    let instance = run.first("instanceId").unwrap();
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
    (w, instance)
}

/// The flash message of the page `answer` redirects to, and that page.
async fn after(b: &mut Browser, w: &World, answer: &Page) -> (String, Page) {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = b.get(&w.router, answer.location()).await;
    let at = page.body.find("id=\"flash\"").unwrap_or_else(|| panic!("no flash on {}", answer.location()));
    let text = page.body[at..].split_once('>').unwrap().1.split('<').next().unwrap().to_owned();
    (text, page)
}

/// The text of `id`'s row in a list.
fn row_of<'p>(page: &'p Page, id: &str) -> &'p str {
    let at = page.body.find(&format!("<tr data-id=\"{id}\"")).unwrap_or_else(|| panic!("no row {id}"));
    let row = &page.body[at..];
    &row[..row.find("</tr>").unwrap()]
}

fn volume_of(w: &World, id: &str) -> projections::VolumeRow {
    w.app.projections.read().volumes.volumes[&domain::VolumeId::parse(id).unwrap()].clone()
}

#[tokio::test]
async fn a_volume_is_created_attached_snapshotted_detached_and_deleted_through_ec2() {
    let (w, instance) = world_with_storage().await;
    let mut b = signed_in(&w, "admin").await;
    let page = b.get(&w.router, "/volumes").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No volumes."), "{}", page.body);
    assert!(page.body.contains("<option value=\"yukari-1a\">"), "the cloud's zones: {}", page.body);
    assert!(page.body.contains("<option value=\"gp3\">"), "the volume types: {}", page.body);
    assert!(page.body.contains("href=\"/volumes\" id=\"nav-volumes\" class=\"active\""), "{}", page.body);
    let csrf = page.csrf();
    // Create.
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "data-1"),
        ("size", "2"),
        ("zone", "yukari-1a"),
        ("type", "gp3"),
        ("snapshot", ""),
    ];
    let answer = b.post(&w.router, "/volumes", &fields).await;
    let (text, page) = after(&mut b, &w, &answer).await;
    let volume = text.split_whitespace().find(|w| w.starts_with("vol-")).expect("the new volume").to_owned();
    assert_eq!(text, format!("Volume {volume} is being created."));
    let row = volume_of(&w, &volume);
    assert_eq!((row.account.clone(), row.size_gib, row.volume_type.as_str()), (w.admin.clone(), 2, "gp3"));
    let shown = row_of(&page, &volume);
    assert!(shown.contains("data-1") && shown.contains("2 GiB") && shown.contains("creating"), "{shown}");
    assert!(!shown.contains("/volumes/attach"), "a creating volume cannot be attached: {shown}");
    let dashboard = b.get(&w.router, "/").await;
    assert!(
        dashboard.body.contains("<a href=\"/volumes\"><div class=\"value\">1</div>"),
        "{}",
        dashboard.body
    );
    // A refusal is told in the console's own words, in the user's language.
    let early = b.post(&w.router, "/volumes/snapshot", &[("csrf", &csrf), ("volume", &volume)]).await;
    let (text, _) = after(&mut b, &w, &early).await;
    assert!(text.starts_with("The volume or snapshot is not in a state that allows this"), "{text}");
    b.lang = Some("ja");
    let early = b.post(&w.router, "/volumes/snapshot", &[("csrf", &csrf), ("volume", &volume)]).await;
    let (text, _) = after(&mut b, &w, &early).await;
    assert!(
        text.starts_with("ボリュームまたはスナップショットが") && !text.contains("IncorrectState"),
        "{text}"
    );
    b.lang = None;
    // The storage controller made it: it may be attached to the running instance.
    w.app.record_storage(&zone(), StorageDone::Created { volume: row_id(&volume) }).await.unwrap();
    let page = b.get(&w.router, "/volumes").await;
    let shown = row_of(&page, &volume);
    assert!(shown.contains("/volumes/attach") && shown.contains(&format!("<option value=\"{instance}\">")));
    assert!(shown.contains("<option value=\"/dev/sdf\">") && shown.contains("<option value=\"/dev/sdp\">"));
    let fields =
        [("csrf", csrf.as_str()), ("volume", &volume), ("instance", &instance), ("device", "/dev/sdf")];
    let answer = b.post(&w.router, "/volumes/attach", &fields).await;
    assert_eq!(after(&mut b, &w, &answer).await.0, format!("Volume {volume} is being attached."));
    let attachment = volume_of(&w, &volume).attachment.expect("attached");
    assert_eq!((attachment.instance.as_str(), attachment.device.as_str()), (instance.as_str(), "/dev/sdf"));
    // The instance's page shows it at its device.
    let page = b.get(&w.router, &format!("/instances/{instance}")).await;
    let at = page.body.find("id=\"instance-volumes\"").expect("the volumes of the instance");
    let mappings = &page.body[at..];
    assert!(mappings.contains("/dev/sdf") && mappings.contains(&volume), "{mappings}");
    assert!(mappings.contains("attaching"), "{mappings}");
    // An attached volume is not deleted: EC2's refusal, in the console's words.
    let refused = b.post(&w.router, "/volumes/delete", &[("csrf", &csrf), ("volume", &volume)]).await;
    let (text, _) = after(&mut b, &w, &refused).await;
    assert_eq!(text, crate::i18n::Tr::new(crate::i18n::Lang::En).msg("ec2-VolumeInUse"));
    // Snapshot, to the snapshots page.
    let fields = [("csrf", csrf.as_str()), ("volume", &volume), ("description", "before upgrade")];
    let answer = b.post(&w.router, "/volumes/snapshot", &fields).await;
    assert_eq!(answer.location(), "/snapshots");
    let (text, page) = after(&mut b, &w, &answer).await;
    let snapshot = text.split_whitespace().find(|w| w.starts_with("snap-")).expect("the snapshot").to_owned();
    let shown = row_of(&page, &snapshot);
    assert!(shown.contains(&volume) && shown.contains("before upgrade") && shown.contains("pending"));
    assert!(shown.contains("0%") && !shown.contains("/snapshots/volume"), "{shown}");
    // Detach, forced.
    let fields = [("csrf", csrf.as_str()), ("volume", &volume), ("force", "true")];
    let answer = b.post(&w.router, "/volumes/detach", &fields).await;
    assert_eq!(after(&mut b, &w, &answer).await.0, format!("Volume {volume} is being detached."));
    let attachment = volume_of(&w, &volume).attachment.expect("detaching");
    assert_eq!(attachment.state, domain::volumes::AttachmentState::Detaching);
    assert!(attachment.forced, "the force option is EC2's Force");
    // Every action is the EC2 action in the volume's stream, by the
    // console's user; the refused ones are refusals.
    let records: Vec<(String, String, String)> = w
        .app
        .log
        .read_stream(&format!("volume/{volume}"), 0)
        .unwrap()
        .into_iter()
        .map(|r| (r.metadata.action, r.metadata.user, r.metadata.source))
        .collect();
    for action in ["CreateVolume", "AttachVolume", "DetachVolume"] {
        let r =
            records.iter().find(|(a, _, _)| a == action).unwrap_or_else(|| panic!("{action} in {records:?}"));
        assert_eq!(r.1, "admin");
        assert!(r.2.starts_with("console"), "{r:?}");
    }
    let refused = w.app.log.read_stream("refused", 0).unwrap();
    for action in ["DeleteVolume", "CreateSnapshot"] {
        assert!(refused.iter().any(|r| r.metadata.action == action), "the refused {action} is recorded");
    }
}

fn row_id(volume: &str) -> domain::VolumeId {
    domain::VolumeId::parse(volume).unwrap()
}

#[tokio::test]
async fn a_completed_snapshot_becomes_a_volume_and_is_deleted() {
    let (w, _) = world_with_storage().await;
    let made = ec2(&w, &w.admin, "CreateVolume", &[("Size", "3"), ("AvailabilityZone", "yukari-1a")]).await;
    let volume = made.first("volumeId").unwrap();
    w.app.record_storage(&zone(), StorageDone::Created { volume: row_id(&volume) }).await.unwrap();
    let taken =
        ec2(&w, &w.admin, "CreateSnapshot", &[("VolumeId", &volume), ("Description", "nightly")]).await;
    let snapshot = taken.first("snapshotId").unwrap();
    let snapshot_id = domain::SnapshotId::parse(&snapshot).unwrap();
    let mut b = signed_in(&w, "admin").await;
    // The list is live: progress and completion reach the page.
    let page = b.get(&w.router, "/snapshots").await;
    assert!(row_of(&page, &snapshot).contains("nightly"));
    let at = page.body.find("data-live=\"").unwrap() + "data-live=\"".len();
    let live = page.body[at..].split('"').next().unwrap().to_owned();
    assert!(live.starts_with("/live/snapshots?since="), "{live}");
    let answer = w.router.clone().oneshot(b.request("GET", &live, None)).await.unwrap();
    let mut body = answer.into_body().into_data_stream();
    let progress = StorageDone::SnapshotProgress { snapshot: snapshot_id.clone(), percent: 40 };
    w.app.record_storage(&zone(), progress).await.unwrap();
    let update = next_update(&mut body).await;
    assert!(update.contains("40%") && update.contains("pending"), "{update}");
    let done = StorageDone::SnapshotCompleted { snapshot: snapshot_id.clone(), manifest: "00".repeat(32) };
    w.app.record_storage(&zone(), done).await.unwrap();
    let update = next_update(&mut body).await;
    assert!(update.contains("100%") && update.contains("/snapshots/volume"), "{update}");
    // The volumes page offers it for a new volume; the snapshot's own form makes one.
    let volumes = b.get(&w.router, "/volumes").await;
    assert!(volumes.body.contains(&format!("<option value=\"{snapshot}\">")), "{}", volumes.body);
    let csrf = volumes.csrf();
    let fields = [("csrf", csrf.as_str()), ("snapshot", &snapshot), ("zone", "yukari-1a"), ("type", "gp2")];
    let answer = b.post(&w.router, "/snapshots/volume", &fields).await;
    assert_eq!(answer.location(), "/volumes");
    let (text, page) = after(&mut b, &w, &answer).await;
    let restored = text.split_whitespace().find(|w| w.starts_with("vol-")).expect("a volume").to_owned();
    assert_ne!(restored, volume);
    let row = volume_of(&w, &restored);
    assert_eq!((row.snapshot.as_ref(), row.size_gib), (Some(&snapshot_id), 3));
    assert!(row_of(&page, &restored).contains(&snapshot), "the new volume names its snapshot");
    // Delete the snapshot.
    let answer = b.post(&w.router, "/snapshots/delete", &[("csrf", &csrf), ("snapshot", &snapshot)]).await;
    let (text, page) = after(&mut b, &w, &answer).await;
    assert_eq!(text, format!("Snapshot {snapshot} deleted."));
    assert!(!w.app.projections.read().volumes.snapshots.contains_key(&snapshot_id));
    assert!(page.body.contains("No snapshots."), "{}", page.body);
    // A volume is deleted from its page.
    let answer = b.post(&w.router, "/volumes/delete", &[("csrf", &csrf), ("volume", &volume)]).await;
    assert_eq!(after(&mut b, &w, &answer).await.0, format!("Volume {volume} is being deleted."));
    assert_eq!(volume_of(&w, &volume).state, domain::volumes::VolumeState::Deleting);
}

#[tokio::test]
async fn the_volume_rows_follow_the_read_models_and_the_pages_speak_japanese() {
    let (w, _) = world_with_storage().await;
    let mut b = signed_in(&w, "admin").await;
    b.lang = Some("ja");
    let page = b.get(&w.router, "/volumes").await;
    assert!(page.body.contains("ボリュームはありません。"), "{}", page.body);
    let at = page.body.find("data-live=\"").unwrap() + "data-live=\"".len();
    let live = page.body[at..].split('"').next().unwrap().to_owned();
    assert!(live.starts_with("/live/volumes?since="), "{live}");
    let answer = w.router.clone().oneshot(b.request("GET", &live, None)).await.unwrap();
    let mut body = answer.into_body().into_data_stream();
    let made = ec2(&w, &w.admin, "CreateVolume", &[("Size", "1"), ("AvailabilityZone", "yukari-1a")]).await;
    let volume = made.first("volumeId").unwrap();
    let update = next_update(&mut body).await;
    assert!(update.contains(&volume) && update.contains("作成中"), "{update}");
    w.app.record_storage(&zone(), StorageDone::Created { volume: row_id(&volume) }).await.unwrap();
    let update = next_update(&mut body).await;
    assert!(update.contains("利用可能") && update.contains("/volumes/attach"), "{update}");
    let snapshots = b.get(&w.router, "/snapshots").await;
    assert!(snapshots.body.contains("スナップショットはありません。"), "{}", snapshots.body);
}

#[tokio::test]
async fn a_snapshot_shared_with_another_account_is_offered_there_and_restored_as_its_own_volume() {
    let (w, _) = world_with_storage().await;
    let made = ec2(&w, &w.admin, "CreateVolume", &[("Size", "2"), ("AvailabilityZone", "yukari-1a")]).await;
    let volume = made.first("volumeId").unwrap();
    w.app.record_storage(&zone(), StorageDone::Created { volume: row_id(&volume) }).await.unwrap();
    let taken =
        ec2(&w, &w.admin, "CreateSnapshot", &[("VolumeId", &volume), ("Description", "golden")]).await;
    let snapshot = taken.first("snapshotId").unwrap();
    let done = StorageDone::SnapshotCompleted {
        snapshot: domain::SnapshotId::parse(&snapshot).unwrap(),
        manifest: "00".repeat(32),
    };
    w.app.record_storage(&zone(), done).await.unwrap();
    let other = w.app.create_account("team-b", &meta(&w.admin)).await.unwrap().account;
    w.app
        .change_login_profile(
            &other,
            &UserName::admin(),
            LoginProfileKind::Create,
            Some(PASSWORD.into()),
            None,
            &meta(&other),
        )
        .await
        .unwrap();
    let mut bob = signed_in(&w, "team-b").await;
    let page = bob.get(&w.router, "/volumes").await;
    assert!(!page.body.contains(&snapshot), "not shared yet: {}", page.body);
    let share = [("SnapshotId", snapshot.as_str()), ("CreateVolumePermission.Add.1.UserId", other.as_str())];
    ec2(&w, &w.admin, "ModifySnapshotAttribute", &share).await;
    let page = bob.get(&w.router, "/volumes").await;
    let option =
        format!("<option value=\"{snapshot}\">{snapshot} — golden (2 GiB) (shared by account {})", w.admin);
    assert!(page.body.contains(&option), "{}", page.body);
    let snapshots = bob.get(&w.router, "/snapshots").await;
    assert!(!snapshots.body.contains(&snapshot), "B's list is B's own snapshots: {}", snapshots.body);
    let fields = [("csrf", page.csrf()), ("zone", "yukari-1a".into()), ("snapshot", snapshot.clone())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = bob.post(&w.router, "/volumes", &fields).await;
    let (text, _) = after(&mut bob, &w, &answer).await;
    let restored = text.split_whitespace().find(|w| w.starts_with("vol-")).expect("a volume").to_owned();
    let row = volume_of(&w, &restored);
    assert_eq!((&row.account, row.size_gib), (&other, 2));
}

/// Every id of a list, page by page from `path`, and how many pages.
async fn walk(b: &mut Browser, w: &World, path: &str) -> (Vec<String>, usize) {
    let (mut seen, mut pages, mut path) = (Vec::new(), 0, path.to_owned());
    loop {
        let page = b.get(&w.router, &path).await;
        let rows: Vec<String> = page
            .body
            .split("<tr data-id=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .collect();
        assert!(rows.len() <= 2, "{rows:?}");
        seen.extend(rows);
        pages += 1;
        let Some(at) = page.body.find("id=\"next-page\"") else { break };
        let href = page.body[..at].rsplit("href=\"").next().unwrap().split('"').next().unwrap();
        path = href.replace("&amp;", "&");
        if pages > 1 {
            assert!(page.body.contains("id=\"first-page\""), "a later page links to the first");
            assert!(
                page.body.contains("data-live=\"/live/") && page.body.contains("after="),
                "live rows of this page"
            );
        }
        assert!(pages < 10, "paging must end");
    }
    (seen, pages)
}

#[tokio::test]
async fn the_volume_and_snapshot_lists_come_a_page_at_a_time() {
    let w = world_with(ConsoleConfig { page_size: 2, ..ConsoleConfig::default() }).await;
    w.app.configure_storage(&zone(), 100).await.unwrap();
    let mut volumes = Vec::new();
    for _ in 0..5 {
        let made =
            ec2(&w, &w.admin, "CreateVolume", &[("Size", "1"), ("AvailabilityZone", "yukari-1a")]).await;
        let volume = made.first("volumeId").unwrap();
        w.app.record_storage(&zone(), StorageDone::Created { volume: row_id(&volume) }).await.unwrap();
        volumes.push(volume);
    }
    let mut snapshots = Vec::new();
    for volume in &volumes[..3] {
        snapshots.push(
            ec2(&w, &w.admin, "CreateSnapshot", &[("VolumeId", volume)]).await.first("snapshotId").unwrap(),
        );
    }
    volumes.sort();
    snapshots.sort();
    let mut b = signed_in(&w, "admin").await;
    assert_eq!(walk(&mut b, &w, "/volumes").await, (volumes, 3), "every volume once, in id order");
    assert_eq!(walk(&mut b, &w, "/snapshots").await, (snapshots, 2), "every snapshot once, in id order");
}

#[tokio::test]
async fn an_ebs_backed_image_shows_its_root_snapshot_and_its_state() {
    let (w, _) = world_with_storage().await;
    let made = ec2(&w, &w.admin, "CreateVolume", &[("Size", "1"), ("AvailabilityZone", "yukari-1a")]).await;
    let volume = made.first("volumeId").unwrap();
    w.app.record_storage(&zone(), StorageDone::Created { volume: row_id(&volume) }).await.unwrap();
    let snapshot =
        ec2(&w, &w.admin, "CreateSnapshot", &[("VolumeId", &volume)]).await.first("snapshotId").unwrap();
    let done = StorageDone::SnapshotCompleted {
        snapshot: domain::SnapshotId::parse(&snapshot).unwrap(),
        manifest: "00".repeat(32),
    };
    w.app.record_storage(&zone(), done).await.unwrap();
    let registered = ec2(
        &w,
        &w.admin,
        "RegisterImage",
        &[
            ("Name", "ebs-root"),
            ("RootDeviceName", "/dev/sda1"),
            ("BlockDeviceMapping.1.DeviceName", "/dev/sda1"),
            ("BlockDeviceMapping.1.Ebs.SnapshotId", &snapshot),
        ],
    )
    .await;
    let image = registered.first("imageId").unwrap();
    let mut b = signed_in(&w, "admin").await;
    let page = b.get(&w.router, "/images").await;
    let row = page.body.split(&format!("<td class=\"mono\">{image}</td>")).nth(1).expect("the image's row");
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(&format!("EBS: {snapshot}")), "{row}");
    assert!(!row.contains("image-state"), "available: {row}");
    assert!(page.body.contains("instance store"), "the built-in image");
    b.lang = Some("ja");
    let page = b.get(&w.router, "/images").await;
    assert!(page.body.contains("インスタンスストア"), "{}", page.body);
}

/// The `<tr>` of the usage table with `data-unit="UNIT"`.
fn usage_row<'p>(page: &'p Page, unit: &str) -> &'p str {
    let at = page.body.find(&format!("data-unit=\"{unit}\"")).unwrap_or_else(|| panic!("no {unit} line"));
    let row = &page.body[at..];
    &row[..row.find("</tr>").unwrap()]
}

#[tokio::test]
async fn usage_charts_count_instances_only_and_list_storage_in_its_own_unit() {
    let (w, _) = world_with_storage().await;
    let made = ec2(&w, &w.admin, "CreateVolume", &[("Size", "50"), ("AvailabilityZone", "yukari-1a")]).await;
    let volume = made.first("volumeId").unwrap();
    w.app.record_storage(&zone(), StorageDone::Created { volume: row_id(&volume) }).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut admin = signed_in(&w, "admin").await;
    let page = admin.get(&w.router, "/admin/usage").await;
    assert!(!page.body.contains("[admin-"), "every resource kind has a name: {}", page.body);
    let line = usage_row(&page, "gp2");
    assert!(line.contains("<td>volumes</td>") && line.contains(" GiB-hours<"), "{line}");
    // One step line, of the instance: no volume line in the instance chart.
    assert_eq!(page.body.matches("<polyline").count(), 1, "{}", page.body);
    assert!(!page.body.contains("admin: volumes"), "{}", page.body);
    // The bar is the instance's time alone, not that plus GiB-seconds.
    let bars = &page.body[page.body.find("id=\"usage-bars\"").unwrap()..];
    let bars = &bars[..bars.find("</svg>").unwrap()];
    let bar = bars.rsplit("font-size=\"13\">").next().unwrap().split('<').next().unwrap();
    let instance = usage_row(&page, "m1.small");
    assert!(instance.contains(&format!("{bar} (h:mm:ss)")), "bar {bar}, line {instance}");
    admin.lang = Some("ja");
    let page = admin.get(&w.router, "/admin/usage").await;
    let line = usage_row(&page, "gp2");
    assert!(line.contains("<td>ボリューム</td>") && line.contains(" GiB時間<"), "{line}");
}
