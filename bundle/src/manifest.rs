//! The bundle manifest (`PREFIX.manifest.xml`, version 2007-10-10): its
//! fields, how euca2ools 3 writes it, how it is read back, and the checks on
//! it (signature, key and IV).
//!
//! euca2ools builds the manifest with lxml and serializes it without pretty
//! printing and in ASCII, so the file is one line after the XML declaration;
//! the signature is RSA-SHA1 over `lxml.etree.tostring(machine_configuration)
//! + lxml.etree.tostring(image)`, i.e. exactly those two elements' text as it
//! appears in the file. [`Manifest::render`] writes the same bytes, and
//! [`Manifest::verify_signature`] checks the bytes as received.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rsa::{RsaPrivateKey, RsaPublicKey};

use crate::crypto::{self, Aes128Bytes};
use crate::error::{BundleError, Result, malformed};

/// The manifest format version euca2ools 3 writes.
pub const MANIFEST_VERSION: &str = "2007-10-10";

/// What an image runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    I386,
    X86_64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::I386 => "i386",
            Self::X86_64 => "x86_64",
        }
    }
}

impl FromStr for Architecture {
    type Err = BundleError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "i386" => Ok(Self::I386),
            "x86_64" => Ok(Self::X86_64),
            other => Err(malformed(format!("unsupported architecture {other:?}"))),
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of image a bundle holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Machine,
    Kernel,
    Ramdisk,
}

impl ImageType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Machine => "machine",
            Self::Kernel => "kernel",
            Self::Ramdisk => "ramdisk",
        }
    }
}

impl FromStr for ImageType {
    type Err = BundleError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "machine" => Ok(Self::Machine),
            "kernel" => Ok(Self::Kernel),
            "ramdisk" => Ok(Self::Ramdisk),
            other => Err(malformed(format!("unknown image type {other:?}"))),
        }
    }
}

/// The `bundler` element: which tool made the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundler {
    pub name: String,
    pub version: String,
    pub release: String,
}

/// One `part` of the `parts` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestPart {
    pub index: usize,
    /// The part's file name (no directory), e.g. `disk.img.part.00`.
    pub filename: String,
    /// Lower-case hex SHA1 of the part's bytes.
    pub digest: String,
    pub digest_algorithm: String,
}

/// A bundle manifest, all fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub version: String,
    pub bundler: Bundler,
    pub architecture: Architecture,
    /// virtual name → device, e.g. `root` → `/dev/sda1`. Written sorted by
    /// virtual name, as euca2ools does.
    pub block_device_mappings: BTreeMap<String, String>,
    pub product_codes: Vec<String>,
    pub kernel_id: Option<String>,
    pub ramdisk_id: Option<String>,
    /// The image's name: the bundle prefix.
    pub name: String,
    /// The owner's account id.
    pub account_id: String,
    pub image_type: ImageType,
    /// Lower-case hex SHA1 of the tar stream (not of the raw image).
    pub image_digest: String,
    pub image_digest_algorithm: String,
    /// The raw image's size in bytes.
    pub image_size: u64,
    /// The sum of the parts' sizes.
    pub bundled_size: u64,
    /// `AES-128-CBC`.
    pub encryption_algorithm: String,
    /// Hex of the RSA-encrypted hex text of the AES key, for the cloud.
    pub ec2_encrypted_key: String,
    /// The same for the bundling user; empty when the bundle was made
    /// without the user's certificate.
    pub user_encrypted_key: String,
    pub ec2_encrypted_iv: String,
    pub user_encrypted_iv: String,
    pub parts: Vec<ManifestPart>,
    /// Hex RSA-SHA1 signature (or `UNSIGNED`, which never verifies).
    pub signature: String,
    /// The bytes the signature covers, as they appear in the XML.
    pub(crate) signed_text: String,
}

impl Manifest {
    /// The exact text the signature covers: the `machine_configuration`
    /// element followed by the `image` element.
    pub fn signed_text(&self) -> &str {
        &self.signed_text
    }

    /// Checks the RSA-SHA1 signature against the signer's certificate (PEM),
    /// over the two elements' bytes as they were received.
    pub fn verify_signature(&self, signer_cert_pem: &str) -> Result<()> {
        let key = crypto::public_key_from_certificate_pem(signer_cert_pem)?;
        self.verify_signature_with(&key)
    }

    /// [`Manifest::verify_signature`] with a public key in hand.
    pub fn verify_signature_with(&self, signer: &RsaPublicKey) -> Result<()> {
        let signature = hex::decode(self.signature.trim()).map_err(|_| BundleError::BadSignature)?;
        crypto::verify_sha1(signer, self.signed_text.as_bytes(), &signature)
    }

    /// The AES key and IV, from `ec2_encrypted_key` / `ec2_encrypted_iv`,
    /// opened with the cloud's private key.
    pub fn decrypt_key_iv(&self, cloud_private_key: &RsaPrivateKey) -> Result<(Aes128Bytes, Aes128Bytes)> {
        let key = crypto::decrypt_hex_text(cloud_private_key, &self.ec2_encrypted_key, "ec2_encrypted_key")?;
        let iv = crypto::decrypt_hex_text(cloud_private_key, &self.ec2_encrypted_iv, "ec2_encrypted_iv")?;
        Ok((key, iv))
    }

    /// The AES key and IV from `user_encrypted_*`, opened with the bundling
    /// user's private key (what `euca-unbundle -k` does).
    pub fn decrypt_user_key_iv(
        &self,
        user_private_key: &RsaPrivateKey,
    ) -> Result<(Aes128Bytes, Aes128Bytes)> {
        let key = crypto::decrypt_hex_text(user_private_key, &self.user_encrypted_key, "user_encrypted_key")?;
        let iv = crypto::decrypt_hex_text(user_private_key, &self.user_encrypted_iv, "user_encrypted_iv")?;
        Ok((key, iv))
    }

    /// The building block of a node's download manifest: the key and IV
    /// opened with the cloud's key and sealed again, the same way (hex text,
    /// PKCS#1 v1.5, hex), to a node's public key.
    pub fn reencrypt_for(
        &self,
        cloud_private_key: &RsaPrivateKey,
        node_public_key: &RsaPublicKey,
    ) -> Result<ReencryptedKey> {
        let (key, iv) = self.decrypt_key_iv(cloud_private_key)?;
        Ok(ReencryptedKey {
            encrypted_key: crypto::encrypt_hex_text(node_public_key, &key)?,
            encrypted_iv: crypto::encrypt_hex_text(node_public_key, &iv)?,
        })
    }

    /// Reads a manifest. Unknown elements are ignored; missing required ones
    /// and unparsable numbers are [`BundleError::Malformed`]. The signature is
    /// not checked here.
    pub fn parse(xml: &str) -> Result<Self> {
        crate::parse::parse(xml)
    }

    /// Serializes the manifest the way euca2ools 3 does (compact, ASCII, XML
    /// declaration, no trailing newline).
    pub fn render(&self) -> String {
        crate::render::document(self)
    }
}

/// Key and IV sealed to another holder (a node): hex, as in the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReencryptedKey {
    pub encrypted_key: String,
    pub encrypted_iv: String,
}
