//! The libvirt hypervisor driver: real QEMU guests (KVM or emulation)
//! through the `virt` crate, one persistent domain per instance, named by
//! its instance id.
//!
//! It owns the domain XML, the per-instance files on the node (a qcow2
//! overlay on the image's disk, the serial console log) and the one
//! long-lived libvirt connection. It must not know the log, the executor
//! or the controller: it only implements [`HypervisorDriver`], plus the
//! ACPI shutdown and reboot that the trait does not have yet.
//!
//! With `qemu:///embed?root=DIR` libvirt's QEMU driver runs inside this
//! process (no daemon): it needs libvirt's event loop running on a thread
//! (started here, once per process), and its QEMU processes outlive this
//! process and are found again by the next connection to the same root.

mod config;
mod files;
mod xml;

pub(crate) use config::running_as_root;
pub use config::{
    DEFAULT_BRIDGE, DomainType, GuestAddressing, GuestNetwork, ImageFiles, LibvirtConfig, default_image_dir,
    embedded_uri,
};

use crate::driver::{DriverError, GuestSpec, GuestState, HypervisorDriver, VolumeDisk};
use crate::image_cache::ImageCache;
use domain::{ImageId, InstanceId};
use files::InstanceFiles;
pub(crate) use files::set_mode;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use virt::connect::Connect;
use virt::domain::{Domain, DomainState};
use virt::enumutil::Enum;
use virt::error::ErrorNumber;
use xml::{Boot, DomainXml};

/// What `qemu.conf` of an embedded driver's root says when Yukari creates it.
/// How long a running guest has to let a detached volume go.
const DETACH_WAIT: Duration = Duration::from_secs(30);

const EMBED_QEMU_CONF: &str = "\
# Written by Yukari for its embedded libvirt QEMU driver; edit as you need.
# Serial console files are written by QEMU itself: no virtlogd daemon.
stdio_handler = \"file\"
# Do not remember file owners in extended attributes (shared image files).
remember_owner = 0
";

/// Names a guest to the metadata service: the `{token}` in a metadata URL.
pub type MetadataToken = Arc<dyn Fn(&InstanceId) -> String + Send + Sync>;

/// Real guests through libvirt.
pub struct LibvirtDriver {
    config: LibvirtConfig,
    metadata_token: Option<MetadataToken>,
    /// Replaced when a remote connection (a daemon's) dies.
    conn: Mutex<Arc<Connect>>,
    /// The embedded secret driver's connection, once opened.
    secrets: Mutex<Option<Arc<Connect>>>,
    /// Images registered from Walrus bundles, fetched on first use.
    bundles: Option<Arc<ImageCache>>,
}

impl std::fmt::Debug for LibvirtDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibvirtDriver").field("config", &self.config).finish_non_exhaustive()
    }
}

impl LibvirtDriver {
    /// Connects to libvirt (starting the event loop first, and preparing
    /// the embedded driver's root when the URI names one).
    pub fn open(config: LibvirtConfig) -> Result<Self, DriverError> {
        event_loop()?;
        std::fs::create_dir_all(&config.instance_dir)
            .map_err(|e| hypervisor(format!("cannot create {}", config.instance_dir.display()), e))?;
        let as_root = config::running_as_root();
        let mut closed = files::closed_ancestors(&config.instance_dir);
        if as_root
            && config.embed_root().is_some()
            && let Some(private) = &config.private_root
        {
            closed = files::open_to_qemu(closed, private);
        }
        let mut guests_as_root = false;
        if let Some(root) = config.embed_root() {
            // QEMU of the embedded driver runs as libvirt-qemu when Yukari
            // runs as root; a data directory below a closed folder (root's
            // home, say) is out of its reach, so its guests run as root.
            guests_as_root = prepare_embed_root(&root, as_root && !closed.is_empty())
                .map_err(|e| hypervisor(format!("cannot prepare {}", root.display()), e))?;
            if guests_as_root {
                tracing::info!(
                    folders = ?closed,
                    "QEMU's own user cannot enter these folders: the embedded driver runs guests as root"
                );
            }
        }
        if !closed.is_empty() && !guests_as_root && config.uri.starts_with("qemu:") && as_root {
            tracing::warn!(
                folders = ?closed,
                "other users cannot enter these folders; if QEMU runs as its own user \
                 (libvirt-qemu, when Yukari runs as root) it cannot open guest disks and \
                 console logs below them: use a data directory outside them"
            );
        }
        if config.uri.starts_with("qemu:") {
            warn_about_dev_kvm();
        }
        let conn = connect(&config.uri)?;
        tracing::info!(uri = %config.uri, domain_type = %config.domain_type, "connected to libvirt");
        Ok(LibvirtDriver {
            config,
            metadata_token: None,
            conn: Mutex::new(Arc::new(conn)),
            secrets: Mutex::new(None),
            bundles: None,
        })
    }

