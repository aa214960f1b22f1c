//! The cloud's identity for bundles (an RSA-2048 key and a self-signed CA
//! certificate, kept as PEM files) and users' signing certificates.
//!
//! rcgen signs, but with `ring` it cannot make RSA keys: keys come from the
//! `rsa` crate and reach rcgen as PKCS#8.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_RSA_SHA256, SerialNumber,
};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha1::Digest;

use crate::crypto;
use crate::error::{BundleError, Result, crypto as crypto_error};

/// The certificate's file name in the identity directory (mode 0644).
pub const CLOUD_CERT_FILE: &str = "cloud-cert.pem";
/// The private key's file name (mode 0600, PKCS#8 PEM).
pub const CLOUD_KEY_FILE: &str = "cloud-pk.pem";

const RSA_BITS: usize = 2048;

/// The cloud's key pair and certificate: bundles' `ec2_encrypted_*` are
/// sealed to it, and it issues users' signing certificates.
pub struct CloudIdentity {
    cert_pem: String,
    key: RsaPrivateKey,
}

impl fmt::Debug for CloudIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudIdentity").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

impl CloudIdentity {
    /// [`CloudIdentity::load_or_create_for_region`] with the common name
    /// `yukari cloud`.
    pub fn load_or_create(dir: &Path) -> io::Result<Self> {
        Self::load_or_create_named(dir, "yukari cloud")
    }

    /// Loads `cloud-cert.pem` and `cloud-pk.pem` from `dir`, or makes them
    /// (key first, each file written atomically) with the common name
    /// `yukari cloud <region>`. A key without a certificate gets a new
    /// certificate; a certificate without its key, or one that is not for
    /// the key, is an error rather than a silent new identity.
    pub fn load_or_create_for_region(dir: &Path, region: &str) -> io::Result<Self> {
        Self::load_or_create_named(dir, &format!("yukari cloud {region}"))
    }

    fn load_or_create_named(dir: &Path, common_name: &str) -> io::Result<Self> {
        let key_path = dir.join(CLOUD_KEY_FILE);
        let cert_path = dir.join(CLOUD_CERT_FILE);
        let key = match fs::read_to_string(&key_path) {
            Ok(pem) => crypto::private_key_from_pem(&pem).map_err(to_io)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if cert_path.exists() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} exists but {} does not", cert_path.display(), key_path.display()),
                    ));
                }
                let key = generate_key().map_err(to_io)?;
                let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| to_io(crypto_error(e)))?;
                if !write_new_file(dir, &key_path, pem.as_bytes(), 0o600)? {
                    // Someone else made the key first: use theirs.
                    return Self::load_or_create_named(dir, common_name);
                }
                key
            }
            Err(e) => return Err(e),
        };
        let cert_pem = match fs::read_to_string(&cert_path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let pem = self_signed_ca(&key, common_name).map_err(to_io)?;
                if !write_new_file(dir, &cert_path, pem.as_bytes(), 0o644)? {
                    return Self::load_or_create_named(dir, common_name);
                }
                pem
            }
            Err(e) => return Err(e),
        };
        let certified = crypto::public_key_from_certificate_pem(&cert_pem).map_err(to_io)?;
        if certified != RsaPublicKey::from(&key) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not the certificate of {}", cert_path.display(), key_path.display()),
            ));
        }
        Ok(Self { cert_pem, key })
    }

    /// The certificate (PEM) users bundle with (`--ec2cert`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn private_key(&self) -> &RsaPrivateKey {
        &self.key
    }

    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey::from(&self.key)
    }

    /// A new RSA-2048 key and certificate for a user, signed by the cloud
    /// (as Eucalyptus's `euare-usercreatecert` did). Subject: CN = user name,
    /// OU = account id, O = Yukari.
    pub fn issue_user_certificate(&self, account_id: &str, user_name: &str) -> Result<IssuedCertificate> {
        let user_key = generate_key()?;
        let user_pair = rcgen_key(&user_key)?;
        let mut params = base_params(user_name)?;
        params.distinguished_name.push(DnType::OrganizationalUnitName, account_id);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, rcgen_key(&self.key)?).map_err(crypto_error)?;
        let cert = params.signed_by(&user_pair, &issuer).map_err(crypto_error)?;
        Ok(IssuedCertificate {
            certificate_id: certificate_id(cert.der()),
            certificate_pem: cert.pem(),
            private_key_pem: user_key.to_pkcs8_pem(LineEnding::LF).map_err(crypto_error)?.to_string(),
        })
    }
}

