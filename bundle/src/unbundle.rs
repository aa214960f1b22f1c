//! Opening a bundle, the `euca-unbundle` pipeline in reverse: parts (each
//! checked against its SHA1 before a byte of it is used) → AES-128-CBC →
//! gunzip → tar (the one member is the image) → image digest check.

use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::read::MultiGzDecoder;
use tempfile::SpooledTempFile;

use crate::crypto::{Aes128Bytes, CbcReader, Sha1Tee};
use crate::error::{BundleError, Result, malformed};
use crate::manifest::Manifest;

/// A part's file name as the manifest lists it, e.g. `disk.img.part.03`.
pub type PartName = String;

/// Parts up to this size are checked in memory, larger ones in a temporary
/// file.
const SPOOL_IN_MEMORY: usize = 16 * 1024 * 1024;

/// What a bundle's parts must add up to: the part names and digests and
/// the sizes and digest of what they hold. A signed [`Manifest`] gives it
/// ([`Layout::of_manifest`]), and so does a node's download manifest
/// ([`crate::DownloadManifest::layout`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `(file name, lower-case hex SHA1)` of each part, in order.
    pub parts: Vec<(PartName, String)>,
    /// The sum of the parts' sizes.
    pub bundled_size: u64,
    /// SHA1 (hex) of the tar stream.
    pub image_digest: String,
    pub image_size: u64,
}

impl Layout {
    /// The layout a manifest describes, once its algorithms are checked to
    /// be the ones this crate opens (SHA1 and AES-128-CBC).
    pub fn of_manifest(manifest: &Manifest) -> Result<Layout> {
        check_algorithms(manifest)?;
        Ok(Layout {
            parts: manifest.parts.iter().map(|p| (p.filename.clone(), p.digest.clone())).collect(),
            bundled_size: manifest.bundled_size,
            image_digest: manifest.image_digest.clone(),
            image_size: manifest.image_size,
        })
    }
}

/// What [`unbundle`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnbundleReport {
    /// The tar member's name (the bundle's prefix when made by euca2ools).
    pub member_name: String,
    /// Bytes written to `out`.
    pub image_size: u64,
    /// The SHA1 of the tar stream, equal to the manifest's.
    pub image_digest: String,
    pub parts: usize,
}

/// Unpacks a bundle into `out`.
///
/// `parts` must yield every part of `manifest`, in order, under the name the
/// manifest gives it; each is read whole and checked (SHA1, and that the
/// parts add up to `bundled_size`) before its bytes are decrypted. `key` and
/// `iv` come from [`Manifest::decrypt_key_iv`]. Check the manifest's
/// signature first ([`Manifest::verify_signature`]): the part digests are
/// only as trustworthy as the manifest.
///
/// On error `out` has received an unknown prefix of the image, possibly not
/// the real one: the caller must discard whatever was written.
pub fn unbundle<R: Read>(
    parts: impl IntoIterator<Item = (PartName, R)>,
    manifest: &Manifest,
    key: &Aes128Bytes,
    iv: &Aes128Bytes,
    out: impl Write,
) -> Result<UnbundleReport> {
    unbundle_layout(parts, &Layout::of_manifest(manifest)?, key, iv, out)
}

/// [`unbundle`] against a [`Layout`] (a node's download manifest): the same
/// checks, part by part and of the whole.
pub fn unbundle_layout<R: Read>(
    parts: impl IntoIterator<Item = (PartName, R)>,
    layout: &Layout,
    key: &Aes128Bytes,
    iv: &Aes128Bytes,
    mut out: impl Write,
) -> Result<UnbundleReport> {
    let mut source =
        VerifiedParts { layout, parts: parts.into_iter(), next: 0, current: None, total: 0, failure: None };
    let outcome = decode(&mut source, key, iv, &mut out);
    if let Some(failure) = source.failure.take() {
        return Err(failure);
    }
    let (member_name, image_size, image_digest) = outcome?;
    if source.total != layout.bundled_size {
        return Err(malformed(format!(
            "the parts hold {} bytes, the manifest's bundled_size is {}",
            source.total, layout.bundled_size
        )));
    }
    if source.parts.next().is_some() {
        return Err(malformed("more parts were given than the manifest lists"));
    }
    if !image_digest.eq_ignore_ascii_case(&layout.image_digest) {
        return Err(BundleError::ImageDigestMismatch {
            expected: layout.image_digest.clone(),
            actual: image_digest,
        });
    }
    if image_size != layout.image_size {
        return Err(BundleError::ImageSizeMismatch { expected: layout.image_size, actual: image_size });
    }
    out.flush()?;
    Ok(UnbundleReport { member_name, image_size, image_digest, parts: layout.parts.len() })
}

