//! A node's download manifest, as Eucalyptus's node controllers got one:
//! what the controller tells a node about one bundled image it must boot.
//! The part URLs are presigned (the node holds no user's credentials), the
//! AES key and IV are sealed to the node's own key (never to the cloud's,
//! which stays on the controller), and the digests come from the manifest
//! RegisterImage verified, so that the node checks every byte it fetches
//! against what the image's owner signed.

use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};

use crate::crypto::{Aes128Bytes, decrypt_hex_text};
use crate::error::{Result, crypto, malformed};
use crate::unbundle::Layout;

/// The size of the RSA keys nodes make for themselves.
const NODE_KEY_BITS: usize = 2048;

/// One bundled image, for one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadManifest {
    /// The image id (`emi-…`, `eki-…`, `eri-…`).
    pub image: String,
    /// SHA1 (hex) of the bundle's tar stream: the image's identity in a
    /// node's cache (two registrations of one bundle share it).
    pub image_digest: String,
    pub image_size: u64,
    pub bundled_size: u64,
    /// The AES key and IV, as hex text sealed to the node's public key
    /// (the manifest's own encoding).
    pub encrypted_key: String,
    pub encrypted_iv: String,
    pub parts: Vec<DownloadPart>,
    /// When the part URLs stop working (Unix seconds).
    pub expires: u64,
}

/// One part: where to GET it and what it must hash to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadPart {
    /// The part's file name in the manifest (`disk.img.part.00`).
    pub name: String,
    /// A presigned URL.
    pub url: String,
    /// SHA1 (hex) of the part, from the signed manifest.
    pub sha1: String,
    pub size: u64,
}

impl DownloadManifest {
    /// What the parts must add up to, once the manifest's own fields are
    /// checked to be sane (a digest is 40 hex digits, so that it can name
    /// a file; the part sizes add up).
    pub fn layout(&self) -> Result<Layout> {
        if !is_sha1_hex(&self.image_digest) {
            return Err(malformed(format!("image digest {:?} is not 40 hex digits", self.image_digest)));
        }
        if let Some(part) = self.parts.iter().find(|p| !is_sha1_hex(&p.sha1)) {
            return Err(malformed(format!(
                "part {} has digest {:?}, not 40 hex digits",
                part.name, part.sha1
            )));
        }
        let total = self.parts.iter().try_fold(0u64, |sum, p| sum.checked_add(p.size));
        if total != Some(self.bundled_size) {
            return Err(malformed("the parts' sizes do not add up to the bundled size"));
        }
        Ok(Layout {
            parts: self.parts.iter().map(|p| (p.name.clone(), p.sha1.to_ascii_lowercase())).collect(),
            bundled_size: self.bundled_size,
            image_digest: self.image_digest.to_ascii_lowercase(),
            image_size: self.image_size,
        })
    }

    /// The AES key and IV, opened with the node's private key.
    pub fn key_iv(&self, node: &NodeKey) -> Result<(Aes128Bytes, Aes128Bytes)> {
        let key = decrypt_hex_text(&node.private, &self.encrypted_key, "the download manifest's key")?;
        let iv = decrypt_hex_text(&node.private, &self.encrypted_iv, "the download manifest's IV")?;
        Ok((key, iv))
    }
}

/// The name a node's cache keeps an unpacked image under: a digest (SHA1,
/// hex) of everything that makes it, the image's digest, each part's
/// digest, the AES key and IV. Only a manifest that could have made the
/// image finds it, whatever digest another bundle claims.
pub fn cache_name(layout: &Layout, key: &Aes128Bytes, iv: &Aes128Bytes) -> String {
    use sha1::{Digest, Sha1};
    let mut hash = Sha1::new();
    hash.update(layout.image_digest.as_bytes());
    for (_, digest) in &layout.parts {
        hash.update(b"\n");
        hash.update(digest.as_bytes());
    }
    hash.update(key);
    hash.update(iv);
    hex::encode(hash.finalize())
}

fn is_sha1_hex(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A node's own RSA key pair: made when the node first needs it, kept in
/// memory only (a restarted node makes another; the controller seals each
/// download manifest to the key the node sends with its request).
pub struct NodeKey {
    private: RsaPrivateKey,
    public_pem: String,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeKey(..)")
    }
}

impl NodeKey {
    pub fn generate() -> Result<NodeKey> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, NODE_KEY_BITS).map_err(crypto)?;
        let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF).map_err(crypto)?;
        Ok(NodeKey { private, public_pem })
    }

    /// The public key, PEM (`PUBLIC KEY`, SubjectPublicKeyInfo).
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }
}

/// A node's public key from the PEM it sent ([`NodeKey::public_pem`]).
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey> {
    RsaPublicKey::from_public_key_pem(pem)
        .map_err(|e| crypto(format_args!("not an RSA public key in PEM: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> DownloadManifest {
        DownloadManifest {
            image: "emi-00000001".into(),
            image_digest: "AB".repeat(20),
            image_size: 10,
            bundled_size: 7,
            encrypted_key: String::new(),
            encrypted_iv: String::new(),
            parts: vec![
                DownloadPart {
                    name: "a.part.00".into(),
                    url: "http://x/a".into(),
                    sha1: "0".repeat(40),
                    size: 4,
                },
                DownloadPart {
                    name: "a.part.01".into(),
                    url: "http://x/b".into(),
                    sha1: "1".repeat(40),
                    size: 3,
                },
            ],
            expires: 0,
        }
    }

    #[test]
    fn a_sane_manifest_gives_its_layout() {
        let layout = manifest().layout().unwrap();
        assert_eq!(layout.image_digest, "ab".repeat(20));
        assert_eq!(layout.parts[1], ("a.part.01".to_owned(), "1".repeat(40)));
        assert_eq!(layout.bundled_size, 7);
    }

    #[test]
    fn digests_that_cannot_name_a_file_and_sizes_that_do_not_add_up_are_refused() {
        let mut m = manifest();
        m.image_digest = "../../etc/passwd".into();
        assert!(m.layout().unwrap_err().to_string().contains("40 hex digits"));
        let mut m = manifest();
        m.parts[0].sha1 = "xyz".into();
        assert!(m.layout().unwrap_err().to_string().contains("a.part.00"));
        let mut m = manifest();
        m.bundled_size = 8;
        assert!(m.layout().unwrap_err().to_string().contains("add up"));
    }

    #[test]
    fn the_key_sealed_to_a_node_opens_with_its_private_key_only() {
        let node = NodeKey::generate().unwrap();
        let other = NodeKey::generate().unwrap();
        let public = public_key_from_pem(node.public_pem()).unwrap();
        let mut m = manifest();
        m.encrypted_key = crate::encrypt_hex_text(&public, &[7; 16]).unwrap();
        m.encrypted_iv = crate::encrypt_hex_text(&public, &[9; 16]).unwrap();
        assert_eq!(m.key_iv(&node).unwrap(), ([7; 16], [9; 16]));
        assert!(m.key_iv(&other).is_err());
        assert!(public_key_from_pem("not a key").is_err());
    }
}
