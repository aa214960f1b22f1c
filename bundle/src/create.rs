//! Making a bundle, the `euca-bundle-image` pipeline:
//! image → tar (one member named after the prefix) → SHA1 of the tar stream
//! → gzip → AES-128-CBC → parts of 10 MiB → signed manifest.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use rand::RngCore;
use sha1::{Digest, Sha1};

use crate::crypto::{self, Aes128Bytes, CbcWriter, Sha1Tee};
use crate::error::{BundleError, Result, crypto as crypto_error, malformed};
use crate::manifest::{Architecture, Bundler, ImageType, MANIFEST_VERSION, Manifest, ManifestPart};
use crate::render;

/// euca2ools' part size: 10 MiB.
pub const DEFAULT_PART_SIZE: u64 = 10 * 1024 * 1024;

/// Python's tarfile (and GNU tar) pad the archive to a 20-block record.
const TAR_RECORD: u64 = 20 * 512;

/// What to bundle and for whom.
#[derive(Clone, Debug)]
pub struct BundleOptions {
    /// The image's file name; the tar member's name and the files' prefix.
    pub prefix: String,
    pub arch: Architecture,
    pub image_type: ImageType,
    pub kernel_id: Option<String>,
    pub ramdisk_id: Option<String>,
    /// virtual name → device; written for machine images only.
    pub block_device_mappings: BTreeMap<String, String>,
    pub product_codes: Vec<String>,
    /// The owner's account id (dashes are removed, as euca2ools does).
    pub account_id: String,
    /// The user's X.509 certificate (PEM); `user_encrypted_*` are sealed to it.
    pub user_certificate_pem: String,
    /// The user's RSA private key (PEM, PKCS#8 or PKCS#1); signs the manifest.
    pub user_private_key_pem: String,
    /// The cloud's certificate (PEM); `ec2_encrypted_*` are sealed to it.
    pub cloud_certificate_pem: String,
    /// The exact number of bytes the input will yield.
    pub image_size: u64,
    pub part_size: u64,
}

