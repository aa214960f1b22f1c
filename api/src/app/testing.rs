//! A bootstrapped application on a temporary event log, whose read models
//! follow the log, for the api crate's tests of its routers.

use super::bootstrap::BootstrapSpec;
use super::{App, AppConfig, RequestMeta};
use crate::secrets::MasterKey;
use domain::{AccountId, Principal, Resources, UserName, ZoneName};
use eventlog::{EventLog, LogOptions};
use projections::Projections;
use std::sync::Arc;

pub(crate) struct TestApp {
    pub app: Arc<App>,
    /// The admin's access key id and secret.
    pub admin: (String, String),
    _dir: tempfile::TempDir,
    /// The read models follow the log while this is alive.
    _following: tokio::sync::watch::Sender<bool>,
}

/// A new cloud: one zone (`yukari-1a`) with one simulated node, no public
/// addresses, and the admin account.
pub(crate) async fn test_app() -> TestApp {
    test_app_with(LogOptions::default()).await
}

/// [`test_app`] on a log opened with `options` (a clock of the test's own,
/// say).
pub(crate) async fn test_app_with(options: LogOptions) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), options).unwrap();
    let projections = Projections::open(&log, None).unwrap();
    let master = MasterKey::load_or_create(&dir.path().join("master.key")).unwrap();
    let config = AppConfig { ec2_url: "http://localhost/".into() };
    let app = Arc::new(App::new(log.clone(), projections.clone(), master, config));
    let (following, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(projections.clone().follow(log.clone(), stopped));
    let spec = BootstrapSpec {
        region: "yukari".into(),
        zone: ZoneName::parse("yukari-1a").unwrap(),
        node_host: "127.0.0.1".into(),
        hypervisor: "sim".into(),
        node_capacity: Resources { cpus: 8, memory_mib: 8192, disk_gib: 100 },
        private_cidr: "10.111.0.0/16".into(),
        public_addresses: Vec::new(),
    };
    let admin = app.bootstrap(spec).await.unwrap();
    TestApp { app, admin: (admin.access_key.to_string(), admin.secret), _dir: dir, _following: following }
}

/// A request of `user` of `account`, already authenticated.
pub(crate) fn meta(account: &AccountId, user: &str) -> RequestMeta {
    RequestMeta {
        principal: Principal {
            account: account.clone(),
            user: UserName::parse(user).unwrap(),
            access_key: None,
        },
        request_id: "r".into(),
        correlation_id: "r".into(),
        source: "test".into(),
    }
}
