//! The node's side of EBS: the volumes its guests should have, made true.
//! The controller computes, for this node, every attachment of its
//! instances that should exist (with the export the storage controller
//! made for it) and every one that is being detached; [`VolumeSync::apply`]
//! attaches and detaches through the hypervisor driver until each guest
//! has exactly the volumes it should, and says what it did as
//! [`VolumeReport`]s for the controller to decide on.
//!
//! A disk the log does not name for a guest (a crash between the
//! hypervisor's attach and the log's record of a detach, say) is detached:
//! the log alone says what a guest holds. Every step is idempotent.

use crate::driver::{DriverError, HypervisorDriver, VolumeDisk};
use domain::InstanceId;
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::watch;

/// The root disks of EBS-backed guests, as the volume view last gave them
/// (exported by the storage controller): the executor's workers wait here
/// for an instance's root volume before they define its guest, which boots
/// from it. Root volumes are never hot-plugged.
pub struct RootDisks {
    disks: watch::Sender<BTreeMap<InstanceId, VolumeDisk>>,
}

impl Default for RootDisks {
    fn default() -> Self {
        RootDisks { disks: watch::Sender::new(BTreeMap::new()) }
    }
}

impl RootDisks {
    /// The root disks now (wakes the waiting workers if they changed).
    pub fn set(&self, disks: BTreeMap<InstanceId, VolumeDisk>) {
        self.disks.send_if_modified(|now| {
            let changed = *now != disks;
            *now = disks;
            changed
        });
    }

    /// The root disk of `instance`'s `volume`, if it is exported.
    pub fn get(&self, instance: &InstanceId, volume: &str) -> Option<VolumeDisk> {
        self.disks.borrow().get(instance).filter(|d| d.volume == volume).cloned()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<BTreeMap<InstanceId, VolumeDisk>> {
        self.disks.subscribe()
    }
}

/// Is this the disk of an instance's root device?
fn is_root(disk: &VolumeDisk) -> bool {
    domain::volumes::is_root_device(&disk.device)
}

/// One attachment as the log wants it on this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedAttachment {
    pub instance: InstanceId,
    pub disk: VolumeDisk,
    /// The log already knows it is attached (no report needed).
    pub attached: bool,
}

/// What the log wants of this node's guests' volumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WantedVolumes {
    pub position: u64,
    /// Attachments to have (exported by the storage controller).
    pub attach: Vec<WantedAttachment>,
    /// (instance, volume) being detached: let go, then reported.
    pub detach: Vec<(InstanceId, String)>,
    /// Instances of this node whose volumes the view covers: a disk of
    /// one of them that no attachment names is removed.
    pub instances: Vec<InstanceId>,
}

/// What the node did, for the controller to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeReport {
    Attached {
        instance: InstanceId,
        volume: String,
    },
    AttachFailed {
        instance: InstanceId,
        volume: String,
        reason: String,
    },
    Detached {
        instance: InstanceId,
        volume: String,
    },
    /// A detach the guest did not let go of (it will be tried again).
    DetachStuck {
        instance: InstanceId,
        volume: String,
        reason: String,
    },
}

/// Applies volume views to one hypervisor.
pub struct VolumeSync<'a> {
    driver: &'a dyn HypervisorDriver,
    roots: Option<&'a RootDisks>,
}

impl<'a> VolumeSync<'a> {
    pub fn new(driver: &'a dyn HypervisorDriver) -> Self {
        VolumeSync { driver, roots: None }
    }

    /// Root volumes in the views are handed to `roots` (for the guests to
    /// start from) instead of being hot-plugged.
    pub fn with_root_disks(mut self, roots: &'a RootDisks) -> Self {
        self.roots = Some(roots);
        self
    }

