//! The node protocol through the router, signed as a node would sign.

use super::*;
use crate::admin::wire as frame_wire;
use crate::app::bootstrap::default_images;
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use axum::body::Body;
use axum::http::Request;
use domain::Timestamp;
use domain::command::{NodeOutcome, NodeReport, RunInstances};
use domain::{ParsedStream, StreamId};
use tower::ServiceExt;
use wire::{NodeCredentials, NodeInfo, ReportBody};

use crate::app::testing::system_meta as meta;
use crate::app::testing::{TestApp as Cloud, test_app as cloud};

async fn call(
    app: &Arc<App>,
    signer: &(String, String),
    method: &str,
    path: &str,
    query: &str,
    body: Vec<u8>,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut headers = vec![("Host".to_owned(), "localhost".to_owned())];
    let request = V4Request { method, host: "localhost", path, query, body: &body };
    let key =
        V4Key { access_key_id: &signer.0, secret_access_key: &signer.1, region: "yukari", service: "node" };
    sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
    let mut builder = Request::builder().method(method).uri(format!("{path}?{query}"));
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let router = router(app.clone());
    let response = router.oneshot(builder.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
    (status, headers, body)
}

async fn register(c: &Cloud, host: &str) -> (NodeCredentials, (String, String)) {
    let query = format!("zone=east&host={host}&hypervisor=sim&cpus=4&memory_mib=4096&disk_gib=100");
    let (status, _, body) = call(&c.app, &c.admin, "POST", "/admin/nodes", &query, Vec::new()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let creds: NodeCredentials = serde_json::from_slice(&body).unwrap();
    let key = (creds.access_key.clone(), creds.secret.clone());
    (creds, key)
}

async fn launch(c: &Cloud) -> InstanceId {
    let models = c.app.projections.read().accounts.account_by_name("admin").map(|(a, _)| a.clone());
    let id = c.app.ids.instance();
    let run = RunInstances::one(
        models.unwrap(),
        c.app.ids.reservation(),
        id.clone(),
        default_images().0,
        "m1.small",
        ZoneName::parse("east").unwrap(),
        Timestamp(1),
    );
    c.app.execute(Command::RunInstances(run), &meta()).await.unwrap();
    id
}

fn report_body(instance: &InstanceId, outcome: NodeOutcome) -> Vec<u8> {
    let report = NodeReport {
        node: NodeId::from_bits(999),
        zone: ZoneName::parse("ignored").unwrap(),
        instance: instance.clone(),
        attempt: Some(1),
        outcome,
        at: Timestamp(2),
    };
    serde_json::to_vec(&ReportBody::from_report(&report)).unwrap()
}

fn frames(body: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut d = frame_wire::Decoder::default();
    d.push(body);
    let mut out = Vec::new();
    while let Some(f) = d.next_frame().unwrap() {
        out.push(f);
    }
    d.finish().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reads_and_reports_only_its_own_instances() {
    let c = cloud().await;
    let (status, _, _) =
        call(&c.app, &c.admin, "POST", "/admin/clusters", "name=east&policy=greedy", Vec::new()).await;
    assert_eq!(status, 204);
    let (a, key_a) = register(&c, "10.0.0.11").await;
    let instance = launch(&c).await;
    let (_, key_b) = register(&c, "10.0.0.12").await;

    // B may not report on A's instance; nothing is appended.
    let head = c.app.log.head();
    let body = report_body(&instance, NodeOutcome::Running);
    let (status, _, text) = call(&c.app, &key_b, "POST", "/node/report", "", body.clone()).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&text));
    assert!(String::from_utf8_lossy(&text).contains("is not placed on node"));
    assert_eq!(c.app.log.head(), head);
    // Nor push its console, nor read it in its feed.
    let (status, _, _) =
        call(&c.app, &key_b, "POST", "/node/console", &format!("instance={instance}"), b"x".to_vec()).await;
    assert_eq!(status, 403);
    let (status, headers, feed) = call(&c.app, &key_b, "GET", "/node/feed", "from=1", Vec::new()).await;
    assert_eq!(status, 200);
    assert!(frames(&feed).is_empty(), "B's feed has records of A's instance");
    assert_eq!(headers["x-yukari-next"].to_str().unwrap(), (head + 1).to_string());
    // Nor read its history (that of an instance placed on it after a life
    // elsewhere), which A may.
    let stream = StreamId::instance(&instance);
    let history = format!("stream={}&to={head}", stream.as_str().replace('/', "%2F"));
    let (status, _, text) = call(&c.app, &key_b, "GET", "/node/history", &history, Vec::new()).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&text));
    let (status, _, text) = call(&c.app, &key_a, "GET", "/node/history", &history, Vec::new()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    let kinds: Vec<String> = frames(&text)
        .iter()
        .map(|(p, r)| {
            eventlog::decode_record(*p, r).map(|e| (e.stream == stream.as_str(), e.event_type.to_owned()))
        })
        .map(|e| match e.unwrap() {
            (true, kind) => kind,
            (false, kind) => panic!("another stream's {kind}"),
        })
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("InstanceRequested"), "{kinds:?}");
    let (status, _, _) =
        call(&c.app, &key_a, "GET", "/node/history", "stream=volume%2Fvol-1&to=9", Vec::new()).await;
    assert_eq!(status, 400);

    // A reads its instance's stream, reports it, pushes its console.
    let (_, _, feed) = call(&c.app, &key_a, "GET", "/node/feed", "from=1", Vec::new()).await;
    let streams: Vec<String> = frames(&feed)
        .iter()
        .map(|(p, r)| eventlog::decode_record(*p, r).unwrap().stream.to_owned())
        .collect();
    assert!(!streams.is_empty());
    assert!(streams.iter().all(|s| *s == StreamId::instance(&instance).as_str()), "{streams:?}");
    let (status, _, text) = call(&c.app, &key_a, "POST", "/node/report", "", body).await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&text));
    let row = c.app.projections.read().instances.get(instance.as_str()).cloned().unwrap();
    assert_eq!(
        (row.state, row.node.as_ref().map(|n| n.to_string())),
        (domain::InstanceState::Running, Some(a.node))
    );
    let (status, _, _) =
        call(&c.app, &key_a, "POST", "/node/console", &format!("instance={instance}"), b"boot".to_vec())
            .await;
    assert_eq!(status, 204);
    assert_eq!(c.app.liveness.console(&instance).as_deref(), Some(&b"boot"[..]));
    // Its guest's metadata token, which B cannot have.
    let query = format!("instance={instance}");
    let (status, _, token) = call(&c.app, &key_a, "GET", "/node/metadata-token", &query, Vec::new()).await;
    assert_eq!(status, 200);
    let tokens = crate::metadata::MetadataTokens::new(c.app.credentials.master_key());
    assert_eq!(tokens.instance_of(&String::from_utf8(token).unwrap()), Some(instance.clone()));
    let (status, _, _) = call(&c.app, &key_b, "GET", "/node/metadata-token", &query, Vec::new()).await;
    assert_eq!(status, 403);
    // Download manifests: only of its own guests' images, only of bundles.
    let ask = |image: &str| {
        let asked = images::ManifestRequest {
            instance: instance.to_string(),
            image: image.to_owned(),
            public_key: "not read before the checks".into(),
            base: "http://localhost:8773".into(),
        };
        serde_json::to_vec(&asked).unwrap()
    };
    let emi = default_images().0.to_string();
    let (status, _, text) = call(&c.app, &key_b, "POST", "/node/image-manifest", "", ask(&emi)).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&text));
    let (status, _, text) =
        call(&c.app, &key_a, "POST", "/node/image-manifest", "", ask("emi-00000abc")).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&text));
    assert!(String::from_utf8_lossy(&text).contains("is not one instance"));
    let (status, _, text) = call(&c.app, &key_a, "POST", "/node/image-manifest", "", ask(&emi)).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&text));
    assert!(String::from_utf8_lossy(&text).contains("not registered from a bundle"));
    let (status, _, _) = call(&c.app, &key_a, "POST", "/node/image-manifest", "", b"{}".to_vec()).await;
    assert_eq!(status, 400);
    // A report the domain refuses (stopped, never asked to stop): 409.
    let (status, _, _) =
        call(&c.app, &key_a, "POST", "/node/report", "", report_body(&instance, NodeOutcome::Stopped)).await;
    assert_eq!(status, 409);
    // A report of a launch attempt never made: 409, nothing appended. An
    // older node's report, without an attempt, is one of the current
    // attempt (here a repeat: 204, nothing appended).
    let head = c.app.log.head();
    let with_attempt = |attempt: Option<u32>| {
        let mut body: serde_json::Value =
            serde_json::from_slice(&report_body(&instance, NodeOutcome::Running)).unwrap();
        match attempt {
            Some(n) => body["attempt"] = n.into(),
            None => {
                body.as_object_mut().unwrap().remove("attempt");
            }
        }
        serde_json::to_vec(&body).unwrap()
    };
    let (status, _, text) = call(&c.app, &key_a, "POST", "/node/report", "", with_attempt(Some(9))).await;
    assert_eq!(status, 409);
    assert!(String::from_utf8_lossy(&text).contains("no attempt 9"), "{}", String::from_utf8_lossy(&text));
    let (status, _, _) = call(&c.app, &key_a, "POST", "/node/report", "", with_attempt(None)).await;
    assert_eq!(status, 204);
    assert_eq!(c.app.log.head(), head);

    // The admin's key is not a node's; a wrong secret fails the signature.
    let (status, _, _) = call(&c.app, &c.admin, "POST", "/node/heartbeat", "", b"{}".to_vec()).await;
    assert_eq!(status, 401);
    let wrong = (key_a.0.clone(), "nope".to_owned());
    let (status, _, _) = call(&c.app, &wrong, "POST", "/node/heartbeat", "", b"{}".to_vec()).await;
    assert_eq!(status, 401);
    // A node's key does not open the admin API.
    let (status, _, _) = call(&c.app, &key_a, "GET", "/admin/nodes", "", Vec::new()).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_goes_unreachable_and_comes_back_with_one_event_each_way() {
    let c = cloud().await;
    call(&c.app, &c.admin, "POST", "/admin/clusters", "name=east", Vec::new()).await;
    let (a, key_a) = register(&c, "10.0.0.11").await;
    let node = NodeId::parse(&a.node).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let monitor = tokio::spawn(liveness::monitor(c.app.clone(), Duration::from_millis(300), None, stopped));
    let lost = |app: &App| app.projections.read().cloud.node(&node).is_some_and(|(_, n)| !n.reachable);
    while !lost(&c.app) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The monitor stops here: on a busy machine it could find the node
    // silent again between the heartbeats below (300 ms is short).
    stop.send_replace(true);
    monitor.await.unwrap();
    let head = c.app.log.head();
    let (status, _, body) = call(&c.app, &key_a, "POST", "/node/heartbeat", "", b"{}".to_vec()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(!lost(&c.app));
    assert_eq!(c.app.log.head(), head + 1, "one NodeReachable");
    // Heartbeats while reachable append nothing.
    for _ in 0..3 {
        call(&c.app, &key_a, "POST", "/node/heartbeat", "", b"{}".to_vec()).await;
    }
    assert_eq!(c.app.log.head(), head + 1);

    let (_, _, body) = call(&c.app, &c.admin, "GET", "/admin/nodes", "", Vec::new()).await;
    let rows: Vec<NodeInfo> = serde_json::from_slice(&body).unwrap();
    let row = rows.iter().find(|r| r.node == a.node).unwrap();
    assert!(row.reachable && !row.embedded && row.last_heartbeat.is_some());
    assert!(rows.iter().any(|r| r.embedded), "the bootstrap node is listed too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cluster_and_node_requests_change_nothing() {
    let c = cloud().await;
    let head = c.app.log.head();
    for (method, path, query) in [
        ("POST", "/admin/clusters", "name=bad%20name"),
        ("POST", "/admin/clusters", "name=east&policy=fastest"),
        ("POST", "/admin/clusters/policy", "name=yukari-1a"),
        ("POST", "/admin/nodes", "zone=east&host=h&hypervisor=sim&cpus=1&memory_mib=1&disk_gib=1"),
        ("POST", "/admin/nodes", "zone=yukari-1a&host=h&hypervisor=sim&cpus=0&memory_mib=1&disk_gib=1"),
    ] {
        let (status, _, body) = call(&c.app, &c.admin, method, path, query, Vec::new()).await;
        assert!((400..500).contains(&status), "{path}?{query}: {status} {}", String::from_utf8_lossy(&body));
    }
    assert_eq!(c.app.log.head(), head);
    let (status, _, _) = call(
        &c.app,
        &c.admin,
        "POST",
        "/admin/clusters/policy",
        "name=yukari-1a&policy=powersave",
        Vec::new(),
    )
    .await;
    assert_eq!(status, 204);
    let (_, _, body) = call(&c.app, &c.admin, "GET", "/admin/clusters", "", Vec::new()).await;
    let rows: Vec<wire::ClusterInfo> = serde_json::from_slice(&body).unwrap();
    assert_eq!(rows[0].policy, "POWERSAVE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_sees_the_network_of_its_own_guests_only() {
    let c = cloud().await;
    call(&c.app, &c.admin, "POST", "/admin/clusters", "name=east", Vec::new()).await;
    let (_, key_a) = register(&c, "10.0.0.11").await;
    let instance = launch(&c).await;
    let (_, key_b) = register(&c, "10.0.0.12").await;
    let row = c.app.projections.read().instances.get(instance.as_str()).cloned().unwrap();
    let private = row.private_address.clone().unwrap();

    let (status, _, body) = call(&c.app, &key_a, "GET", "/node/network", "", Vec::new()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let view: wire::NodeNetwork = serde_json::from_slice(&body).unwrap();
    assert_eq!(view.private_network, "10.111.0.0/16");
    assert_eq!(view.guests.len(), 1, "{view:?}");
    let guest = &view.guests[0];
    assert_eq!((guest.instance.as_str(), guest.private.as_str()), (instance.as_str(), private.as_str()));
    assert_eq!(guest.public, row.public_address);
    // The default group lets its members in: resolved to their addresses.
    assert_eq!(
        guest.ingress,
        vec![wire::NetRule {
            protocol: "-1".into(),
            from_port: -1,
            to_port: -1,
            cidr: None,
            addresses: vec![private.to_string()]
        }]
    );
    assert!(guest.egress.iter().any(|r| r.cidr.as_deref() == Some("0.0.0.0/0")), "{guest:?}");

    // Another node sees none of it.
    let (status, _, body) = call(&c.app, &key_b, "GET", "/node/network", "", Vec::new()).await;
    assert_eq!(status, 200);
    let other: wire::NodeNetwork = serde_json::from_slice(&body).unwrap();
    assert!(other.guests.is_empty(), "{other:?}");
    // …but a route to A's guest through A's host; A needs none.
    assert_eq!(other.routes, vec![wire::NetRoute { address: private.to_string(), via: "10.0.0.11".into() }]);
    assert!(view.routes.is_empty(), "{view:?}");
    assert_ne!(other.version, view.version);

    // Nothing changed: after the wait, the same version again; a stale
    // version is answered at once with the current view.
    let query = format!("have={}&wait=1", view.version);
    let (_, _, body) = call(&c.app, &key_a, "GET", "/node/network", &query, Vec::new()).await;
    let again: wire::NodeNetwork = serde_json::from_slice(&body).unwrap();
    assert_eq!(again.version, view.version);
    assert_eq!(again.guests, view.guests);
    let query = "have=stale&wait=10";
    let (_, _, body) = call(&c.app, &key_a, "GET", "/node/network", query, Vec::new()).await;
    let fresh: wire::NodeNetwork = serde_json::from_slice(&body).unwrap();
    assert_eq!(fresh.version, view.version);

    // Only nodes may ask.
    let (status, _, _) = call(&c.app, &c.admin, "GET", "/node/network", "", Vec::new()).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_registering_again_under_its_id_stays_one_node_with_only_the_newest_key() {
    let c = cloud().await;
    call(&c.app, &c.admin, "POST", "/admin/clusters", "name=east", Vec::new()).await;
    call(&c.app, &c.admin, "POST", "/admin/clusters", "name=west", Vec::new()).await;
    let chosen = NodeId::from_bits(0xfeed);
    let query = |zone: &str| {
        format!("zone={zone}&host=10.0.0.11&hypervisor=sim&cpus=4&memory_mib=4096&disk_gib=100&node={chosen}")
    };
    let mut keys = Vec::new();
    for _ in 0..3 {
        let (status, _, body) =
            call(&c.app, &c.admin, "POST", "/admin/nodes", &query("east"), Vec::new()).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let creds: NodeCredentials = serde_json::from_slice(&body).unwrap();
        assert_eq!((creds.node.as_str(), creds.zone.as_str()), (chosen.as_str(), "east"));
        keys.push((creds.access_key, creds.secret));
    }
    let (_, _, body) = call(&c.app, &c.admin, "GET", "/admin/nodes", "", Vec::new()).await;
    let rows: Vec<NodeInfo> = serde_json::from_slice(&body).unwrap();
    assert_eq!(rows.iter().filter(|r| r.node == chosen.as_str()).count(), 1, "one node");
    assert_eq!(rows.iter().filter(|r| r.zone == "east").count(), 1);
    // Only the newest key opens the node API.
    for (i, key) in keys.iter().enumerate() {
        let (status, _, _) = call(&c.app, key, "POST", "/node/heartbeat", "", b"{}".to_vec()).await;
        assert_eq!(status, if i == keys.len() - 1 { 200 } else { 401 }, "key {i}");
    }
    // The same id in another cluster: refused, nothing appended.
    let head = c.app.log.head();
    let (status, _, body) = call(&c.app, &c.admin, "POST", "/admin/nodes", &query("west"), Vec::new()).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("already belongs to cluster east"), "{text}");
    // A malformed id: refused.
    let bad = "zone=east&host=h&hypervisor=sim&cpus=1&memory_mib=1&disk_gib=1&node=i-00000000000000001";
    let (status, _, _) = call(&c.app, &c.admin, "POST", "/admin/nodes", bad, Vec::new()).await;
    assert_eq!(status, 400);
    assert_eq!(c.app.log.head(), head);
}

/// Two nodes of zone `east` (round robin, room for 64 instances each) and
/// `launches` instances spread over them; A's id and key.
async fn two_busy_nodes(c: &Cloud, launches: usize) -> (NodeId, (String, String)) {
    call(&c.app, &c.admin, "POST", "/admin/clusters", "name=east&policy=roundrobin", Vec::new()).await;
    let mut nodes = Vec::new();
    for host in ["10.0.0.11", "10.0.0.12"] {
        let query = format!("zone=east&host={host}&hypervisor=sim&cpus=64&memory_mib=65536&disk_gib=1000");
        let (status, _, body) = call(&c.app, &c.admin, "POST", "/admin/nodes", &query, Vec::new()).await;
        assert_eq!(status, 200);
        nodes.push(serde_json::from_slice::<NodeCredentials>(&body).unwrap());
    }
    for _ in 0..launches {
        launch(c).await;
    }
    let a = nodes.remove(0);
    (NodeId::parse(&a.node).unwrap(), (a.access_key, a.secret))
}

/// The positions of every record of an instance placed on `node`, by a
/// scan of the whole log.
fn records_of(app: &App, node: &NodeId) -> Vec<u64> {
    let models = app.projections.read();
    let mut out = Vec::new();
    app.log
        .scan(1, |e| {
            let id = ParsedStream::instance(e.stream);
            if id.and_then(|id| models.instances.get(id.as_str())).and_then(|r| r.node.as_ref()) == Some(node)
            {
                out.push(e.position);
            }
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    out
}

/// Pages `node`'s feed from `from` until past the head: the positions
/// received, and how many pages were found through the index.
async fn catch_up(
    app: &App,
    node: &NodeId,
    from: u64,
    page: usize,
    lookup: feed::Lookup,
) -> (Vec<u64>, u64, usize) {
    let (mut got, mut next, mut indexed) = (Vec::new(), from, 0);
    while next <= app.log.head() {
        let p = feed::page(app, node, next, Duration::ZERO, page, lookup).await.unwrap();
        let positions: Vec<u64> = frames(&p.body).iter().map(|(p, _)| *p).collect();
        assert_eq!(positions.len(), p.sent);
        assert!(
            positions.iter().all(|&q| q >= next && q < p.next),
            "{positions:?} outside {next}..{}",
            p.next
        );
        assert!(p.next > next, "no progress at {next}");
        indexed += usize::from(p.indexed);
        got.extend(positions);
        next = p.next;
    }
    (got, next, indexed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_far_behind_is_served_from_the_index_with_nothing_skipped_or_repeated() {
    let c = cloud().await;
    let (a, _) = two_busy_nodes(&c, 8).await;
    let want = records_of(&c.app, &a);
    assert!(want.len() >= 4, "{want:?}");
    let head = c.app.log.head();
    // Every page size, including a page that ends exactly on A's last
    // record and pages larger than the log.
    for page in (1..=want.len() + 1).chain([head as usize, head as usize + 5]) {
        let (got, next, indexed) = catch_up(&c.app, &a, 1, page, feed::Lookup::Auto).await;
        assert_eq!(got, want, "page of {page}");
        assert_eq!(next, head + 1, "page of {page}");
        assert_eq!(indexed > 0, (page as u64) < head, "page of {page}: {indexed} indexed pages");
        let (scanned, _, none) = catch_up(&c.app, &a, 1, page, feed::Lookup::ScanOnly).await;
        assert_eq!((scanned, none), (want.clone(), 0), "page of {page}");
    }
    // From the middle of the log: only what follows.
    let middle = want[want.len() / 2];
    let (got, _, _) = catch_up(&c.app, &a, middle, 2, feed::Lookup::Auto).await;
    assert_eq!(got, want[want.len() / 2..]);
    // Past the head, nothing yet: the node asks again from the same place.
    let p = feed::page(&c.app, &a, head + 5, Duration::ZERO, 2, feed::Lookup::Auto).await.unwrap();
    assert_eq!((p.sent, p.next, p.indexed), (0, head + 5, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_placed_while_a_node_pages_from_the_index_are_not_missed() {
    let c = cloud().await;
    let (a, key_a) = two_busy_nodes(&c, 6).await;
    let first = feed::page(&c.app, &a, 1, Duration::ZERO, 2, feed::Lookup::Auto).await.unwrap();
    assert!(first.indexed);
    let mut got: Vec<u64> = frames(&first.body).iter().map(|(p, _)| *p).collect();
    // New instances on both nodes, and a report on one of A's, while A
    // is still far behind.
    for _ in 0..4 {
        launch(&c).await;
    }
    let theirs = records_of(&c.app, &a);
    let (_, _, body) = call(&c.app, &key_a, "GET", "/node/feed", "from=1", Vec::new()).await;
    let one_of_a =
        frames(&body).first().map(|(p, r)| eventlog::decode_record(*p, r).unwrap().stream.to_owned());
    let instance = ParsedStream::instance(&one_of_a.unwrap()).unwrap();
    let (status, _, _) =
        call(&c.app, &key_a, "POST", "/node/report", "", report_body(&instance, NodeOutcome::Running)).await;
    assert_eq!(status, 204);
    let want = records_of(&c.app, &a);
    assert!(want.len() > theirs.len(), "the report is A's");
    let (rest, _, indexed) = catch_up(&c.app, &a, first.next, 2, feed::Lookup::Auto).await;
    assert!(indexed > 0);
    got.extend(rest);
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_an_instance_left_is_sent_its_placement_elsewhere_and_nothing_after() {
    use domain::command::{InstanceIds, MarkNodeUnreachable, StopInstances};
    let c = cloud().await;
    call(&c.app, &c.admin, "POST", "/admin/clusters", "name=east&policy=greedy", Vec::new()).await;
    let (a, key_a) = register(&c, "10.0.0.11").await;
    let a = NodeId::parse(&a.node).unwrap();
    let (moving, staying) = (launch(&c).await, launch(&c).await);
    let meta = meta();
    let account = c.app.projections.read().instances.get(moving.as_str()).unwrap().account.clone();
    let report = |outcome| report_body(&moving, outcome);
    let (status, _, _) = call(&c.app, &key_a, "POST", "/node/report", "", report(NodeOutcome::Running)).await;
    assert_eq!(status, 204);
    let stop = StopInstances {
        account: account.clone(),
        instances: vec![moving.clone()],
        force: false,
        at: Timestamp(3),
    };
    c.app.execute(Command::StopInstances(stop), &meta).await.unwrap();
    let (status, _, _) = call(&c.app, &key_a, "POST", "/node/report", "", report(NodeOutcome::Stopped)).await;
    assert_eq!(status, 204);
    // A goes silent; the stopped instance is started on B.
    let (b, key_b) = register(&c, "10.0.0.12").await;
    let b = NodeId::parse(&b.node).unwrap();
    let east = ZoneName::parse("east").unwrap();
    let silent =
        MarkNodeUnreachable { zone: east, node: a.clone(), last_heartbeat: Timestamp(3), at: Timestamp(4) };
    c.app.execute(Command::MarkNodeUnreachable(silent), &meta).await.unwrap();
    let before = c.app.log.head();
    let start = InstanceIds { account, instances: vec![moving.clone()], at: Timestamp(5) };
    c.app.execute(Command::StartInstances(start), &meta).await.unwrap();
    let row = |id: &InstanceId| c.app.projections.read().instances.get(id.as_str()).cloned().unwrap();
    assert_eq!((row(&moving).node, row(&moving).moved_from), (Some(b.clone()), vec![a.clone()]));
    assert_eq!((row(&staying).node, row(&staying).moved_from), (Some(a.clone()), vec![]));
    let (status, _, _) = call(&c.app, &key_b, "POST", "/node/report", "", report(NodeOutcome::Running)).await;
    assert_eq!(status, 204, "the started instance is B's now");

    // From where A was cut off, its feed gives the placement on B, and
    // none of the records before or after it.
    let events = |body: &[u8]| -> Vec<(u64, domain::Event)> {
        frames(body)
            .iter()
            .map(|(p, r)| {
                let e = eventlog::decode_record(*p, r).unwrap();
                assert_eq!(e.stream, StreamId::instance(&moving).as_str());
                (*p, domain::Event::decode(e.event_type, e.schema, e.payload).unwrap())
            })
            .collect()
    };
    let (_, _, body) =
        call(&c.app, &key_a, "GET", "/node/feed", &format!("from={}", before + 1), Vec::new()).await;
    let got = events(&body);
    assert!(matches!(got.as_slice(), [(_, domain::Event::InstancePlaced(p))] if p.node == b), "{got:?}");
    let moved_at = got[0].0;
    // The same from the start, scanned or through the index: the staying
    // instance's records and that placement.
    let mut want = records_of(&c.app, &a);
    want.push(moved_at);
    want.sort();
    for page in [1, 2, 3, 1000] {
        for lookup in [feed::Lookup::Auto, feed::Lookup::ScanOnly] {
            let (got, _, _) = catch_up(&c.app, &a, 1, page, lookup).await;
            assert_eq!(got, want, "page of {page}, {lookup:?}");
        }
    }
    // B, the instance's node now, is sent its records, the placement too.
    let (_, _, body) =
        call(&c.app, &key_b, "GET", "/node/feed", &format!("from={}", before + 1), Vec::new()).await;
    let theirs: Vec<u64> = events(&body).iter().map(|(p, _)| *p).collect();
    assert!(theirs.contains(&moved_at) && theirs.len() > 1, "{theirs:?}");
}
