//! The node's side of bundled images: `POST /node/image-manifest`.

use super::Signed;
use crate::admin::refuse;
use crate::app::App;
use crate::app::image_downloads::DownloadRefused;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::{ImageId, InstanceId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a node asks for.
#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestRequest {
    pub instance: String,
    pub image: String,
    /// The node's public key (PEM) to seal the image's key to.
    pub public_key: String,
    /// The controller as the node reaches it (`http://HOST:PORT`): the
    /// part URLs are under it.
    pub base: String,
}

pub(super) async fn manifest(State(app): State<Arc<App>>, request: Signed) -> Response {
    let node = request.caller.node;
    let asked: ManifestRequest = match serde_json::from_slice(&request.body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a manifest request: {e}")),
    };
    let (Ok(instance), Ok(image)) = (InstanceId::parse(&asked.instance), ImageId::parse(&asked.image)) else {
        return refuse(StatusCode::BAD_REQUEST, "not an instance id and an image id");
    };
    match app.download_manifest(&node, &instance, &image, &asked.public_key, &asked.base) {
        Ok(manifest) => crate::storage::json(&manifest),
        Err(e) => {
            let status = match &e {
                DownloadRefused::NotYours(_) => StatusCode::FORBIDDEN,
                DownloadRefused::NotFound(_) => StatusCode::NOT_FOUND,
                DownloadRefused::Unreadable(_) => StatusCode::CONFLICT,
                DownloadRefused::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            refuse(status, e.to_string())
        }
    }
}
