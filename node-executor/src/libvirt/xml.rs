//! The libvirt domain XML of one guest, built from what the driver resolved
//! (files, network, domain type). Pure: no I/O, so every choice here is
//! tested by reading the text.
//!
//! Choices that matter on real hosts (see HOST-FACTS): `<features><acpi/>`
//! (without it the guest's poweroff does not end the VM and hotplug fails),
//! no `<graphics>` (a headless cloud guest; `type='none'` is rejected), the
//! serial console to a file in the instance directory, virtio disk and NIC.

use super::config::{DomainType, GuestNetwork};
use crate::driver::VolumeDisk;
use std::fmt::Write as _;
use std::path::Path;

/// XML namespace of the `<metadata>` element Yukari puts in its domains.
pub(crate) const METADATA_NS: &str = "urn:yukari:instance:1";

/// How the guest boots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Boot<'a> {
    /// Direct kernel boot (Eucalyptus's eki/eri): the kernel, its initrd
    /// and the kernel command line.
    Kernel { kernel: &'a Path, initrd: Option<&'a Path>, cmdline: String },
    /// From the disk's boot loader.
    Disk,
}

/// Everything in one guest's domain XML.
#[derive(Clone, Debug)]
pub(crate) struct DomainXml<'a> {
    /// The domain name: the instance id.
    pub name: &'a str,
    pub domain_type: DomainType,
    pub cpus: u32,
    pub memory_mib: u32,
    pub boot: Boot<'a>,
    /// The instance's own disk (a qcow2 overlay), if its image has one.
    pub disk: Option<&'a Path>,
    pub network: &'a GuestNetwork,
    pub mac: &'a str,
    /// Where the serial console is written.
    pub console_log: &'a Path,
    /// Shown in `virsh dumpxml` for people looking at the host.
    pub labels: &'a [(&'a str, &'a str)],
    /// EBS volumes attached to the guest.
    pub volumes: &'a [VolumeDisk],
}

impl DomainXml<'_> {
    pub(crate) fn render(&self) -> String {
        let mut x = String::with_capacity(2048);
        let w = &mut x;
        // Writing to a String cannot fail.
        let _ = writeln!(w, "<domain type='{}'>", self.domain_type.as_str());
        let _ = writeln!(w, "  <name>{}</name>", escape(self.name));
        if !self.labels.is_empty() {
            let _ = write!(w, "  <metadata>\n    <yukari:instance xmlns:yukari='{METADATA_NS}'");
            for (key, value) in self.labels {
                let _ = write!(w, " {key}='{}'", escape(value));
            }
            let _ = writeln!(w, "/>\n  </metadata>");
        }
        let _ = writeln!(w, "  <memory unit='MiB'>{}</memory>", self.memory_mib);
        let _ = writeln!(w, "  <vcpu>{}</vcpu>", self.cpus.max(1));
        let _ = writeln!(w, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>");
        match &self.boot {
            Boot::Kernel { kernel, initrd, cmdline } => {
                let _ = writeln!(w, "    <kernel>{}</kernel>", path(kernel));
                if let Some(initrd) = initrd {
                    let _ = writeln!(w, "    <initrd>{}</initrd>", path(initrd));
                }
                let _ = writeln!(w, "    <cmdline>{}</cmdline>", escape(cmdline));
            }
            Boot::Disk => {
                let _ = writeln!(w, "    <boot dev='hd'/>");
            }
        }
        let _ = writeln!(w, "  </os>");
        let _ = writeln!(w, "  <features>\n    <acpi/>\n  </features>");
        let _ = writeln!(w, "  <clock offset='utc'/>");
        let _ = writeln!(w, "  <on_poweroff>destroy</on_poweroff>");
        let _ = writeln!(w, "  <on_reboot>restart</on_reboot>");
        let _ = writeln!(w, "  <on_crash>destroy</on_crash>");
        let _ = writeln!(w, "  <devices>");
        if let Some(disk) = self.disk {
            let _ = writeln!(
                w,
                "    <disk type='file' device='disk'>\n      \
                 <driver name='qemu' type='qcow2'/>\n      \
                 <source file='{}'/>\n      \
                 <target dev='vda' bus='virtio'/>\n    \
                 </disk>",
                path(disk)
            );
        }
        for volume in self.volumes {
            let _ = writeln!(w, "{}", volume_disk(volume));
        }
        match self.network {
            GuestNetwork::User => {
                let _ = writeln!(
                    w,
                    "    <interface type='user'>\n      <mac address='{}'/>\n      \
                     <model type='virtio'/>\n    </interface>",
                    escape(self.mac)
                );
            }
            GuestNetwork::Libvirt(network) => {
                let _ = writeln!(
                    w,
                    "    <interface type='network'>\n      <source network='{}'/>\n      \
                     <mac address='{}'/>\n      <model type='virtio'/>\n    </interface>",
                    escape(network),
                    escape(self.mac)
                );
            }
            GuestNetwork::Bridge(bridge) => {
                // An isolated port: guests reach each other only through
                // the host, where their security groups are enforced.
                let _ = writeln!(
                    w,
                    "    <interface type='bridge'>\n      <source bridge='{}'/>\n      \
                     <mac address='{}'/>\n      <model type='virtio'/>\n      \
                     <port isolated='yes'/>\n    </interface>",
                    escape(bridge),
                    escape(self.mac)
                );
            }
            GuestNetwork::None => {}
        }
        let _ = writeln!(
            w,
            "    <serial type='file'>\n      <source path='{}' append='on'/>\n      \
             <target port='0'/>\n    </serial>",
            path(self.console_log)
        );
        let _ = writeln!(w, "    <memballoon model='none'/>");
        let _ = writeln!(w, "  </devices>\n</domain>");
        x
    }
}

