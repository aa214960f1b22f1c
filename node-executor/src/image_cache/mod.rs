//! The node's cache of bundled images, Eucalyptus's NC image cache: an
//! image registered from a Walrus bundle is fetched once per node, checked
//! part by part against the digests its owner signed, decrypted and
//! unpacked into a file named by the bundle's digest, and shared by every
//! instance of it (each guest writes to its own overlay, never to it).
//!
//! Where the bundle comes from is an [`ImageSource`] the binary provides
//! (this crate must not know HTTP): it asks the controller for a download
//! manifest sealed to this node's key and opens the presigned part URLs.
//! A part that does not match its digest, or an image that does not match
//! the manifest's, fails the launch and leaves nothing in the cache: no
//! guest ever boots a damaged image.

use crate::libvirt::set_mode;
use bundle::{BundleError, DownloadManifest, DownloadPart, NodeKey, PartName};
use domain::{ImageId, InstanceId};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Instant, SystemTime};

/// Where a node gets bundled images from.
pub trait ImageSource: Send + Sync + 'static {
    /// The download manifest of `image` (the machine image, kernel or
    /// ramdisk of `instance`, placed on this node), its key sealed to the
    /// public key `node_key_pem`. The error is the controller's reason.
    fn download_manifest(
        &self,
        instance: &InstanceId,
        image: &ImageId,
        node_key_pem: &str,
    ) -> Result<DownloadManifest, String>;

    /// The bytes at a part's presigned URL, as they arrive.
    fn open_part(&self, part: &DownloadPart) -> Result<Box<dyn Read + Send>, String>;
}

/// Why an image could not be had. Its text is what the instance's
/// `stateReason` says.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image {image} cannot be fetched: this node has no way to reach Walrus")]
    NoSource { image: ImageId },
    #[error("image {image} is not available: {reason}")]
    Unavailable { image: ImageId, reason: String },
    #[error("image {image} is damaged in Walrus ({reason}); it was not used")]
    Damaged { image: ImageId, reason: String },
    #[error("image {image} could not be downloaded: {reason}")]
    Download { image: ImageId, reason: String },
    #[error("this node cannot make its RSA key: {0}")]
    Key(String),
    #[error("image {image} cannot be stored on this node: {source}")]
    Store { image: ImageId, source: io::Error },
}

/// Bundled images on this node, by digest, in one folder, with the
/// images each guest holds in `in-use/<instance-id>` (kept across
/// restarts; released when the guest is destroyed).
pub struct ImageCache {
    dir: PathBuf,
    /// Past this many bytes, the least recently used images no guest
    /// holds are removed (after each fetch).
    limit: Option<u64>,
    source: OnceLock<Arc<dyn ImageSource>>,
    key: OnceLock<NodeKey>,
    /// One fetch at a time per image (two guests of a new image wait
    /// for one download).
    fetching: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Held while holds are recorded and images marked used, and while
    /// images are trimmed.
    trimming: Mutex<()>,
}

impl std::fmt::Debug for ImageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageCache").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// The suffix of a file being written; such files are removed on start.
const PARTIAL: &str = "partial";
/// The folder of the images each guest holds.
const IN_USE: &str = "in-use";