    pub fn config(&self) -> &LibvirtConfig {
        &self.config
    }

    /// Where the instance's files (disk overlay, console log) are.
    pub fn instance_files(&self, instance: &InstanceId) -> PathBuf {
        self.files(instance).dir().to_path_buf()
    }

    /// Images this node has no file for are fetched from Walrus into
    /// `cache` (bundled images).
    pub fn with_image_cache(mut self, cache: Arc<ImageCache>) -> Self {
        self.bundles = Some(cache);
        self
    }

    /// Metadata URLs with a `{token}` in them (for networks where the
    /// service cannot tell guests by address) get the guest's token.
    pub fn with_metadata_token(mut self, token: MetadataToken) -> Self {
        self.metadata_token = Some(token);
        self
    }

    fn metadata_urls(&self, instance: &InstanceId) -> Vec<String> {
        let token = self.metadata_token.as_ref().map(|t| t(instance));
        self.config
            .metadata_urls
            .iter()
            .map(|url| match &token {
                Some(token) => url.replace("{token}", token),
                None => url.clone(),
            })
            .collect()
    }

    /// The address the guest configures itself with (bridge mode): its
    /// private address, the network's prefix and the gateway.
    fn guest_ip(&self, spec: &GuestSpec) -> Option<xml::GuestIp> {
        let addressing = self.config.addressing?;
        let address = spec.private_address.as_deref()?.parse().ok()?;
        Some(xml::GuestIp { address, prefix: addressing.prefix, gateway: addressing.gateway })
    }

    /// The domain XML this driver defines for `spec`.
    pub fn domain_xml(&self, spec: &GuestSpec) -> Result<String, DriverError> {
        let files = self.files(&spec.instance);
        let disk = self.machine_disk(spec)?.map(|_| files.disk());
        self.render(spec, &files, disk)
    }

    fn render(
        &self,
        spec: &GuestSpec,
        files: &InstanceFiles,
        disk: Option<PathBuf>,
    ) -> Result<String, DriverError> {
        let name = spec.instance.as_str();
        if let Some(root) = &spec.root_volume
            && !spec.volumes.iter().any(|v| &v.volume == root)
        {
            return Err(start_failed(spec, format!("its root volume {root} is not attached yet")));
        }
        let kernel = spec.kernel.as_ref().map(|k| self.image_file(spec, k)).transpose()?;
        let initrd = spec.ramdisk.as_ref().map(|r| self.image_file(spec, r)).transpose()?;
        let boot = match &kernel {
            Some(kernel) => Boot::Kernel {
                kernel,
                initrd: initrd.as_deref(),
                cmdline: xml::kernel_cmdline(name, &self.metadata_urls(&spec.instance), self.guest_ip(spec)),
            },
            None if disk.is_some() || spec.root_volume.is_some() => Boot::Disk,
            None => {
                return Err(start_failed(
                    spec,
                    format!("image {} has neither a kernel nor a disk", spec.image),
                ));
            }
        };
        let mac = xml::mac_for(name);
        let console = files.console_log();
        let labels = [
            ("reservation", spec.reservation.as_str()),
            ("account", spec.account.as_str()),
            ("image", spec.image.as_str()),
            ("type", spec.vm_type.name.as_str()),
        ];
        Ok(DomainXml {
            name,
            domain_type: self.config.domain_type,
            cpus: spec.vm_type.cpus,
            memory_mib: spec.vm_type.memory_mib,
            boot,
            disk: disk.as_deref(),
            network: &self.config.network,
            mac: &mac,
            console_log: &console,
            labels: &labels,
            volumes: &spec.volumes,
        }
        .render())
    }

