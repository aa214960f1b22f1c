//! Page render times of the web console at 10,000 instances, each against
//! the same data's DescribeInstances in the same run (issue 12 part 7).
//!
//! In process, on a temporary log: a cloud bootstrapped as `yukari up`
//! does it (no time-travel snapshot: the default writes one every million
//! events), 10,000 instances launched through EC2 (RunInstances of 1,000,
//! left pending: no node runs them), a key pair, a few groups and
//! addresses. Then the console's router is called as a signed-in browser
//! would (`tower::ServiceExt::oneshot`: routing, session, rendering,
//! headers, the whole body read), each page many times, and EC2's
//! DescribeInstances through `api::ec2::invoke` (parsing, authorization,
//! read models, XML): all 10,000 instances, and a page of 25.
//!
//! Run: `cargo bench -p yukari-console --bench render` (about a minute),
//! or with `-- --quick` (1,000 instances). Prints a table of p50 and max
//! per page and their ratios to DescribeInstances. See BENCHMARKS.md.

use api::app::bootstrap::{BootstrapSpec, default_images};
use api::app::{App, AppConfig, LoginProfileKind, RequestMeta};
use api::secrets::MasterKey;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use console::{Console, ConsoleConfig, router};
use domain::{AccountId, Principal, Resources, UserName, ZoneName};
use eventlog::{EventLog, LogOptions};
use projections::Projections;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const PASSWORD: &str = "benchmark password";

fn meta(app: &App, account: &AccountId) -> RequestMeta {
    let request_id = app.ids.request_id();
    RequestMeta {
        principal: Principal { account: account.clone(), user: UserName::admin(), access_key: None },
        correlation_id: request_id.clone(),
        request_id,
        source: "bench".into(),
    }
}

async fn ec2(app: &App, account: &AccountId, action: &str, params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    pairs.push(("Action".into(), action.into()));
    pairs.push(("Version".into(), api::ec2::NEWEST_VERSION.into()));
    let params = api::ec2::params::Params::from_request(pairs).unwrap();
    api::ec2::invoke(app, &params, meta(app, account)).await.unwrap_or_else(|e| panic!("{action}: {e:?}"))
}

/// A browser's session cookie.
struct Browser {
    cookies: String,
}

async fn read(router: &Router, request: Request<Body>) -> (StatusCode, Vec<String>, String) {
    let answer = router.clone().oneshot(request).await.unwrap();
    let status = answer.status();
    let cookies = answer
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX).await.unwrap();
    (status, cookies, String::from_utf8_lossy(&bytes).into_owned())
}

impl Browser {
    async fn sign_in(router: &Router) -> Browser {
        let (_, cookies, form) = read(router, Request::get("/signin").body(Body::empty()).unwrap()).await;
        let at = form.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
        let csrf = &form[at..at + form[at..].find('"').unwrap()];
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("csrf", csrf), ("account", "admin"), ("user", "admin"), ("password", PASSWORD)])
            .finish();
        let request = Request::post("/signin")
            .header(header::COOKIE, cookies.join("; "))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let (status, session, _) = read(router, request).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "signed in");
        Browser { cookies: session.join("; ") }
    }

    async fn get(&self, router: &Router, path: &str) -> (StatusCode, String) {
        let request = Request::get(path).header(header::COOKIE, &self.cookies).body(Body::empty()).unwrap();
        let (status, _, body) = read(router, request).await;
        (status, body)
    }
}

