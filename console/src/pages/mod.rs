//! The users' pages: what every page shares (the signed-in user, the
//! language, the layout around it, forms and their CSRF check, the flash
//! message of the last action) and the routes. One module per area; each
//! reads the read models for what it shows (a page of rows, never a whole
//! list) and acts through EC2 actions (`crate::ec2`).

mod addresses;
pub(crate) mod admin;
pub(crate) mod buckets;
mod dashboard;
mod groups;
mod images;
pub(crate) mod instances;
mod keypairs;
pub(crate) mod snapshots;
pub(crate) mod volumes;

use crate::Console;
use crate::i18n::{Lang, Tr};
use crate::security::{LANG_COOKIE, SESSION_COOKIE, cookie, local_path, see_other, set_cookie};
use crate::sessions::{Flash, Session, tokens_match};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/lang", get(switch_language))
        .merge(instances::routes())
        .merge(images::routes())
        .merge(keypairs::routes())
        .merge(groups::routes())
        .merge(addresses::routes())
        .merge(volumes::routes())
        .merge(snapshots::routes())
        .merge(buckets::routes())
        .merge(admin::routes())
}

/// Any other path: the page that does not exist, in the layout for a
/// signed-in user (the administrators' pages answer everyone else exactly
/// so). Without a session it is a bare 404, not the sign-in form: a
/// browser's own requests (`/favicon.ico`) must not start a new sign-in
/// form (and its token cookie) behind the one on screen.
pub(crate) async fn unknown(
    State(console): State<Arc<Console>>,
    signed: Result<Signed, Response>,
    parts: Parts,
) -> Response {
    match signed {
        Ok(signed) => instances::not_found(&console, &signed),
        Err(_) => {
            let tr = Tr::new(language(&parts));
            let page = Problem { t: tr, title: tr.msg("not-found-title"), text: tr.msg("not-found-text") };
            let mut response = render(&page);
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}

/// What a translated page says for an answer axum gives on its own, by
/// status: (title, text) message keys.
fn own_words(status: StatusCode) -> Option<(&'static str, &'static str)> {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Some(("bad-request-title", "bad-request-text"))
        }
        StatusCode::METHOD_NOT_ALLOWED => Some(("method-title", "method-text")),
        StatusCode::PAYLOAD_TOO_LARGE => Some(("too-large-title", "too-large-text")),
        StatusCode::NOT_FOUND => Some(("not-found-title", "not-found-text")),
        _ => None,
    }
}

/// The answers axum gives on its own (a query, a path or a body it cannot
/// take, a method a path does not have, a body over the limit) are plain
/// English text, or nothing: they become the console's own page, in the user's
/// language, with the same status (and headers, such as Allow).
pub(crate) async fn own_error_pages(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let tr = Tr::new(language(&parts));
    let response = next.run(axum::extract::Request::from_parts(parts, body)).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or(""))
        .is_none_or(|v| v.starts_with("text/plain"));
    let Some((title, text)) = own_words(response.status()).filter(|_| plain) else {
        return response;
    };
    let (mut head, _) = response.into_parts();
    let page = render(&Problem { t: tr, title: tr.msg(title), text: tr.msg(text) });
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/html; charset=utf-8"));
    Response::from_parts(head, page.into_body())
}

/// The language of a request: the switch's cookie, else Accept-Language.
pub(crate) fn language(parts: &Parts) -> Lang {
    cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse).unwrap_or_else(|| {
        let header = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
        Lang::from_accept_language(header.unwrap_or(""))
    })
}

/// A request of a signed-in user. Extracting it from a request without a
/// live session (or with one whose user or password has changed since,
/// `Console::session`) answers with a redirect to the sign-in page.
pub(crate) struct Signed {
    pub session: Session,
    pub token: String,
    pub tr: Tr,
    pub peer: Option<SocketAddr>,
    /// The path and query of this page (where the language switch returns).
    pub here: String,
}

impl FromRequestParts<Arc<Console>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Arc<Console>) -> Result<Signed, Response> {
        let tr = Tr::new(language(parts));
        let here = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let token = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned);
        let session = token.as_deref().and_then(|t| console.session(t));
        let (Some(token), Some(session)) = (token, session) else {
            let next = if parts.method == axum::http::Method::GET && local_path(&here) && here != "/" {
                format!("/signin?next={}", percent_encoding::utf8_percent_encode(&here, QUERY))
            } else {
                "/signin".to_owned()
            };
            return Err(see_other(&next));
        };
        // A password the administrator set or reset is changed first.
        let path = parts.uri.path();
        if session.must_change_password && path != "/password" && path != "/signout" {
            return Err(see_other("/password"));
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(Signed { session, token, tr, peer, here })
    }
}

/// What is escaped in a query value.
const QUERY: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.');

/// A query value, escaped.
pub(crate) fn q(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY).to_string()
}

/// The parts of the layout every page shares.
pub(crate) struct Chrome {
    pub t: Tr,
    pub title: String,
    /// The navigation entry of this page.
    pub nav: &'static str,
    pub user: String,
    pub account: String,
    pub csrf: String,
    /// This page, for the language switch to come back to.
    pub here: String,
    /// The message of the last action: (is an error, text).
    pub flash: Option<(bool, String)>,
    /// The user is the cloud administrator (the administrators' pages are shown).
    pub admin: bool,
}

