//! Which hypervisor driver `yukari up` gives its node executor: the
//! simulator, or libvirt (embedded QEMU driver by default, any URI on
//! request) with the built-in image's files.

use anyhow::{Context, bail};
use api::app::bootstrap::default_images;
use node_executor::libvirt::{
    DomainType, GuestAddressing, GuestNetwork, ImageFiles, LibvirtConfig, MetadataToken, default_image_dir,
    embedded_uri,
};
use node_executor::{HypervisorDriver, ImageCache, LibvirtDriver, SimDriver};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Settings of the libvirt hypervisor (ignored with `--hypervisor sim`).
#[derive(clap::Args, Debug)]
pub struct LibvirtArgs {
    /// libvirt: `qemu` runs guests under QEMU emulation (TCG), which works
    /// on any machine; `kvm` uses hardware virtualization (/dev/kvm), much
    /// faster where it works. libvirt offers KVM on some hosts where it
    /// fails (nested VMs), so emulation is the default.
    #[arg(long, env = "YUKARI_DOMAIN_TYPE", default_value = "qemu", value_parser = ["qemu", "kvm"])]
    pub domain_type: String,
    /// libvirt: where the built-in image's files are (scripts/build-guest-image
    /// writes them) [default: /var/cache/yukari/images for root, else
    /// ~/.cache/yukari/images]
    #[arg(long, env = "YUKARI_IMAGE_DIR")]
    pub image_dir: Option<PathBuf>,
    /// libvirt: the guests' network: `user` (QEMU user-mode networking; no
    /// daemon or bridge needed), `bridge` or `bridge:NAME` (a bridge Yukari
    /// makes with the private network's first address: guests get their
    /// private addresses, NAT, public addresses, the metadata service at
    /// 169.254.169.254 and security groups enforced with nftables; needs
    /// root), `network:NAME` (a libvirt network, e.g. `network:default`
    /// with qemu:///system) or `none`.
    #[arg(long, default_value = "user")]
    pub guest_network: String,
    /// libvirt: how many GiB of images fetched from Walrus the node keeps
    /// (`DATA_DIR/node/images`); past it, the least recently used images
    /// no guest holds are removed. 0: no limit.
    #[arg(long, env = "YUKARI_IMAGE_CACHE_GIB", default_value_t = 32)]
    pub image_cache_gib: u64,
    /// Bridge mode: the port of the metadata service on the bridge's
    /// address (guests' requests to 169.254.169.254:80 are sent there).
    #[arg(long, default_value_t = 8775)]
    pub metadata_port: u16,
}

impl LibvirtArgs {
    /// The guest network asked for (checked before anything starts).
    pub fn network(&self) -> anyhow::Result<GuestNetwork> {
        self.guest_network
            .parse::<GuestNetwork>()
            .map_err(|e| anyhow::anyhow!(say!("--guest-network: {e}", "--guest-network: {e}")))
    }
}

/// What `--hypervisor` asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hypervisor {
    Sim,
    /// A libvirt URI; `None` is the embedded driver in the data directory.
    Libvirt(Option<String>),
}

impl Hypervisor {
    pub fn parse(text: &str) -> anyhow::Result<Hypervisor> {
        match text {
            "sim" => Ok(Hypervisor::Sim),
            "libvirt" => Ok(Hypervisor::Libvirt(None)),
            _ => match text.strip_prefix("libvirt:") {
                Some(uri) if !uri.is_empty() => Ok(Hypervisor::Libvirt(Some(uri.to_owned()))),
                _ => bail!(say!(
                    "unknown hypervisor {text:?}: use sim, libvirt or libvirt:URI",
                    "不明なハイパーバイザー {text:?}: sim、libvirt、libvirt:URI のいずれかを指定してください"
                )),
            },
        }
    }
}

/// How the node's guests are connected (bridge mode: with the prefix and
/// gateway they configure themselves with).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestNetworking {
    pub network: GuestNetwork,
    pub addressing: Option<GuestAddressing>,
}

/// What [`driver`] made: the node's driver, how often the executor polls
/// a booting guest, and (libvirt) the cache of images fetched from Walrus,
/// to connect once the controller is there.
pub struct NodeDriver {
    pub driver: Arc<dyn HypervisorDriver>,
    pub poll_interval: Duration,
    pub images: Option<Arc<ImageCache>>,
}

