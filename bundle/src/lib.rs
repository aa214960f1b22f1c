//! Machine image bundles, wire-compatible with euca2ools 3
//! (`euca-bundle-image`, `euca-unbundle`), and the cloud's own certificate.
//!
//! This crate owns the bundle format: the tar → gzip → AES-128-CBC → parts
//! pipeline, the signed `PREFIX.manifest.xml`, and the RSA keys and X.509
//! certificates the format needs (the cloud's, and users' signing
//! certificates issued by it). It is a pure library over `std::io`: it must
//! not know about HTTP, S3 buckets, image registration or the event log.
//! Callers fetch and store the bytes; this crate makes and checks them.

mod create;
mod crypto;
mod download;
mod error;
mod identity;
mod manifest;
mod parse;
mod render;
mod unbundle;

pub use create::{
    BundleOptions, BundleOutput, DEFAULT_PART_SIZE, bundle_image, default_block_device_mappings,
    part_file_name,
};
pub use crypto::{
    Aes128Bytes, decrypt_hex_text, encrypt_hex_text, private_key_from_pem, public_key_from_certificate_pem,
};
pub use download::{DownloadManifest, DownloadPart, NodeKey, cache_name, public_key_from_pem};
pub use error::{BundleError, Result};
pub use identity::{CloudIdentity, IssuedCertificate, SigningCertificate, certificate_id_of_pem};
pub use manifest::{
    Architecture, Bundler, ImageType, MANIFEST_VERSION, Manifest, ManifestPart, ReencryptedKey,
};
pub use unbundle::{Layout, PartName, UnbundleReport, unbundle, unbundle_layout};

/// The RSA key types of the public API.
pub use rsa::{RsaPrivateKey, RsaPublicKey};
