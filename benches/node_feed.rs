//! The node feed benchmark (issue 4): a node on another host starting on a
//! long log, where almost every record is of other nodes' instances. Its
//! catch-up (every page of `/node/feed` from position 1 to the head, as
//! `api::nodes::feed::page` serves them) is measured two ways in the same
//! run, on the same log:
//!
//! - the baseline: the scan every node used to get (every record of the log
//!   read, decoded and filtered, 8,192 per page);
//! - the stream index: the node's instances from the read models, their
//!   streams' records found through the index and merged by position.
//!
//! The log: 50 busy nodes in one cluster, and one quiet node in another
//! that gets one launch in 1,000. Run: `cargo bench --bench node_feed`
//! (about a minute), `-- --quick` (5,000 launches).

#[allow(dead_code)]
#[path = "foundation/report.rs"]
mod report;

use api::app::bootstrap::{BootstrapSpec, default_images};
use api::app::{App, AppConfig, RequestMeta};
use api::nodes::feed::{FEED_PAGE, Lookup, page};
use api::secrets::MasterKey;
use domain::command::*;
use domain::*;
use eventlog::{EventLog, LogOptions};
use projections::Projections;
use report::{Table, speedup, thousands};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BUSY_NODES: u128 = 50;
const NODE: Resources = Resources { cpus: 4096, memory_mib: 1 << 24, disk_gib: 1 << 24 };
const QUIET: u128 = 9_999;

fn zone(name: &str) -> ZoneName {
    ZoneName::parse(name).unwrap()
}

fn run_one(account: &AccountId, zone_name: &str, i: u128) -> Command {
    Command::RunInstances(RunInstances::one(
        account.clone(),
        ReservationId::from_bits(1_000_000 + i),
        InstanceId::from_bits(1_000_000 + i),
        default_images().0,
        "m1.small",
        zone(zone_name),
        Timestamp(10),
    ))
}

/// A cloud whose log holds `launches` launches, one in 1,000 on the quiet
/// node.
async fn long_log(dir: &std::path::Path, launches: usize) -> Arc<App> {
    let log = EventLog::open(&dir.join("events.redb"), LogOptions::default()).unwrap();
    let projections = Projections::open(&log, None).unwrap();
    let master = MasterKey::load_or_create(&dir.join("master.key")).unwrap();
    let app = Arc::new(App::new(
        log.clone(),
        projections.clone(),
        master,
        AppConfig { ec2_url: "http://b/".into() },
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    std::mem::forget(stop);
    tokio::spawn(projections.clone().follow(log.clone(), stopped));
    let spec = BootstrapSpec {
        region: "yukari".into(),
        zone: zone("yukari-1a"),
        node_host: "localhost".into(),
        hypervisor: "sim".into(),
        node_capacity: NODE,
        private_cidr: "10.0.0.0/8".into(),
        public_addresses: Vec::new(),
    };
    let admin = app.bootstrap(spec).await.unwrap().account;
    let meta = RequestMeta {
        principal: Principal::system("bench"),
        request_id: "bench".into(),
        correlation_id: "bench".into(),
        source: "bench".into(),
    };
    let register = |zone_name: &str, bits: u128| {
        Command::RegisterNode(RegisterNode {
            node: NodeId::from_bits(bits),
            zone: zone(zone_name),
            host: format!("host-{bits}"),
            hypervisor: "sim".into(),
            capacity: NODE,
            key: None,
            at: Timestamp(3),
        })
    };
    for name in ["busy", "quiet"] {
        let add = AddCluster { zone: zone(name), policy: SchedulingPolicy::RoundRobin, at: Timestamp(2) };
        app.execute(Command::AddCluster(add), &meta).await.unwrap();
    }
    for n in 1..=BUSY_NODES {
        app.execute(register("busy", n), &meta).await.unwrap();
    }
    app.execute(register("quiet", QUIET), &meta).await.unwrap();
    let callers = 32;
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let (app, admin, meta) = (app.clone(), admin.clone(), meta.clone());
        tasks.push(tokio::spawn(async move {
            for i in (caller..launches).step_by(callers) {
                let zone_name = if i % 1000 == 999 { "quiet" } else { "busy" };
                app.execute(run_one(&admin, zone_name, i as u128), &meta).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    app
}

/// The quiet node's catch-up from position 1: time, pages, records.
async fn catch_up(app: &App, lookup: Lookup) -> (Duration, usize, usize) {
    let node = NodeId::from_bits(QUIET);
    let (mut next, mut pages, mut records) = (1, 0, 0);
    let started = Instant::now();
    while next <= app.log.head() {
        let p = page(app, &node, next, Duration::ZERO, FEED_PAGE, lookup).await.unwrap();
        assert!(lookup == Lookup::ScanOnly || p.indexed || pages > 0);
        next = p.next;
        pages += 1;
        records += p.sent;
    }
    (started.elapsed(), pages, records)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let launches = if quick { 5_000 } else { 50_000 };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    eprintln!("[node_feed] writing {launches} launches …");
    let app = runtime.block_on(long_log(dir.path(), launches));
    let head = app.log.head();
    // Best of three of each, alternating (the log is in the page cache
    // after the first scan).
    let mut scan = (Duration::MAX, 0, 0);
    let mut index = (Duration::MAX, 0, 0);
    for _ in 0..3 {
        let s = runtime.block_on(catch_up(&app, Lookup::ScanOnly));
        let i = runtime.block_on(catch_up(&app, Lookup::Auto));
        assert_eq!(s.2, i.2, "both ways send the same records");
        scan = scan.min(s);
        index = index.min(i);
    }
    let mut table = Table::default();
    let what = format!(
        "a node's catch-up on a log of {} records ({} of its own)",
        thousands(head),
        thousands(index.2 as u64)
    );
    table.row(
        &format!("{what}: scan ({} pages)", thousands(scan.1 as u64)),
        report::ms(scan.0),
        "(it is the baseline)".into(),
        String::new(),
    );
    table.row(
        &format!("{what}: stream index ({} pages)", thousands(index.1 as u64)),
        report::ms(index.0),
        "scan".into(),
        speedup(index.0, scan.0),
    );
    table.print();
}
