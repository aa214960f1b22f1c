//! The console's static files (its style sheet and its one script),
//! embedded in the binary: nothing is read from disk, and no JavaScript
//! build makes them.

use crate::Console;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

const CSS: &str = include_str!("../static/console.css");
const JS: &str = include_str!("../static/console.js");

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new().route("/static/console.css", get(css)).route("/static/console.js", get(js))
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // They change only with the binary; an hour is short enough for an upgrade.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}
