//! Signing in and out, and a user's own password.
//!
//! Sign-in takes an account (name or id), a user name and the user's
//! console password (its Euare login profile). Before there is a session,
//! the form's CSRF token is a random value also kept in a short-lived
//! cookie, and the two must match. A browser that still has that cookie
//! gets the same token in every sign-in form it opens, so that two tabs'
//! forms both work (a new token would undo the other tab's). Failed sign-ins are limited per source
//! address and per account (`crate::limiter`); a failure for a user that
//! exists is recorded in the log as a refused `ConsoleSignIn`, as refused
//! API calls are (docs/adr/0006 and 0012). Attempts refused by the limit
//! are not recorded, so that the log's growth stays bounded whatever is
//! sent. A wrong password, an unknown user and a user without a console
//! password get the same answer, after the same argon2 work.

use crate::Console;
use crate::i18n::Tr;
use crate::pages::{Form, Signed, done, language, render};
use crate::security::{SESSION_COOKIE, SIGNIN_COOKIE, cookie, local_path, see_other, set_cookie};
use crate::sessions::{ProfileMark, random_token, tokens_match};
use api::app::{LoginProfileError, LoginProfileKind, PasswordCheck, RequestMeta};
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::{AccountId, Principal, UserName};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The action name refused sign-ins are recorded under.
pub(crate) const SIGN_IN_ACTION: &str = "ConsoleSignIn";

/// How long a sign-in form stays good (its cookie's Max-Age).
const FORM_MAX_AGE: u64 = 60 * 60;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/signin", get(form).post(sign_in))
        .route("/signout", axum::routing::post(sign_out))
        .route("/password", get(password_form).post(change_password))
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    t: Tr,
    csrf: String,
    next: String,
    account: String,
    user: String,
    error: Option<String>,
}

impl SignInPage {
    fn lang(&self) -> &'static str {
        self.t.lang.code()
    }
}

#[derive(serde::Deserialize)]
struct Next {
    #[serde(default)]
    next: String,
}

/// The sign-in form's token: the one the browser's cookie still holds
/// (if it is one of ours in shape), else a new one.
fn form_token(parts: &Parts) -> String {
    cookie(&parts.headers, SIGNIN_COOKIE)
        .filter(|t| t.len() == 43 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map_or_else(random_token, str::to_owned)
}

/// The sign-in page with form token `csrf` (and its cookie, good for
/// [`FORM_MAX_AGE`] from now).
fn page(
    tr: Tr,
    csrf: String,
    next: &str,
    account: &str,
    user: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let next = if local_path(next) { next.to_owned() } else { String::new() };
    let user = if user.is_empty() { "admin".to_owned() } else { user.to_owned() };
    let signin = SignInPage { t: tr, csrf: csrf.clone(), next, account: account.to_owned(), user, error };
    let mut response = render(&signin);
    *response.status_mut() = status;
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SIGNIN_COOKIE, &csrf, Some(FORM_MAX_AGE)));
    response
}

async fn form(State(console): State<Arc<Console>>, parts: Parts) -> Response {
    let next = Query::<Next>::try_from_uri(&parts.uri).map(|q| q.0.next).unwrap_or_default();
    let signed_in = cookie(&parts.headers, SESSION_COOKIE).is_some_and(|t| console.signed_in(t));
    if signed_in {
        return see_other(if local_path(&next) { &next } else { "/" });
    }
    page(Tr::new(language(&parts)), form_token(&parts), &next, "", "", None, StatusCode::OK)
}

fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

