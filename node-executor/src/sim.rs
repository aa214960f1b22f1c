//! The simulated hypervisor: guests live in memory, boot after a fixed
//! delay, and can be told to fail, so the executor and the whole cloud run
//! and are tested without KVM. Cheap enough for 100,000 guests.
//!
//! Like libvirt's guests, each has a disk (here only a mark) made at its
//! first start, kept while it is stopped and removed when it is destroyed.
//! A guest whose user data has a line `yukari-sim: fail-start REASON` does
//! not start (REASON is the error): tests that drive the real binary make
//! a start fail with it (ModifyInstanceAttribute changes a stopped
//! instance's user data).
//!
//! It must not know the executor or the log; it only implements
//! [`HypervisorDriver`].

use crate::driver::{DriverError, GuestSpec, GuestState, HypervisorDriver, VolumeDisk};
use domain::InstanceId;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
// Tokio's clock: a simulation's paused clock, else the monotonic one.
use tokio::time::Instant;

/// An in-memory hypervisor for tests, benchmarks and `--hypervisor sim`.
#[derive(Debug)]
pub struct SimDriver {
    boot_delay: Duration,
    private_dirs: Vec<(PathBuf, &'static str)>,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    guests: HashMap<InstanceId, Guest>,
    /// Instances with a disk on this "host": started once, not destroyed.
    disks: HashSet<InstanceId>,
    /// Instances whose every start fails, with the reason given.
    failing: HashMap<InstanceId, String>,
    /// The next start (of any instance) fails with this reason.
    fail_next: Option<String>,
    /// Guests defined so far (starts of an existing guest do not count).
    defined: u64,
    /// Volumes hot-plugged into a guest so far.
    hot_plugs: u64,
    /// The next hot-plug fails with this reason.
    fail_next_attach: Option<String>,
    /// Volumes in each instance's definition (kept while it is stopped);
    /// no entry for an instance without any.
    volumes: HashMap<InstanceId, BTreeSet<String>>,
}

/// Kept small: a benchmark holds 100,000 of these.
#[derive(Debug, Clone, Copy)]
struct Guest {
    started: Instant,
    /// Times the guest was rebooted.
    reboots: u32,
    cpus: u32,
    memory_mib: u32,
    crashed: bool,
}

impl SimDriver {
    /// A simulator whose guests are `Booting` for `boot_delay` after their
    /// start, then `Running`.
    pub fn new(boot_delay: Duration) -> Self {
        SimDriver { boot_delay, private_dirs: Vec::new(), inner: Mutex::new(Inner::default()) }
    }

    /// Folders to name as the node's own in reports (see
    /// [`HypervisorDriver::private_dirs`]), as a real driver has them.
    pub fn with_private_dirs(mut self, dirs: Vec<(PathBuf, &'static str)>) -> Self {
        self.private_dirs = dirs;
        self
    }

    /// Does the instance have a disk here (started, and not destroyed since)?
    pub fn has_disk(&self, instance: &InstanceId) -> bool {
        self.lock().disks.contains(instance)
    }

    pub fn boot_delay(&self) -> Duration {
        self.boot_delay
    }

    /// Every later start of `instance` fails with `reason` (until
    /// [`SimDriver::clear_failures`]).
    pub fn fail_start_of(&self, instance: InstanceId, reason: impl Into<String>) {
        self.lock().failing.insert(instance, reason.into());
    }

    /// The next start of a guest that does not exist yet fails with `reason`.
    pub fn fail_next_start(&self, reason: impl Into<String>) {
        self.lock().fail_next = Some(reason.into());
    }

    /// The next hot-plug of a volume into an existing guest fails with
    /// `reason`.
    pub fn fail_next_attach(&self, reason: impl Into<String>) {
        self.lock().fail_next_attach = Some(reason.into());
    }

    pub fn clear_failures(&self) {
        let mut inner = self.lock();
        inner.failing.clear();
        inner.fail_next = None;
        inner.fail_next_attach = None;
    }

    /// Marks a guest as crashed, as if its QEMU died; `false` if it does not exist.
    pub fn crash(&self, instance: &InstanceId) -> bool {
        match self.lock().guests.get_mut(instance) {
            Some(g) => {
                g.crashed = true;
                true
            }
            None => false,
        }
    }

    /// How many times the guest was rebooted (`None`: no such guest).
    pub fn reboots(&self, instance: &InstanceId) -> Option<u32> {
        self.lock().guests.get(instance).map(|g| g.reboots)
    }

    /// How many volumes were hot-plugged (not given at a guest's start)
    /// since this driver was made.
    pub fn hot_plugs(&self) -> u64 {
        self.lock().hot_plugs
    }

    /// How many guests were defined since this driver was made.
    pub fn guests_defined(&self) -> u64 {
        self.lock().defined
    }

    /// How many guests exist now.
    pub fn len(&self) -> usize {
        self.lock().guests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written
        // (every change is one insert or remove), so a poisoned lock is used.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn state_of(&self, guest: &Guest) -> GuestState {
        if guest.crashed {
            GuestState::Crashed
        } else if guest.started.elapsed() >= self.boot_delay {
            GuestState::Running
        } else {
            GuestState::Booting
        }
    }
}

impl HypervisorDriver for SimDriver {
    fn name(&self) -> &str {
        "sim"
    }

