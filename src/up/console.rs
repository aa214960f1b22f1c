//! The web console of `yukari up` (docs/adr/0012-web-console.md): its
//! TLS certificate (the operator's, or one made on first start and kept
//! in the data directory), the certificate's SHA-256 fingerprint beside
//! eucarc, the cloud administrator's first console password, and the
//! listener: HTTPS and plain HTTP on the same port (plain HTTP is told to
//! go to https), with the same connection limits as every listener.

use anyhow::Context;
use api::app::login_profiles::new_password;
use api::app::{App, LoginProfileKind, RequestMeta};
use api::serve::Limits;
use domain::{Principal, UserName};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// The fingerprint of the console's certificate, beside eucarc.
pub const FINGERPRINT_FILE: &str = "console-cert.sha256";
/// The cloud administrator's first console password.
pub const PASSWORD_FILE: &str = "console-password";

/// `yukari up`'s flags for the console's certificate.
#[derive(clap::Args, Debug)]
pub struct TlsArgs {
    /// The web console's certificate (PEM, the server's first, then its chain) [default: a
    /// self-signed one made on first start, DATA_DIR/console-cert.pem]
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM)
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// The console's TLS settings and the certificate's fingerprint: the
/// operator's files, or the data directory's own certificate (made now if
/// there is none yet, for `hosts` besides localhost). The fingerprint is
/// written to DATA_DIR/console-cert.sha256.
pub fn tls(
    dir: &Path,
    args: &TlsArgs,
    hosts: &[String],
) -> anyhow::Result<(Arc<rustls::ServerConfig>, String)> {
    let files = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            console::tls::CertFiles { cert: cert.clone(), key: key.clone(), generated: false }
        }
        _ => console::tls::load_or_generate(dir, hosts).with_context(|| {
            say!("cannot make the web console's certificate", "Web コンソールの証明書を作成できません")
        })?,
    };
    if files.generated {
        tracing::info!(cert = %files.cert.display(), "a self-signed certificate was made for the web console");
    }
    let config = console::tls::server_config(&files).with_context(|| {
        say!(
            "cannot use {} as the web console's certificate",
            "{} を Web コンソールの証明書として使えません",
            files.cert.display()
        )
    })?;
    let fingerprint = console::tls::fingerprint(&files.cert)?;
    // Written when it changed (a data directory on a read-only disk still
    // starts, read-only); not a secret, but private like every file there.
    let path = dir.join(FINGERPRINT_FILE);
    let line = format!("{fingerprint}\n");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(line.as_str())
        && let Err(e) = console::tls::write_private(&path, line.as_bytes())
    {
        tracing::warn!(file = %path.display(), error = %e, "cannot write the console certificate's fingerprint");
    }
    Ok((config, fingerprint))
}

/// Gives the cloud administrator (user `admin` of account `admin`) a new
/// console password when it has none: on first start, and after its
/// login profile was deleted. The password is written to
/// DATA_DIR/console-password (0600) before it goes into the log, so that a
/// crash between the two leaves no password nobody knows: the next start
/// finds no profile and makes another, overwriting the file.
pub async fn initial_password(app: &App, dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let path = dir.join(PASSWORD_FILE);
    let admin = UserName::admin();
    let account = {
        let models = app.projections.read();
        let Some((account, _)) = models.accounts.account_by_name("admin") else { return Ok(None) };
        if models.login_profiles.get(account, &admin).is_some() {
            return Ok(None);
        }
        account.clone()
    };
    let password = new_password();
    console::tls::write_private(&path, format!("{password}\n").as_bytes())
        .with_context(|| say!("cannot write {}", "{} に書き込めません", path.display()))?;
    let meta = RequestMeta {
        principal: Principal::system("console"),
        request_id: app.ids.request_id(),
        correlation_id: "console-initial-password".to_owned(),
        source: "yukari-up".to_owned(),
    };
    app.change_login_profile(&account, &admin, LoginProfileKind::Create, Some(password.clone()), None, &meta)
        .await
        .with_context(|| {
            say!("cannot give the admin a console password", "管理者のコンソール用パスワードを設定できません")
        })?;
    Ok(Some(path))
}

/// Binds the console's port (before anything else is served, so that a
/// port in use stops `yukari up` at once).
pub async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address).await.with_context(|| {
        say!(
            "cannot listen on {address} for the web console (--console-port)",
            "Web コンソール用に {address} で待ち受けられません (--console-port)"
        )
    })
}

/// Serves the console on `listener` until `stopped` turns true.
pub fn serve(
    app: Arc<App>,
    walrus: api::s3::Walrus,
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    limits: Limits,
    stopped: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + 'static {
    let state = console::Console::new(app, walrus, console::ConsoleConfig::default(), stopped.clone());
    let router = console::router(state);
    let upgrade = Arc::new(console::tls::TlsOrPlain::new(tls));
    let mut stopped = stopped;
    api::serve::serve_upgraded(listener, router, limits, upgrade, async move {
        let _ = stopped.wait_for(|s| *s).await;
    })
}
