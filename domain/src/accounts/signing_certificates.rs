//! Users' X.509 signing certificates (IAM's and Euare's
//! Upload/Update/DeleteSigningCertificate; Eucalyptus's
//! CreateSigningCertificate, whose key the cloud makes and hands out once,
//! arrives here as an upload of the certificate alone). They sign image
//! manifests: RegisterImage accepts a manifest signed with an active
//! certificate of the registering account. Decided by the account's stream.

use super::state::Account;
use crate::aggregate::StateView;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;
use serde::{Deserialize, Serialize};

/// IAM's limit of signing certificates per user.
pub const MAX_SIGNING_CERTIFICATES: usize = 2;

/// A certificate given to a user (its PEM text; never a private key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SigningCertificateUploaded {
    pub account: AccountId,
    pub user: UserName,
    /// IAM's `CertificateId`: derived from the certificate's bytes.
    pub certificate: String,
    pub pem: String,
    /// Made by the cloud (CreateSigningCertificate) rather than uploaded.
    pub issued_by_cloud: bool,
    pub at: Timestamp,
}

/// A certificate turned on or off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SigningCertificateStatusChanged {
    pub user: UserName,
    pub certificate: String,
    pub active: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SigningCertificateDeleted {
    pub user: UserName,
    pub certificate: String,
    pub at: Timestamp,
}

/// A certificate of a user, as its account's stream folds it.
#[derive(Clone, Debug, PartialEq)]
pub struct SigningCertificate {
    pub user: UserName,
    pub active: bool,
}

/// UploadSigningCertificate (and CreateSigningCertificate, its key
/// already made and handed to the caller alone). The API has checked
/// that `pem` is a certificate and derived `certificate` from it.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadSigningCertificate {
    pub account: AccountId,
    pub user: UserName,
    pub certificate: String,
    pub pem: String,
    pub issued_by_cloud: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UpdateSigningCertificate {
    pub account: AccountId,
    pub user: UserName,
    pub certificate: String,
    pub active: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteSigningCertificate {
    pub account: AccountId,
    pub user: UserName,
    pub certificate: String,
    pub at: Timestamp,
}

impl UploadSigningCertificate {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl UpdateSigningCertificate {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl DeleteSigningCertificate {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

fn account<'v>(view: &'v dyn StateView, id: &AccountId) -> Result<&'v Account, DecideError> {
    view.account(id).ok_or_else(|| DecideError::AccountNotFound(id.clone()))
}

/// A certificate new in the cloud, for a user with fewer than two.
pub(crate) fn upload_signing_certificate(
    c: &UploadSigningCertificate,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let a = account(view, &c.account)?;
    if !a.users.contains(&c.user) {
        return Err(DecideError::UserNotFound(c.user.clone()));
    }
    if a.signing_certificates.contains_key(&c.certificate) {
        return Err(DecideError::DuplicateCertificate(c.certificate.clone()));
    }
    if a.signing_certificates.values().filter(|s| s.user == c.user).count() >= MAX_SIGNING_CERTIFICATES {
        return Err(DecideError::SigningCertificateLimit(c.user.clone()));
    }
    Ok(vec![(
        StreamId::account(&c.account),
        SigningCertificateUploaded {
            account: c.account.clone(),
            user: c.user.clone(),
            certificate: c.certificate.clone(),
            pem: c.pem.clone(),
            issued_by_cloud: c.issued_by_cloud,
            at: c.at,
        }
        .into(),
    )])
}

fn certificate_of<'v>(
    view: &'v dyn StateView,
    account_id: &AccountId,
    user: &UserName,
    certificate: &str,
) -> Result<&'v SigningCertificate, DecideError> {
    match account(view, account_id)?.signing_certificates.get(certificate) {
        Some(s) if &s.user == user => Ok(s),
        _ => Err(DecideError::SigningCertificateNotFound(certificate.to_owned())),
    }
}

/// Nothing when the certificate already is as asked.
pub(crate) fn update_signing_certificate(
    c: &UpdateSigningCertificate,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let s = certificate_of(view, &c.account, &c.user, &c.certificate)?;
    if s.active == c.active {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::account(&c.account),
        SigningCertificateStatusChanged {
            user: c.user.clone(),
            certificate: c.certificate.clone(),
            active: c.active,
            at: c.at,
        }
        .into(),
    )])
}

pub(crate) fn delete_signing_certificate(
    c: &DeleteSigningCertificate,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    certificate_of(view, &c.account, &c.user, &c.certificate)?;
    Ok(vec![(
        StreamId::account(&c.account),
        SigningCertificateDeleted { user: c.user.clone(), certificate: c.certificate.clone(), at: c.at }
            .into(),
    )])
}
