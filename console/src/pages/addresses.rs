//! Elastic addresses: allocate, associate with an instance, disassociate,
//! release.

use super::{Chrome, Form, Signed, done, failed, render};
use crate::Console;
use crate::ec2::{self, Call};
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::InstanceState;
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
    instances: Vec<String>,
}

async fn list(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    let tr = signed.tr;
    let account = &signed.session.account;
    let (addresses, instances) = {
        let models = console.app.projections.read();
        let addresses = models
            .network
            .addresses
            .iter()
            .filter(|(_, a)| &a.account == account)
            .map(|(id, a)| Address {
                address: a.address.clone(),
                allocation: id.to_string(),
                instance: a.association.as_ref().map(|(_, i)| i.to_string()).unwrap_or_default(),
                association: a.association.as_ref().map(|(s, _)| s.to_string()).unwrap_or_default(),
                allocated: tr.date(a.allocated_at),
            })
            .collect();
        let instances = models
            .instances
            .of_account(account, None)
            .filter(|r| {
                matches!(r.state, InstanceState::Running | InstanceState::Pending | InstanceState::Stopped)
            })
            .take(CHOICES)
            .map(|r| r.id.to_string())
            .collect();
        (addresses, instances)
    };
    let chrome = Chrome::new(&console, &signed, "addresses", tr.msg("addresses-title"));
    render(&Addresses { chrome, addresses, instances })
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