/// A user's certificate as issued by [`CloudIdentity::issue_user_certificate`].
#[derive(Clone)]
pub struct IssuedCertificate {
    pub certificate_pem: String,
    /// PKCS#8 PEM; hand it to the user once, never store it.
    pub private_key_pem: String,
    /// 32 upper-case base32 characters derived from the certificate's
    /// SHA-256, like IAM's `CertificateId`.
    pub certificate_id: String,
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("certificate_id", &self.certificate_id)
            .field("certificate_pem", &self.certificate_pem)
            .finish_non_exhaustive()
    }
}

/// A self-signed signing certificate and its key, for a user without a cloud
/// to issue one (tests, tools).
#[derive(Clone)]
pub struct SigningCertificate {
    pub certificate_pem: String,
    pub private_key_pem: String,
}

impl fmt::Debug for SigningCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningCertificate")
            .field("certificate_pem", &self.certificate_pem)
            .finish_non_exhaustive()
    }
}

impl SigningCertificate {
    /// RSA-2048, self-signed, CN = `common_name`.
    pub fn generate(common_name: &str) -> Result<Self> {
        let key = generate_key()?;
        let mut params = base_params(common_name)?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = params.self_signed(&rcgen_key(&key)?).map_err(crypto_error)?;
        Ok(Self {
            certificate_pem: cert.pem(),
            private_key_pem: key.to_pkcs8_pem(LineEnding::LF).map_err(crypto_error)?.to_string(),
        })
    }
}

fn generate_key() -> Result<RsaPrivateKey> {
    RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS).map_err(crypto_error)
}

fn rcgen_key(key: &RsaPrivateKey) -> Result<KeyPair> {
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(crypto_error)?;
    KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256).map_err(crypto_error)
}

fn base_params(common_name: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, "Yukari");
    params.distinguished_name = name;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(10 * 365);
    let mut serial = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params)
}

fn self_signed_ca(key: &RsaPrivateKey, common_name: &str) -> Result<String> {
    let mut params = base_params(common_name)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(20 * 365);
    Ok(params.self_signed(&rcgen_key(key)?).map_err(crypto_error)?.pem())
}

/// IAM's `CertificateId` of a PEM certificate (as issued certificates get),
/// after checking that it is an X.509 certificate with an RSA key.
pub fn certificate_id_of_pem(pem: &str) -> Result<String> {
    crate::crypto::public_key_from_certificate_pem(pem)?;
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(crypto_error)?;
    Ok(certificate_id(&parsed.contents))
}

fn certificate_id(der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // Base32 of the 160 bits of the certificate's SHA-1: 32 characters. An
    // id only has to be unique, not collision-resistant against forgers.
    let mut digest = [0u8; 21];
    digest[..20].copy_from_slice(&sha1::Sha1::digest(der));
    (0..32)
        .map(|i| {
            let bit = i * 5;
            let pair = u16::from(digest[bit / 8]) << 8 | u16::from(digest[bit / 8 + 1]);
            let index = (pair >> (11 - bit % 8)) & 0x1f;
            char::from(ALPHABET[usize::from(index)])
        })
        .collect()
}

/// Writes `bytes` to `path` through a temporary file and a rename that does
/// not replace an existing file. Returns false when `path` already existed.
fn write_new_file(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> io::Result<bool> {
    fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    match file.persist_noclobber(path) {
        Ok(_) => {}
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e.error),
    }
    fs::File::open(dir)?.sync_all()?;
    Ok(true)
}

fn to_io(e: BundleError) -> io::Error {
    match e {
        BundleError::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}
