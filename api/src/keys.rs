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

/// An SSH `mpint`'s magnitude, big-endian, without leading zeros; a
/// negative one is no RSA component.
fn unsigned(n: &ssh_key::Mpint) -> Result<&[u8], KeyError> {
    let bytes = n.as_positive_bytes().ok_or(KeyError::Malformed)?;
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    Ok(&bytes[start..])
}

/// How many bits a big-endian magnitude without leading zeros has.
fn bit_length(n: &[u8]) -> usize {
    n.first().map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// Why a key ssh-key cannot read is refused. This build of ssh-key reads
/// only the key types Yukari takes (and DSA and `…@domain` ones), so a
/// well-formed key of another known type (ECDSA, security keys) fails to
/// read as one: it is unsupported, not malformed. Well-formed: its blob is
/// base64 and names the same type as the line (RFC 4253 section 6.6).
fn unreadable(text: &str) -> KeyError {
    let mut words = text.split_whitespace();
    let (Some(kind), Some(blob)) = (words.next(), words.next()) else { return KeyError::Malformed };
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(blob) else {
        return KeyError::Malformed;
    };
    let named = blob
        .get(..4)
        .and_then(|len| usize::try_from(u32::from_be_bytes([len[0], len[1], len[2], len[3]])).ok())
        .and_then(|len| blob.get(4..4usize.checked_add(len)?));
    if named != Some(kind.as_bytes()) {
        return KeyError::Malformed;
    }
    match ssh_key::Algorithm::new(kind) {
        Ok(ssh_key::Algorithm::Rsa { .. } | ssh_key::Algorithm::Ed25519) | Err(_) => KeyError::Malformed,
        Ok(_) => KeyError::Unsupported(kind.to_owned()),
    }
}

/// Reads an OpenSSH public key (`ssh-rsa AAAA… comment` or
/// `ssh-ed25519 AAAA…`), as ImportKeyPair receives it.
pub fn import(text: &str) -> Result<PublicHalf, KeyError> {
    let text = text.trim();
    let key = ssh_key::PublicKey::from_openssh(text).map_err(|_| unreadable(text))?;
    match key.key_data() {
        KeyData::Rsa(k) => {
            // The size from the modulus itself: ssh-key's conversion to an
            // `rsa` key refuses keys under 2048 bits, and `rsa` refuses
            // keys over 4096, both before the size could be checked here.
            let n = unsigned(&k.n)?;
            if !(1024..=4096).contains(&bit_length(n)) {
                return Err(KeyError::BadSize);
            }
            let e = unsigned(&k.e)?;
            let public =
                rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e))
                    .map_err(|_| KeyError::Malformed)?;
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

    // Made with `ssh-keygen -t rsa -b BITS` and `ssh-keygen -t ecdsa`; the
    // expected fingerprints with the command above.
    const RSA_1024: (&str, &str) =
        (include_str!("keys_fixtures/rsa1024.pub"), include_str!("keys_fixtures/rsa1024.md5"));
    const RSA_1536: (&str, &str) =
        (include_str!("keys_fixtures/rsa1536.pub"), include_str!("keys_fixtures/rsa1536.md5"));
    const RSA_4096: (&str, &str) =
        (include_str!("keys_fixtures/rsa4096.pub"), include_str!("keys_fixtures/rsa4096.md5"));
    const RSA_8192: &str = include_str!("keys_fixtures/rsa8192.pub");
    const ECDSA: &str = include_str!("keys_fixtures/ecdsa.pub");

    /// RSA keys of 1024 to 4096 bits are taken with EC2's fingerprint
    /// (before, those under 2048 bits were refused as malformed); longer
    /// ones are refused for their size, ECDSA ones for their type (before,
    /// both as malformed).
    #[test]
    fn rsa_keys_of_1024_to_4096_bits_are_taken_and_others_refused_for_what_they_are() {
        let keys = [
            ("rsa 1024", RSA_1024.0),
            ("rsa 1536", RSA_1536.0),
            ("rsa 2048", RSA_PUB),
            ("rsa 4096", RSA_4096.0),
            ("rsa 8192", RSA_8192),
            ("ecdsa", ECDSA),
        ];
        let got: Vec<(&str, Result<String, String>)> = keys
            .iter()
            .map(|(what, public)| (*what, import(public).map(|k| k.fingerprint).map_err(|e| e.to_string())))
            .collect();
        let taken = |md5: &str| Ok(md5.trim().to_owned());
        assert_eq!(
            got,
            [
                ("rsa 1024", taken(RSA_1024.1)),
                ("rsa 1536", taken(RSA_1536.1)),
                ("rsa 2048", taken(RSA_MD5)),
                ("rsa 4096", taken(RSA_4096.1)),
                ("rsa 8192", Err("RSA keys must be 1024 to 4096 bits long".into())),
                (
                    "ecdsa",
                    Err("The key type ecdsa-sha2-nistp256 is not supported; use ssh-rsa or ssh-ed25519"
                        .into())
                ),
            ]
        );
        for (_, public) in &keys[..4] {
            let imported = import(public).unwrap();
            assert_eq!(imported.key_type, "rsa");
            assert_eq!(public.split_whitespace().take(2).collect::<Vec<_>>().join(" "), imported.public_key);
        }
    }

    #[test]
    fn the_bit_length_of_a_modulus_counts_its_top_byte_exactly() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0, 0]), 23);
    }

    #[test]
    fn garbage_and_other_algorithms_are_refused() {
        // A line naming ECDSA whose blob is something else is malformed.
        let ed_blob = ED_PUB.split_whitespace().nth(1).unwrap();
        assert_eq!(import(&format!("ecdsa-sha2-nistp256 {ed_blob}")), Err(KeyError::Malformed));
        assert_eq!(import("ecdsa-sha2-nistp256 AAAA"), Err(KeyError::Malformed));
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
