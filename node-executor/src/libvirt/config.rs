//! The libvirt driver's settings: which libvirt, KVM or emulation, where
//! instance files and image files live, how guests reach the network and
//! their metadata.

use domain::ImageId;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How QEMU runs guests: libvirt's `<domain type=…>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DomainType {
    /// Hardware virtualization through /dev/kvm: fast, for production hosts.
    Kvm,
    /// Plain QEMU emulation (TCG): slower, works everywhere. The default,
    /// because libvirt advertises KVM on hosts where it does not work
    /// (nested VMs, a /dev/kvm that opens but crashes guests).
    #[default]
    Qemu,
}

impl DomainType {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainType::Kvm => "kvm",
            DomainType::Qemu => "qemu",
        }
    }
}

impl fmt::Display for DomainType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DomainType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kvm" => Ok(DomainType::Kvm),
            "qemu" | "tcg" => Ok(DomainType::Qemu),
            other => Err(format!("unknown domain type {other:?}: use kvm or qemu")),
        }
    }
}

/// How a guest's one network interface is connected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum GuestNetwork {
    /// QEMU's user-mode networking (slirp): needs no daemon, bridge or
    /// privilege, so it works with the embedded driver. The guest gets
    /// 10.0.2.15 by DHCP and reaches the host's loopback as 10.0.2.2;
    /// nothing outside can reach the guest.
    #[default]
    User,
    /// A libvirt network by name (`default` with `qemu:///system`).
    Libvirt(String),
    /// A host bridge by name (Yukari's bridge mode: the node makes the
    /// bridge, its NAT and security group rules; see `crate::net`). The
    /// guest's port is isolated, so guests reach each other through the
    /// host and its rules.
    Bridge(String),
    /// No network interface.
    None,
}

impl FromStr for GuestNetwork {
    type Err = String;

    /// `user`, `bridge` (the bridge `ykbr0`), `bridge:NAME`, `network:NAME`
    /// or `none`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(GuestNetwork::User),
            "none" => Ok(GuestNetwork::None),
            "bridge" => Ok(GuestNetwork::Bridge(DEFAULT_BRIDGE.to_owned())),
            _ => match (s.strip_prefix("network:"), s.strip_prefix("bridge:")) {
                (Some(name), _) if !name.is_empty() => Ok(GuestNetwork::Libvirt(name.to_owned())),
                (_, Some(name)) if crate::net::valid_interface_name(name) => {
                    Ok(GuestNetwork::Bridge(name.to_owned()))
                }
                (_, Some(name)) => {
                    Err(format!("{name:?} is not a bridge name: up to 15 letters, digits, '-', '_' or '.'"))
                }
                _ => Err(format!(
                    "unknown guest network {s:?}: use user, bridge, bridge:NAME, network:NAME or none"
                )),
            },
        }
    }
}

/// The bridge of `--guest-network bridge`.
pub const DEFAULT_BRIDGE: &str = "ykbr0";

/// How a guest configures its own address (bridge mode): the controller
/// gives the address, the node the prefix and gateway, on the kernel
/// command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestAddressing {
    pub prefix: u8,
    pub gateway: std::net::Ipv4Addr,
}

/// Image ids this node can boot, and the files that hold them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageFiles {
    dir: PathBuf,
    files: HashMap<ImageId, String>,
}

impl ImageFiles {
    /// No images yet; files are looked up in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ImageFiles { dir: dir.into(), files: HashMap::new() }
    }

    /// `image` is the file `name` in the image directory.
    pub fn with(mut self, image: ImageId, name: impl Into<String>) -> Self {
        self.files.insert(image, name.into());
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `image`, whether or not it exists; `None` for an image
    /// this node does not know.
    pub fn path(&self, image: &ImageId) -> Option<PathBuf> {
        self.files.get(image).map(|name| self.dir.join(name))
    }

    /// The known images' files that do not exist (sorted).
    pub fn missing(&self) -> Vec<PathBuf> {
        let mut missing: Vec<PathBuf> =
            self.files.values().map(|name| self.dir.join(name)).filter(|p| !p.is_file()).collect();
        missing.sort();
        missing
    }
}

/// Everything the libvirt driver needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibvirtConfig {
    /// The libvirt connection: `qemu:///embed?root=DIR` (no daemon; QEMU
    /// runs under this process's embedded driver), `qemu:///system`,
    /// `test:///default` (no QEMU at all, for tests)…
    pub uri: String,
    pub domain_type: DomainType,
    /// Per-instance files (disk overlay, console log) go in
    /// `instance_dir/<instance-id>/`, removed when the guest is destroyed.
    pub instance_dir: PathBuf,
    pub images: ImageFiles,
    pub network: GuestNetwork,
    /// With a bridge: the prefix and gateway guests are configured with
    /// (with their own private address).
    pub addressing: Option<GuestAddressing>,
    /// Metadata service URLs passed to the guest on its kernel command line
    /// (`yukari.metadata=`), tried in order; empty: the guest uses
    /// http://169.254.169.254/.
    pub metadata_urls: Vec<String>,
    /// The program that makes qcow2 overlays.
    pub qemu_img: PathBuf,
    /// A folder of Yukari's that is closed to other users (the data
    /// directory, 0700): when QEMU runs as its own user, the closed folders
    /// from here down to `instance_dir` are opened to QEMU's group for
    /// search only (0710), so that guests need not run as root.
    pub private_root: Option<PathBuf>,
}