    /// Makes the guests' volumes agree with `wanted`; returns the disks
    /// removed that no attachment named.
    pub fn apply(
        &self,
        wanted: &WantedVolumes,
        report: &mut dyn FnMut(VolumeReport),
    ) -> Result<Vec<(InstanceId, String)>, DriverError> {
        for (instance, volume) in &wanted.detach {
            match self.driver.detach_volume(instance, volume) {
                Ok(()) => {
                    report(VolumeReport::Detached { instance: instance.clone(), volume: volume.clone() })
                }
                Err(e) => report(VolumeReport::DetachStuck {
                    instance: instance.clone(),
                    volume: volume.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        if let Some(roots) = self.roots {
            let disks = wanted.attach.iter().filter(|a| is_root(&a.disk));
            roots.set(disks.map(|a| (a.instance.clone(), a.disk.clone())).collect());
        }
        let mut named: BTreeMap<&InstanceId, BTreeSet<&str>> = BTreeMap::new();
        for a in &wanted.attach {
            named.entry(&a.instance).or_default().insert(a.disk.volume.as_str());
            let has = self.driver.volumes(&a.instance)?.contains(&a.disk.volume);
            if has {
                if !a.attached {
                    report(VolumeReport::Attached {
                        instance: a.instance.clone(),
                        volume: a.disk.volume.clone(),
                    });
                }
                continue;
            }
            if is_root(&a.disk) {
                // The guest is defined with it when it starts.
                continue;
            }
            match self.driver.attach_volume(&a.instance, &a.disk) {
                Ok(()) => report(VolumeReport::Attached {
                    instance: a.instance.clone(),
                    volume: a.disk.volume.clone(),
                }),
                // The guest of a running instance is not there yet: the
                // executor is starting it again (after a restart of this
                // node, say). Tried again at the next view; the attach's
                // deadline fails it if the guest never comes back.
                Err(DriverError::NoSuchGuest(_)) => {
                    tracing::info!(instance = %a.instance, volume = %a.disk.volume, "no guest yet; attaching later");
                }
                Err(e) => report(VolumeReport::AttachFailed {
                    instance: a.instance.clone(),
                    volume: a.disk.volume.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        let detaching: BTreeSet<(&InstanceId, &str)> =
            wanted.detach.iter().map(|(i, v)| (i, v.as_str())).collect();
        let mut removed = Vec::new();
        for instance in &wanted.instances {
            for volume in self.driver.volumes(instance)? {
                let known = named.get(instance).is_some_and(|n| n.contains(volume.as_str()));
                if !known && !detaching.contains(&(instance, volume.as_str())) {
                    self.driver.detach_volume(instance, &volume)?;
                    removed.push((instance.clone(), volume));
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDriver;

    fn disk(n: u32) -> VolumeDisk {
        VolumeDisk {
            volume: format!("vol-0000000000000000{n}"),
            device: "/dev/sdf".into(),
            iqn: format!("iqn.2026-12.io.yukari:vol-0000000000000000{n}"),
            lun: 1,
            portal: "127.0.0.1:3260".into(),
            initiator: format!("iqn.2026-12.io.yukari:att-{n}"),
            chap: None,
        }
    }

    fn apply(
        sync: &VolumeSync<'_>,
        wanted: &WantedVolumes,
    ) -> (Vec<VolumeReport>, Vec<(InstanceId, String)>) {
        let mut reports = Vec::new();
        let removed = sync.apply(wanted, &mut |r| reports.push(r)).unwrap();
        (reports, removed)
    }

    #[test]
    fn guests_get_exactly_the_volumes_the_log_names() {
        let sim = SimDriver::new(std::time::Duration::ZERO);
        let guest = crate::tests::spec_of(&InstanceId::from_bits(1));
        sim.start(&guest).unwrap();
        sim.attach_volume(&guest.instance, &disk(9)).unwrap();
        let sync = VolumeSync::new(&sim);
        let one = WantedAttachment { instance: guest.instance.clone(), disk: disk(1), attached: false };
        let mut wanted = WantedVolumes {
            position: 1,
            attach: vec![one.clone()],
            detach: vec![],
            instances: vec![guest.instance.clone()],
        };
        let (reports, removed) = apply(&sync, &wanted);
        assert_eq!(
            reports,
            vec![VolumeReport::Attached { instance: guest.instance.clone(), volume: disk(1).volume }]
        );
        assert_eq!(
            removed,
            vec![(guest.instance.clone(), disk(9).volume)],
            "a disk no attachment names goes"
        );
        assert_eq!(sim.volumes(&guest.instance).unwrap(), vec![disk(1).volume]);
        // Until recorded, reported again; then quiet.
        assert_eq!(apply(&sync, &wanted).0.len(), 1);
        wanted.attach = vec![WantedAttachment { attached: true, ..one }];
        assert!(apply(&sync, &wanted).0.is_empty());

        wanted.attach.clear();
        wanted.detach = vec![(guest.instance.clone(), disk(1).volume)];
        let (reports, removed) = apply(&sync, &wanted);
        assert_eq!(
            reports,
            vec![VolumeReport::Detached { instance: guest.instance.clone(), volume: disk(1).volume }]
        );
        assert!(removed.is_empty());
        assert!(sim.volumes(&guest.instance).unwrap().is_empty());
        // A guest that is not there (yet): nothing is reported, the attach
        // waits for the next view (the executor starts the guest again).
        let gone = WantedAttachment { instance: InstanceId::from_bits(2), disk: disk(2), attached: false };
        wanted.detach.clear();
        wanted.attach = vec![gone];
        assert!(apply(&sync, &wanted).0.is_empty(), "a missing guest is waited for, not failed");
    }
}
