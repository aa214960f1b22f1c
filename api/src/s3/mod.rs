//! Walrus, the S3 REST endpoint: buckets and objects over the same
//! accounts, keys, commands and log as EC2 (docs/adr/0016-walrus.md).
//!
//! The protocol (routing, XML, SigV4 and SigV2 in headers and presigned
//! URLs, `aws-chunked` uploads and their chunk signatures) is the `s3s`
//! crate's; this module is what Yukari does with a request once s3s has
//! parsed and authenticated it: who the caller is, which command it
//! becomes, where the bytes go (the object store, before the command) and
//! what the read models answer. Authorization is S3's ACLs, applied by
//! the domain to writes and by [`read`] to reads with the same functions.
//!
//! It is served on a port of its own (`--s3-port`, path style and virtual
//! hosts `BUCKET.HOST`) and, path style, under `/services/objectstorage`
//! and `/services/Walrus` of the EC2 port as Eucalyptus did ([`prefixed`]).

mod acl;
mod buckets;
mod checksum;
mod cors;
mod errors;
mod listing;
mod multipart;
mod objects;
mod ops;
mod prefixed;
mod read;
mod signed;
mod sigv2_slash;
#[cfg(test)]
mod tests;

use crate::app::image_downloads::IMAGE_READER_KEY;
use crate::app::{App, RequestMeta};
use domain::buckets::Caller;
use domain::{Principal, UserName};
use objectstore::BlobStore;
use s3s::auth::{S3Auth, SecretKey};
use s3s::host::{S3Host, VirtualHost};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Request, S3Result, s3_error};
use std::sync::Arc;

pub use errors::refusal;
pub use prefixed::PREFIXES;

/// A request made in this process for a principal that was already
/// authenticated there (the web console's signed-in user), put in the
/// request's extensions: [`Walrus::who`] believes it as it believes the
/// key [`prefixed`] verified. Nothing from the network can set it.
#[derive(Clone, Debug)]
pub struct InProcess(pub RequestMeta);

/// Walrus's settings.
#[derive(Clone, Debug)]
pub struct WalrusConfig {
    /// The region buckets are in (GetBucketLocation, LocationConstraint).
    pub region: String,
    /// Host names under which `BUCKET.NAME` is a virtual-hosted bucket
    /// (e.g. `localhost`, the machine's name).
    pub virtual_hosts: Vec<String>,
}

/// The S3 implementation: the application, and the object store where
/// object bytes live.
#[derive(Clone)]
pub struct Walrus {
    pub(crate) app: Arc<App>,
    pub(crate) blobs: BlobStore,
    pub(crate) config: Arc<WalrusConfig>,
}