    /// The file of a kernel or ramdisk the guest needs; it must exist.
    fn image_file(&self, spec: &GuestSpec, image: &ImageId) -> Result<PathBuf, DriverError> {
        let Some(path) = self.config.images.path(image) else {
            return self.bundled(spec, image);
        };
        if !path.is_file() {
            return Err(start_failed(spec, missing_image(image, &path, &self.config.images)));
        }
        Ok(path)
    }

    /// The machine image's disk, if it has one on this node. An image this
    /// node has no file for is a bundle to fetch from Walrus, or, without
    /// an image cache, an error unless there is a kernel to boot.
    fn machine_disk(&self, spec: &GuestSpec) -> Result<Option<PathBuf>, DriverError> {
        if spec.root_volume.is_some() {
            // EBS-backed: the guest boots from its root volume.
            return Ok(None);
        }
        match self.config.images.path(&spec.image) {
            Some(path) if path.is_file() => Ok(Some(path)),
            Some(path) => Err(start_failed(spec, missing_image(&spec.image, &path, &self.config.images))),
            None if self.bundles.is_some() => self.bundled(spec, &spec.image).map(Some),
            None if spec.kernel.is_some() => Ok(None),
            None => Err(start_failed(spec, format!("image {} is not available on this node", spec.image))),
        }
    }

    /// A bundled image's file in the cache, fetched first if need be.
    fn bundled(&self, spec: &GuestSpec, image: &ImageId) -> Result<PathBuf, DriverError> {
        let cache = self
            .bundles
            .as_ref()
            .ok_or_else(|| start_failed(spec, format!("image {image} is not available on this node")))?;
        cache.file(&spec.instance, image).map_err(|e| start_failed(spec, e.to_string()))
    }

    fn files(&self, instance: &InstanceId) -> InstanceFiles {
        InstanceFiles::new(&self.config.instance_dir, instance.as_str())
    }

