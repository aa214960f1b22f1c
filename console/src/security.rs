//! What every answer carries and every request is checked for: security
//! headers (a Content-Security-Policy that allows only the console's own
//! scripts and styles, no framing, no MIME sniffing, no referrer to other
//! sites), plain HTTP sent to https, and the cookies. No
//! Strict-Transport-Security: with the self-signed certificate most
//! consoles run with, a browser that once trusted it would refuse any
//! later certificate (a new data directory, the operator's own) without a
//! way through.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Only the console's own resources; no inline script or style, no
/// plugins, no framing, forms post only to the console.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The session cookie (the `__Host-` prefix: Secure, path /, this host only).
pub(crate) const SESSION_COOKIE: &str = "__Host-yukari-session";
/// The sign-in form's CSRF token, before there is a session.
pub(crate) const SIGNIN_COOKIE: &str = "__Host-yukari-signin";
/// The language chosen with the switch.
pub(crate) const LANG_COOKIE: &str = "__Host-yukari-lang";

pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Is `host` (a Host header) a plain host name or address with an
/// optional port, safe to put in a Location?
fn plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

/// A request that came over plain HTTP (the same port serves both) is
/// sent to the same address over https; nothing else is answered on it.
pub(crate) async fn https_only(request: Request, next: Next) -> Response {
    let plain = request.extensions().get::<api::serve::Secure>().is_some_and(|s| !s.0);
    if !plain {
        return next.run(request).await;
    }
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| plain_host(h));
    let Some(host) = host else {
        return (StatusCode::BAD_REQUEST, "Use https.\n").into_response();
    };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{path}");
    match HeaderValue::from_str(&location) {
        Ok(location) => {
            let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => (StatusCode::BAD_REQUEST, "Use https.\n").into_response(),
    }
}

/// The value of cookie `name`, if the request sent it.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: Secure, HttpOnly, SameSite=Strict, path /.
/// `max_age` `None` is a session cookie, `Some(0)` deletes it.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&text).expect("cookie names and values are plain ASCII")
}

/// A 303 to `to` (a path of the console).
pub(crate) fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Is `path` a path of this console (for `next=` and `back=`), not a way
/// to another site?
pub(crate) fn local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; __Host-yukari-session=tok"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        let set = set_cookie(SESSION_COOKIE, "tok", Some(0));
        let set = set.to_str().unwrap();
        for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=0"] {
            assert!(set.contains(part), "{set}");
        }
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert!(local_path("/instances?state=running"));
        assert!(!local_path("//evil.example/"));
        assert!(!local_path("/\\evil.example"));
        assert!(!local_path("https://evil.example/"));
        assert!(!local_path("/a b"));
        assert!(plain_host("127.0.0.1:8443") && plain_host("[::1]:8443") && !plain_host("a\r\nb"));
    }
}
