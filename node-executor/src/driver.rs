//! The hypervisor seam: what the executor asks of a hypervisor (define and
//! boot a guest, destroy it, look at it) and the guest description it passes.
//!
//! It must not know which hypervisor is behind it (libvirt, the simulator),
//! the event log, or the controller. Calls are blocking, as libvirt's are;
//! async callers run them on the blocking pool.

use domain::event::InstanceRequested;
use domain::{AccountId, ImageId, InstanceId, ReservationId, VmType};
use std::fmt;
use std::path::PathBuf;

/// A hypervisor on this host. Every action is idempotent, so the executor
/// may repeat one after a crash or a lost answer.
pub trait HypervisorDriver: Send + Sync + 'static {
    /// Short name for logs: `"sim"`, later `"libvirt"`.
    fn name(&self) -> &str;

    /// Do calls block on I/O? Blocking drivers (libvirt) are called on the
    /// blocking thread pool; the others directly, which costs far less.
    fn blocks(&self) -> bool {
        true
    }

    /// Defines and boots the guest. A guest that already exists is left as
    /// it is and `Ok` is returned.
    fn start(&self, spec: &GuestSpec) -> Result<(), DriverError>;

    /// Hard-stops the guest, undefines it and removes what it left on the
    /// host. A guest that does not exist is `Ok`.
    fn destroy(&self, instance: &InstanceId) -> Result<(), DriverError>;

    /// Stops the guest and keeps what it needs to start again (its disk).
    /// A guest that is already off or absent is `Ok`. Drivers without
    /// persistent guests may simply destroy it.
    fn stop(&self, instance: &InstanceId) -> Result<(), DriverError> {
        self.destroy(instance)
    }

    /// Asks a running guest to shut down (the ACPI power button): `true`
    /// if it was asked and will power off by itself if it listens, `false`
    /// if this driver has no such request (the guest is then stopped hard).
    fn shutdown(&self, instance: &InstanceId) -> Result<bool, DriverError> {
        let _ = instance;
        Ok(false)
    }

    /// Restarts a running guest (RebootInstances).
    fn reboot(&self, instance: &InstanceId) -> Result<(), DriverError> {
        Err(DriverError::Hypervisor(format!("{} cannot reboot {instance}", self.name())))
    }

    /// What the guest is doing now; `Absent` when the driver has no such guest.
    fn state(&self, instance: &InstanceId) -> Result<GuestState, DriverError>;

    /// Every guest this driver has, whatever its state.
    fn list(&self) -> Result<Vec<InstanceId>, DriverError>;

    /// The guest's console log so far.
    fn console_output(&self, instance: &InstanceId) -> Result<Vec<u8>, DriverError>;

    /// Attaches an EBS volume (an iSCSI LUN) to the guest, live if it
    /// runs, and keeps it in the guest's definition so a reboot or a stop
    /// and start keeps it. A volume already attached is `Ok`.
    fn attach_volume(&self, instance: &InstanceId, disk: &VolumeDisk) -> Result<(), DriverError> {
        let _ = disk;
        Err(DriverError::Hypervisor(format!("{} cannot attach volumes to {instance}", self.name())))
    }

    /// Detaches the volume from the guest (waiting, while it runs, for the
    /// guest to let it go) and from its definition. A volume that is not
    /// attached is `Ok`.
    fn detach_volume(&self, instance: &InstanceId, volume: &str) -> Result<(), DriverError> {
        let _ = volume;
        Err(DriverError::Hypervisor(format!("{} cannot detach volumes from {instance}", self.name())))
    }

    /// The volumes attached to the guest (by volume id), for reconciliation.
    fn volumes(&self, instance: &InstanceId) -> Result<Vec<String>, DriverError> {
        let _ = instance;
        Ok(Vec::new())
    }

    /// The node's own folders this driver's errors may name (instance
    /// files, image cache …), each with a neutral name: reports to the
    /// controller name those instead (a user reads them in
    /// `stateReason`), and the node's log keeps the full error.
    fn private_dirs(&self) -> Vec<(PathBuf, &'static str)> {
        Vec::new()
    }
}

/// What a guest is doing, as the hypervisor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GuestState {
    /// The driver has no such guest.
    Absent,
    /// Started, not yet up.
    Booting,
    Running,
    /// Defined but powered off.
    ShutOff,
    Crashed,
}

impl fmt::Display for GuestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GuestState::Absent => "absent",
            GuestState::Booting => "booting",
            GuestState::Running => "running",
            GuestState::ShutOff => "shut off",
            GuestState::Crashed => "crashed",
        })
    }
}

/// An EBS volume as a guest's disk: the iSCSI export the storage
/// controller made for this attachment, and the initiator name the
/// attachment was granted (the target lets that name in, and no other).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeDisk {
    /// The volume id (`vol-…`): the disk's serial, as the guest sees it.
    pub volume: String,
    /// The device the user asked for (`/dev/sdf`, `/dev/xvdg`, `/dev/vdb` …).
    pub device: String,
    pub iqn: String,
    pub lun: u32,
    /// The storage controller's portal, `HOST:PORT`.
    pub portal: String,
    /// `iqn.2026-12.io.yukari:att-…`, the attachment's own.
    pub initiator: String,
    /// The attachment's CHAP account, if the target asks for one.
    pub chap: Option<VolumeChap>,
}

/// A CHAP account to log in to a volume's target with.
#[derive(Clone, PartialEq, Eq)]
pub struct VolumeChap {
    pub user: String,
    pub secret: String,
}

impl std::fmt::Debug for VolumeChap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VolumeChap({}, <secret>)", self.user)
    }
}

/// Everything a driver needs to define a guest, taken from the instance's
/// `InstanceRequested` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestSpec {
    pub instance: InstanceId,
    pub reservation: ReservationId,
    pub account: AccountId,
    pub vm_type: VmType,
    pub image: ImageId,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub user_data: Vec<u8>,
    pub launch_index: u32,
    /// The private address the controller gave the instance (bridge mode
    /// configures the guest with it).
    pub private_address: Option<smol_str::SmolStr>,
    /// The volumes attached to the instance, part of its definition.
    pub volumes: Vec<VolumeDisk>,
    /// An EBS-backed instance's root volume: its guest boots from that
    /// volume's disk (in `volumes` by the time the guest is started), not
    /// from a copy of its image.
    pub root_volume: Option<String>,
}

impl From<&InstanceRequested> for GuestSpec {
    fn from(e: &InstanceRequested) -> Self {
        GuestSpec {
            instance: e.instance.clone(),
            reservation: e.reservation.clone(),
            account: e.account.clone(),
            vm_type: e.vm_type.clone(),
            image: e.image.clone(),
            kernel: e.kernel.clone(),
            ramdisk: e.ramdisk.clone(),
            user_data: e.user_data.clone(),
            launch_index: e.launch_index,
            private_address: None,
            volumes: Vec::new(),
            root_volume: None,
        }
    }
}

/// Why a hypervisor call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The hypervisor would not define or boot this guest.
    #[error("cannot start guest {instance}: {reason}")]
    StartFailed { instance: InstanceId, reason: String },
    /// The guest the call is about does not exist.
    #[error("no guest {0} on this host")]
    NoSuchGuest(InstanceId),
    /// The hypervisor could not be reached or failed.
    #[error("hypervisor error: {0}")]
    Hypervisor(String),
}
