//! A simulated disk under the log, for the deterministic simulator
//! (`yukari-simulation`) and tests: the log's file as bytes in memory, with
//! what a real disk does when the power goes or a write fails.
//!
//! It keeps two images: what reads see (the page cache) and what is on
//! the platter (durable). A write changes the first at once and the second
//! at the next successful `sync_data`. Faults, drawn from a seeded
//! generator so that one seed gives one run:
//!
//! - **A failing write** (EIO): nothing of it is stored.
//! - **A full disk**: a write past the disk's capacity fails with
//!   `StorageFull`, as ENOSPC does, and succeeds again once the capacity
//!   is raised.
//! - **A failing sync** (fsync's EIO): as Linux does it, each write since
//!   the last sync reached the platter or not, at random, and the page
//!   cache still shows all of them (the pages are marked clean): the next
//!   successful sync does not write them again. A log that goes on
//!   appending after that can lose what it acknowledged later; the log
//!   must stop appending (PostgreSQL's "fsyncgate").
//! - **A power cut** after a chosen number of operations: every operation
//!   after it fails, and [`SimDisk::after_power_cut`] gives the disk as a
//!   restart finds it: the durable image plus, at random, each write since
//!   the last sync whole, torn (its first sectors only) or not at all.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

/// A sector: the unit a torn write keeps or loses.
const SECTOR: usize = 512;

/// How often (in millionths of the operations) each fault happens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultRates {
    pub write_fails: u32,
    pub sync_fails: u32,
}

/// What the disk did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub writes: u64,
    pub syncs: u64,
    pub bytes_written: u64,
    pub failed_writes: u64,
    pub failed_syncs: u64,
    /// Writes refused because the disk was full.
    pub full: u64,
    pub power_cuts: u64,
}

#[derive(Debug)]
enum Change {
    Write { offset: u64, data: Vec<u8> },
    Len(u64),
}

#[derive(Debug)]
struct Disk {
    current: Vec<u8>,
    durable: Vec<u8>,
    unsynced: Vec<Change>,
    rng: u64,
    rates: FaultRates,
    capacity: u64,
    /// Operations left before the power goes; `None`: no cut planned.
    cut_in: Option<u64>,
    dead: bool,
    stats: DiskStats,
}

/// splitmix64: small, fast, and the same on every machine.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn apply(image: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Write { offset, data } => {
            let start = *offset as usize;
            let end = start + data.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].copy_from_slice(data);
        }
        Change::Len(len) => image.resize(*len as usize, 0),
    }
}

impl Disk {
    fn chance(&mut self, per_million: u32) -> bool {
        per_million > 0 && next(&mut self.rng) % 1_000_000 < u64::from(per_million)
    }

    /// Counts an operation toward a planned power cut; fails once the
    /// power is gone.
    fn operate(&mut self) -> io::Result<()> {
        if let Some(left) = self.cut_in.as_mut() {
            if *left == 0 {
                self.cut_in = None;
                self.dead = true;
                self.stats.power_cuts += 1;
            } else {
                *left -= 1;
            }
        }
        if self.dead {
            return Err(io::Error::other("simulated power cut"));
        }
        Ok(())
    }

    /// The durable image with each unsynced change kept whole, torn or
    /// lost, at random, in order.
    fn survivors(&mut self) -> Vec<u8> {
        let mut image = self.durable.clone();
        let unsynced = std::mem::take(&mut self.unsynced);
        for change in &unsynced {
            match (next(&mut self.rng) % 3, change) {
                (0, _) => {}
                (1, Change::Write { offset, data }) if data.len() > SECTOR => {
                    let sectors = data.len().div_ceil(SECTOR);
                    let kept = (next(&mut self.rng) as usize % sectors) * SECTOR;
                    apply(&mut image, &Change::Write { offset: *offset, data: data[..kept].to_vec() });
                }
                _ => apply(&mut image, change),
            }
        }
        image
    }
}

/// A simulated disk holding one file. Clones share it.
#[derive(Clone, Debug)]
pub struct SimDisk(Arc<Mutex<Disk>>);

