//! The administrators' pages: clusters and nodes, accounts and users,
//! usage over a period, the audit trail, and time travel (the cloud at a
//! past position of the log, and what changed between two). Only the
//! cloud administrator (user `admin` of account `admin`) sees them; anyone
//! else gets exactly the answer of a page that does not exist.
//!
//! Like the users' pages they decide nothing and fold nothing themselves:
//! live facts come from the read models (and the controller's in-memory
//! heartbeats), history from the replay tools (`replay_tools::audit`,
//! `usage`, `state`, `diff`) run over the controller's own log, and past
//! read models from the API's time travel (`App::models_as_of`), which
//! starts from the nearest time-travel snapshot.

mod accounts;
pub(crate) mod audit;
mod chart;
mod clusters;
mod history;
mod usage;

use super::{Chrome, Signed, render};
use crate::Console;
use crate::i18n::Tr;
use crate::pages::instances::not_found;
use crate::sessions::Session;
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use domain::UserName;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/admin/clusters", get(clusters::page))
        .route("/admin/accounts", get(accounts::page))
        .route("/admin/usage", get(usage::page))
        .route("/admin/audit", get(audit::page))
        .route("/admin/time", get(history::time_page))
        .route("/admin/diff", get(history::diff_page))
}

/// Whether `session` is the cloud administrator's.
pub(crate) fn is_admin(console: &Console, session: &Session) -> bool {
    session.user == UserName::admin() && console.app.is_cloud_admin(&session.account)
}

/// A request of the cloud administrator. Anyone else signed in gets the
/// page that does not exist (404), as for any unknown path; someone not
/// signed in, the sign-in form, as for any page.
pub(crate) struct Admin(pub Signed);

impl FromRequestParts<Arc<Console>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Arc<Console>) -> Result<Admin, Response> {
        let signed = Signed::from_request_parts(parts, console).await?;
        if is_admin(console, &signed.session) { Ok(Admin(signed)) } else { Err(not_found(console, &signed)) }
    }
}

/// The tabs of the administrators' pages: (path, message key, tab name).
pub(crate) const TABS: [(&str, &str, &str); 5] = [
    ("/admin/clusters", "admin-nav-clusters", "clusters"),
    ("/admin/accounts", "admin-nav-accounts", "accounts"),
    ("/admin/usage", "admin-nav-usage", "usage"),
    ("/admin/audit", "admin-nav-audit", "audit"),
    ("/admin/time", "admin-nav-time", "time"),
];

/// The tabs, translated, with the current one marked.
pub(crate) struct Tabs {
    pub items: Vec<(&'static str, String, bool)>,
}

impl Tabs {
    pub fn new(tr: &Tr, current: &str) -> Tabs {
        Tabs { items: TABS.iter().map(|(path, key, name)| (*path, tr.msg(key), *name == current)).collect() }
    }
}

/// The layout of an administrators' page titled by message `title`.
pub(crate) fn chrome(console: &Console, signed: &Signed, title: &str) -> Chrome {
    Chrome::new(console, signed, "admin", signed.tr.msg(title))
}

/// What went wrong reading the log for an administrators' page: logged
/// with its details, shown as one translated sentence.
pub(crate) fn failed(
    console: &Console,
    signed: &Signed,
    what: &str,
    error: &dyn std::fmt::Display,
) -> Response {
    tracing::error!(error = %error, page = what, "an administrators' page could not read the log");
    let chrome = chrome(console, signed, "admin-failed-title");
    let mut response = render(&Failed { chrome });
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

#[derive(Template)]
#[template(path = "admin/failed.html")]
struct Failed {
    chrome: Chrome,
}

/// A record time of the log (µs since the epoch) as the language writes dates.
pub(crate) fn date_us(tr: &Tr, micros: i64) -> String {
    tr.date(domain::Timestamp(micros.div_euclid(1000)))
}

/// A time from a form: RFC 3339, Unix seconds, `now` or `-7d` (as the
/// replay tools read them); `None` when empty, `Err` when not a time.
pub(crate) fn form_time(text: &str) -> Result<Option<i64>, ()> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    replay_tools::time::parse(text).map(Some).map_err(|_| ())
}