impl std::fmt::Debug for Walrus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walrus").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Walrus {
    pub fn new(app: Arc<App>, blobs: BlobStore, config: WalrusConfig) -> Walrus {
        Walrus { app, blobs, config: Arc::new(config) }
    }

    /// The S3 service of the port of its own: path style, and virtual
    /// hosts under the configured names.
    pub fn service(&self) -> S3Service {
        let mut builder = self.builder();
        builder.set_host(Hosts(self.config.virtual_hosts.clone()));
        builder.build()
    }

    /// The EC2 port's routes to Walrus (`/services/objectstorage`,
    /// `/services/Walrus`).
    pub fn prefixed_router(&self) -> axum::Router {
        prefixed::router(self.clone(), self.prefixed_service())
    }

    /// The S3 service behind `/services/objectstorage` on the EC2 port:
    /// s3s checks the signature over the path as the client sent it, then
    /// [`prefixed`] hands the request, prefix removed, to [`Walrus::service`].
    pub fn prefixed_service(&self) -> S3Service {
        let mut builder = self.builder();
        builder.set_route(prefixed::Unprefix { inner: self.service() });
        builder.build()
    }

    fn builder(&self) -> S3ServiceBuilder {
        let mut builder = S3ServiceBuilder::new(self.clone());
        builder.set_auth(Keys(self.app.clone()));
        builder.set_access(read::Anyone);
        let mut config = s3s::config::S3Config::default();
        // Browser form uploads are read whole by s3s: keep them small.
        config.post_object_max_file_size = 64 * 1024 * 1024;
        builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(config))));
        builder
    }

    /// Who sent `req`: its verified access key's account and user (or the
    /// key [`prefixed`] verified, or the principal of an [`InProcess`]
    /// request), or nobody.
    pub(crate) fn who<T>(&self, req: &S3Request<T>) -> S3Result<Who> {
        if let Some(InProcess(meta)) = req.extensions.get::<InProcess>() {
            let account = meta.principal.account.clone();
            let cloud_admin = self.app.is_cloud_admin(&account);
            let may_change = meta.principal.user == UserName::admin();
            let caller = Caller::Account { account, cloud_admin };
            return Ok(Who { caller, meta: meta.clone(), may_change });
        }
        let access_key = req
            .extensions
            .get::<prefixed::Verified>()
            .map(|v| v.access_key.clone())
            .or_else(|| req.credentials.as_ref().map(|c| c.access_key.clone()));
        let request_id = self.app.ids.request_id();
        let Some(access_key) = access_key else {
            let meta = RequestMeta {
                principal: Principal::system("anonymous"),
                request_id: request_id.clone(),
                correlation_id: request_id,
                source: "s3:anonymous".to_owned(),
            };
            return Ok(Who { caller: Caller::Anonymous, meta, may_change: true });
        };
        if access_key == IMAGE_READER_KEY {
            return self.image_reader(request_id);
        }
        let (account, user) = self.app.credentials.owner(&access_key).ok_or_else(|| {
            s3_error!(InvalidAccessKeyId, "The AWS access key Id you provided does not exist in our records.")
        })?;
        let cloud_admin = self.app.is_cloud_admin(&account);
        let may_change = user == UserName::admin();
        let meta = RequestMeta {
            principal: Principal {
                account: account.clone(),
                user,
                access_key: domain::AccessKeyId::parse(&access_key).ok(),
            },
            request_id: request_id.clone(),
            correlation_id: request_id,
            source: "s3".to_owned(),
        };
        Ok(Who { caller: Caller::Account { account, cloud_admin }, meta, may_change })
    }
}

impl Walrus {
    /// The cloud's image reader (a node fetching a bundle's parts through
    /// a presigned URL): the cloud, as `aws-exec-read` grants it, and only
    /// reading.
    fn image_reader(&self, request_id: String) -> S3Result<Who> {
        let caller = crate::app::image_downloads::cloud_reader(&self.app.projections.read())
            .ok_or_else(|| s3_error!(InvalidAccessKeyId, "The cloud has no admin account."))?;
        let meta = RequestMeta {
            principal: Principal::system("image-reader"),
            request_id: request_id.clone(),
            correlation_id: request_id,
            source: "s3:image-reader".to_owned(),
        };
        Ok(Who { caller, meta, may_change: false })
    }
}

/// The caller of one request.
pub(crate) struct Who {
    pub caller: Caller,
    pub meta: RequestMeta,
    /// Only an account's `admin` user changes things (as with EC2:
    /// Yukari's Euare has no policies yet); other users read.
    pub may_change: bool,
}

impl Who {
    /// Refuses a change by a read-only user.
    pub fn changing(&self) -> S3Result<()> {
        if self.may_change {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied, "Only the account's admin user may change buckets and objects."))
        }
    }

    pub fn account(&self) -> Option<&domain::AccountId> {
        self.caller.account()
    }
}

/// Access keys and their secrets: the same as EC2's.
struct Keys(Arc<App>);

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        use crate::auth::SecretLookup;
        if access_key == IMAGE_READER_KEY {
            return Ok(SecretKey::from(self.0.image_reader_secret()));
        }
        match self.0.credentials.secret(access_key) {
            Some(secret) => Ok(SecretKey::from(secret)),
            None => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS access key Id you provided does not exist in our records."
            )),
        }
    }
}

/// Virtual-hosted buckets under the configured host names; any other
/// host (an address, another name) is path style.
struct Hosts(Vec<String>);