    /// The connection, opened again if a daemon behind it went away.
    fn conn(&self) -> Result<Arc<Connect>, DriverError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if !conn.is_alive().unwrap_or(false) {
            tracing::warn!(uri = %self.config.uri, "the libvirt connection is gone; connecting again");
            *conn = Arc::new(connect(&self.config.uri)?);
        }
        Ok(conn.clone())
    }

    /// The instance's domain, `None` if libvirt has none.
    fn domain(&self, instance: &InstanceId) -> Result<Option<Domain>, DriverError> {
        match self.conn()?.lookup_domain_by_name(instance.as_str()) {
            Ok(dom) => Ok(Some(dom)),
            Err(e) if no_domain(&e) => Ok(None),
            Err(e) => Err(libvirt_error("cannot look the guest up", e)),
        }
    }

    /// Keeps a volume's CHAP secret in a libvirt secret (private: libvirt
    /// never hands its value out again), for the disk's `<auth>` to name.
    /// Where secrets are kept: libvirt's secret driver beside the
    /// embedded QEMU driver (`secret:///embed`, same root), else the
    /// connection itself.
    /// The embedded secret driver stays open for as long as the driver:
    /// the embedded QEMU driver looks secrets up through it when QEMU
    /// connects a disk.
    fn secrets(&self) -> Result<Arc<Connect>, DriverError> {
        let Some(query) = self.config.uri.strip_prefix("qemu:///embed?") else { return self.conn() };
        let mut kept = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(conn) = kept.as_ref() {
            return Ok(conn.clone());
        }
        let conn = Arc::new(connect(&format!("secret:///embed?{query}"))?);
        *kept = Some(conn.clone());
        Ok(conn)
    }

    fn keep_chap_secret(&self, volume: &str, secret: &str) -> Result<(), DriverError> {
        let conn = self.secrets()?;
        let usage = xml::chap_usage(volume);
        let found = match conn.lookup_secret_by_usage(virt::sys::VIR_SECRET_USAGE_TYPE_ISCSI as i32, &usage) {
            Ok(found) => found,
            Err(_) => {
                let definition = format!(
                    "<secret ephemeral='no' private='yes'><description>Yukari volume {}</description>\
                     <usage type='iscsi'><target>{}</target></usage></secret>",
                    xml::escape(volume),
                    xml::escape(&usage)
                );
                conn.define_secret_xml(&definition, 0)
                    .map_err(|e| libvirt_error("cannot keep the volume's CHAP secret", e))?
            }
        };
        found
            .set_value(secret.as_bytes(), 0)
            .map_err(|e| libvirt_error("cannot set the volume's CHAP secret", e))
    }

    /// Drops a volume's CHAP secret (none is fine).
    fn forget_chap_secret(&self, volume: &str) -> Result<(), DriverError> {
        let conn = self.secrets()?;
        let usage = xml::chap_usage(volume);
        if let Ok(found) = conn.lookup_secret_by_usage(virt::sys::VIR_SECRET_USAGE_TYPE_ISCSI as i32, &usage)
        {
            found.undefine().map_err(|e| libvirt_error("cannot drop the volume's CHAP secret", e))?;
        }
        Ok(())
    }

    /// The domain's XML: as it runs (`live`), or as defined.
    fn xml_of(dom: &Domain, live: bool) -> Result<String, DriverError> {
        let flags = if live { 0 } else { virt::sys::VIR_DOMAIN_XML_INACTIVE };
        dom.xml_desc(flags).map_err(|e| libvirt_error("cannot read the guest's definition", e))
    }

    fn define_and_start(&self, spec: &GuestSpec) -> Result<(), DriverError> {
        let files = self.files(&spec.instance);
        let disk = self.machine_disk(spec)?;
        files
            .create()
            .map_err(|e| start_failed(spec, format!("cannot create {}: {e}", files.dir().display())))?;
        let overlay = match &disk {
            Some(base) => {
                let overlay = files.disk();
                let min_size = u64::from(spec.vm_type.disk_gib) << 30;
                files::create_overlay(&self.config.qemu_img, base, &overlay, min_size)
                    .map_err(|e| start_failed(spec, format!("cannot make the instance's disk: {e}")))?;
                Some(overlay)
            }
            None => None,
        };
        let xml = self.render(spec, &files, overlay)?;
        let conn = self.conn()?;
        let dom = conn
            .define_domain_xml(&xml)
            .map_err(|e| start_failed(spec, format!("libvirt refused the domain: {}", e.message())))?;
        dom.create()
            .map_err(|e| start_failed(spec, format!("the domain does not start: {}", e.message())))?;
        tracing::info!(instance = %spec.instance, domain_type = %self.config.domain_type, "guest defined and started");
        Ok(())
    }
}

impl HypervisorDriver for LibvirtDriver {
    fn name(&self) -> &str {
        "libvirt"
    }

    fn blocks(&self) -> bool {
        true
    }

    fn start(&self, spec: &GuestSpec) -> Result<(), DriverError> {
        match self.domain(&spec.instance)? {
            None => self.define_and_start(spec),
            Some(dom) => {
                // Defined by an earlier try, or stopped: define it again from
                // the spec (its type may have changed while it was off), on
                // the disk it has, and boot it.
                let active =
                    dom.is_active().map_err(|e| libvirt_error("cannot read the state of the guest", e))?;
                if active {
                    return Ok(());
                }
                let files = self.files(&spec.instance);
                let disk = Some(files.disk()).filter(|d| d.is_file());
                // Defined again under the same UUID, as libvirt requires.
                let uuid = dom.uuid_string().map_err(|e| libvirt_error("cannot read the guest's UUID", e))?;
                let xml = self.render(spec, &files, disk)?.replacen(
                    "</name>",
                    &format!("</name><uuid>{uuid}</uuid>"),
                    1,
                );
                let dom = self.conn()?.define_domain_xml(&xml).map_err(|e| {
                    start_failed(spec, format!("libvirt refused the domain: {}", e.message()))
                })?;
                dom.create()
                    .map_err(|e| start_failed(spec, format!("the domain does not start: {}", e.message())))?;
                Ok(())
            }
        }
    }