impl SimDisk {
    /// An empty disk of unbounded capacity whose faults are drawn from `seed`.
    pub fn new(seed: u64) -> SimDisk {
        SimDisk::from_image(Vec::new(), seed)
    }

    fn from_image(image: Vec<u8>, seed: u64) -> SimDisk {
        SimDisk(Arc::new(Mutex::new(Disk {
            current: image.clone(),
            durable: image,
            unsynced: Vec::new(),
            rng: seed,
            rates: FaultRates::default(),
            capacity: u64::MAX,
            cut_in: None,
            dead: false,
            stats: DiskStats::default(),
        })))
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_rates(&self, rates: FaultRates) {
        self.disk().rates = rates;
    }

    /// Writes that would make the file longer than `bytes` fail as on a
    /// full disk (`u64::MAX`: never).
    pub fn set_capacity(&self, bytes: u64) {
        self.disk().capacity = bytes;
    }

    /// The power goes after `operations` more reads, writes, syncs or
    /// length changes.
    pub fn cut_power_after(&self, operations: u64) {
        self.disk().cut_in = Some(operations);
    }

    pub fn rates(&self) -> FaultRates {
        self.disk().rates
    }

    /// Is a power cut planned (and not happened yet)?
    pub fn power_cut_planned(&self) -> bool {
        self.disk().cut_in.is_some()
    }

    /// No power cut is planned any more (one that happened stays).
    pub fn cancel_power_cut(&self) {
        self.disk().cut_in = None;
    }

    /// Has the power gone?
    pub fn power_cut(&self) -> bool {
        self.disk().dead
    }

    /// The disk as a restart after a power cut finds it (cutting the power
    /// now if it has not gone yet): a new disk, with the same faults and
    /// capacity, whose generator goes on from this one's. This one stays
    /// dead: whatever still holds it can do nothing more.
    pub fn after_power_cut(&self) -> SimDisk {
        let mut disk = self.disk();
        if !disk.dead {
            disk.dead = true;
            disk.stats.power_cuts += 1;
        }
        let image = disk.survivors();
        let seed = next(&mut disk.rng);
        let (rates, capacity, stats) = (disk.rates, disk.capacity, disk.stats);
        drop(disk);
        let restarted = SimDisk::from_image(image, seed);
        {
            let mut d = restarted.disk();
            d.rates = rates;
            d.capacity = capacity;
            d.stats = stats;
        }
        restarted
    }

    pub fn stats(&self) -> DiskStats {
        self.disk().stats
    }

    /// The file's length as reads see it.
    pub fn len(&self) -> u64 {
        self.disk().current.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flips one byte of what is on the platter and in the page cache (a
    /// bad sector), for the checksums to find.
    pub fn flip_byte(&self, offset: u64) {
        let mut disk = self.disk();
        let disk = &mut *disk;
        let at = offset as usize;
        for image in [&mut disk.current, &mut disk.durable] {
            if let Some(b) = image.get_mut(at) {
                *b ^= 0x5a;
            }
        }
    }

    /// Whether a small write would succeed now (the log's probe of a file
    /// system that refused writes).
    pub(crate) fn probe(&self) -> io::Result<()> {
        let disk = self.disk();
        if disk.dead {
            return Err(io::Error::other("simulated power cut"));
        }
        if disk.current.len() as u64 >= disk.capacity {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "the simulated disk is full"));
        }
        Ok(())
    }

    /// A redb backend on this disk.
    pub(crate) fn backend(&self) -> SimBackend {
        SimBackend(self.clone())
    }
}

/// The redb storage backend of a [`SimDisk`].
#[derive(Debug)]
pub(crate) struct SimBackend(SimDisk);

impl redb::StorageBackend for SimBackend {
    fn len(&self) -> Result<u64, io::Error> {
        let mut disk = self.0.disk();
        disk.operate()?;
        Ok(disk.current.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let mut disk = self.0.disk();
        disk.operate()?;
        let start = offset as usize;
        let Some(bytes) = disk.current.get(start..start + out.len()) else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the simulated file",
            ));
        };
        out.copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut disk = self.0.disk();
        disk.operate()?;
        let change = Change::Len(len);
        apply(&mut disk.current, &change);
        disk.unsynced.push(change);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut disk = self.0.disk();
        disk.operate()?;
        disk.stats.syncs += 1;
        let fails = disk.rates.sync_fails;
        if disk.chance(fails) {
            // Linux: some writes reached the platter, the rest are lost,
            // and none of them is written again.
            disk.stats.failed_syncs += 1;
            disk.durable = disk.survivors();
            return Err(io::Error::other("simulated fsync failure (EIO)"));
        }
        let unsynced = std::mem::take(&mut disk.unsynced);
        for change in &unsynced {
            apply(&mut disk.durable, change);
        }
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut disk = self.0.disk();
        disk.operate()?;
        disk.stats.writes += 1;
        if offset.saturating_add(data.len() as u64) > disk.capacity {
            disk.stats.full += 1;
            return Err(io::Error::new(io::ErrorKind::StorageFull, "the simulated disk is full"));
        }
        let fails = disk.rates.write_fails;
        if disk.chance(fails) {
            disk.stats.failed_writes += 1;
            return Err(io::Error::other("simulated write failure (EIO)"));
        }
        disk.stats.bytes_written += data.len() as u64;
        let change = Change::Write { offset, data: data.to_vec() };
        apply(&mut disk.current, &change);
        disk.unsynced.push(change);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::StorageBackend;

