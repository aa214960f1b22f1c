//! Yukari's web console: server-rendered pages (askama templates, a few
//! lines of JavaScript, no JavaScript build) served over HTTPS, in English
//! and Japanese (Fluent), for the users of an account: dashboard,
//! instances, images, key pairs, security groups, elastic addresses,
//! volumes, snapshots, buckets and objects;
//! and for the cloud's administrator, clusters and nodes, accounts, usage,
//! the audit trail and the cloud's history on a time slider.
//!
//! It owns sign-in (login profiles' passwords, sessions in cookies, CSRF
//! tokens, rate limits), rendering and translation. It decides nothing:
//! pages read the API's read models, and every action is an EC2 action
//! run in-process through `api::ec2::invoke` (an S3 operation of Walrus's
//! for buckets and objects), as a signed request would be, so that it is
//! authorized, decided and audited exactly as through the API. Nothing below it (`api`, `projections`, `domain`) knows it.
//!
//! See docs/adr/0012-web-console.md.

mod assets;
mod ec2;
pub mod i18n;
mod limiter;
mod live;
mod pages;
mod s3;
mod security;
mod sessions;
mod signin;
pub mod tls;

#[cfg(test)]
mod tests;

use api::app::App;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub use limiter::Limits as SignInLimits;

/// Settings of the console.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// A session not used for this long is over.
    pub idle_timeout: Duration,
    /// Rows on one page of a list.
    pub page_size: usize,
    /// Failed sign-ins allowed per source and per account.
    pub sign_in_limits: SignInLimits,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            page_size: 25,
            sign_in_limits: SignInLimits::default(),
        }
    }
}

/// The console's state: the application layer it reads and acts through,
/// and its own sessions and limits (memory only: a restart signs everyone
/// out).
pub struct Console {
    pub(crate) app: Arc<App>,
    /// Walrus (S3), which bucket and object actions go through.
    pub(crate) walrus: api::s3::Walrus,
    pub(crate) config: ConsoleConfig,
    pub(crate) sessions: sessions::Sessions,
    pub(crate) limiter: limiter::SignInLimiter,
    /// The open live streams (at most a few per session and per user).
    pub(crate) streams: live::Streams,
    /// Turns true when the server stops: live updates end then.
    pub(crate) stopping: watch::Receiver<bool>,
    /// Every metered interval of the log, kept up with the log by the
    /// usage page (which then reads only the records since its last view).
    pub(crate) usage: Arc<std::sync::Mutex<replay_tools::usage::UsageLedger>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Console(..)")
    }
}

impl Console {
    pub fn new(
        app: Arc<App>,
        walrus: api::s3::Walrus,
        config: ConsoleConfig,
        stopping: watch::Receiver<bool>,
    ) -> Arc<Console> {
        Arc::new(Console {
            app,
            walrus,
            sessions: sessions::Sessions::new(config.idle_timeout),
            limiter: limiter::SignInLimiter::new(config.sign_in_limits),
            streams: live::Streams::default(),
            config,
            stopping,
            usage: Arc::default(),
        })
    }
}

impl Console {
    /// The live session of `token`, now used; `None` if there is none, or
    /// if the read models no longer show its user with the login profile
    /// it signed in with (the session is ended then).
    pub(crate) fn session(&self, token: &str) -> Option<sessions::Session> {
        self.current(token, self.sessions.touch(token)?)
    }

    /// Is `token`'s session alive and current (without using it)?
    pub(crate) fn signed_in(&self, token: &str) -> bool {
        self.sessions.peek(token).and_then(|s| self.current(token, s)).is_some()
    }

    fn current(&self, token: &str, session: sessions::Session) -> Option<sessions::Session> {
        // The sessions' lock is not held while the read models are read.
        if session.current(&self.app.projections.read()) {
            return Some(session);
        }
        self.sessions.end(token);
        tracing::info!(
            account = %session.account,
            user = %session.user,
            "a console session ended: its user or login profile changed"
        );
        None
    }
}

/// The console's routes, with its security headers, and plain HTTP
/// connections sent to https.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .merge(signin::routes())
        .merge(pages::routes())
        .merge(live::routes())
        .merge(assets::routes())
        .fallback(pages::unknown)
        .with_state(console)
        .layer(axum::middleware::from_fn(pages::own_error_pages))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(security::https_only))
}
