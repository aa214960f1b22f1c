//! Elastic addresses: the list (a page at a time, in allocation id
//! order); allocate, associate with an instance, disassociate, release.

use super::{Chrome, Form, PageQuery, Paging, Signed, done, failed, paged, render};
use crate::Console;
use crate::ec2::{self, Call};
use crate::i18n::Tr;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::{AccountId, InstanceState};
use projections::ReadModels;
use std::ops::Bound;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/addresses", get(list))
        .route("/addresses/allocate", post(allocate))
        .route("/addresses/associate", post(associate))
        .route("/addresses/disassociate", post(disassociate))
        .route("/addresses/release", post(release))
}

pub(crate) struct Address {
    pub address: String,
    pub allocation: String,
    pub instance: String,
    pub association: String,
    pub allocated: String,
}

/// Most instances offered in the association form (the first ones that
/// may hold an address, by id).
const CHOICES: usize = 200;

#[derive(Template)]
#[template(path = "addresses.html")]
struct Addresses {
    chrome: Chrome,
    addresses: Vec<Address>,
    paging: Paging,
    instances: Vec<String>,
}

/// A page of the account's addresses, in allocation id order. The read
/// models keep them by allocation only (no index by account), so the walk
/// starts at the page's start and passes over other accounts' addresses
/// until the page is full.
fn addresses_of(
    tr: &Tr,
    models: &ReadModels,
    account: &AccountId,
    page: &PageQuery,
    size: usize,
) -> (Vec<Address>, Paging) {
    let after = match page.after.as_str() {
        "" => Bound::Unbounded,
        after => Bound::Excluded(after),
    };
    let addresses = models
        .network
        .addresses
        .range::<str, _>((after, Bound::Unbounded))
        .filter(|(_, a)| &a.account == account)
        .map(|(id, a)| Address {
            address: a.address.clone(),
            allocation: id.to_string(),
            instance: a.association.as_ref().map(|(_, i)| i.to_string()).unwrap_or_default(),
            association: a.association.as_ref().map(|(s, _)| s.to_string()).unwrap_or_default(),
            allocated: tr.date(a.allocated_at),
        });
    paged(addresses, page, size, |a| &a.allocation)
}

async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(page): Query<PageQuery>,
) -> Response {
    let tr = signed.tr;
    let account = &signed.session.account;
    let (addresses, paging, instances) = {
        let models = console.app.projections.read();
        let (addresses, paging) = addresses_of(&tr, &models, account, &page, console.config.page_size);
        let instances = models
            .instances
            .of_account(account, None)
            .filter(|r| {
                matches!(r.state, InstanceState::Running | InstanceState::Pending | InstanceState::Stopped)
            })
            .take(CHOICES)
            .map(|r| r.id.to_string())
            .collect();
        (addresses, paging, instances)
    };
    let chrome = Chrome::new(&console, &signed, "addresses", tr.msg("addresses-title"));
    render(&Addresses { chrome, addresses, paging, instances })
}

async fn act(
    console: &Console,
    signed: &Signed,
    body: &[u8],
    call: impl FnOnce(&Form) -> (Call, &'static str),
) -> Response {
    let form = match Form::checked(signed, body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let (call, key) = call(&form);
    match ec2::run(console, &signed.session, signed.peer, call).await {
        Ok(answer) => {
            let address = answer.first("publicIp").unwrap_or_else(|| form.get("address").to_owned());
            done(console, signed, "/addresses", key, &[("address", &address)])
        }
        Err(e) => failed(console, signed, "/addresses", &e),
    }
}

async fn allocate(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, |_| {
        (Call::new("AllocateAddress").param("Domain", "vpc"), "address-allocated")
    })
    .await
}

async fn associate(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, |f| {
        let call = Call::new("AssociateAddress")
            .param("AllocationId", f.get("allocation"))
            .param("InstanceId", f.get("instance"));
        (call, "address-associated")
    })
    .await
}

async fn disassociate(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, |f| {
        (
            Call::new("DisassociateAddress").param("AssociationId", f.get("association")),
            "address-disassociated",
        )
    })
    .await
}

async fn release(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, |f| {
        (Call::new("ReleaseAddress").param("AllocationId", f.get("allocation")), "address-released")
    })
    .await
}