/// The guest device for an EC2 device name: `/dev/sdf`, `/dev/xvdf` and
/// `/dev/vdf` are all `vdf` (virtio; the guest names its disks in the
/// order they come, as EC2's Nitro guests do).
pub(crate) fn guest_device(device: &str) -> String {
    let name = device.strip_prefix("/dev/").unwrap_or(device);
    let suffix = ["xvd", "sd", "vd", "hd"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
        .trim_end_matches(|c: char| c.is_ascii_digit());
    format!("vd{suffix}")
}

/// A volume as a network disk: QEMU's own iSCSI initiator logs in with
/// the attachment's initiator name (the target's only ACL entry); the
/// disk's serial names the volume ([`serial_of`]), so the guest and
/// reconciliation can tell which volume a disk is.
/// The libvirt secret (usage type iscsi) holding a volume's CHAP secret.
pub(crate) fn chap_usage(volume: &str) -> String {
    format!("yukari-{volume}")
}

pub(crate) fn volume_disk(v: &VolumeDisk) -> String {
    let (host, port) = v.portal.rsplit_once(':').unwrap_or((v.portal.as_str(), "3260"));
    let auth = match &v.chap {
        Some(chap) => format!(
            "<auth username='{}'>\n          <secret type='iscsi' usage='{}'/>\n        </auth>\n        ",
            escape(&chap.user),
            escape(&chap_usage(&v.volume))
        ),
        None => String::new(),
    };
    format!(
        "    <disk type='network' device='disk'>\n      \
         <driver name='qemu' type='raw' cache='none'/>\n      \
         <source protocol='iscsi' name='{}/{}'>\n        \
         <host name='{}' port='{}'/>\n        \
         {auth}<initiator>\n          <iqn name='{}'/>\n        </initiator>\n      \
         </source>\n      \
         <target dev='{}' bus='virtio'/>\n      \
         <serial>{}</serial>\n    \
         </disk>",
        escape(&v.iqn),
        v.lun,
        escape(host),
        escape(port),
        escape(&v.initiator),
        escape(&guest_device(&v.device)),
        escape(&serial_of(&v.volume))
    )
}

/// A volume's disk serial: its id without the dash (`vol0123…`), as EC2
/// names EBS disks to Nitro guests; a virtio disk's serial holds at most
/// 20 characters, and a volume id has 21.
pub(crate) fn serial_of(volume: &str) -> String {
    volume.replacen('-', "", 1)
}

/// The volume id of a disk serial made by [`serial_of`].
fn volume_of(serial: &str) -> Option<String> {
    serial.strip_prefix("vol").map(|hex| format!("vol-{hex}"))
}

/// The network disks of a domain's XML: (volume id from the serial, the
/// whole `<disk>` element, as libvirt wants it back to detach it).
fn network_disks(domain_xml: &str) -> impl Iterator<Item = (String, &str)> {
    domain_xml.match_indices("<disk ").filter_map(|(at, _)| {
        let rest = &domain_xml[at..];
        let element = &rest[..rest.find("</disk>")? + "</disk>".len()];
        let network =
            element.starts_with("<disk type='network'") || element.starts_with("<disk type=\"network\"");
        let start = element.find("<serial>")? + "<serial>".len();
        let end = element[start..].find("</serial>")? + start;
        network.then(|| Some((volume_of(&element[start..end])?, element))).flatten()
    })
}

/// The volume ids (disk serials) of the network disks in a domain's XML.
pub(crate) fn attached_volumes(domain_xml: &str) -> Vec<String> {
    network_disks(domain_xml).map(|(volume, _)| volume).collect()
}

/// The `<disk>` element of `volume` in a domain's XML.
pub(crate) fn volume_element<'a>(domain_xml: &'a str, volume: &str) -> Option<&'a str> {
    network_disks(domain_xml).find(|(v, _)| *v == volume).map(|(_, element)| element)
}