/// The node's driver and how often the executor polls a booting guest.
/// `metadata_base` is the controller as the guests reach it under user-mode
/// networking (`http://10.0.2.2:PORT`, the host's loopback, for `yukari
/// up`; the controller's address for `yukari node`).
pub fn driver(
    choice: &Hypervisor,
    args: &LibvirtArgs,
    data_dir: &Path,
    metadata_base: &str,
    metadata_token: MetadataToken,
    sim_boot_ms: u64,
    network: GuestNetworking,
) -> anyhow::Result<NodeDriver> {
    let uri = match choice {
        Hypervisor::Sim => {
            // Its failures (made on request) name no folder of the node.
            let driver = Arc::new(
                SimDriver::new(Duration::from_millis(sim_boot_ms))
                    .with_private_dirs(vec![(absolute(data_dir)?, "data dir")]),
            );
            let poll_interval = Duration::from_millis(50.min(sim_boot_ms.max(5)));
            return Ok(NodeDriver { driver, poll_interval, images: None });
        }
        Hypervisor::Libvirt(Some(uri)) => uri.clone(),
        Hypervisor::Libvirt(None) => embedded_uri(&absolute(&data_dir.join("node/libvirt"))?),
    };
    let image_dir = absolute(&args.image_dir.clone().unwrap_or_else(default_image_dir))?;
    // The built-in image triple; the file names are the last part of the
    // locations bootstrap registers (`builtin/yukari-kernel` …).
    let (emi, eki, eri) = default_images();
    let images = ImageFiles::new(&image_dir)
        .with(emi, "yukari-default")
        .with(eki, "yukari-kernel")
        .with(eri, "yukari-initrd");
    let missing = images.missing();
    if !missing.is_empty() {
        let missing = missing.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        let image_dir = image_dir.display();
        bail!(say!(
            "the built-in guest image is not built (missing {missing}): run `scripts/build-guest-image \
             {image_dir}` or point --image-dir at the folder it wrote",
            "組み込みのゲストイメージがビルドされていません({missing} がありません): \
             `scripts/build-guest-image {image_dir}` を実行するか、--image-dir でその出力先を指定してください"
        ));
    }
    let mut config = LibvirtConfig::new(uri, absolute(&data_dir.join("node/instances"))?, images);
    config.domain_type = args.domain_type.parse::<DomainType>().map_err(anyhow::Error::msg)?;
    config.private_root = Some(absolute(data_dir)?);
    config.network = network.network;
    config.addressing = network.addressing;
    if config.network == GuestNetwork::User {
        // Under user-mode networking every guest's requests come from the
        // host: the service knows the guest by the token in the path.
        config.metadata_urls = vec![format!("{metadata_base}/metadata/{{token}}/")];
    }
    let cache_dir = absolute(&data_dir.join("node/images"))?;
    let mut cache = ImageCache::open(&cache_dir).with_context(|| {
        say!("cannot open the image cache {}", "イメージキャッシュ {} を開けません", cache_dir.display())
    })?;
    if args.image_cache_gib > 0 {
        cache = cache.with_limit(args.image_cache_gib.saturating_mul(1 << 30));
    }
    let images = Arc::new(cache);
    let driver = LibvirtDriver::open(config)
        .with_context(|| say!("cannot open the libvirt hypervisor", "libvirt ハイパーバイザーを開けません"))?
        .with_metadata_token(metadata_token)
        .with_image_cache(images.clone());
    Ok(NodeDriver {
        driver: Arc::new(driver),
        poll_interval: Duration::from_millis(500),
        images: Some(images),
    })
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path)
        .with_context(|| say!("cannot resolve {}", "{} を解決できません", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypervisor_choices_parse() {
        assert_eq!(Hypervisor::parse("sim").unwrap(), Hypervisor::Sim);
        assert_eq!(Hypervisor::parse("libvirt").unwrap(), Hypervisor::Libvirt(None));
        assert_eq!(
            Hypervisor::parse("libvirt:qemu:///system").unwrap(),
            Hypervisor::Libvirt(Some("qemu:///system".into()))
        );
        for bad in ["libvirt:", "xen", ""] {
            assert!(Hypervisor::parse(bad).unwrap_err().to_string().contains("use sim, libvirt"), "{bad}");
        }
    }
}