impl BundleOptions {
    /// A machine image with the classic mappings
    /// ([`default_block_device_mappings`]) and 10 MiB parts.
    pub fn machine(
        prefix: impl Into<String>,
        arch: Architecture,
        account_id: impl Into<String>,
        image_size: u64,
        user_certificate_pem: impl Into<String>,
        user_private_key_pem: impl Into<String>,
        cloud_certificate_pem: impl Into<String>,
    ) -> Self {
        Self {
            prefix: prefix.into(),
            arch,
            image_type: ImageType::Machine,
            kernel_id: None,
            ramdisk_id: None,
            block_device_mappings: default_block_device_mappings(),
            product_codes: Vec::new(),
            account_id: account_id.into(),
            user_certificate_pem: user_certificate_pem.into(),
            user_private_key_pem: user_private_key_pem.into(),
            cloud_certificate_pem: cloud_certificate_pem.into(),
            image_size,
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

/// The mappings the euca2ools 1.x/2.x bundler wrote by default: `ami` →
/// `sda1`, `root` → `/dev/sda1`, `ephemeral0` → `sda2`, `swap` → `sda3`.
/// (euca2ools 3 writes none unless `-B` is given; empty the map to match.)
pub fn default_block_device_mappings() -> BTreeMap<String, String> {
    [("ami", "sda1"), ("root", "/dev/sda1"), ("ephemeral0", "sda2"), ("swap", "sda3")]
        .into_iter()
        .map(|(v, d)| (v.to_owned(), d.to_owned()))
        .collect()
}

/// What [`bundle_image`] wrote.
#[derive(Clone, Debug)]
pub struct BundleOutput {
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
    /// The parts, in order.
    pub part_paths: Vec<PathBuf>,
}

/// Bundles `input` (exactly `opts.image_size` bytes) into `out_dir`:
/// `PREFIX.part.00`, `PREFIX.part.01`, … and `PREFIX.manifest.xml`.
///
/// `progress` is called with the number of input bytes consumed so far.
/// Memory use is bounded (buffers of tens of KiB); the image is streamed.
/// On error, the files this call created are removed (best effort).
pub fn bundle_image(
    input: impl Read,
    opts: &BundleOptions,
    out_dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<BundleOutput> {
    check_options(opts)?;
    let user_key = crypto::private_key_from_pem(&opts.user_private_key_pem)?;
    let user_public = crypto::public_key_from_certificate_pem(&opts.user_certificate_pem)?;
    if user_public != rsa::RsaPublicKey::from(&user_key) {
        return Err(crypto_error("the user's certificate is not for the user's private key"));
    }
    let cloud_public = crypto::public_key_from_certificate_pem(&opts.cloud_certificate_pem)?;

    let mut key = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut key);
    rand::rngs::OsRng.fill_bytes(&mut iv);

    let mut parts = PartWriter::new(out_dir, &opts.prefix, opts.part_size);
    let manifest_path = out_dir.join(format!("{}.manifest.xml", opts.prefix));
    let result = (|| {
        let image_digest = write_parts(input, opts, &key, &iv, &mut parts, progress)?;
        let written = parts.finish()?;
        let mut manifest = Manifest {
            version: MANIFEST_VERSION.to_owned(),
            bundler: Bundler {
                name: "yukari".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                release: "0".to_owned(),
            },
            architecture: opts.arch,
            block_device_mappings: opts.block_device_mappings.clone(),
            product_codes: opts.product_codes.clone(),
            kernel_id: opts.kernel_id.clone(),
            ramdisk_id: opts.ramdisk_id.clone(),
            name: opts.prefix.clone(),
            account_id: opts.account_id.replace('-', ""),
            image_type: opts.image_type,
            image_digest,
            image_digest_algorithm: "SHA1".to_owned(),
            image_size: opts.image_size,
            bundled_size: written.iter().map(|p| p.size).sum(),
            encryption_algorithm: "AES-128-CBC".to_owned(),
            ec2_encrypted_key: crypto::encrypt_hex_text(&cloud_public, &key)?,
            user_encrypted_key: crypto::encrypt_hex_text(&user_public, &key)?,
            ec2_encrypted_iv: crypto::encrypt_hex_text(&cloud_public, &iv)?,
            user_encrypted_iv: crypto::encrypt_hex_text(&user_public, &iv)?,
            parts: written.iter().map(|p| p.entry.clone()).collect(),
            signature: String::new(),
            signed_text: String::new(),
        };
        manifest.signed_text = render::machine_configuration(&manifest) + &render::image(&manifest);
        manifest.signature = hex::encode(crypto::sign_sha1(&user_key, manifest.signed_text.as_bytes())?);
        parts.created.push(manifest_path.clone());
        fs::write(&manifest_path, manifest.render())?;
        Ok(BundleOutput {
            manifest,
            manifest_path: manifest_path.clone(),
            part_paths: written.into_iter().map(|p| p.path).collect(),
        })
    })();
    if result.is_err() {
        for path in &parts.created {
            let _ = fs::remove_file(path);
        }
    }
    result
}

fn check_options(opts: &BundleOptions) -> Result<()> {
    let p = opts.prefix.as_str();
    if p.is_empty() || p == "." || p == ".." || p.contains(['/', '\0']) {
        return Err(malformed(format!("bundle prefix {p:?} is not a plain file name")));
    }
    if opts.part_size == 0 {
        return Err(malformed("part size is zero"));
    }
    if opts.account_id.is_empty() {
        return Err(malformed("account id is empty"));
    }
    let texts = [p, opts.account_id.as_str()]
        .into_iter()
        .chain(opts.kernel_id.as_deref())
        .chain(opts.ramdisk_id.as_deref())
        .chain(opts.product_codes.iter().map(String::as_str))
        .chain(opts.block_device_mappings.iter().flat_map(|(v, d)| [v.as_str(), d.as_str()]));
    for text in texts {
        if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
            return Err(malformed(format!("{text:?} holds a control character XML cannot carry")));
        }
    }
    Ok(())
}

/// Runs the byte pipeline into `parts` and returns the tar stream's SHA1.
fn write_parts(
    input: impl Read,
    opts: &BundleOptions,
    key: &Aes128Bytes,
    iv: &Aes128Bytes,
    parts: &mut PartWriter,
    progress: &mut dyn FnMut(u64),
) -> Result<String> {
    let encrypted = CbcWriter::new(parts, key, iv);
    let gzip = GzEncoder::new(encrypted, Compression::default());
    let mut tar = tar::Builder::new(Sha1Tee::new(gzip));

    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(opts.image_size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    let mut image = Progress { inner: input.take(opts.image_size), count: 0, progress };
    tar.append_data(&mut header, &opts.prefix, &mut image)?;
    if image.count != opts.image_size {
        return Err(BundleError::ImageSizeMismatch { expected: opts.image_size, actual: image.count });
    }
    let mut rest = image.inner.into_inner();
    if rest.read(&mut [0u8; 1])? != 0 {
        return Err(malformed(format!(
            "the image is longer than its declared size of {} bytes",
            opts.image_size
        )));
    }

    let mut tee = tar.into_inner()?;
    let short = (TAR_RECORD - tee.count % TAR_RECORD) % TAR_RECORD;
    io::copy(&mut io::repeat(0).take(short), &mut tee)?;
    let digest = tee.hex_digest();
    tee.inner.finish()?.finish()?;
    Ok(digest)
}

struct Progress<'p, R> {
    inner: R,
    count: u64,
    progress: &'p mut dyn FnMut(u64),
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.count += n as u64;
            (self.progress)(self.count);
        }
        Ok(n)
    }
}