impl ImageCache {
    /// The cache in `dir` (made if missing, readable by QEMU's user);
    /// files a crash left half-written are removed.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<ImageCache> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        set_mode(&dir, 0o755)?;
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == PARTIAL) {
                fs::remove_file(&path)?;
            }
        }
        fs::create_dir_all(dir.join(IN_USE))?;
        for entry in fs::read_dir(dir.join(IN_USE))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == PARTIAL) {
                fs::remove_file(&path)?;
            }
        }
        Ok(ImageCache {
            dir,
            limit: None,
            source: OnceLock::new(),
            key: OnceLock::new(),
            fetching: Mutex::new(HashMap::new()),
            trimming: Mutex::new(()),
        })
    }

    /// Keeps the cache under `bytes`, as far as the images guests hold allow.
    pub fn with_limit(mut self, bytes: u64) -> Self {
        self.limit = Some(bytes);
        self
    }

    /// Gives the cache its source, once (the controller may come up after
    /// the driver is made).
    pub fn connect(&self, source: Arc<dyn ImageSource>) {
        let _ = self.source.set(source);
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The images held, by digest (sorted).
    pub fn cached(&self) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = self.images()?.into_iter().map(|(name, _, _)| name).collect();
        names.sort();
        Ok(names)
    }

    /// Every whole image: its digest, size and last use.
    fn images(&self) -> io::Result<Vec<(String, u64, SystemTime)>> {
        let mut images = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_file() && !name.ends_with(PARTIAL) {
                images.push((name, meta.len(), meta.modified()?));
            }
        }
        Ok(images)
    }

    /// `instance` holds the image `digest` (its guest boots from it).
    fn hold(&self, instance: &InstanceId, digest: &str) -> io::Result<()> {
        let path = self.dir.join(IN_USE).join(instance.as_str());
        let held = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        if held.lines().any(|l| l == digest) {
            return Ok(());
        }
        let partial = path.with_extension(PARTIAL);
        fs::write(&partial, format!("{held}{digest}\n"))?;
        File::open(&partial)?.sync_all()?;
        fs::rename(&partial, &path)?;
        File::open(self.dir.join(IN_USE))?.sync_all()
    }

    /// The guest of `instance` is gone: its images may be removed.
    pub fn release(&self, instance: &InstanceId) -> io::Result<()> {
        let _trimming = self.trimming.lock().unwrap_or_else(PoisonError::into_inner);
        match fs::remove_file(self.dir.join(IN_USE).join(instance.as_str())) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The digests some guest holds.
    fn held(&self) -> io::Result<HashSet<String>> {
        let mut held = HashSet::new();
        for entry in fs::read_dir(self.dir.join(IN_USE))? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != PARTIAL) {
                match fs::read_to_string(&path) {
                    Ok(text) => held.extend(text.lines().map(str::to_owned)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(held)
    }

    /// Removes the least recently used images no guest holds (never
    /// `keep`) until the cache is within its limit. Called with the
    /// trimming lock held.
    fn trim(&self, keep: &str) -> io::Result<()> {
        let Some(limit) = self.limit else { return Ok(()) };
        let mut images = self.images()?;
        let mut total: u64 = images.iter().map(|(_, size, _)| size).sum();
        if total <= limit {
            return Ok(());
        }
        let held = self.held()?;
        images.sort_by_key(|(_, _, used)| *used);
        for (name, size, _) in images {
            if total <= limit {
                break;
            }
            if name == keep || held.contains(&name) {
                continue;
            }
            match fs::remove_file(self.dir.join(&name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            total -= size;
            tracing::info!(digest = %name, bytes = size, "cached image removed: the cache is over its limit");
        }
        Ok(())
    }

    /// The file holding `image` for `instance`: from the cache, or fetched
    /// into it first. Blocking (downloads), so call it on a blocking thread.
    ///
    /// A cached image is named by a digest of everything that makes it
    /// (the image's digest, each part's, the AES key and IV): an image is
    /// found in the cache only by a manifest that could have made it, so a
    /// bundle that claims another's digest never reads another's image.
    pub fn file(&self, instance: &InstanceId, image: &ImageId) -> Result<PathBuf, ImageError> {
        let source = self.source.get().ok_or_else(|| ImageError::NoSource { image: image.clone() })?;
        let key = self.key()?;
        let ask = || {
            source
                .download_manifest(instance, image, key.public_pem())
                .map_err(|reason| ImageError::Unavailable { image: image.clone(), reason })
        };
        let mut manifest = ask()?;
        let damaged = |e: BundleError| ImageError::Damaged { image: image.clone(), reason: e.to_string() };
        let store = |source: io::Error| ImageError::Store { image: image.clone(), source };
        let layout = manifest.layout().map_err(damaged)?;
        let (aes_key, iv) = manifest.key_iv(key).map_err(|e| ImageError::Key(format!(
            "the key of image {image} does not open with this node's key ({e}); the controller sealed it to another"
        )))?;
        let name = bundle::cache_name(&layout, &aes_key, &iv);
        let path = self.dir.join(&name);
        if self.held_and_present(instance, &name, &path).map_err(store)? {
            return Ok(path);
        }
        let lock = self.lock_for(&name);
        let _fetching = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if self.held_and_present(instance, &name, &path).map_err(store)? {
            return Ok(path);
        }
        // The URLs may have aged while another fetch of it failed.
        if manifest.expires < unix_now() + MIN_URL_LIFE.as_secs() {
            manifest = ask()?;
        }
        let partial = path.with_extension(PARTIAL);
        let file = File::create(&partial).map_err(store)?;
        let wrote = Arc::new(AtomicBool::new(true));
        let mut out = io::BufWriter::with_capacity(1 << 20, Written { file, ok: wrote.clone() });
        // Time spent waiting for Walrus, apart from checking and unpacking.
        let downloading = Arc::new(AtomicU64::new(0));
        let parts = manifest.parts.iter().map(|part| -> (PartName, PartReader) {
            let opening = Instant::now();
            let reader = match source.open_part(part) {
                Ok(reader) => PartReader::Open(reader, downloading.clone()),
                Err(reason) => PartReader::Failed(Some(reason)),
            };
            downloading.fetch_add(opening.elapsed().as_nanos() as u64, Ordering::Relaxed);
            (part.name.clone(), reader)
        });
        let started = Instant::now();
        let unpacked = bundle::unbundle_layout(parts, &layout, &aes_key, &iv, &mut out);
        let written = unpacked.and_then(|report| {
            let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
            file.file.sync_all()?;
            Ok(report)
        });
        let report = match written {
            Ok(report) => report,
            Err(e) => {
                let _ = fs::remove_file(&partial);
                return Err(match e {
                    // This node's disk, not Walrus.
                    BundleError::Io(e) if !wrote.load(Ordering::Relaxed) => store(e),
                    BundleError::Io(e) => {
                        ImageError::Download { image: image.clone(), reason: e.to_string() }
                    }
                    e => damaged(e),
                });
            }
        };
        set_mode(&partial, 0o644).map_err(store)?;
        {
            let _trimming = self.trimming.lock().unwrap_or_else(PoisonError::into_inner);
            fs::rename(&partial, &path).map_err(store)?;
            File::open(&self.dir).and_then(|d| d.sync_all()).map_err(store)?;
            // A cache over its limit is the operator's to see, not a
            // reason to fail a launch whose image is here.
            if let Err(e) = self.trim(&name) {
                tracing::warn!(error = %e, "the image cache could not be trimmed");
            }
        }
        tracing::info!(
            %image,
            digest = %layout.image_digest,
            file = %name,
            bytes = report.image_size,
            parts = report.parts,
            took_ms = started.elapsed().as_millis() as u64,
            download_ms = downloading.load(Ordering::Relaxed) / 1_000_000,
            "bundled image fetched, checked and unpacked"
        );
        Ok(path)
    }

    /// Records that `instance` holds the image `name` and, if the image is
    /// cached, marks its use; both under the trimming lock, so that no
    /// trim removes an image between its hold and its use.
    fn held_and_present(&self, instance: &InstanceId, name: &str, path: &Path) -> io::Result<bool> {
        let _trimming = self.trimming.lock().unwrap_or_else(PoisonError::into_inner);
        self.hold(instance, name)?;
        match File::options().write(true).open(path) {
            // Its last use, for trimming.
            Ok(file) => file.set_modified(SystemTime::now()).map(|()| true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn key(&self) -> Result<&NodeKey, ImageError> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let key = NodeKey::generate().map_err(|e| ImageError::Key(e.to_string()))?;
        Ok(self.key.get_or_init(|| key))
    }

    fn lock_for(&self, digest: &str) -> Arc<Mutex<()>> {
        let mut fetching = self.fetching.lock().unwrap_or_else(PoisonError::into_inner);
        fetching.entry(digest.to_owned()).or_default().clone()
    }
}

/// The least time a download manifest's URLs must have left when a fetch
/// starts; older manifests are asked for again.
const MIN_URL_LIFE: std::time::Duration = std::time::Duration::from_secs(600);

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The image file being written; `ok` turns false when a write fails (so
/// that this node's disk is not blamed on Walrus).
struct Written {
    file: File,
    ok: Arc<AtomicBool>,
}

impl io::Write for Written {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf).inspect_err(|_| self.ok.store(false, Ordering::Relaxed))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush().inspect_err(|_| self.ok.store(false, Ordering::Relaxed))
    }
}

/// A part's bytes (adding the time spent waiting for them to a total),
/// or why it could not be opened (said on first read).
enum PartReader {
    Open(Box<dyn Read + Send>, Arc<AtomicU64>),
    Failed(Option<String>),
}

impl Read for PartReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            PartReader::Open(reader, waited) => {
                let start = Instant::now();
                let n = reader.read(buf);
                waited.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                n
            }
            PartReader::Failed(reason) => {
                Err(io::Error::other(reason.take().unwrap_or_else(|| "the part cannot be read".into())))
            }
        }
    }
}

#[cfg(test)]
mod tests;
