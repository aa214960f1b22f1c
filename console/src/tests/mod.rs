//! The console's router called in-process (`tower::ServiceExt::oneshot`)
//! on a real application layer over a temporary event log: sign-in,
//! CSRF refusals, headers, tenancy, secrets, actions (volumes and
//! snapshots too), live updates, and the translations.

mod actions;
mod admin;
mod buckets;
mod lists;
mod sessions;
mod signin;
mod strings;
mod tenancy;
mod volumes;

use crate::{Console, ConsoleConfig, router};
use api::app::bootstrap::BootstrapSpec;
use api::app::{App, AppConfig, LoginProfileKind, RequestMeta};
use api::secrets::MasterKey;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use domain::{AccountId, Principal, Resources, UserName, ZoneName};
use eventlog::{EventLog, LogOptions};
use projections::Projections;
use std::sync::Arc;
use tower::ServiceExt;

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A cloud with an admin account whose admin has a console password,
/// and the console over it.
pub(crate) struct World {
    pub app: Arc<App>,
    pub router: Router,
    /// The console behind the router (its sessions and streams).
    pub console: Arc<Console>,
    pub admin: AccountId,
    /// The admin account's access key secret (must never be shown).
    pub admin_secret: String,
    _dir: tempfile::TempDir,
    _following: tokio::sync::watch::Sender<bool>,
    _stopping: tokio::sync::watch::Sender<bool>,
}

pub(crate) fn meta(account: &AccountId) -> RequestMeta {
    RequestMeta {
        principal: Principal { account: account.clone(), user: UserName::admin(), access_key: None },
        request_id: "test".into(),
        correlation_id: "test".into(),
        source: "test".into(),
    }
}

pub(crate) async fn world_with(config: ConsoleConfig) -> World {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let projections = Projections::open(&log, None).unwrap();
    let master = MasterKey::load_or_create(&dir.path().join("master.key")).unwrap();
    let app = Arc::new(App::new(
        log.clone(),
        projections.clone(),
        master,
        AppConfig { ec2_url: "http://x/".into() },
    ));
    let (following, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(projections.clone().follow(log.clone(), stopped));
    let spec = BootstrapSpec {
        region: "yukari".into(),
        zone: ZoneName::parse("yukari-1a").unwrap(),
        node_host: "127.0.0.1".into(),
        hypervisor: "sim".into(),
        node_capacity: Resources { cpus: 16, memory_mib: 16384, disk_gib: 200 },
        private_cidr: "10.111.0.0/16".into(),
        public_addresses: (10..20).map(|i| format!("198.51.100.{i}")).collect(),
    };
    let key = app.bootstrap(spec).await.unwrap();
    let admin = key.account.clone();
    app.change_login_profile(
        &admin,
        &UserName::admin(),
        LoginProfileKind::Create,
        Some(PASSWORD.into()),
        None,
        &meta(&admin),
    )
    .await
    .unwrap();
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let blobs = objectstore::BlobStore::open(dir.path().join("objects")).unwrap();
    let walrus = api::s3::Walrus::new(
        app.clone(),
        blobs,
        api::s3::WalrusConfig { region: "yukari".into(), virtual_hosts: vec![] },
    );
    let console = Console::new(app.clone(), walrus, config, stopping);
    let router = router(console.clone());
    World {
        app,
        router,
        console,
        admin,
        admin_secret: key.secret,
        _dir: dir,
        _following: following,
        _stopping: stopping_tx,
    }
}

pub(crate) async fn world() -> World {
    world_with(ConsoleConfig::default()).await
}

/// A browser's cookies and the session's CSRF token.
#[derive(Clone, Debug, Default)]
pub(crate) struct Browser {
    pub cookies: Vec<(String, String)>,
    pub lang: Option<&'static str>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first `name="csrf"` field.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

async fn read(response: Response) -> Page {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

impl Browser {
    pub(crate) fn request(&self, method: &str, path: &str, body: Option<String>) -> Request<Body> {
        let mut r = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            r = r.header(header::COOKIE, cookie);
        }
        if let Some(lang) = self.lang {
            r = r.header(header::ACCEPT_LANGUAGE, lang);
        }
        match body {
            Some(b) => {
                r.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(b))
            }
            None => r.body(Body::empty()),
        }
        .unwrap()
    }

    /// Keeps the cookies an answer sets (and forgets deleted ones).
    fn keep(&mut self, page: &Page) {
        for value in page.headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn get(&mut self, router: &Router, path: &str) -> Page {
        let page = read(router.clone().oneshot(self.request("GET", path, None)).await.unwrap()).await;
        self.keep(&page);
        page
    }

    pub async fn post(&mut self, router: &Router, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let page = read(router.clone().oneshot(self.request("POST", path, Some(body))).await.unwrap()).await;
        self.keep(&page);
        page
    }

    /// Signs in through the form; returns the answer to the form.
    pub async fn sign_in(&mut self, router: &Router, account: &str, user: &str, password: &str) -> Page {
        let form = self.get(router, "/signin").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            router,
            "/signin",
            &[("csrf", &csrf), ("account", account), ("user", user), ("password", password)],
        )
        .await
    }

    /// The CSRF token of the signed-in session (from the dashboard's forms).
    pub async fn csrf(&mut self, router: &Router) -> String {
        self.get(router, "/").await.csrf()
    }
}

/// A browser signed in as `account`'s admin with [`PASSWORD`].
pub(crate) async fn signed_in(w: &World, account: &str) -> Browser {
    let mut b = Browser::default();
    let answer = b.sign_in(&w.router, account, "admin", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/");
    b
}

/// Runs an EC2 action as `account`'s admin, as a signed request would.
pub(crate) async fn ec2(
    w: &World,
    account: &AccountId,
    action: &str,
    params: &[(&str, &str)],
) -> crate::ec2::Answer {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    pairs.push(("Action".into(), action.into()));
    pairs.push(("Version".into(), api::ec2::NEWEST_VERSION.into()));
    let params = api::ec2::params::Params::from_request(pairs).unwrap();
    crate::ec2::Answer(api::ec2::invoke(&w.app, &params, meta(account)).await.unwrap())
}
