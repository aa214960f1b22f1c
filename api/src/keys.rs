//! Key pairs: making RSA 2048 and ed25519 keys, reading OpenSSH public
//! keys, and the fingerprints EC2 shows for each kind:
//! - RSA made by EC2: SHA-1 of the private key's PKCS#8 DER, colon-hex;
//! - RSA imported: MD5 of the public key's DER (SubjectPublicKeyInfo), colon-hex;
//! - ed25519 (made or imported): SHA-256 of the OpenSSH public key blob, base64.
//!
//! The private half is handed to the caller once and never kept.

use base64::Engine;
use md5::Digest as _;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use sha1::Sha1;
use sha2::Sha256;
use ssh_key::public::KeyData;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("Key is not in valid OpenSSH public key format")]
    Malformed,
    #[error("The key type {0} is not supported; use ssh-rsa or ssh-ed25519")]
    Unsupported(String),
    #[error("RSA keys must be 1024 to 4096 bits long")]
    BadSize,
    #[error("key generation failed: {0}")]
    Generation(String),
}

/// A key pair's public half as stored, and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicHalf {
    /// `rsa` or `ed25519`.
    pub key_type: String,
    /// The OpenSSH public key line, without a comment.
    pub public_key: String,
    pub fingerprint: String,
}

/// A new key pair: the private key to hand out once, and the public half.
pub struct NewKey {
    pub private_key: String,
    pub public: PublicHalf,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewKey({:?})", self.public)
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn openssh_line(data: KeyData) -> Result<String, KeyError> {
    ssh_key::PublicKey::from(data).to_openssh().map_err(|e| KeyError::Generation(e.to_string()))
}

fn ed25519_fingerprint(data: &KeyData) -> Result<String, KeyError> {
    let blob =
        ssh_key::PublicKey::from(data.clone()).to_bytes().map_err(|e| KeyError::Generation(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&blob)))
}

fn rsa_import_fingerprint(key: &rsa::RsaPublicKey) -> Result<String, KeyError> {
    let der = key.to_public_key_der().map_err(|e| KeyError::Generation(e.to_string()))?;
    Ok(colon_hex(&md5::Md5::digest(der.as_bytes())))
}

/// A new RSA 2048 key (private key in PEM, `BEGIN RSA PRIVATE KEY`, as EC2
/// hands it out).
pub fn generate_rsa() -> Result<NewKey, KeyError> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|e| KeyError::Generation(e.to_string()))?;
    let pem = private.to_pkcs1_pem(LineEnding::LF).map_err(|e| KeyError::Generation(e.to_string()))?;
    let pkcs8 = private.to_pkcs8_der().map_err(|e| KeyError::Generation(e.to_string()))?;
    let public = rsa::RsaPublicKey::from(&private);
    let data = KeyData::Rsa(
        ssh_key::public::RsaPublicKey::try_from(&public).map_err(|e| KeyError::Generation(e.to_string()))?,
    );
    Ok(NewKey {
        private_key: pem.to_string(),
        public: PublicHalf {
            key_type: "rsa".into(),
            public_key: openssh_line(data)?,
            fingerprint: colon_hex(&Sha1::digest(pkcs8.as_bytes())),
        },
    })
}

/// A new ed25519 key (private key in OpenSSH format, as EC2 hands it out).
pub fn generate_ed25519() -> Result<NewKey, KeyError> {
    let private = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
        .map_err(|e| KeyError::Generation(e.to_string()))?;
    let text =
        private.to_openssh(ssh_key::LineEnding::LF).map_err(|e| KeyError::Generation(e.to_string()))?;
    let data = private.public_key().key_data().clone();
    Ok(NewKey {
        private_key: text.to_string(),
        public: PublicHalf {
            key_type: "ed25519".into(),
            fingerprint: ed25519_fingerprint(&data)?,
            public_key: openssh_line(data)?,
        },
    })
}

/// Reads an OpenSSH public key (`ssh-rsa AAAA… comment` or
/// `ssh-ed25519 AAAA…`), as ImportKeyPair receives it.
pub fn import(text: &str) -> Result<PublicHalf, KeyError> {
    let key = ssh_key::PublicKey::from_openssh(text.trim()).map_err(|_| KeyError::Malformed)?;
    match key.key_data() {
        KeyData::Rsa(k) => {
            let public = rsa::RsaPublicKey::try_from(k).map_err(|_| KeyError::Malformed)?;
            let bits = rsa::traits::PublicKeyParts::size(&public) * 8;
            if !(1024..=4096).contains(&bits) {
                return Err(KeyError::BadSize);
            }
            Ok(PublicHalf {
                key_type: "rsa".into(),
                fingerprint: rsa_import_fingerprint(&public)?,
                public_key: openssh_line(key.key_data().clone())?,
            })
        }
        KeyData::Ed25519(_) => Ok(PublicHalf {
            key_type: "ed25519".into(),
            fingerprint: ed25519_fingerprint(key.key_data())?,
            public_key: openssh_line(key.key_data().clone())?,
        }),
        other => Err(KeyError::Unsupported(other.algorithm().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -t rsa -b 2048` and `ssh-keygen -t ed25519`; the
    // expected fingerprints with the commands AWS documents:
    //   ssh-keygen -f k.pub -e -m PKCS8 | openssl pkey -pubin -outform DER | openssl md5 -c
    //   ssh-keygen -l -E sha256 -f k.pub   (base64 part, padded)
    const RSA_PUB: &str = include_str!("keys_fixtures/rsa.pub");
    const RSA_MD5: &str = include_str!("keys_fixtures/rsa.md5");
    const ED_PUB: &str = include_str!("keys_fixtures/ed25519.pub");
    const ED_SHA256: &str = include_str!("keys_fixtures/ed25519.sha256");

    #[test]
    fn imported_keys_have_ec2s_fingerprints() {
        let rsa = import(RSA_PUB).unwrap();
        assert_eq!(rsa.key_type, "rsa");
        assert_eq!(rsa.fingerprint, RSA_MD5.trim());
        assert!(rsa.public_key.starts_with("ssh-rsa AAAA"));
        let ed = import(ED_PUB).unwrap();
        assert_eq!(ed.key_type, "ed25519");
        assert_eq!(ed.fingerprint, ED_SHA256.trim());
    }

    #[test]
    fn garbage_and_other_algorithms_are_refused() {
        assert_eq!(import("ssh-rsa not-base64"), Err(KeyError::Malformed));
        assert_eq!(import(""), Err(KeyError::Malformed));
        assert_eq!(import("-----BEGIN RSA PRIVATE KEY-----"), Err(KeyError::Malformed));
    }

    #[test]
    fn generated_keys_round_trip_through_import() {
        let ed = generate_ed25519().unwrap();
        assert!(ed.private_key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert_eq!(import(&ed.public.public_key).unwrap().fingerprint, ed.public.fingerprint);
        let rsa = generate_rsa().unwrap();
        assert!(rsa.private_key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        // The fingerprint of a made key is SHA-1 (20 bytes), of an imported one MD5 (16).
        assert_eq!(rsa.public.fingerprint.split(':').count(), 20);
        assert_eq!(import(&rsa.public.public_key).unwrap().fingerprint.split(':').count(), 16);
    }
}