impl Chrome {
    /// The layout for `signed`'s page titled by message `title`, taking
    /// the flash message kept for it.
    pub fn new(console: &Console, signed: &Signed, nav: &'static str, title: String) -> Chrome {
        let flash = console.sessions.take_flash(&signed.token).map(|f| {
            let args: Vec<(&str, &str)> = f.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            (f.error, signed.tr.msg_args(&f.key, &args))
        });
        Chrome {
            t: signed.tr,
            title,
            nav,
            user: signed.session.user.to_string(),
            account: signed.session.account_name.clone(),
            csrf: signed.session.csrf.clone(),
            here: q(&signed.here),
            flash,
            admin: admin::is_admin(console, &signed.session),
        }
    }

    pub fn lang(&self) -> &'static str {
        self.t.lang.code()
    }

    pub fn title_text(&self) -> String {
        format!("{} — {}", self.title, self.t.msg("app-name"))
    }
}

/// An HTML page from a template.
pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response()
        }
    }
}

/// The fields of a posted form.
pub(crate) struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// The form of `signed`, if its CSRF token is the session's; else the
    /// refusal (403 when answered).
    pub fn checked(signed: &Signed, body: &[u8]) -> Result<Form, Refused> {
        let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let form = Form { fields };
        if tokens_match(form.get("csrf"), &signed.session.csrf) {
            Ok(form)
        } else {
            tracing::info!(user = %signed.session.user, "a form without its CSRF token was refused");
            Err(Refused(signed.tr))
        }
    }

    /// A field's value ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a field given several times (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// A form posted without its CSRF token (answered with [`refused_form`]).
pub(crate) struct Refused(Tr);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        refused_form(&self.0)
    }
}

/// The answer to a form posted without its CSRF token.
pub(crate) fn refused_form(tr: &Tr) -> Response {
    let page = Problem { t: *tr, title: tr.msg("csrf-title"), text: tr.msg("csrf-text") };
    let mut response = render(&page);
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

/// A page that only says what went wrong (outside the layout).
#[derive(Template)]
#[template(path = "problem.html")]
pub(crate) struct Problem {
    pub t: Tr,
    pub title: String,
    pub text: String,
}

impl Problem {
    pub fn lang(&self) -> &'static str {
        self.t.lang.code()
    }
}

/// Keeps a message for the next page and sends the browser there.
pub(crate) fn done(
    console: &Console,
    signed: &Signed,
    to: &str,
    key: &str,
    args: &[(&str, &str)],
) -> Response {
    flash(console, signed, false, key, args);
    see_other(to)
}

/// Keeps an error for the next page (translated there) and sends the
/// browser there.
pub(crate) fn failed(
    console: &Console,
    signed: &Signed,
    to: &str,
    e: &api::ec2::error::Ec2Error,
) -> Response {
    let key = crate::ec2::error_key(e.code.as_str());
    if crate::i18n::has(signed.tr.lang, &key) {
        flash(console, signed, true, &key, &[]);
    } else {
        flash(console, signed, true, "ec2-other", &[("code", e.code.as_str()), ("message", &e.message)]);
    }
    see_other(to)
}

/// Keeps an S3 error for the next page (translated there) and sends the
/// browser there.
pub(crate) fn failed_s3(console: &Console, signed: &Signed, to: &str, e: &s3s::S3Error) -> Response {
    let (key, args) = crate::s3::error_text(&signed.tr, e);
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    flash(console, signed, true, &key, &args);
    see_other(to)
}

/// Keeps the error message `key` for the next page.
pub(crate) fn flash_error(console: &Console, signed: &Signed, key: &str) {
    flash(console, signed, true, key, &[]);
}

fn flash(console: &Console, signed: &Signed, error: bool, key: &str, args: &[(&str, &str)]) {
    let args = args.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    console.sessions.flash(&signed.token, Flash { error, key: key.to_owned(), args });
}

#[derive(serde::Deserialize)]
pub(crate) struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// The language switch: remembers the choice (a year) and goes back.
async fn switch_language(State(_): State<Arc<Console>>, Query(query): Query<LangQuery>) -> Response {
    let Some(lang) = Lang::parse(&query.to) else {
        return (StatusCode::BAD_REQUEST, "unknown language").into_response();
    };
    let back = if local_path(&query.back) { query.back.as_str() } else { "/" };
    let mut response = see_other(back);
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(LANG_COOKIE, lang.code(), Some(365 * 86400)));
    response
}

/// Where the next page of a list starts, and whether there is one.
pub(crate) struct Paging {
    /// The last id shown, when there are more rows after it.
    pub next: Option<String>,
    /// This is not the first page.
    pub later: bool,
}

impl Paging {
    /// [`Paging::next`], escaped for a query (a key pair's name, unlike an
    /// id, may hold any character).
    pub fn next_query(&self) -> Option<String> {
        self.next.as_deref().map(q)
    }
}

/// Where a list's page starts: after the id `after` (none: the first page).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    pub after: String,
}

impl PageQuery {
    /// `after=ID&` for a later page's live part, nothing for the first.
    pub fn live_query(&self) -> String {
        if self.after.is_empty() { String::new() } else { format!("after={}&", q(&self.after)) }
    }

    /// Is `id` (in a list in id order) on or before this page's start?
    pub fn before(&self, id: &str) -> bool {
        !self.after.is_empty() && id <= self.after.as_str()
    }
}

/// The first `size` of `rows` (those of this page on), and the paging.
pub(crate) fn paged<T>(
    rows: impl Iterator<Item = T>,
    query: &PageQuery,
    size: usize,
    id: impl Fn(&T) -> &str,
) -> (Vec<T>, Paging) {
    let mut page: Vec<T> = rows.take(size + 1).collect();
    let more = page.len() > size;
    page.truncate(size);
    let next = if more { page.last().map(|r| id(r).to_owned()) } else { None };
    (page, Paging { next, later: !query.after.is_empty() })
}