struct WrittenPart {
    path: PathBuf,
    size: u64,
    entry: ManifestPart,
}

struct OpenPart {
    file: File,
    path: PathBuf,
    filename: String,
    hasher: Sha1,
    size: u64,
}

/// Cuts the encrypted stream into `PREFIX.part.NN` files. Like euca2ools, a
/// stream that ends exactly on a part boundary gets a last, empty part.
struct PartWriter {
    dir: PathBuf,
    prefix: String,
    part_size: u64,
    current: Option<OpenPart>,
    done: Vec<WrittenPart>,
    created: Vec<PathBuf>,
}

impl PartWriter {
    fn new(dir: &Path, prefix: &str, part_size: u64) -> Self {
        Self {
            dir: dir.to_owned(),
            prefix: prefix.to_owned(),
            part_size,
            current: None,
            done: Vec::new(),
            created: Vec::new(),
        }
    }

    fn open_next(&mut self) -> io::Result<OpenPart> {
        let filename = part_file_name(&self.prefix, self.done.len());
        let path = self.dir.join(&filename);
        self.created.push(path.clone());
        Ok(OpenPart { file: File::create(&path)?, path, filename, hasher: Sha1::new(), size: 0 })
    }

    fn close(&mut self, part: OpenPart) -> io::Result<()> {
        part.file.sync_all()?;
        self.done.push(WrittenPart {
            path: part.path,
            size: part.size,
            entry: ManifestPart {
                index: self.done.len(),
                filename: part.filename,
                digest: hex::encode(part.hasher.finalize()),
                digest_algorithm: "SHA1".to_owned(),
            },
        });
        Ok(())
    }

    fn finish(&mut self) -> io::Result<Vec<WrittenPart>> {
        let last = match self.current.take() {
            Some(open) => open,
            None => self.open_next()?,
        };
        self.close(last)?;
        Ok(std::mem::take(&mut self.done))
    }
}

impl Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut part = match self.current.take() {
            Some(open) => open,
            None => self.open_next()?,
        };
        let room = usize::try_from(self.part_size - part.size).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        part.file.write_all(&buf[..n])?;
        part.hasher.update(&buf[..n]);
        part.size += n as u64;
        if part.size == self.part_size {
            self.close(part)?;
        } else {
            self.current = Some(part);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.current {
            Some(part) => part.file.flush(),
            None => Ok(()),
        }
    }
}

/// `PREFIX.part.NN`: at least two digits, more from part 100 on
/// (euca2ools formats the index with `{:02}`).
pub fn part_file_name(prefix: &str, index: usize) -> String {
    format!("{prefix}.part.{index:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_have_two_digits_then_grow() {
        assert_eq!(part_file_name("a.img", 0), "a.img.part.00");
        assert_eq!(part_file_name("a.img", 9), "a.img.part.09");
        assert_eq!(part_file_name("a.img", 99), "a.img.part.99");
        assert_eq!(part_file_name("a.img", 100), "a.img.part.100");
    }

    #[test]
    fn a_stream_ending_on_a_boundary_gets_an_empty_last_part() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = PartWriter::new(dir.path(), "x", 4);
        parts.write_all(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let written = parts.finish().unwrap();
        let sizes: Vec<u64> = written.iter().map(|p| p.size).collect();
        assert_eq!(sizes, [4, 4, 0]);
        assert_eq!(written[2].entry.filename, "x.part.02");
        assert_eq!(fs::read(dir.path().join("x.part.01")).unwrap(), [5, 6, 7, 8]);
    }
}