    #[test]
    fn synced_writes_survive_a_power_cut_and_unsynced_ones_may_not() {
        let disk = SimDisk::new(7);
        let b = disk.backend();
        b.write(0, &[1; 1024]).unwrap();
        b.sync_data().unwrap();
        b.write(0, &[2; 1024]).unwrap();
        let mut seen = [0u8; 1024];
        b.read(0, &mut seen).unwrap();
        assert_eq!(seen, [2; 1024], "reads see the page cache");
        let after = disk.after_power_cut();
        assert!(b.write(0, &[3; 1]).is_err(), "the old disk is dead");
        let mut kept = [0u8; 1024];
        after.backend().read(0, &mut kept).unwrap();
        let whole_or_prefix = kept.iter().position(|&x| x == 1).is_none_or(|first_old| {
            kept[..first_old].iter().all(|&x| x == 2) && kept[first_old..].iter().all(|&x| x == 1)
        });
        assert!(whole_or_prefix, "a torn write keeps a prefix of sectors: {kept:?}");
    }

    #[test]
    fn a_failed_sync_leaves_the_page_cache_ahead_of_the_platter() {
        let disk = SimDisk::new(3);
        disk.set_rates(FaultRates { write_fails: 0, sync_fails: 1_000_000 });
        let b = disk.backend();
        let mut lost = 0;
        for i in 0..64u64 {
            b.write(i * 512, &[9; 512]).unwrap();
            assert!(b.sync_data().is_err());
        }
        disk.set_rates(FaultRates::default());
        b.sync_data().unwrap();
        let after = disk.after_power_cut();
        let mut image = vec![0u8; 64 * 512];
        after.backend().read(0, &mut image).unwrap_or_else(|_| lost = 64);
        lost += image.chunks(512).filter(|s| s[0] != 9).count();
        assert!(lost > 0, "a later successful sync does not write again what a failed one lost");
        assert_eq!(disk.stats().failed_syncs, 64);
    }

    #[test]
    fn a_full_disk_refuses_writes_past_its_capacity_until_it_grows() {
        let disk = SimDisk::new(1);
        disk.set_capacity(1024);
        let b = disk.backend();
        b.write(0, &[1; 1024]).unwrap();
        let e = b.write(1024, &[1; 1]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(disk.probe().is_err());
        disk.set_capacity(u64::MAX);
        b.write(1024, &[1; 1]).unwrap();
        assert_eq!(disk.stats().full, 1);
    }
}
