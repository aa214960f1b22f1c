//! Key pairs: the list (a page at a time, in name order), a new key pair
//! whose private key is downloaded once (it is the answer to the form, and
//! kept nowhere), an imported public key, and deletion.

use super::{Chrome, Form, PageQuery, Paging, Signed, done, failed, paged, render};
use crate::Console;
use crate::ec2::{self, Call};
use crate::i18n::Tr;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::AccountId;
use projections::ReadModels;
use std::ops::Bound;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/keypairs", get(list))
        .route("/keypairs/create", post(create))
        .route("/keypairs/import", post(import))
        .route("/keypairs/delete", post(delete))
}

pub(crate) struct KeyPair {
    pub name: String,
    pub id: String,
    pub fingerprint: String,
    pub key_type: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "keypairs.html")]
struct KeyPairs {
    chrome: Chrome,
    key_pairs: Vec<KeyPair>,
    paging: Paging,
}

/// A page of the account's key pairs, in name order: those named after
/// the page's start, found from there (not from the account's first).
fn key_pairs_of(
    tr: &Tr,
    models: &ReadModels,
    account: &AccountId,
    page: &PageQuery,
    size: usize,
) -> (Vec<KeyPair>, Paging) {
    let start = match page.after.as_str() {
        "" => Bound::Included((account.clone(), String::new())),
        after => Bound::Excluded((account.clone(), after.to_owned())),
    };
    let key_pairs = models
        .security
        .key_pairs
        .range((start, Bound::Unbounded))
        .take_while(|((a, _), _)| a == account)
        .map(|((_, name), k)| KeyPair {
            name: name.clone(),
            id: k.id.to_string(),
            fingerprint: k.fingerprint.clone(),
            key_type: k.key_type.clone(),
            created: tr.date(k.created_at),
        });
    paged(key_pairs, page, size, |k| &k.name)
}

async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(page): Query<PageQuery>,
) -> Response {
    let tr = signed.tr;
    let (key_pairs, paging) = {
        let models = console.app.projections.read();
        key_pairs_of(&tr, &models, &signed.session.account, &page, console.config.page_size)
    };
    let chrome = Chrome::new(&console, &signed, "keypairs", tr.msg("keypairs-title"));
    render(&KeyPairs { chrome, key_pairs, paging })
}

/// A file name for the key: the key pair's name, with anything but
/// letters, digits, `-`, `_` and `.` made `_`.
fn file_name(name: &str) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    format!("{}.pem", safe.trim_start_matches('.'))
}

/// CreateKeyPair: the answer is the private key, as a download.
async fn create(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let name = form.get("name").trim().to_owned();
    let key_type = if form.get("type") == "ed25519" { "ed25519" } else { "rsa" };
    let call = Call::new("CreateKeyPair").param("KeyName", name.clone()).param("KeyType", key_type);
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(answer) => {
            let material = answer.first("keyMaterial").unwrap_or_default();
            let mut response = material.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"));
            let disposition = format!("attachment; filename=\"{}\"", file_name(&name));
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => failed(&console, &signed, "/keypairs", &e),
    }
}

async fn import(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    use base64::Engine;
    let name = form.get("name").trim().to_owned();
    let material = base64::engine::general_purpose::STANDARD.encode(form.get("public_key").trim());
    let call = Call::new("ImportKeyPair").param("KeyName", name.clone()).param("PublicKeyMaterial", material);
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(_) => done(&console, &signed, "/keypairs", "keypair-imported", &[("name", &name)]),
        Err(e) => failed(&console, &signed, "/keypairs", &e),
    }
}

async fn delete(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let name = form.get("name").to_owned();
    let call = Call::new("DeleteKeyPair").param("KeyName", name.clone());
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(_) => done(&console, &signed, "/keypairs", "keypair-deleted", &[("name", &name)]),
        Err(e) => failed(&console, &signed, "/keypairs", &e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_file_names_are_tame() {
        assert_eq!(super::file_name("my key/../x"), "my_key_.._x.pem");
        assert_eq!(super::file_name("web-1"), "web-1.pem");
        assert_eq!(super::file_name("\"quoted\""), "_quoted_.pem");
    }
}
