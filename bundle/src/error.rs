//! The one error type of the crate.

use std::io;

/// Everything that can go wrong while making, reading or opening a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The manifest's signature does not match its signed elements under the
    /// given certificate.
    #[error("the manifest's signature does not verify with the given certificate")]
    BadSignature,
    /// A part's bytes do not hash to the digest the manifest gives for it.
    #[error("bundle part {part} does not match its SHA1 digest in the manifest")]
    PartDigestMismatch { part: String },
    /// The unpacked tar stream does not hash to the manifest's image digest.
    #[error("the image does not match the manifest's digest (expected {expected}, got {actual})")]
    ImageDigestMismatch { expected: String, actual: String },
    /// A part named in the manifest was not supplied (or not in its place).
    #[error("bundle part {part} is missing")]
    MissingPart { part: String },
    /// The image has a different size than was declared.
    #[error("the image is {actual} bytes, expected {expected}")]
    ImageSizeMismatch { expected: u64, actual: u64 },
    /// The manifest, a part or an argument is not what the format allows.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// A key, certificate, encryption or signature operation failed.
    #[error("cryptographic failure: {0}")]
    Crypto(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

pub type Result<T, E = BundleError> = std::result::Result<T, E>;

pub(crate) fn malformed(message: impl Into<String>) -> BundleError {
    BundleError::Malformed(message.into())
}

pub(crate) fn crypto(message: impl std::fmt::Display) -> BundleError {
    BundleError::Crypto(message.to_string())
}