    fn destroy(&self, instance: &InstanceId) -> Result<(), DriverError> {
        if let Some(dom) = self.domain(instance)? {
            if let Err(e) = dom.destroy()
                && !no_domain(&e)
                && !matches!(e.code(), Enum::Known(ErrorNumber::OperationInvalid))
            {
                return Err(libvirt_error("cannot stop the guest", e));
            }
            if let Err(e) = dom.undefine()
                && !no_domain(&e)
            {
                return Err(libvirt_error("cannot undefine the guest", e));
            }
        }
        let files = self.files(instance);
        files.remove().map_err(|e| hypervisor(format!("cannot remove {}", files.dir().display()), e))?;
        if let Some(cache) = &self.bundles {
            cache.release(instance).map_err(|e| hypervisor("cannot release its cached images".into(), e))?;
        }
        Ok(())
    }

    /// Presses the guest's ACPI power button: a guest that listens powers
    /// off, and its domain stays defined, shut off. A guest that is not
    /// running (or not there) is left as it is: `false`.
    fn shutdown(&self, instance: &InstanceId) -> Result<bool, DriverError> {
        let Some(dom) = self.domain(instance)? else {
            return Ok(false);
        };
        if !dom.is_active().map_err(|e| libvirt_error("cannot read the state of the guest", e))? {
            return Ok(false);
        }
        // libvirt's default method: the guest agent if the domain has one
        // (ours have not), else the ACPI power button.
        dom.shutdown().map_err(|e| libvirt_error("cannot press the power button", e))?;
        Ok(true)
    }

    /// Powers the guest off at once and keeps its domain and files, to be
    /// started again with the same disk.
    fn stop(&self, instance: &InstanceId) -> Result<(), DriverError> {
        let Some(dom) = self.domain(instance)? else {
            return Ok(());
        };
        match dom.destroy() {
            Ok(()) => Ok(()),
            Err(e) if no_domain(&e) || matches!(e.code(), Enum::Known(ErrorNumber::OperationInvalid)) => {
                Ok(())
            }
            Err(e) => Err(libvirt_error("cannot stop the guest", e)),
        }
    }

    /// Reboots the guest the way libvirt prefers (for QEMU: the ACPI power
    /// button, then a reset once the guest has powered off).
    fn reboot(&self, instance: &InstanceId) -> Result<(), DriverError> {
        let dom = self.domain(instance)?.ok_or_else(|| DriverError::NoSuchGuest(instance.clone()))?;
        dom.reboot(virt::sys::VIR_DOMAIN_REBOOT_DEFAULT).map_err(|e| libvirt_error("cannot reboot", e))
    }

    fn state(&self, instance: &InstanceId) -> Result<GuestState, DriverError> {
        let Some(dom) = self.domain(instance)? else {
            return Ok(GuestState::Absent);
        };
        match dom.state() {
            Ok((state, _reason)) => Ok(guest_state(state)),
            // Undefined between the lookup and now.
            Err(e) if no_domain(&e) => Ok(GuestState::Absent),
            Err(e) => Err(libvirt_error("cannot read the state of the guest", e)),
        }
    }

    fn list(&self) -> Result<Vec<InstanceId>, DriverError> {
        let domains = self.conn()?.list_all_domains(0).map_err(|e| libvirt_error("cannot list guests", e))?;
        // Domains not named like instances are someone else's (qemu:///system
        // is shared; test:///default has its own "test" domain).
        Ok(domains.iter().filter_map(|d| d.name().ok()).filter_map(|n| InstanceId::parse(&n).ok()).collect())
    }

    fn attach_volume(&self, instance: &InstanceId, disk: &VolumeDisk) -> Result<(), DriverError> {
        let dom = self.domain(instance)?.ok_or_else(|| DriverError::NoSuchGuest(instance.clone()))?;
        if let Some(chap) = &disk.chap {
            self.keep_chap_secret(&disk.volume, &chap.secret)?;
        }
        let element = xml::volume_disk(disk);
        let active = dom.is_active().map_err(|e| libvirt_error("cannot read the state of the guest", e))?;
        if active && !xml::attached_volumes(&Self::xml_of(&dom, true)?).contains(&disk.volume) {
            dom.attach_device_flags(&element, virt::sys::VIR_DOMAIN_AFFECT_LIVE)
                .map_err(|e| libvirt_error("cannot attach the volume", e))?;
        }
        if !xml::attached_volumes(&Self::xml_of(&dom, false)?).contains(&disk.volume) {
            dom.attach_device_flags(&element, virt::sys::VIR_DOMAIN_AFFECT_CONFIG)
                .map_err(|e| libvirt_error("cannot keep the volume in the guest's definition", e))?;
        }
        tracing::info!(%instance, volume = %disk.volume, device = %disk.device, live = active, "volume attached");
        Ok(())
    }

