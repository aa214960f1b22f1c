//! Users' signing certificates, in IAM's shapes: UploadSigningCertificate
//! (the user's PEM), ListSigningCertificates, UpdateSigningCertificate
//! (Active / Inactive) and DeleteSigningCertificate; and Eucalyptus's
//! CreateSigningCertificate, where the cloud makes the key and a
//! certificate it signs, and answers the private key once (it is never
//! stored). At most two per user, as IAM.

use super::IamError;
use crate::app::{App, RequestMeta, ids::now};
use crate::ec2::params::Params;
use crate::ec2::render::iso_time;
use crate::ec2::xml::Xml;
use axum::http::StatusCode;
use domain::command::{DeleteSigningCertificate, UpdateSigningCertificate, UploadSigningCertificate};
use domain::{AccountId, Command, UserName};

pub(crate) const ACTIONS: &[&str] = &[
    "UploadSigningCertificate",
    "CreateSigningCertificate",
    "ListSigningCertificates",
    "UpdateSigningCertificate",
    "DeleteSigningCertificate",
];

fn validation(message: impl Into<String>) -> IamError {
    IamError::new("ValidationError", StatusCode::BAD_REQUEST, message)
}

fn certificate_xml(x: &mut Xml, user: &UserName, id: &str, pem: &str, active: bool, at: domain::Timestamp) {
    x.text("UserName", user.as_str()).text("CertificateId", id).text("CertificateBody", pem);
    x.text("Status", if active { "Active" } else { "Inactive" }).text("UploadDate", &iso_time(at));
}

/// One signing certificate action on `subject` of `target`, written into `x`.
pub(crate) async fn serve(
    app: &App,
    action: &str,
    params: &Params,
    target: &AccountId,
    subject: &UserName,
    meta: &RequestMeta,
    x: &mut Xml,
) -> Result<(), IamError> {
    let at = now();
    match action {
        "UploadSigningCertificate" | "CreateSigningCertificate" => {
            let (pem, private_key) = if action == "CreateSigningCertificate" {
                let support = app.images.get().ok_or_else(|| {
                    IamError::new(
                        "ServiceUnavailable",
                        StatusCode::SERVICE_UNAVAILABLE,
                        "This cloud has no certificate to sign with",
                    )
                })?;
                let issued =
                    support.cloud.issue_user_certificate(target.as_str(), subject.as_str()).map_err(|e| {
                        tracing::error!(error = %e, "cannot issue a signing certificate");
                        IamError::new(
                            "ServiceFailure",
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "The certificate could not be made",
                        )
                    })?;
                (issued.certificate_pem, Some(issued.private_key_pem))
            } else {
                (params.required("CertificateBody")?.to_owned(), None)
            };
            let certificate = bundle::certificate_id_of_pem(&pem).map_err(|e| {
                IamError::new(
                    "MalformedCertificate",
                    StatusCode::BAD_REQUEST,
                    format!("The certificate is not valid: {e}"),
                )
            })?;
            let command = Command::UploadSigningCertificate(UploadSigningCertificate {
                account: target.clone(),
                user: subject.clone(),
                certificate: certificate.clone(),
                pem: pem.clone(),
                issued_by_cloud: private_key.is_some(),
                at,
            });
            app.execute(command, meta).await?;
            x.open_owned(format!("{action}Result")).open("Certificate");
            certificate_xml(x, subject, &certificate, &pem, true, at);
            x.close();
            // Eucalyptus's extension: the key, this once.
            x.opt("PrivateKey", private_key.as_deref());
            x.close();
        }
        "ListSigningCertificates" => {
            let models = app.projections.read();
            x.open_owned(format!("{action}Result")).open("Certificates");
            for (id, row) in models
                .accounts
                .certificates
                .iter()
                .filter(|(_, r)| &r.account == target && &r.user == subject)
            {
                x.open("member");
                certificate_xml(x, &row.user, id, &row.pem, row.active, row.uploaded_at);
                x.close();
            }
            x.close().display("IsTruncated", false).close();
        }
        "UpdateSigningCertificate" => {
            let active = match params.required("Status")? {
                "Active" => true,
                "Inactive" => false,
                _ => return Err(validation("Status must be Active or Inactive")),
            };
            let command = Command::UpdateSigningCertificate(UpdateSigningCertificate {
                account: target.clone(),
                user: subject.clone(),
                certificate: params.required("CertificateId")?.to_owned(),
                active,
                at,
            });
            app.execute(command, meta).await?;
        }
        _ => {
            let command = Command::DeleteSigningCertificate(DeleteSigningCertificate {
                account: target.clone(),
                user: subject.clone(),
                certificate: params.required("CertificateId")?.to_owned(),
                at,
            });
            app.execute(command, meta).await?;
        }
    }
    Ok(())
}