    fn blocks(&self) -> bool {
        false
    }

    fn start(&self, spec: &GuestSpec) -> Result<(), DriverError> {
        let mut inner = self.lock();
        if inner.guests.contains_key(&spec.instance) {
            return Ok(());
        }
        // The disk comes first, as libvirt's driver makes it before the domain.
        inner.disks.insert(spec.instance.clone());
        // Only instances with volumes have an entry (a benchmark's 100,000
        // guests have none).
        let volumes: BTreeSet<String> = spec.volumes.iter().map(|v| v.volume.clone()).collect();
        if volumes.is_empty() {
            inner.volumes.remove(&spec.instance);
        } else {
            inner.volumes.insert(spec.instance.clone(), volumes);
        }
        let failure = match inner.failing.get(&spec.instance) {
            Some(reason) => Some(reason.clone()),
            None => fail_start_in(&spec.user_data).or_else(|| inner.fail_next.take()),
        };
        if let Some(reason) = failure {
            return Err(DriverError::StartFailed { instance: spec.instance.clone(), reason });
        }
        inner.defined += 1;
        inner.guests.insert(
            spec.instance.clone(),
            Guest {
                started: Instant::now(),
                reboots: 0,
                cpus: spec.vm_type.cpus,
                memory_mib: spec.vm_type.memory_mib,
                crashed: false,
            },
        );
        Ok(())
    }

    fn destroy(&self, instance: &InstanceId) -> Result<(), DriverError> {
        let mut inner = self.lock();
        inner.guests.remove(instance);
        inner.disks.remove(instance);
        inner.volumes.remove(instance);
        Ok(())
    }

    fn attach_volume(&self, instance: &InstanceId, disk: &VolumeDisk) -> Result<(), DriverError> {
        let mut inner = self.lock();
        if !inner.disks.contains(instance) {
            return Err(DriverError::NoSuchGuest(instance.clone()));
        }
        if let Some(reason) = inner.fail_next_attach.take() {
            return Err(DriverError::Hypervisor(reason));
        }
        inner.volumes.entry(instance.clone()).or_default().insert(disk.volume.clone());
        inner.hot_plugs += 1;
        Ok(())
    }

    fn detach_volume(&self, instance: &InstanceId, volume: &str) -> Result<(), DriverError> {
        let mut inner = self.lock();
        if let Some(volumes) = inner.volumes.get_mut(instance) {
            volumes.remove(volume);
            if volumes.is_empty() {
                inner.volumes.remove(instance);
            }
        }
        Ok(())
    }

    fn volumes(&self, instance: &InstanceId) -> Result<Vec<String>, DriverError> {
        Ok(self.lock().volumes.get(instance).map(|v| v.iter().cloned().collect()).unwrap_or_default())
    }

    /// The guest goes; its disk stays for the next start.
    fn stop(&self, instance: &InstanceId) -> Result<(), DriverError> {
        self.lock().guests.remove(instance);
        Ok(())
    }

    fn private_dirs(&self) -> Vec<(PathBuf, &'static str)> {
        self.private_dirs.clone()
    }

    fn reboot(&self, instance: &InstanceId) -> Result<(), DriverError> {
        let mut inner = self.lock();
        let guest =
            inner.guests.get_mut(instance).ok_or_else(|| DriverError::NoSuchGuest(instance.clone()))?;
        guest.started = Instant::now();
        guest.reboots += 1;
        guest.crashed = false;
        Ok(())
    }

    fn state(&self, instance: &InstanceId) -> Result<GuestState, DriverError> {
        let inner = self.lock();
        Ok(inner.guests.get(instance).map_or(GuestState::Absent, |g| self.state_of(g)))
    }

    fn list(&self) -> Result<Vec<InstanceId>, DriverError> {
        Ok(self.lock().guests.keys().cloned().collect())
    }

