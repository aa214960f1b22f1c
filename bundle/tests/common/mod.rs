//! Keys shared by the integration tests: RSA generation is the slow part.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bundle::{Architecture, BundleOptions, CloudIdentity, IssuedCertificate};

pub struct Keys {
    pub _dir: tempfile::TempDir,
    pub dir: PathBuf,
    pub cloud: CloudIdentity,
    pub user: IssuedCertificate,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let cloud = CloudIdentity::load_or_create_for_region(dir.path(), "test-1").unwrap();
        let user = cloud.issue_user_certificate("123456789012", "alice").unwrap();
        Keys { dir: dir.path().to_owned(), _dir: dir, cloud, user }
    })
}

pub fn options(prefix: &str, image_size: u64) -> BundleOptions {
    let k = keys();
    BundleOptions::machine(
        prefix,
        Architecture::X86_64,
        "1234-5678-9012",
        image_size,
        k.user.certificate_pem.clone(),
        k.user.private_key_pem.clone(),
        k.cloud.cert_pem(),
    )
}

/// Deterministic, incompressible bytes (xorshift), so that sizes on disk are
/// predictable and the test does not need the rand crate.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The parts of a bundle on disk, as `unbundle` takes them.
pub fn parts_from_dir(dir: &Path, manifest: &bundle::Manifest) -> Vec<(String, std::fs::File)> {
    manifest
        .parts
        .iter()
        .map(|p| (p.filename.clone(), std::fs::File::open(dir.join(&p.filename)).unwrap()))
        .collect()
}
