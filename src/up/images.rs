//! Where a node's image cache gets bundled images: download manifests from
//! the controller (in-process for `yukari up`'s node, over the signed node
//! protocol for `yukari node`), parts from Walrus through their presigned
//! URLs, streamed as they arrive.

use api::admin::client::AdminClient;
use api::app::App;
use api::app::image_downloads::DownloadRefused;
use bundle::{DownloadManifest, DownloadPart};
use domain::{ImageId, InstanceId, NodeId};
use node_executor::ImageSource;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// Who answers a node's requests for download manifests.
pub enum Manifests {
    /// The controller in this process (`yukari up`); `base` is its EC2
    /// endpoint as this host reaches it.
    Local { app: Arc<App>, node: NodeId, base: String },
    /// The controller of `yukari node`.
    Remote(AdminClient),
}

/// Bundled images from Walrus; calls block on the runtime of `handle`
/// (the image cache runs on the blocking pool).
pub struct WalrusImages {
    manifests: Manifests,
    http: reqwest::Client,
    handle: Handle,
}

impl WalrusImages {
    pub fn new(manifests: Manifests) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()?;
        Ok(WalrusImages { manifests, http, handle: Handle::current() })
    }
}

impl ImageSource for WalrusImages {
    fn download_manifest(
        &self,
        instance: &InstanceId,
        image: &ImageId,
        node_key_pem: &str,
    ) -> Result<DownloadManifest, String> {
        match &self.manifests {
            Manifests::Local { app, node, base } => app
                .download_manifest(node, instance, image, node_key_pem, base)
                .map_err(|e: DownloadRefused| e.to_string()),
            Manifests::Remote(client) => {
                let asked = api::nodes::ManifestRequest {
                    instance: instance.to_string(),
                    image: image.to_string(),
                    public_key: node_key_pem.to_owned(),
                    base: client.url().to_owned(),
                };
                let body = serde_json::to_vec(&asked).map_err(|e| e.to_string())?;
                self.handle.block_on(async {
                    let response = client
                        .call("POST", "/node/image-manifest", "", body)
                        .await
                        .map_err(|e| e.to_string())?;
                    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
                    serde_json::from_slice::<DownloadManifest>(&bytes).map_err(|e| e.to_string())
                })
            }
        }
    }

    fn open_part(&self, part: &DownloadPart) -> Result<Box<dyn Read + Send>, String> {
        let response = self.handle.block_on(async {
            // Errors without the URL: it carries a signature.
            let response = self.http.get(&part.url).send().await.map_err(|e| e.without_url().to_string())?;
            if !response.status().is_success() {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                let code = body.split("<Code>").nth(1).and_then(|s| s.split("</Code>").next()).unwrap_or("");
                return Err(format!("Walrus answered {status} {code} for part {}", part.name));
            }
            Ok(response)
        })?;
        Ok(Box::new(Body { handle: self.handle.clone(), response, chunk: Default::default() }))
    }
}

/// A response body as a blocking reader.
struct Body {
    handle: Handle,
    response: reqwest::Response,
    chunk: bytes::Bytes,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(self.response.chunk()) {
                Ok(Some(chunk)) => self.chunk = chunk,
                Ok(None) => return Ok(0),
                Err(e) => return Err(io::Error::other(e.without_url())),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}
