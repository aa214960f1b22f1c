//! The master key and sealed secrets. Secret access keys are stored in the
//! log only sealed (ChaCha20-Poly1305) with a key kept in a file beside the
//! log, never in it: a copy of the log alone reveals no secret.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use domain::SealedSecret;
use rand::RngCore;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read or write the master key {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the master key {0} is not 32 bytes long")]
    BadKey(String),
}

/// The key that seals secrets. Its Debug output never shows it.
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Reads the key file, creating it (mode 0600) with a new random key
    /// when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, SecretError> {
        let io = |source| SecretError::Io { path: path.display().to_string(), source };
        match std::fs::read(path) {
            Ok(bytes) if bytes.len() == 32 => Ok(MasterKey(*Key::from_slice(&bytes))),
            Ok(_) => Err(SecretError::BadKey(path.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                file.write_all(&key).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(MasterKey(*Key::from_slice(&key)))
            }
            Err(e) => Err(io(e)),
        }
    }

    #[cfg(test)]
    pub fn for_tests(byte: u8) -> MasterKey {
        MasterKey(*Key::from_slice(&[byte; 32]))
    }

    /// A key for another purpose, derived from this one (HMAC-SHA256 of the
    /// label): knowing it reveals nothing about the master key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::Mac;
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(self.0.as_slice()).expect("any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `secret`, bound to `context` (the access key id): a sealed
    /// secret moved to another key id does not open.
    pub fn seal(&self, secret: &str, context: &str) -> SealedSecret {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        self.seal_with_nonce(secret, context, nonce)
    }

    /// [`Self::seal`] with a nonce the caller drew (random: a nonce is never
    /// used twice with one key; the deterministic simulator's is seeded).
    pub fn seal_with_nonce(&self, secret: &str, context: &str, nonce: [u8; 12]) -> SealedSecret {
        let cipher = ChaCha20Poly1305::new(&self.0);
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret.as_bytes(), aad: context.as_bytes() })
            .expect("sealing in memory cannot fail");
        SealedSecret { nonce: nonce.to_vec(), ciphertext }
    }

    /// The secret, or `None` when it was sealed with another key or context
    /// or was altered.
    pub fn open(&self, sealed: &SealedSecret, context: &str) -> Option<String> {
        if sealed.nonce.len() != 12 {
            return None;
        }
        let cipher = ChaCha20Poly1305::new(&self.0);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload { msg: &sealed.ciphertext, aad: context.as_bytes() },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// A new secret access key: 40 characters of base64 alphabet, like AWS's.
pub fn new_secret_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = [0u8; 40];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[(*b & 63) as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_context() {
        let key = MasterKey::for_tests(1);
        let sealed = key.seal("s3cr3t", "AKIA1");
        assert!(!sealed.ciphertext.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(key.open(&sealed, "AKIA1").as_deref(), Some("s3cr3t"));
        assert_eq!(key.open(&sealed, "AKIA2"), None);
        assert_eq!(MasterKey::for_tests(2).open(&sealed, "AKIA1"), None);
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(key.open(&tampered, "AKIA1"), None);
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        let b = MasterKey::load_or_create(&path).unwrap();
        let sealed = a.seal("x", "c");
        assert_eq!(b.open(&sealed, "c").as_deref(), Some("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(MasterKey::load_or_create(&path), Err(SecretError::BadKey(_))));
    }

    #[test]
    fn secret_keys_look_like_aws_ones() {
        let s = new_secret_key();
        assert_eq!(s.len(), 40);
        assert_ne!(s, new_secret_key());
    }
}