impl S3Host for Hosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        for base in &self.0 {
            if let Some(bucket) = name.strip_suffix(base.as_str()).and_then(|b| b.strip_suffix('.'))
                && !bucket.is_empty()
            {
                return Ok(VirtualHost::new(base.as_str()).with_bucket(bucket));
            }
        }
        Ok(VirtualHost::new(name))
    }
}

/// A domain timestamp (ms since the epoch) as s3s writes it.
pub(crate) fn s3_time(at: domain::Timestamp) -> s3s::dto::Timestamp {
    let nanos = i128::from(at.millis()) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH).into()
}

/// Serves Walrus on a port of its own until `stopped`.
pub async fn serve(
    walrus: Walrus,
    listener: tokio::net::TcpListener,
    limits: crate::serve::Limits,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    crate::serve::serve(listener, own_port_router(walrus), limits, async move {
        let _ = stopped.wait_for(|s| *s).await;
    })
    .await;
}

/// Walrus's own port as a router: what [`serve`] serves (and the S3
/// fuzz target calls in process).
pub fn own_port_router(walrus: Walrus) -> axum::Router {
    let service = walrus.service();
    axum::Router::new().fallback(own_port).with_state((walrus, service))
}

async fn own_port(
    axum::extract::State((walrus, service)): axum::extract::State<(Walrus, S3Service)>,
    request: axum::extract::Request,
) -> axum::response::Response {
    prefixed::serve(&walrus, &service, request).await
}

/// How often blobs no object names are looked for, and how old such a
/// blob must be to go: a blob is written before the command that names it,
/// and is pinned in between; the grace period covers a blob whose command
/// was stored after the read models were looked at.
pub const GC_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
pub const GC_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

impl Walrus {
    /// Removes blobs that no object version or upload names, nor a live
    /// snapshot (its manifest and the chunks it lists: the storage
    /// controller of `yukari up` keeps snapshots here), nor a pin, nor
    /// youth, keeps. Nothing is removed while a snapshot is being taken
    /// (its chunks are not named anywhere until it completes), nor when a
    /// live snapshot's manifest cannot be read.
    pub async fn collect_garbage(
        &self,
        grace: std::time::Duration,
    ) -> std::io::Result<objectstore::GcReport> {
        use objectstore::BlobId;
        let (mut live, manifests, pending) = {
            let models = self.app.projections.read();
            let live: std::collections::HashSet<BlobId> =
                models.buckets.blobs().into_iter().filter_map(|b| b.parse().ok()).collect();
            let snapshots = models.volumes.snapshots.values();
            let pending = snapshots.clone().any(|s| s.state == domain::volumes::SnapshotState::Pending);
            let manifests: Vec<BlobId> =
                snapshots.filter_map(|s| s.manifest.as_deref()).filter_map(|m| m.parse().ok()).collect();
            (live, manifests, pending)
        };
        if pending {
            tracing::debug!("a snapshot is being taken: no object store garbage is collected now");
            return Ok(objectstore::GcReport::default());
        }
        for manifest in manifests {
            // Another zone's storage controller keeps its own snapshots.
            if !self.blobs.contains(&manifest) {
                continue;
            }
            live.insert(manifest);
            let mut bytes = Vec::new();
            let mut stream = self.blobs.get(&manifest, None).await?;
            while let Some(piece) = futures::StreamExt::next(&mut stream).await {
                bytes.extend_from_slice(&piece?);
            }
            match storage::Manifest::decode(&bytes) {
                Ok(m) => live.extend(m.referenced().map(|c| BlobId(c.0))),
                Err(e) => {
                    tracing::error!(%manifest, error = %e, "a live snapshot's manifest is unreadable: no garbage collected");
                    return Ok(objectstore::GcReport::default());
                }
            }
        }
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.collect(&|id| live.contains(id), grace))
            .await
            .map_err(std::io::Error::other)?
    }

    /// [`Walrus::collect_garbage`] every [`GC_EVERY`] until `stopped`.
    pub async fn run_garbage_collection(self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(GC_EVERY) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            match self.collect_garbage(GC_GRACE).await {
                Ok(report) if report.removed > 0 => {
                    tracing::info!(
                        removed = report.removed,
                        bytes_freed = report.bytes_freed,
                        "object store garbage collected"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "object store garbage collection failed"),
            }
        }
    }
}