/// The address a guest sets on its interface itself (no DHCP in bridge
/// mode: the controller decided it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GuestIp {
    pub address: std::net::Ipv4Addr,
    pub prefix: u8,
    pub gateway: std::net::Ipv4Addr,
}

/// The kernel command line of a Yukari guest: serial console, its instance
/// id, its address if the node gives it one (`yukari.ip=ADDR/PREFIX
/// yukari.gw=GW`), and where its metadata service is (if the node knows
/// better than the well-known 169.254.169.254).
pub(crate) fn kernel_cmdline(instance: &str, metadata: &[String], ip: Option<GuestIp>) -> String {
    let mut line = format!("console=ttyS0 yukari.instance={instance}");
    if let Some(GuestIp { address, prefix, gateway }) = ip {
        let _ = write!(line, " yukari.ip={address}/{prefix} yukari.gw={gateway}");
    }
    if !metadata.is_empty() {
        // One word on the command line: no spaces in it.
        let urls: Vec<String> = metadata.iter().map(|u| u.replace(char::is_whitespace, "")).collect();
        let _ = write!(line, " yukari.metadata={}", urls.join(","));
    }
    line
}

/// A locally administered MAC address made from the instance id, so a
/// guest defined again gets the same one (QEMU's 52:54:00 prefix).
pub(crate) fn mac_for(instance: &str) -> String {
    let hex: String = instance.chars().filter(char::is_ascii_hexdigit).collect();
    let tail = if hex.len() >= 6 { &hex[hex.len() - 6..] } else { "000000" };
    format!("52:54:00:{}:{}:{}", &tail[0..2], &tail[2..4], &tail[4..6])
}

fn path(p: &Path) -> String {
    escape(&p.to_string_lossy())
}

