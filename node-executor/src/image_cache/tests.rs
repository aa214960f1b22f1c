//! The cache against a source made of a real bundle in a folder: fetched
//! once, shared, and never kept when a byte is wrong.

use super::*;
use bundle::{Architecture, BundleOptions, CloudIdentity, bundle_image, public_key_from_pem};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A controller and Walrus in one: the bundle's files in a folder, the
/// manifest sealed to whichever node key asks.
struct Folder {
    dir: PathBuf,
    cloud: CloudIdentity,
    manifest: bundle::Manifest,
    opened: AtomicUsize,
    refuse: Option<String>,
    unreachable: bool,
}

impl ImageSource for Folder {
    fn download_manifest(
        &self,
        _instance: &InstanceId,
        image: &ImageId,
        node_key_pem: &str,
    ) -> Result<DownloadManifest, String> {
        if let Some(reason) = &self.refuse {
            return Err(reason.clone());
        }
        let node = public_key_from_pem(node_key_pem).map_err(|e| e.to_string())?;
        let sealed =
            self.manifest.reencrypt_for(self.cloud.private_key(), &node).map_err(|e| e.to_string())?;
        let parts = self
            .manifest
            .parts
            .iter()
            .map(|p| DownloadPart {
                name: p.filename.clone(),
                url: self.dir.join(&p.filename).to_string_lossy().into_owned(),
                sha1: p.digest.clone(),
                size: fs::metadata(self.dir.join(&p.filename)).unwrap().len(),
            })
            .collect();
        Ok(DownloadManifest {
            image: image.to_string(),
            image_digest: self.manifest.image_digest.clone(),
            image_size: self.manifest.image_size,
            bundled_size: self.manifest.bundled_size,
            encrypted_key: sealed.encrypted_key,
            encrypted_iv: sealed.encrypted_iv,
            parts,
            expires: 0,
        })
    }

    fn open_part(&self, part: &DownloadPart) -> Result<Box<dyn Read + Send>, String> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        if self.unreachable {
            return Err("connection refused".into());
        }
        Ok(Box::new(File::open(self.dir.join(&part.url)).map_err(|e| e.to_string())?))
    }
}

/// Incompressible bytes (xorshift), so that the bundle has several parts.
fn image_bytes() -> Vec<u8> {
    image_bytes_from(0x9e37_79b9_7f4a_7c15)
}

fn image_bytes_from(seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..3_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn folder(dir: &Path) -> Folder {
    folder_of(dir, image_bytes())
}

fn folder_of(dir: &Path, image: Vec<u8>) -> Folder {
    let cloud = CloudIdentity::load_or_create_for_region(&dir.join("cloud"), "test-1").unwrap();
    let user = cloud.issue_user_certificate("123456789012", "alice").unwrap();
    let mut options = BundleOptions::machine(
        "disk.img",
        Architecture::X86_64,
        "123456789012",
        image.len() as u64,
        user.certificate_pem,
        user.private_key_pem,
        cloud.cert_pem(),
    );
    options.part_size = 1 << 20;
    let bundle_dir = dir.join("bundle");
    fs::create_dir_all(&bundle_dir).unwrap();
    let out = bundle_image(&image[..], &options, &bundle_dir, &mut |_| {}).unwrap();
    assert!(out.part_paths.len() >= 2, "several parts");
    Folder {
        dir: bundle_dir,
        cloud,
        manifest: out.manifest,
        opened: AtomicUsize::new(0),
        refuse: None,
        unreachable: false,
    }
}

/// The name the cache gives the folder's image.
fn cached_name(f: &Folder) -> String {
    let (key, iv) = f.manifest.decrypt_key_iv(f.cloud.private_key()).unwrap();
    bundle::cache_name(&bundle::Layout::of_manifest(&f.manifest).unwrap(), &key, &iv)
}

fn ids() -> (InstanceId, ImageId) {
    (InstanceId::parse("i-00000001").unwrap(), ImageId::parse("emi-0000000a").unwrap())
}

#[test]
fn an_image_is_fetched_once_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let source = Arc::new(folder(dir.path()));
    let cache = ImageCache::open(dir.path().join("cache")).unwrap();
    let (instance, image) = ids();
    assert!(matches!(cache.file(&instance, &image), Err(ImageError::NoSource { .. })));
    cache.connect(source.clone());
    let path = cache.file(&instance, &image).unwrap();
    assert_eq!(fs::read(&path).unwrap(), image_bytes(), "the image as it was bundled");
    assert_eq!(path.file_name().unwrap().to_str().unwrap(), cached_name(&source));
    let parts = source.manifest.parts.len();
    assert_eq!(source.opened.load(Ordering::SeqCst), parts);
    // A second instance: the cache answers, nothing is downloaded.
    let again = cache.file(&InstanceId::parse("i-00000002").unwrap(), &image).unwrap();
    assert_eq!(again, path);
    assert_eq!(source.opened.load(Ordering::SeqCst), parts);
    assert_eq!(cache.cached().unwrap(), vec![cached_name(&source)]);
}