impl LibvirtConfig {
    /// Settings for `uri` with emulation, user-mode networking and no images.
    pub fn new(uri: impl Into<String>, instance_dir: impl Into<PathBuf>, images: ImageFiles) -> Self {
        LibvirtConfig {
            uri: uri.into(),
            domain_type: DomainType::default(),
            instance_dir: instance_dir.into(),
            images,
            network: GuestNetwork::default(),
            addressing: None,
            metadata_urls: Vec::new(),
            qemu_img: PathBuf::from("qemu-img"),
            private_root: None,
        }
    }

    /// The embedded driver's root folder, for a `qemu:///embed?root=DIR` URI.
    pub fn embed_root(&self) -> Option<PathBuf> {
        let query = self.uri.strip_prefix("qemu:///embed?")?;
        query.split('&').find_map(|kv| kv.strip_prefix("root=")).map(PathBuf::from)
    }
}

/// Where the built-in image files are unless told otherwise, the same rule
/// as `scripts/build-guest-image`: `$YUKARI_IMAGE_DIR`, else
/// `/var/cache/yukari/images` for root, else
/// `${XDG_CACHE_HOME:-~/.cache}/yukari/images`.
pub fn default_image_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("YUKARI_IMAGE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if running_as_root() {
        return PathBuf::from("/var/cache/yukari/images");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("yukari/images")
}

/// Is this process's effective user root (the owner of /proc/self)?
pub(crate) fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The URI of the embedded QEMU driver rooted in `root`: no daemon needed.
pub fn embedded_uri(root: &Path) -> String {
    format!("qemu:///embed?root={}", root.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ImageKind;

    #[test]
    fn domain_types_parse_and_default_to_emulation() {
        assert_eq!(DomainType::default(), DomainType::Qemu);
        assert_eq!("kvm".parse::<DomainType>().unwrap(), DomainType::Kvm);
        assert_eq!("qemu".parse::<DomainType>().unwrap(), DomainType::Qemu);
        assert_eq!("tcg".parse::<DomainType>().unwrap(), DomainType::Qemu);
        assert!("xen".parse::<DomainType>().unwrap_err().contains("kvm or qemu"));
    }

    #[test]
    fn guest_networks_parse() {
        assert_eq!("user".parse::<GuestNetwork>().unwrap(), GuestNetwork::User);
        assert_eq!("none".parse::<GuestNetwork>().unwrap(), GuestNetwork::None);
        assert_eq!(
            "network:default".parse::<GuestNetwork>().unwrap(),
            GuestNetwork::Libvirt("default".into())
        );
        assert!("network:".parse::<GuestNetwork>().is_err());
        assert_eq!("bridge".parse::<GuestNetwork>().unwrap(), GuestNetwork::Bridge("ykbr0".into()));
        assert_eq!("bridge:br-1".parse::<GuestNetwork>().unwrap(), GuestNetwork::Bridge("br-1".into()));
        assert!("bridge:a b".parse::<GuestNetwork>().unwrap_err().contains("not a bridge name"));
        assert!("bridge:".parse::<GuestNetwork>().is_err());
        assert!("tap".parse::<GuestNetwork>().unwrap_err().contains("bridge:NAME"));
    }

    #[test]
    fn the_embed_root_comes_from_the_uri() {
        let images = ImageFiles::new("/img");
        let embed = LibvirtConfig::new(embedded_uri(Path::new("/d/node/libvirt")), "/d/i", images.clone());
        assert_eq!(embed.uri, "qemu:///embed?root=/d/node/libvirt");
        assert_eq!(embed.embed_root(), Some(PathBuf::from("/d/node/libvirt")));
        assert_eq!(LibvirtConfig::new("qemu:///system", "/d/i", images).embed_root(), None);
    }

    #[test]
    fn images_resolve_to_files_in_the_image_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (emi, eki) =
            (ImageId::with_kind(ImageKind::Machine, 1), ImageId::with_kind(ImageKind::Kernel, 1));
        let images = ImageFiles::new(dir.path()).with(emi.clone(), "disk").with(eki.clone(), "kernel");
        assert_eq!(images.path(&eki), Some(dir.path().join("kernel")));
        assert_eq!(images.path(&ImageId::with_kind(ImageKind::Kernel, 2)), None);
        assert_eq!(images.missing(), vec![dir.path().join("disk"), dir.path().join("kernel")]);
        std::fs::write(dir.path().join("kernel"), b"k").unwrap();
        assert_eq!(images.missing(), vec![dir.path().join("disk")]);
    }
}