fn check_algorithms(manifest: &Manifest) -> Result<()> {
    let sha1 = |alg: &str| alg.eq_ignore_ascii_case("SHA1") || alg.eq_ignore_ascii_case("SHA-1");
    if !sha1(&manifest.image_digest_algorithm) {
        return Err(malformed(format!(
            "image digest algorithm {:?} is not SHA1",
            manifest.image_digest_algorithm
        )));
    }
    if let Some(part) = manifest.parts.iter().find(|p| !sha1(&p.digest_algorithm)) {
        return Err(malformed(format!(
            "part {} has digest algorithm {:?}, not SHA1",
            part.filename, part.digest_algorithm
        )));
    }
    if !manifest.encryption_algorithm.eq_ignore_ascii_case("AES-128-CBC") {
        return Err(malformed(format!(
            "encryption algorithm {:?} is not AES-128-CBC",
            manifest.encryption_algorithm
        )));
    }
    Ok(())
}

/// Decrypts, gunzips and un-tars; returns the member's name, its size and
/// the SHA1 of the whole tar stream.
fn decode(
    source: impl Read,
    key: &Aes128Bytes,
    iv: &Aes128Bytes,
    out: &mut impl Write,
) -> Result<(String, u64, String)> {
    let mut tar_stream = Sha1Tee::new(MultiGzDecoder::new(CbcReader::new(source, key, iv)));
    let (name, written) = {
        let mut archive = tar::Archive::new(&mut tar_stream);
        let mut entries = archive.entries()?;
        let mut entry = entries.next().ok_or_else(|| malformed("the tar stream holds no file"))??;
        if !matches!(entry.header().entry_type(), tar::EntryType::Regular | tar::EntryType::Continuous) {
            return Err(malformed("the tar stream's first member is not a regular file"));
        }
        let name = entry.path()?.to_string_lossy().into_owned();
        let expected = entry.size();
        let written = io::copy(&mut entry, out)?;
        if written != expected {
            return Err(malformed("the tar stream ends inside the image"));
        }
        (name, written)
    };
    // The digest covers the whole tar stream, end blocks and padding too.
    io::copy(&mut tar_stream, &mut io::sink())?;
    Ok((name, written, tar_stream.hex_digest()))
}

/// The parts as one stream, each verified before it is handed on. The first
/// failure is kept typed in `failure` (the readers above see an io::Error).
struct VerifiedParts<'m, I> {
    layout: &'m Layout,
    parts: I,
    next: usize,
    current: Option<SpooledTempFile>,
    total: u64,
    failure: Option<BundleError>,
}

impl<R: Read, I: Iterator<Item = (PartName, R)>> VerifiedParts<'_, I> {
    fn load_next(&mut self) -> Result<SpooledTempFile> {
        let (expected_name, expected_digest) = &self.layout.parts[self.next];
        let missing = || BundleError::MissingPart { part: expected_name.clone() };
        let (name, mut reader) = self.parts.next().ok_or_else(missing)?;
        if &name != expected_name {
            return Err(missing());
        }
        let room = self.layout.bundled_size.saturating_sub(self.total);
        let mut spool = Sha1Tee::new(SpooledTempFile::new(SPOOL_IN_MEMORY));
        io::copy(&mut (&mut reader).take(room.saturating_add(1)), &mut spool)?;
        if spool.count > room {
            return Err(malformed(format!("part {name} makes the bundle larger than its bundled_size")));
        }
        if !spool.hex_digest().eq_ignore_ascii_case(expected_digest) {
            return Err(BundleError::PartDigestMismatch { part: name });
        }
        self.total += spool.count;
        self.next += 1;
        let mut file = spool.inner;
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    }
}

impl<R: Read, I: Iterator<Item = (PartName, R)>> Read for VerifiedParts<'_, I> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(current) = &mut self.current {
                let n = current.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            if self.failure.is_some() {
                return Err(io::Error::other("an earlier part failed its check"));
            }
            if self.next == self.layout.parts.len() {
                return Ok(0);
            }
            match self.load_next() {
                Ok(file) => self.current = Some(file),
                Err(failure) => {
                    let message = failure.to_string();
                    self.failure = Some(failure);
                    return Err(io::Error::other(message));
                }
            }
        }
    }
}