#[test]
fn a_damaged_part_fails_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let source = folder(dir.path());
    let second = source.dir.join(&source.manifest.parts[1].filename);
    let mut bytes = fs::read(&second).unwrap();
    bytes[1000] ^= 0x40;
    fs::write(&second, bytes).unwrap();
    let cache = ImageCache::open(dir.path().join("cache")).unwrap();
    cache.connect(Arc::new(source));
    let (instance, image) = ids();
    let err = cache.file(&instance, &image).unwrap_err();
    assert!(matches!(err, ImageError::Damaged { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("emi-0000000a") && text.contains("SHA1") && text.contains("not used"), "{text}");
    let names: Vec<_> = fs::read_dir(cache.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("in-use")], "no image, whole or partial, is kept");
}

#[test]
fn refusals_and_unreachable_parts_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let (instance, image) = ids();
    let mut refused = folder(dir.path());
    refused.refuse = Some("the image is not this instance's".into());
    let cache = ImageCache::open(dir.path().join("cache")).unwrap();
    cache.connect(Arc::new(refused));
    let err = cache.file(&instance, &image).unwrap_err().to_string();
    assert!(err.contains("not available") && err.contains("not this instance's"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let mut down = folder(dir.path());
    down.unreachable = true;
    let cache = ImageCache::open(dir.path().join("cache")).unwrap();
    cache.connect(Arc::new(down));
    let err = cache.file(&instance, &image).unwrap_err();
    assert!(matches!(err, ImageError::Download { .. }), "{err:?}");
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert!(cache.cached().unwrap().is_empty());
}

#[test]
fn a_key_sealed_to_another_node_does_not_open() {
    struct Elsewhere(Folder);
    impl ImageSource for Elsewhere {
        fn download_manifest(
            &self,
            i: &InstanceId,
            m: &ImageId,
            _: &str,
        ) -> Result<DownloadManifest, String> {
            self.0.download_manifest(i, m, NodeKey::generate().unwrap().public_pem())
        }
        fn open_part(&self, part: &DownloadPart) -> Result<Box<dyn Read + Send>, String> {
            self.0.open_part(part)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = ImageCache::open(dir.path().join("cache")).unwrap();
    cache.connect(Arc::new(Elsewhere(folder(dir.path()))));
    let (instance, image) = ids();
    let err = cache.file(&instance, &image).unwrap_err().to_string();
    assert!(err.contains("cannot decrypt"), "{err}");
}

#[test]
fn half_written_files_of_a_crash_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    fs::create_dir_all(&cache_dir).unwrap();
    let digest = "ab".repeat(20);
    fs::write(cache_dir.join(format!("{digest}.partial")), b"half").unwrap();
    fs::write(cache_dir.join(&digest), b"whole").unwrap();
    let cache = ImageCache::open(&cache_dir).unwrap();
    assert_eq!(cache.cached().unwrap(), vec![digest]);
}

/// Several images, each from its own folder (by the image id's last letter).
struct Several(HashMap<char, Folder>);

impl Several {
    fn of(&self, image: &ImageId) -> &Folder {
        &self.0[&image.as_str().chars().last().unwrap()]
    }
}

impl ImageSource for Several {
    fn download_manifest(&self, i: &InstanceId, m: &ImageId, key: &str) -> Result<DownloadManifest, String> {
        self.of(m).download_manifest(i, m, key)
    }
    fn open_part(&self, part: &DownloadPart) -> Result<Box<dyn Read + Send>, String> {
        let from = self.0.values().find(|f| part.url.starts_with(f.dir.to_str().unwrap())).unwrap();
        from.open_part(part)
    }
}

#[test]
fn over_its_limit_the_cache_drops_the_least_recently_used_images_no_guest_holds() {
    let dir = tempfile::tempdir().unwrap();
    let several = Several(
        ['a', 'b', 'c']
            .into_iter()
            .enumerate()
            .map(|(n, c)| (c, folder_of(&dir.path().join(c.to_string()), image_bytes_from(n as u64 * 7 + 1))))
            .collect(),
    );
    let digest = |c: char| cached_name(&several.0[&c]);
    let (a, b, c) = (digest('a'), digest('b'), digest('c'));
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // Three images of 3 MB; room for two.
    let cache = ImageCache::open(dir.path().join("cache")).unwrap().with_limit(7_000_000);
    cache.connect(Arc::new(several));
    let guest = |n: u32| InstanceId::parse(&format!("i-0000000{n}")).unwrap();
    let image = |c: char| ImageId::parse(&format!("emi-0000000{c}")).unwrap();

    cache.file(&guest(1), &image('a')).unwrap();
    cache.file(&guest(2), &image('b')).unwrap();
    assert_eq!(cache.cached().unwrap(), sorted(vec![a.clone(), b.clone()]));
    // Guest 1 is gone: fetching C drops A, the oldest no guest holds.
    cache.release(&guest(1)).unwrap();
    cache.file(&guest(3), &image('c')).unwrap();
    assert_eq!(cache.cached().unwrap(), sorted(vec![b.clone(), c.clone()]), "A made room for C");
    // Every guest gone, B used again (a cache hit: it is now the most
    // recently used) and A fetched again: C, the least recently used, goes.
    cache.release(&guest(2)).unwrap();
    cache.release(&guest(3)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    cache.file(&guest(4), &image('b')).unwrap();
    cache.file(&guest(5), &image('a')).unwrap();
    assert_eq!(cache.cached().unwrap(), sorted(vec![a.clone(), b.clone()]), "C made room for A");
    // Held images stay even over the limit.
    cache.file(&guest(6), &image('c')).unwrap();
    assert_eq!(cache.cached().unwrap(), sorted(vec![a, b, c]), "every image is held by a guest");
}

/// A bundle that claims another image's digest, with its own parts and key.
struct Impostor {
    real: Folder,
    claimed: String,
}

impl ImageSource for Impostor {
    fn download_manifest(&self, i: &InstanceId, m: &ImageId, key: &str) -> Result<DownloadManifest, String> {
        let mut manifest = self.real.download_manifest(i, m, key)?;
        manifest.image_digest = self.claimed.clone();
        Ok(manifest)
    }
    fn open_part(&self, part: &DownloadPart) -> Result<Box<dyn Read + Send>, String> {
        self.real.open_part(part)
    }
}

#[test]
fn a_bundle_claiming_a_cached_images_digest_never_reads_that_image() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = folder(&dir.path().join("theirs"));
    let (claimed, name) = (theirs.manifest.image_digest.clone(), cached_name(&theirs));
    let cache = Arc::new(ImageCache::open(dir.path().join("cache")).unwrap());
    cache.connect(Arc::new(theirs));
    let (instance, image) = ids();
    let path = cache.file(&instance, &image).unwrap();

    // Another cache, the same folder: the impostor's manifest names the
    // cached image's digest, but its own parts and key.
    let other = ImageCache::open(cache.dir()).unwrap();
    let impostor = Impostor { real: folder_of(&dir.path().join("mine"), image_bytes_from(3)), claimed };
    other.connect(Arc::new(impostor));
    let err = other.file(&InstanceId::parse("i-00000009").unwrap(), &image).unwrap_err();
    assert!(
        matches!(err, ImageError::Damaged { .. }),
        "its own parts do not make the claimed image: {err:?}"
    );
    assert_eq!(other.cached().unwrap(), vec![name], "the cached image is untouched");
    assert_eq!(fs::read(path).unwrap(), image_bytes());
}
