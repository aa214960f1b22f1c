//! Images: the machine images, kernels and ramdisks the account may use
//! (its own, those shared with it and public ones; never a deregistered
//! one), where each was registered from, and a way to launch it.

use super::{Chrome, Signed, render};
use crate::Console;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new().route("/images", get(list))
}

pub(crate) struct Image {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub architecture: String,
    pub visibility: String,
    /// Where it was registered from (`BUCKET/PREFIX.manifest.xml`).
    pub location: String,
    pub registered: String,
    /// Instance store, or EBS with its root device's snapshot; and the
    /// image's state when it is not available.
    pub root: String,
    pub state: Option<String>,
    pub launchable: bool,
}

#[derive(Template)]
#[template(path = "images.html")]
struct Images {
    chrome: Chrome,
    images: Vec<Image>,
}

async fn list(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    let tr = signed.tr;
    let account = &signed.session.account;
    let images = {
        let models = console.app.projections.read();
        models
            .images
            .iter()
            .filter(|(_, i)| i.executable_by(account))
            .map(|(id, i)| Image {
                id: id.to_string(),
                name: i.name.clone(),
                description: i.description.clone(),
                kind: tr.msg(match i.kind {
                    domain::ImageKind::Machine => "image-kind-machine",
                    domain::ImageKind::Kernel => "image-kind-kernel",
                    domain::ImageKind::Ramdisk => "image-kind-ramdisk",
                }),
                architecture: i.architecture.clone(),
                visibility: tr.msg(match () {
                    () if &i.owner == account => "image-own",
                    () if i.public => "image-public",
                    () => "image-shared",
                }),
                location: i.location.clone(),
                registered: tr.date(i.registered_at),
                root: match &i.ebs {
                    None => tr.msg("image-root-instance-store"),
                    Some(ebs) => {
                        let root = ebs.devices.iter().find(|d| d.device == ebs.root_device);
                        let snapshot = root.and_then(|d| d.snapshot.as_ref()).map_or("", |s| s.as_str());
                        tr.msg_args("image-root-ebs", &[("snapshot", snapshot)])
                    }
                },
                state: match i.state(&models.volumes.snapshots) {
                    "pending" => Some(tr.msg("image-state-pending")),
                    "failed" => Some(tr.msg("image-state-failed")),
                    _ => None,
                },
                launchable: i.kind == domain::ImageKind::Machine,
            })
            .collect()
    };
    let chrome = Chrome::new(&console, &signed, "images", tr.msg("images-title"));
    render(&Images { chrome, images })
}