    fn console_output(&self, instance: &InstanceId) -> Result<Vec<u8>, DriverError> {
        let guest =
            *self.lock().guests.get(instance).ok_or_else(|| DriverError::NoSuchGuest(instance.clone()))?;
        let mut out = format!(
            "Yukari simulated guest {instance} booting\n\
             smpboot: Allowing {} CPUs\n\
             Memory: {}MiB available\n",
            guest.cpus, guest.memory_mib
        );
        match self.state_of(&guest) {
            GuestState::Running => {
                for n in 0..guest.reboots {
                    out.push_str(&format!("reboot {}: restarting system\n", n + 1));
                }
                out.push_str(&format!("cloud-init: fetched metadata for {instance}\n"));
                out.push_str(&format!("Yukari simulated guest {instance} is up\n"));
            }
            GuestState::Crashed => {
                out.push_str("Kernel panic - not syncing: simulated crash\n");
            }
            _ => {}
        }
        Ok(out.into_bytes())
    }
}

/// The reason in a `yukari-sim: fail-start REASON` line of the user data.
fn fail_start_in(user_data: &[u8]) -> Option<String> {
    String::from_utf8_lossy(user_data).lines().find_map(|line| {
        let reason = line.trim().strip_prefix("yukari-sim: fail-start")?;
        let reason = reason.trim();
        Some(if reason.is_empty() {
            "the simulator was told to fail this start".to_owned()
        } else {
            reason.to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{AccountId, ImageId, ImageKind, ReservationId, VmType};

    fn spec(n: u128) -> GuestSpec {
        GuestSpec {
            instance: InstanceId::from_bits(n),
            reservation: ReservationId::from_bits(n),
            account: AccountId::from_bits(1),
            vm_type: VmType::eucalyptus_defaults()[0].clone(),
            image: ImageId::with_kind(ImageKind::Machine, 1),
            kernel: None,
            ramdisk: None,
            user_data: Vec::new(),
            launch_index: 0,
            private_address: None,
            volumes: Vec::new(),
            root_volume: None,
        }
    }

    #[test]
    fn a_guest_boots_after_the_delay_and_destroy_removes_it() {
        let sim = SimDriver::new(Duration::from_millis(40));
        let s = spec(1);
        assert_eq!(sim.state(&s.instance).unwrap(), GuestState::Absent);
        sim.start(&s).unwrap();
        assert_eq!(sim.state(&s.instance).unwrap(), GuestState::Booting);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(sim.state(&s.instance).unwrap(), GuestState::Running);
        // Starting again is a no-op, not a second guest.
        sim.start(&s).unwrap();
        assert_eq!(sim.guests_defined(), 1);
        assert_eq!(sim.list().unwrap(), vec![s.instance.clone()]);
        sim.destroy(&s.instance).unwrap();
        sim.destroy(&s.instance).unwrap();
        assert_eq!(sim.state(&s.instance).unwrap(), GuestState::Absent);
        assert!(sim.is_empty());
    }

    #[test]
    fn starts_fail_on_request() {
        let sim = SimDriver::new(Duration::ZERO);
        sim.fail_next_start("no room on /var/lib/yukari");
        let err = sim.start(&spec(1)).unwrap_err();
        assert!(err.to_string().contains("no room on /var/lib/yukari"), "{err}");
        sim.start(&spec(1)).unwrap();

        sim.fail_start_of(spec(2).instance, "image is corrupt");
        for _ in 0..2 {
            assert!(
                matches!(sim.start(&spec(2)), Err(DriverError::StartFailed { reason, .. }) if reason == "image is corrupt")
            );
        }
        sim.start(&spec(3)).unwrap();
        assert_eq!(sim.len(), 2);
        sim.clear_failures();
        sim.start(&spec(2)).unwrap();
        assert_eq!(sim.len(), 3);
    }

    #[test]
    fn a_stopped_guest_keeps_its_disk_and_user_data_can_fail_its_start() {
        let sim = SimDriver::new(Duration::ZERO);
        let mut s = spec(4);
        sim.start(&s).unwrap();
        sim.stop(&s.instance).unwrap();
        assert_eq!(sim.state(&s.instance).unwrap(), GuestState::Absent);
        assert!(sim.has_disk(&s.instance));
        s.user_data = b"#!/bin/sh\nyukari-sim: fail-start no room for the guest\n".to_vec();
        assert!(
            matches!(sim.start(&s), Err(DriverError::StartFailed { reason, .. }) if reason == "no room for the guest")
        );
        assert!(sim.has_disk(&s.instance), "a failed start keeps the disk");
        s.user_data.clear();
        sim.start(&s).unwrap();
        sim.destroy(&s.instance).unwrap();
        assert!(!sim.has_disk(&s.instance));
    }

    #[test]
    fn console_output_names_the_guest_and_tells_when_it_is_up() {
        let sim = SimDriver::new(Duration::from_millis(30));
        let s = spec(7);
        assert!(matches!(sim.console_output(&s.instance), Err(DriverError::NoSuchGuest(_))));
        sim.start(&s).unwrap();
        let booting = String::from_utf8(sim.console_output(&s.instance).unwrap()).unwrap();
        assert!(booting.contains(&format!("{} booting", s.instance)), "{booting}");
        assert!(!booting.contains("is up"), "{booting}");
        std::thread::sleep(Duration::from_millis(50));
        let up = String::from_utf8(sim.console_output(&s.instance).unwrap()).unwrap();
        assert!(up.contains(&format!("{} is up", s.instance)), "{up}");
        assert!(sim.crash(&s.instance));
        assert_eq!(sim.state(&s.instance).unwrap(), GuestState::Crashed);
    }

    #[test]
    fn a_hundred_thousand_guests_are_cheap() {
        let sim = SimDriver::new(Duration::ZERO);
        let started = Instant::now();
        for n in 0..100_000 {
            sim.start(&spec(n)).unwrap();
        }
        assert_eq!(sim.list().unwrap().len(), 100_000);
        // Generous bound for a debug build on a busy machine; the point is
        // that nothing here is quadratic.
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    }
}