/// p50 and max of `runs` timings.
fn summary(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], *times.last().unwrap())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let instances: usize = if quick { 1_000 } else { 10_000 };
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let projections = Projections::open(&log, None).unwrap();
    let master = MasterKey::load_or_create(&dir.path().join("master.key")).unwrap();
    let app = Arc::new(App::new(
        log.clone(),
        projections.clone(),
        master,
        AppConfig { ec2_url: "http://bench/".into() },
    ));
    let (_following, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(projections.clone().follow(log.clone(), stopped));
    let room = instances as u64 * 2;
    let spec = BootstrapSpec {
        region: "yukari".into(),
        zone: ZoneName::parse("yukari-1a").unwrap(),
        node_host: "127.0.0.1".into(),
        hypervisor: "sim".into(),
        node_capacity: Resources { cpus: room as u32, memory_mib: room * 1024, disk_gib: room * 20 },
        private_cidr: "10.96.0.0/12".into(),
        public_addresses: (10..60).map(|i| format!("198.51.100.{i}")).collect(),
    };
    let key = app.bootstrap(spec).await.unwrap();
    let admin = key.account.clone();
    app.change_login_profile(
        &admin,
        &UserName::admin(),
        LoginProfileKind::Create,
        Some(PASSWORD.into()),
        None,
        &meta(&app, &admin),
    )
    .await
    .unwrap();
    let (emi, _, _) = default_images();
    // Addresses first: the instances take what is left of the public pool.
    for _ in 0..3 {
        ec2(&app, &admin, "AllocateAddress", &[("Domain", "vpc")]).await;
    }
    let started = Instant::now();
    for _ in 0..instances / 1000 {
        ec2(
            &app,
            &admin,
            "RunInstances",
            &[("ImageId", emi.as_str()), ("MinCount", "1000"), ("MaxCount", "1000")],
        )
        .await;
    }
    ec2(&app, &admin, "CreateKeyPair", &[("KeyName", "bench"), ("KeyType", "ed25519")]).await;
    for i in 0..5 {
        let name = format!("g{i}");
        ec2(&app, &admin, "CreateSecurityGroup", &[("GroupName", &name), ("GroupDescription", "bench")])
            .await;
    }
    app.projections.wait_for(app.head()).await.unwrap();
    let head = app.head();
    println!(
        "{instances} instances launched in {:.1} s; the log holds {head} records",
        started.elapsed().as_secs_f64()
    );

    let (ids, middle) = {
        let models = app.projections.read();
        let ids: Vec<String> = models.instances.of_account(&admin, None).map(|r| r.id.to_string()).collect();
        assert_eq!(ids.len(), instances);
        let middle = ids[ids.len() / 2].clone();
        (ids, middle)
    };
    let (_stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let blobs = objectstore::BlobStore::open(dir.path().join("objects")).unwrap();
    let walrus = api::s3::Walrus::new(
        app.clone(),
        blobs,
        api::s3::WalrusConfig { region: "yukari".into(), virtual_hosts: vec![] },
    );
    let console = Console::new(app.clone(), walrus, ConsoleConfig::default(), stopping);
    let router = router(console);
    let browser = Browser::sign_in(&router).await;

    let last = &ids[ids.len() - 1];
    let pages: Vec<(String, usize)> = vec![
        ("/".into(), 20),
        ("/instances".into(), 50),
        (format!("/instances?after={middle}"), 50),
        ("/instances?state=running".into(), 20),
        ("/instances?q=no-such-name".into(), 20),
        (format!("/instances/{middle}"), 50),
        ("/instances/new".into(), 50),
        ("/images".into(), 50),
        ("/keypairs".into(), 50),
        ("/groups".into(), 50),
        ("/addresses".into(), 50),
        ("/admin/clusters".into(), 50),
        ("/admin/accounts".into(), 20),
        ("/admin/audit".into(), 10),
        (format!("/admin/audit?resource={last}"), 20),
        ("/admin/usage".into(), 5),
        ("/admin/time".into(), 20),
        (format!("/admin/time?at={}", head / 2), 5),
        ("/admin/diff".into(), 5),
    ];

    // The baselines: DescribeInstances of the same 10,000, and of a page of 25.
    let mut baselines = Vec::new();
    for (name, params, runs) in [
        ("DescribeInstances (all)", vec![], 10),
        ("DescribeInstances (MaxResults=25)", vec![("MaxResults", "25")], 50),
    ] {
        let mut times = Vec::new();
        for i in 0..runs + 2 {
            let t = Instant::now();
            let xml = ec2(&app, &admin, "DescribeInstances", &params).await;
            if i >= 2 {
                times.push(t.elapsed());
            }
            assert!(xml.contains("instanceId"));
        }
        baselines.push((name, summary(times)));
    }
    let (all, page) = (baselines[0].1.0, baselines[1].1.0);

    println!();
    println!("{:<40} {:>9} {:>9} {:>12} {:>12}", "page", "p50 ms", "max ms", "÷ DI(all)", "÷ DI(25)");
    for (name, (p50, max)) in &baselines {
        let r = |b: Duration| p50.as_secs_f64() / b.as_secs_f64();
        println!("{name:<40} {:>9} {:>9} {:>12.3} {:>12.2}", ms(*p50), ms(*max), r(all), r(page));
    }
    let mut over = Vec::new();
    for (path, runs) in &pages {
        let mut times = Vec::new();
        for i in 0..runs + 2 {
            let t = Instant::now();
            let (status, body) = browser.get(&router, path).await;
            let took = t.elapsed();
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            if i >= 2 {
                times.push(took);
            }
        }
        let (p50, max) = summary(times);
        let r = |b: Duration| p50.as_secs_f64() / b.as_secs_f64();
        println!("{path:<40} {:>9} {:>9} {:>12.3} {:>12.2}", ms(p50), ms(max), r(all), r(page));
        if p50 > Duration::from_millis(50) {
            over.push(path.clone());
        }
    }
    println!();
    if over.is_empty() {
        println!("every page's p50 is under 50 ms at {instances} instances");
    } else {
        println!("p50 over 50 ms at {instances} instances: {}", over.join(", "));
    }
}
