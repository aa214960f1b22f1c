//! A bootstrapped application on a temporary event log, whose read models
//! follow the log, for the api crate's tests of its routers.

use super::bootstrap::BootstrapSpec;
use super::{App, RequestMeta};
use domain::{AccountId, Principal, Resources, UserName};
use eventlog::LogOptions;
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
    let spec = BootstrapSpec::simulated(Resources { cpus: 8, memory_mib: 8192, disk_gib: 100 });
    let (app, admin, following) = super::bootstrap::in_process(dir.path(), options, spec).await.unwrap();
    TestApp { app, admin: (admin.access_key.to_string(), admin.secret), _dir: dir, _following: following }
}

/// A request of the cloud itself (as bootstrap and node reports make).
pub(crate) fn system_meta() -> RequestMeta {
    RequestMeta {
        principal: Principal::system("test"),
        request_id: "r".into(),
        correlation_id: "r".into(),
        source: "test".into(),
    }
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