    /// Asks the running guest to let the disk go and waits until QEMU has
    /// removed it (the guest must answer the unplug request; one that does
    /// not within the wait is an error, retried later), then takes it out
    /// of the definition.
    fn detach_volume(&self, instance: &InstanceId, volume: &str) -> Result<(), DriverError> {
        let Some(dom) = self.domain(instance)? else { return Ok(()) };
        let active = dom.is_active().map_err(|e| libvirt_error("cannot read the state of the guest", e))?;
        if active
            && let Some(element) = xml::volume_element(&Self::xml_of(&dom, true)?, volume).map(str::to_owned)
        {
            dom.detach_device_flags(&element, virt::sys::VIR_DOMAIN_AFFECT_LIVE)
                .map_err(|e| libvirt_error("cannot detach the volume", e))?;
            let deadline = std::time::Instant::now() + DETACH_WAIT;
            while xml::attached_volumes(&Self::xml_of(&dom, true)?).iter().any(|v| v == volume) {
                if std::time::Instant::now() > deadline {
                    return Err(DriverError::Hypervisor(format!(
                        "the guest did not release volume {volume} within {} s",
                        DETACH_WAIT.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if let Some(element) = xml::volume_element(&Self::xml_of(&dom, false)?, volume).map(str::to_owned) {
            dom.detach_device_flags(&element, virt::sys::VIR_DOMAIN_AFFECT_CONFIG)
                .map_err(|e| libvirt_error("cannot take the volume out of the guest's definition", e))?;
        }
        self.forget_chap_secret(volume)?;
        tracing::info!(%instance, %volume, live = active, "volume detached");
        Ok(())
    }

    fn volumes(&self, instance: &InstanceId) -> Result<Vec<String>, DriverError> {
        let Some(dom) = self.domain(instance)? else { return Ok(Vec::new()) };
        let active = dom.is_active().map_err(|e| libvirt_error("cannot read the state of the guest", e))?;
        let mut volumes = xml::attached_volumes(&Self::xml_of(&dom, false)?);
        if active {
            volumes.extend(xml::attached_volumes(&Self::xml_of(&dom, true)?));
            volumes.sort();
            volumes.dedup();
        }
        Ok(volumes)
    }

    fn private_dirs(&self) -> Vec<(PathBuf, &'static str)> {
        let mut dirs = vec![
            (self.config.instance_dir.clone(), "instance dir"),
            (self.config.images.dir().to_path_buf(), "image dir"),
        ];
        dirs.extend(self.bundles.as_ref().map(|cache| (cache.dir().to_path_buf(), "image cache")));
        dirs.extend(self.config.embed_root().map(|root| (root, "libvirt dir")));
        // QEMU and qemu-img name files by their real paths.
        let real: Vec<(PathBuf, &'static str)> = dirs
            .iter()
            .filter_map(|(dir, name)| std::fs::canonicalize(dir).ok().map(|real| (real, *name)))
            .filter(|(real, _)| !dirs.iter().any(|(d, _)| d == real))
            .collect();
        dirs.extend(real);
        dirs
    }

    fn console_output(&self, instance: &InstanceId) -> Result<Vec<u8>, DriverError> {
        let files = self.files(instance);
        match files.console_tail() {
            Ok(Some(log)) => Ok(log),
            Ok(None) if self.domain(instance)?.is_some() => Ok(Vec::new()),
            Ok(None) => Err(DriverError::NoSuchGuest(instance.clone())),
            Err(e) => Err(hypervisor(format!("cannot read {}", files.console_log().display()), e)),
        }
    }
}

/// How a libvirt domain state reads to the executor. A guest shutting
/// down or paused by libvirt is still there; only shut off and crashed
/// ones are not running.
fn guest_state(state: Enum<DomainState, virt::sys::virDomainState>) -> GuestState {
    match state {
        Enum::Known(DomainState::Running | DomainState::Blocked | DomainState::Shutdown) => {
            GuestState::Running
        }
        Enum::Known(DomainState::PMSuspended) => GuestState::Running,
        Enum::Known(DomainState::NoState | DomainState::Paused) => GuestState::Booting,
        Enum::Known(DomainState::Shutoff) => GuestState::ShutOff,
        Enum::Known(DomainState::Crashed) => GuestState::Crashed,
        Enum::Unknown(_) => GuestState::Booting,
    }
}

/// Starts libvirt's default event loop on a thread, once per process.
/// The embedded QEMU driver needs it (to learn that a guest powered off,
/// for instance), and it must be registered before the first connection.
fn event_loop() -> Result<(), DriverError> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            // libvirt prints every error to stderr by default; ours are returned.
            virt::error::clear_error_callback();
            virt::event::event_register_default_impl().map_err(|e| e.message().to_owned())?;
            std::thread::Builder::new()
                .name("libvirt-events".into())
                .spawn(|| {
                    loop {
                        if let Err(e) = virt::event::event_run_default_impl() {
                            tracing::warn!(error = %e.message(), "libvirt's event loop failed; going on");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| DriverError::Hypervisor(format!("cannot start libvirt's event loop: {e}")))
}

/// libvirt checks that its QEMU user can open /dev/kvm before it trusts
/// its cache of what QEMU can do; when it cannot (a /dev/kvm only root may
/// open, as on hosts without udev rules), every guest start probes QEMU
/// again, ~45 s each, even for emulated guests.
fn warn_about_dev_kvm() {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata("/dev/kvm")
        && meta.permissions().mode() & 0o066 == 0
    {
        tracing::warn!(
            "/dev/kvm is open to root only: libvirt will probe QEMU again on every guest start \
             (tens of seconds each); fix with `chgrp kvm /dev/kvm; chmod 0660 /dev/kvm`"
        );
    }
}

fn connect(uri: &str) -> Result<Connect, DriverError> {
    Connect::open(Some(uri))
        .map_err(|e| DriverError::Hypervisor(format!("cannot connect to {uri}: {}", e.message())))
}

/// Added to [`EMBED_QEMU_CONF`] when guests must run as root.
const EMBED_QEMU_AS_ROOT: &str = "\
# The data directory is below a folder QEMU's own user cannot enter.
user = \"root\"
group = \"root\"
";

/// The embedded driver's root, with a `qemu.conf` that needs no daemon and
/// runs QEMU as root when `as_root` says so. A `qemu.conf` someone edited is
/// left alone. Returns whether guests run as root.
fn prepare_embed_root(root: &std::path::Path, as_root: bool) -> std::io::Result<bool> {
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc)?;
    let conf = etc.join("qemu.conf");
    let with_root = format!("{EMBED_QEMU_CONF}{EMBED_QEMU_AS_ROOT}");
    let wanted = if as_root { with_root.as_str() } else { EMBED_QEMU_CONF };
    match std::fs::read_to_string(&conf) {
        Ok(text) if text != EMBED_QEMU_CONF && text != with_root => {
            return Ok(text.lines().any(|l| l.trim_start().starts_with("user") && l.contains("\"root\"")));
        }
        Ok(text) if text == wanted => {}
        Ok(_) => std::fs::write(&conf, wanted)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::write(&conf, wanted)?,
        Err(e) => return Err(e),
    }
    Ok(as_root)
}

fn missing_image(image: &ImageId, path: &std::path::Path, images: &ImageFiles) -> String {
    format!(
        "the file of image {image} ({}) is missing: build the default image with \
         `scripts/build-guest-image {}`",
        path.display(),
        images.dir().display()
    )
}

fn no_domain(e: &virt::error::Error) -> bool {
    matches!(e.code(), Enum::Known(ErrorNumber::NoDomain))
}

fn libvirt_error(what: &str, e: virt::error::Error) -> DriverError {
    DriverError::Hypervisor(format!("{what}: {}", e.message()))
}

fn hypervisor(what: String, e: std::io::Error) -> DriverError {
    DriverError::Hypervisor(format!("{what}: {e}"))
}

fn start_failed(spec: &GuestSpec, reason: String) -> DriverError {
    DriverError::StartFailed { instance: spec.instance.clone(), reason }
}

#[cfg(test)]
mod tests;
