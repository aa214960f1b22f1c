//! Download manifests: what a node is given to boot an image registered
//! from a Walrus bundle, as Eucalyptus's node controllers were. The parts
//! are named by URLs presigned for the cloud's image reader (a key derived
//! from the master key, that reads what the cloud may read and changes
//! nothing), the AES key and IV are opened with the cloud's key and sealed
//! again to the key the node sent, and the digests are those of the
//! manifest RegisterImage verified, so the node checks every byte against
//! what the image's owner signed.

use crate::app::App;
use crate::auth::encoding::uri_encode;
use crate::auth::{V4Key, V4Request};
use bundle::{DownloadManifest, DownloadPart};
use domain::buckets::{Caller, Permission};
use domain::{ImageId, InstanceId, NodeId};
use std::time::{Duration, SystemTime};

/// The access key id of the cloud's image reader. Its secret is derived
/// from the master key; it is never stored or shown, only used to presign
/// GETs of bundle parts.
pub const IMAGE_READER_KEY: &str = "YKIMAGEREADER0000000";

/// How long a download manifest's part URLs work.
const URL_LIFETIME: Duration = Duration::from_secs(3600);

/// The cloud as a reader of Walrus (what `aws-exec-read` grants): its
/// admin account, as cloud administrator. Nodes read bundles as it; the
/// image reader key is it; RegisterImage asks whether it may read.
pub(crate) fn cloud_reader(models: &projections::ReadModels) -> Option<Caller> {
    let (account, _) = models.accounts.account_by_name("admin")?;
    Some(Caller::Account { account: account.clone(), cloud_admin: true })
}

/// Why a node gets no download manifest.
#[derive(Debug, thiserror::Error)]
pub enum DownloadRefused {
    /// The instance is not the node's, or the image is not the instance's.
    #[error("{0}")]
    NotYours(String),
    /// No such image, or not one registered from a bundle.
    #[error("{0}")]
    NotFound(String),
    /// The bundle is gone from Walrus, or the cloud may not read it.
    #[error("{0}")]
    Unreadable(String),
    /// The cloud cannot open bundles (no certificate), or the node's key
    /// is not one.
    #[error("{0}")]
    Unavailable(String),
}

impl App {
    /// The image reader's secret.
    pub(crate) fn image_reader_secret(&self) -> String {
        hex::encode(self.credentials.master_key().derive("walrus image reader"))
    }

    /// The download manifest of `image` for `instance` on `node`, its key
    /// sealed to `node_key_pem`, its URLs under `base` (`http://HOST:PORT`,
    /// the controller's EC2 endpoint as the node reaches it).
    pub fn download_manifest(
        &self,
        node: &NodeId,
        instance: &InstanceId,
        image: &ImageId,
        node_key_pem: &str,
        base: &str,
    ) -> Result<DownloadManifest, DownloadRefused> {
        let host = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .filter(|h| !h.is_empty() && !h.contains('/'))
            .ok_or_else(|| DownloadRefused::Unavailable(format!("{base:?} is not http://HOST:PORT")))?;
        let models = self.projections.read();
        let row = models
            .instances
            .get(instance.as_str())
            .filter(|row| row.node.as_ref() == Some(node))
            .ok_or_else(|| {
                DownloadRefused::NotYours(format!("instance {instance} is not placed on this node"))
            })?;
        if &row.image != image && row.kernel.as_ref() != Some(image) && row.ramdisk.as_ref() != Some(image) {
            return Err(DownloadRefused::NotYours(format!(
                "image {image} is not one instance {instance} boots"
            )));
        }
        let recorded = models.images.get(image).and_then(|row| row.bundle.as_ref()).ok_or_else(|| {
            DownloadRefused::NotFound(format!("image {image} was not registered from a bundle"))
        })?;
        let support = self.images.get().ok_or_else(|| {
            DownloadRefused::Unavailable("this cloud has no certificate to open bundles with".into())
        })?;
        let node_key = bundle::public_key_from_pem(node_key_pem)
            .map_err(|e| DownloadRefused::Unavailable(format!("the node's key: {e}")))?;
        let cloud = cloud_reader(&models).ok_or_else(|| {
            DownloadRefused::Unavailable("the cloud has no admin account to read bundles as".into())
        })?;
        let bucket = models
            .buckets
            .bucket(&recorded.bucket)
            .filter(|b| !b.deleted)
            .ok_or_else(|| DownloadRefused::Unreadable(format!("bucket {} is gone", recorded.bucket)))?;
        let now = SystemTime::now();
        let secret = self.image_reader_secret();
        let key = V4Key {
            access_key_id: IMAGE_READER_KEY,
            secret_access_key: &secret,
            region: &models.cloud.region,
            service: "s3",
        };
        // An hour, and a second more per MiB of bundle (a slow link), at
        // most SigV4's seven days.
        let lifetime = (URL_LIFETIME.as_secs() + (recorded.bundled_size >> 20))
            .min(crate::auth::MAX_PRESIGN_EXPIRES_SECS as u64);
        let mut parts = Vec::with_capacity(recorded.parts.len());
        for part in &recorded.parts {
            let shown = bucket.version_shown(&part.version);
            let found = match &shown {
                Some(version) => bucket.version(&part.key, version),
                None => bucket.latest(&part.key),
            };
            let where_ = format!("{}/{}", recorded.bucket, part.key);
            let found = found
                .ok_or_else(|| DownloadRefused::Unreadable(format!("part {where_} is gone from Walrus")))?;
            if !found.acl.allows(&cloud, Permission::Read) {
                return Err(DownloadRefused::Unreadable(format!(
                    "the cloud may not read {where_}: upload bundles with the aws-exec-read ACL \
                     (euca-upload-bundle and yukari image upload do)"
                )));
            }
            let path = format!("/services/objectstorage/{}/{}", recorded.bucket, part.key);
            let query =
                shown.map(|v| format!("versionId={}", uri_encode(v.as_bytes(), false))).unwrap_or_default();
            let request = V4Request { method: "GET", host, path: &path, query: &query, body: b"" };
            let signed =
                crate::auth::presign_v4_with_payload(&request, &key, now, lifetime, "UNSIGNED-PAYLOAD");
            parts.push(DownloadPart {
                name: part.key.rsplit('/').next().unwrap_or(&part.key).to_owned(),
                url: format!("{base}{}?{signed}", uri_encode(path.as_bytes(), true)),
                sha1: part.sha1.clone(),
                size: part.size,
            });
        }
        // The RSA work after the read models' lock is let go.
        let recorded = recorded.clone();
        drop(models);
        let opened = |field: &str, sealed: &str| {
            let value = bundle::decrypt_hex_text(support.cloud.private_key(), sealed, field)
                .map_err(|e| DownloadRefused::Unavailable(format!("the bundle's {field}: {e}")))?;
            bundle::encrypt_hex_text(&node_key, &value)
                .map_err(|e| DownloadRefused::Unavailable(format!("sealing the {field} to the node: {e}")))
        };
        let expires =
            now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(lifetime);
        Ok(DownloadManifest {
            image: image.to_string(),
            image_digest: recorded.image_digest.clone(),
            image_size: recorded.image_size,
            bundled_size: recorded.bundled_size,
            encrypted_key: opened("key", &recorded.encrypted_key)?,
            encrypted_iv: opened("IV", &recorded.encrypted_iv)?,
            parts,
            expires: expires.as_secs(),
        })
    }
}