/// Escapes text for an XML attribute (quoted with either quote) or element.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn kernel_booted<'a>(
        network: &'a GuestNetwork,
        disk: Option<&'a Path>,
        kernel: &'a Path,
        initrd: &'a Path,
        console: &'a Path,
    ) -> DomainXml<'a> {
        DomainXml {
            name: "i-0000000000000002a",
            domain_type: DomainType::Qemu,
            cpus: 2,
            memory_mib: 512,
            boot: Boot::Kernel {
                kernel,
                initrd: Some(initrd),
                cmdline: kernel_cmdline("i-0000000000000002a", &["http://10.0.2.2:8773/".into()], None),
            },
            disk,
            network,
            mac: "52:54:00:00:00:2a",
            console_log: console,
            labels: &[("reservation", "r-00000000000000001"), ("image", "emi-0000059554b415249")],
            volumes: &[],
        }
    }

    fn volume(n: u32, device: &str) -> VolumeDisk {
        VolumeDisk {
            volume: format!("vol-0000000000000000{n}"),
            device: device.into(),
            iqn: format!("iqn.2026-12.io.yukari:vol-0000000000000000{n}"),
            lun: 1,
            portal: "10.250.0.20:3260".into(),
            initiator: format!("iqn.2026-12.io.yukari:att-{n}"),
            chap: None,
        }
    }

    #[test]
    fn volumes_are_network_disks_with_their_initiator_name_and_their_id_as_serial() {
        let (kernel, initrd) = (PathBuf::from("/img/k"), PathBuf::from("/img/i"));
        let console = PathBuf::from("/n/console.log");
        let volumes = [volume(1, "/dev/sdf"), volume(2, "/dev/xvdg")];
        let mut d = kernel_booted(&GuestNetwork::None, None, &kernel, &initrd, &console);
        d.volumes = &volumes;
        let x = d.render();
        assert!(
            x.contains(
                "<source protocol='iscsi' name='iqn.2026-12.io.yukari:vol-00000000000000001/1'>\n        \
             <host name='10.250.0.20' port='3260'/>\n        \
             <initiator>\n          <iqn name='iqn.2026-12.io.yukari:att-1'/>\n        </initiator>"
            ),
            "{x}"
        );
        assert!(
            x.contains("<target dev='vdf' bus='virtio'/>\n      <serial>vol00000000000000001</serial>"),
            "{x}"
        );
        assert!(x.contains("<target dev='vdg' bus='virtio'/>"), "{x}");
        assert_eq!(attached_volumes(&x), ["vol-00000000000000001", "vol-00000000000000002"]);
        let element = volume_element(&x, "vol-00000000000000002").unwrap();
        assert!(element.starts_with("<disk type='network'") && element.ends_with("</disk>"), "{element}");
        assert!(element.contains("vdg") && !element.contains("vdf"), "{element}");
        assert_eq!(volume_element(&x, "vol-3"), None);
        for (device, dev) in [("/dev/sdf", "vdf"), ("/dev/xvdh", "vdh"), ("/dev/sdf1", "vdf"), ("vdb", "vdb")]
        {
            assert_eq!(guest_device(device), dev);
        }
    }

    #[test]
    fn a_kernel_booted_guest_has_what_the_host_needs() {
        let (kernel, initrd) = (PathBuf::from("/img/yukari-kernel"), PathBuf::from("/img/yukari-initrd"));
        let (disk, console) = (PathBuf::from("/n/i-1/disk.qcow2"), PathBuf::from("/n/i-1/console.log"));
        let xml = kernel_booted(&GuestNetwork::User, Some(&disk), &kernel, &initrd, &console).render();
        for needle in [
            "<domain type='qemu'>",
            "<name>i-0000000000000002a</name>",
            "<memory unit='MiB'>512</memory>",
            "<vcpu>2</vcpu>",
            "<kernel>/img/yukari-kernel</kernel>",
            "<initrd>/img/yukari-initrd</initrd>",
            "<cmdline>console=ttyS0 yukari.instance=i-0000000000000002a yukari.metadata=http://10.0.2.2:8773/</cmdline>",
            "<features>\n    <acpi/>\n  </features>",
            "<on_poweroff>destroy</on_poweroff>",
            "<driver name='qemu' type='qcow2'/>",
            "<source file='/n/i-1/disk.qcow2'/>",
            "<target dev='vda' bus='virtio'/>",
            "<interface type='user'>",
            "<mac address='52:54:00:00:00:2a'/>",
            "<model type='virtio'/>",
            "<serial type='file'>\n      <source path='/n/i-1/console.log' append='on'/>",
            "reservation='r-00000000000000001'",
            "xmlns:yukari='urn:yukari:instance:1'",
        ] {
            assert!(xml.contains(needle), "{needle:?} missing from\n{xml}");
        }
        assert!(!xml.contains("<graphics"), "{xml}");
        assert!(!xml.contains("<boot dev"), "a kernel-booted guest names no boot device: {xml}");
    }

    #[test]
    fn domain_type_network_and_disk_follow_the_settings() {
        let (kernel, initrd, console) = (PathBuf::from("/k"), PathBuf::from("/i"), PathBuf::from("/c.log"));
        let network = GuestNetwork::Libvirt("default".into());
        let mut guest = kernel_booted(&network, None, &kernel, &initrd, &console);
        guest.domain_type = DomainType::Kvm;
        let xml = guest.render();
        assert!(xml.starts_with("<domain type='kvm'>"), "{xml}");
        assert!(xml.contains("<interface type='network'>\n      <source network='default'/>"), "{xml}");
        assert!(!xml.contains("<disk"), "no image disk, no <disk>: {xml}");

        let bridge = GuestNetwork::Bridge("ykbr0".into());
        let xml = kernel_booted(&bridge, None, &kernel, &initrd, &console).render();
        assert!(
            xml.contains("<interface type='bridge'>\n      <source bridge='ykbr0'/>\n      <mac address='52:54:00:00:00:2a'/>"),
            "{xml}"
        );
        assert!(xml.contains("<port isolated='yes'/>"), "guests talk through the host: {xml}");

        let none = GuestNetwork::None;
        let mut guest = kernel_booted(&none, None, &kernel, &initrd, &console);
        guest.boot = Boot::Disk;
        let xml = guest.render();
        assert!(!xml.contains("<interface"), "{xml}");
        assert!(xml.contains("<boot dev='hd'/>") && !xml.contains("<kernel>"), "{xml}");
    }

    #[test]
    fn text_from_outside_is_escaped() {
        let (kernel, initrd) = (PathBuf::from("/img/a&b"), PathBuf::from("/img/<i>"));
        let console = PathBuf::from("/n/it's/console.log");
        let network = GuestNetwork::Libvirt("net'><evil/>".into());
        let mut guest = kernel_booted(&network, None, &kernel, &initrd, &console);
        guest.labels = &[("image", "x' onload='y")];
        let xml = guest.render();
        assert!(xml.contains("<kernel>/img/a&amp;b</kernel>"), "{xml}");
        assert!(xml.contains("<initrd>/img/&lt;i&gt;</initrd>"), "{xml}");
        assert!(xml.contains("/n/it&apos;s/console.log"), "{xml}");
        assert!(xml.contains("network='net&apos;&gt;&lt;evil/&gt;'"), "{xml}");
        assert!(xml.contains("image='x&apos; onload=&apos;y'"), "{xml}");
        assert!(!xml.contains("<evil/>"), "{xml}");
    }

    #[test]
    fn the_command_line_and_mac_come_from_the_instance() {
        assert_eq!(kernel_cmdline("i-1", &[], None), "console=ttyS0 yukari.instance=i-1");
        let ip = GuestIp {
            address: "10.111.0.5".parse().unwrap(),
            prefix: 16,
            gateway: "10.111.0.1".parse().unwrap(),
        };
        assert_eq!(
            kernel_cmdline("i-1", &[], Some(ip)),
            "console=ttyS0 yukari.instance=i-1 yukari.ip=10.111.0.5/16 yukari.gw=10.111.0.1"
        );
        assert_eq!(
            kernel_cmdline("i-1", &["http://a/".into(), "http://b c/".into()], None),
            "console=ttyS0 yukari.instance=i-1 yukari.metadata=http://a/,http://bc/"
        );
        assert_eq!(mac_for("i-0123456789abcdef0"), "52:54:00:bc:de:f0");
        assert_ne!(mac_for("i-00000000000000001"), mac_for("i-00000000000000002"));
    }
}
