//! What image registration needs beyond the log: the cloud's identity
//! (its RSA key opens bundles' keys; it issues users' signing
//! certificates) and the object store holding Walrus's bytes. Set once by
//! `yukari up`; without them RegisterImage and CreateSigningCertificate
//! answer that the cloud cannot do them.

use domain::buckets::BlobRef;
use futures::StreamExt;
use objectstore::{BlobId, BlobStore};
use std::sync::Arc;

/// The cloud's key and certificate, and the object store.
#[derive(Clone)]
pub struct ImageSupport {
    pub cloud: Arc<bundle::CloudIdentity>,
    pub blobs: BlobStore,
}

impl std::fmt::Debug for ImageSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImageSupport(..)")
    }
}

/// Why an object's bytes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObjectReadError {
    #[error("the object is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the object names a blob that is not one")]
    BadBlob,
    #[error("the object's bytes cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

impl ImageSupport {
    /// Feeds the bytes of an object made of `parts` to `each`, in order;
    /// refuses objects of more than `limit` bytes.
    pub async fn read(
        &self,
        parts: &[BlobRef],
        limit: u64,
        mut each: impl FnMut(&[u8]),
    ) -> Result<u64, ObjectReadError> {
        let total: u64 = parts.iter().map(|p| p.size).sum();
        if total > limit {
            return Err(ObjectReadError::TooLarge(limit));
        }
        let mut pieces = Vec::with_capacity(parts.len());
        for part in parts {
            let id: BlobId = part.blob.parse().map_err(|_| ObjectReadError::BadBlob)?;
            pieces.push((id, None));
        }
        let mut stream = std::pin::pin!(self.blobs.concat(pieces));
        while let Some(chunk) = stream.next().await {
            each(&chunk?);
        }
        Ok(total)
    }
}

impl crate::app::App {
    /// A signing certificate for `user` of `account`, made and signed by
    /// the cloud and recorded (its key is returned, never stored): the
    /// admin's, on a cloud's first start.
    pub async fn issue_signing_certificate(
        &self,
        cloud: &bundle::CloudIdentity,
        account: &domain::AccountId,
        user: &domain::UserName,
    ) -> Result<bundle::IssuedCertificate, String> {
        let issued =
            cloud.issue_user_certificate(account.as_str(), user.as_str()).map_err(|e| e.to_string())?;
        let command = domain::Command::UploadSigningCertificate(domain::command::UploadSigningCertificate {
            account: account.clone(),
            user: user.clone(),
            certificate: issued.certificate_id.clone(),
            pem: issued.certificate_pem.clone(),
            issued_by_cloud: true,
            at: crate::app::ids::now(),
        });
        let meta = crate::app::RequestMeta {
            principal: domain::Principal::system("bootstrap"),
            request_id: self.ids.request_id(),
            correlation_id: "signing-certificate".to_owned(),
            source: "bootstrap".to_owned(),
        };
        self.execute(command, &meta).await.map_err(|e| e.to_string())?;
        Ok(issued)
    }
}
