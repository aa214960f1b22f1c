//! The cloud's identity files and the certificates it issues.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use bundle::{CloudIdentity, SigningCertificate, public_key_from_certificate_pem};

#[test]
fn identity_is_created_once_then_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let first = CloudIdentity::load_or_create_for_region(dir.path(), "eu-1").unwrap();
    let mode = |name: &str| fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("cloud-pk.pem"), 0o600);
    assert_eq!(mode("cloud-cert.pem"), 0o644);
    let again = CloudIdentity::load_or_create_for_region(dir.path(), "eu-1").unwrap();
    assert_eq!(first.cert_pem(), again.cert_pem());
    assert_eq!(first.public_key(), again.public_key());
    assert_eq!(public_key_from_certificate_pem(first.cert_pem()).unwrap(), first.public_key());

    let pem = x509_subject(first.cert_pem());
    assert!(pem.contains("CN=yukari cloud eu-1"), "{pem}");

    // A lost certificate is remade for the same key; a lost key is an error.
    fs::remove_file(dir.path().join("cloud-cert.pem")).unwrap();
    let remade = CloudIdentity::load_or_create(dir.path()).unwrap();
    assert_eq!(remade.public_key(), first.public_key());
    fs::remove_file(dir.path().join("cloud-pk.pem")).unwrap();
    assert!(CloudIdentity::load_or_create(dir.path()).is_err());
}

#[test]
fn a_certificate_for_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    CloudIdentity::load_or_create(dir.path()).unwrap();
    let stranger = SigningCertificate::generate("stranger").unwrap();
    fs::write(dir.path().join("cloud-cert.pem"), stranger.certificate_pem).unwrap();
    let err = CloudIdentity::load_or_create(dir.path()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn user_certificates_are_signed_by_the_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = CloudIdentity::load_or_create(dir.path()).unwrap();
    let issued = cloud.issue_user_certificate("123456789012", "bob").unwrap();
    assert_eq!(issued.certificate_id.len(), 32);
    assert!(issued.certificate_id.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)));

    let (_, cloud_pem) = x509_parser::pem::parse_x509_pem(cloud.cert_pem().as_bytes()).unwrap();
    let cloud_cert = cloud_pem.parse_x509().unwrap();
    let (_, user_pem) = x509_parser::pem::parse_x509_pem(issued.certificate_pem.as_bytes()).unwrap();
    let user_cert = user_pem.parse_x509().unwrap();
    assert_eq!(user_cert.issuer(), cloud_cert.subject());
    assert!(user_cert.subject().to_string().contains("CN=bob"));
    user_cert.verify_signature(Some(cloud_cert.public_key())).unwrap();
    // Not self-signed: its own key does not verify it.
    assert!(user_cert.verify_signature(Some(user_cert.public_key())).is_err());

    let key = bundle::private_key_from_pem(&issued.private_key_pem).unwrap();
    assert_eq!(public_key_from_certificate_pem(&issued.certificate_pem).unwrap(), key.to_public_key());
    let other = cloud.issue_user_certificate("123456789012", "bob").unwrap();
    assert_ne!(other.certificate_id, issued.certificate_id);
}

fn x509_subject(pem: &str) -> String {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    parsed.parse_x509().unwrap().subject().to_string()
}