async fn sign_in(State(console): State<Arc<Console>>, parts: Parts, body: Bytes) -> Response {
    let tr = Tr::new(language(&parts));
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
    let sent = cookie(&parts.headers, SIGNIN_COOKIE).unwrap_or("");
    if sent.is_empty() || !tokens_match(field("csrf"), sent) {
        // A form left open in another tab after signing in: it has
        // nothing to do (nothing is done for the post).
        let signed_in = cookie(&parts.headers, SESSION_COOKIE).is_some_and(|t| console.signed_in(t));
        if signed_in {
            return see_other(if local_path(field("next")) { field("next") } else { "/" });
        }
        tracing::info!(peer = ?peer(&parts), "a sign-in form without its CSRF token was refused");
        return crate::pages::refused_form(&tr);
    }
    let (typed_account, typed_user, next) = (field("account").trim(), field("user").trim(), field("next"));
    let source = peer(&parts);
    let ip = source.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
    let found = {
        let models = console.app.projections.read();
        models.accounts.find(typed_account).cloned().and_then(|id| {
            let row = models.accounts.accounts.get(&id)?;
            let user = UserName::parse(typed_user).ok().filter(|u| row.users.contains(u));
            Some((id, row.name.clone(), user))
        })
    };
    // Failures count against the account however it was named.
    let limit_key = found.as_ref().map_or_else(|| typed_account.to_lowercase(), |(id, _, _)| id.to_string());
    let again = |key: &str, status| {
        page(tr, sent.to_owned(), next, typed_account, typed_user, Some(tr.msg(key)), status)
    };
    if !console.limiter.allowed(ip, &limit_key) {
        tracing::warn!(%ip, account = typed_account, "sign-in refused: too many failures");
        return again("signin-throttled", StatusCode::TOO_MANY_REQUESTS);
    }
    // An unknown account or user is checked against no profile, which
    // takes as long as a wrong password.
    let (account, user) = match &found {
        Some((id, _, Some(user))) => (id.clone(), user.clone()),
        _ => (AccountId::system(), UserName::admin()),
    };
    // The profile as it was before the check: should the password change
    // meanwhile, the new session is over at its first request.
    let profile = ProfileMark::current(&console.app.projections.read(), &account, &user);
    match (console.app.check_password(&account, &user, field("password")).await, profile) {
        (PasswordCheck::Valid { reset_required }, Some(profile)) if found.is_some() => {
            let name = found.map(|(_, name, _)| name).unwrap_or_default();
            tracing::info!(%account, %user, %ip, "signed in to the console");
            let token = console.sessions.start(account, name, user, reset_required, profile);
            let to = if reset_required {
                "/password"
            } else if local_path(next) {
                next
            } else {
                "/"
            };
            let mut response = see_other(to);
            let h = response.headers_mut();
            h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, None));
            h.append(header::SET_COOKIE, set_cookie(SIGNIN_COOKIE, "", Some(0)));
            response
        }
        _ => {
            console.limiter.failed(ip, &limit_key);
            if let Some((id, _, Some(user))) = &found {
                record_failure(&console, id, user, source).await;
            }
            tracing::info!(%ip, account = typed_account, user = typed_user, "sign-in failed");
            again("signin-failed", StatusCode::FORBIDDEN)
        }
    }
}

/// Records a failed sign-in of an existing user as a refusal.
async fn record_failure(console: &Console, account: &AccountId, user: &UserName, source: Option<SocketAddr>) {
    let meta = RequestMeta {
        principal: Principal { account: account.clone(), user: user.clone(), access_key: None },
        request_id: console.app.ids.request_id(),
        correlation_id: String::new(),
        source: source.map_or_else(|| "console".to_owned(), |p| format!("console:{p}")),
    };
    let refused = domain::event::RequestRefused::new(
        "AuthFailure",
        "The console password is wrong, or the user has none.",
        [user.to_string()],
        false,
        api::app::ids::now(),
    );
    if let Err(e) = console.app.record_refusal(SIGN_IN_ACTION, &meta, refused).await {
        tracing::error!(error = %e, "could not record a failed sign-in in the log");
    }
}

async fn sign_out(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    if let Err(refused) = Form::checked(&signed, &body) {
        return refused.into_response();
    }
    console.sessions.end(&signed.token);
    tracing::info!(account = %signed.session.account, user = %signed.session.user, "signed out of the console");
    let mut response = see_other("/signin");
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    response
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: crate::pages::Chrome,
}

async fn password_form(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    let chrome = crate::pages::Chrome::new(&console, &signed, "password", signed.tr.msg("password-title"));
    render(&PasswordPage { chrome })
}

/// A user's own new password: the current one first, then the new one
/// twice; it becomes UpdateLoginProfile, decided and recorded as through
/// Euare.
async fn change_password(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let (account, user) = (&signed.session.account, &signed.session.user);
    let wrong = |key: &str| {
        crate::pages::flash_error(&console, &signed, key);
        see_other("/password")
    };
    if form.get("new") != form.get("confirm") {
        return wrong("password-mismatch");
    }
    if !matches!(
        console.app.check_password(account, user, form.get("current")).await,
        PasswordCheck::Valid { .. }
    ) {
        return wrong("password-wrong");
    }
    let meta = crate::ec2::meta(&console, &signed.session, signed.peer);
    let new = Some(form.get("new").to_owned());
    match console
        .app
        .change_login_profile(account, user, LoginProfileKind::Update, new, Some(false), &meta)
        .await
    {
        Ok(()) => {
            // This session goes on with the new password (the read models
            // show it once the change is decided); every other one ends.
            match ProfileMark::current(&console.app.projections.read(), account, user) {
                Some(profile) => console.sessions.password_changed(&signed.token, profile),
                None => console.sessions.end(&signed.token),
            }
            done(&console, &signed, "/", "password-changed", &[])
        }
        Err(LoginProfileError::PasswordPolicy) => wrong("password-policy"),
        Err(e) => {
            tracing::error!(error = %e, "a password could not be changed");
            (StatusCode::SERVICE_UNAVAILABLE, signed.tr.msg("error-unavailable")).into_response()
        }
    }
}
