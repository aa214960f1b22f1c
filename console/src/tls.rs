//! The console's TLS: its certificate (one the operator gives, or a
//! self-signed one made on first start and kept in the data directory),
//! its SHA-256 fingerprint (so that a user can check what the browser
//! shows), and the listener's upgrade: a connection whose first byte is a
//! TLS handshake (0x16) is served over TLS, any other as plain HTTP, which
//! the router answers with a redirect to https on the same port.
//!
//! rustls with the `ring` provider (no C toolchain beyond what `ring`
//! builds, no cmake), TLS 1.2 and 1.3, HTTP/1.1.

use api::serve::{Upgrade, Upgraded};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpStream;

/// The first byte of a TLS connection: a handshake record.
const HANDSHAKE: u8 = 0x16;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("{path} holds no usable PEM private key: {reason}")]
    BadKey { path: String, reason: String },
    #[error("cannot make a certificate: {0}")]
    Generate(String),
    #[error("the certificate and key do not go together: {0}")]
    Config(String),
}

/// Where the certificate and its key are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Made by Yukari on this start (not the operator's, not an earlier one).
    pub generated: bool,
}

/// The self-signed certificate's files in the data directory.
pub fn generated_files(data_dir: &Path) -> (PathBuf, PathBuf) {
    (data_dir.join("console-cert.pem"), data_dir.join("console-key.pem"))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io { path: path.display().to_string(), source }
}

/// Writes `bytes` to a new private file (0600), replacing any.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// The data directory's self-signed certificate, made now if it is not
/// there, for these host names and addresses (`localhost` and
/// `127.0.0.1` are always in).
pub fn load_or_generate(data_dir: &Path, hosts: &[String]) -> Result<CertFiles, TlsError> {
    let (cert, key) = generated_files(data_dir);
    if cert.exists() && key.exists() {
        return Ok(CertFiles { cert, key, generated: false });
    }
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
    for h in hosts {
        if !h.is_empty() && !names.contains(h) && h != "0.0.0.0" && h != "::" {
            names.push(h.clone());
        }
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "Yukari web console");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "Yukari");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let signing = rcgen::KeyPair::generate().map_err(|e| TlsError::Generate(e.to_string()))?;
    let made = params.self_signed(&signing).map_err(|e| TlsError::Generate(e.to_string()))?;
    // The key first: a certificate without its key would be kept on the
    // next start.
    write_private(&key, signing.serialize_pem().as_bytes())?;
    write_private(&cert, made.pem().as_bytes())?;
    Ok(CertFiles { cert, key, generated: true })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok).collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.display().to_string() });
    }
    Ok(certs)
}

/// The SHA-256 fingerprint of the (first) certificate in `cert`, as
/// browsers show it: `AB:CD:…`.
pub fn fingerprint(cert: &Path) -> Result<String, TlsError> {
    let certs = certificates(cert)?;
    let digest = Sha256::digest(certs[0].as_ref());
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// The server side of TLS for these files.
pub fn server_config(files: &CertFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = certificates(&files.cert)?;
    let key_bytes = std::fs::read(&files.key).map_err(io(&files.key))?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| TlsError::BadKey { path: files.key.display().to_string(), reason: e.to_string() })?;
    // rustls 0.23.48 deprecates ring's provider for lacking post-quantum
    // key exchange; aws-lc-rs, which has it, needs cmake and a long C
    // build (docs/adr/0012-web-console.md). X25519 and the NIST curves
    // stay.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The console listener's upgrade: TLS when the client starts a TLS
/// handshake, plain otherwise (to be redirected).
pub struct TlsOrPlain {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl TlsOrPlain {
    pub fn new(config: Arc<rustls::ServerConfig>) -> TlsOrPlain {
        TlsOrPlain { acceptor: tokio_rustls::TlsAcceptor::from(config) }
    }
}

impl Upgrade for TlsOrPlain {
    fn upgrade(
        &self,
        stream: TcpStream,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Upgraded>> + Send + 'static>> {
        let acceptor = self.acceptor.clone();
        Box::pin(async move {
            let mut first = [0u8; 1];
            if stream.peek(&mut first).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if first[0] == HANDSHAKE {
                let tls = acceptor.accept(stream).await?;
                Ok(Upgraded { io: Box::new(tls), secure: true })
            } else {
                Ok(Upgraded { io: Box::new(stream), secure: false })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_certificate_is_made_once_privately_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let made = load_or_generate(dir.path(), &["cloud.example".into()]).unwrap();
        assert!(made.generated);
        for path in [&made.cert, &made.key] {
            assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600, "{path:?}");
        }
        let print = fingerprint(&made.cert).unwrap();
        assert_eq!(print.len(), 32 * 3 - 1);
        assert!(print.chars().all(|c| c == ':' || c.is_ascii_hexdigit()));
        let again = load_or_generate(dir.path(), &[]).unwrap();
        assert!(!again.generated);
        assert_eq!(fingerprint(&again.cert).unwrap(), print, "the same certificate on the next start");
        server_config(&again).unwrap();
    }

    #[test]
    fn files_that_are_not_a_certificate_and_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let made = load_or_generate(dir.path(), &[]).unwrap();
        let swapped = CertFiles { cert: made.key.clone(), key: made.cert.clone(), generated: false };
        assert!(matches!(server_config(&swapped), Err(TlsError::NoCertificate { .. })));
        let other = tempfile::tempdir().unwrap();
        let second = load_or_generate(other.path(), &[]).unwrap();
        let mismatched = CertFiles { cert: made.cert.clone(), key: second.key, generated: false };
        assert!(server_config(&mismatched).is_err(), "a key that is not the certificate's");
    }
}
