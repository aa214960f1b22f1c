//! What must hold after every step, whatever the faults:
//!
//! - **No acknowledged record is lost**: every record up to the last
//!   acknowledged position survives every power cut, byte for byte.
//! - **A refusal changes nothing**: it appends at most its own
//!   `RequestRefused` record (checked with the histories, `history.rs`).
//! - **The read models equal a replay of the log** (every 200 steps, after
//!   each restart, and at the end).
//! - **Nothing is double-booked**: a node's used capacity is the sum of
//!   what its instances hold and within its capacity; no public or private
//!   address belongs to two live instances; an address's association and
//!   its instance agree; a volume is in use exactly while attached, and
//!   no device of an instance holds two volumes.

use api::app::App;
use domain::InstanceState;
use eventlog::{EventLog, decode_record};
use projections::ReadModels;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How often the read models are compared with a full replay.
const REPLAY_EVERY: u64 = 200;

#[derive(Default)]
pub struct Checks {
    /// SHA-256 of each acknowledged record, by position - 1.
    shadow: Vec<[u8; 32]>,
    /// The highest position acknowledged (the shadow may end below it when
    /// the power went before it could be read).
    acknowledged: u64,
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Checks {
    /// A request or report was answered: everything up to the log's head
    /// now must survive.
    pub fn acknowledged(&mut self, app: &App) -> Result<(), String> {
        let head = app.log.head();
        self.acknowledged = self.acknowledged.max(head);
        while (self.shadow.len() as u64) < head {
            let from = self.shadow.len() as u64 + 1;
            let Ok(records) = app.log.raw_records(from, 1024) else {
                // The disk went: the restart checks what could be read.
                return Ok(());
            };
            if records.is_empty() {
                return Ok(());
            }
            for (position, bytes) in records.iter().take_while(|(p, _)| *p <= head) {
                if *position != self.shadow.len() as u64 + 1 {
                    return Err(format!("the log skipped from {} to {position}", self.shadow.len()));
                }
                self.shadow.push(sha(bytes));
            }
        }
        Ok(())
    }

    /// After a restart: every acknowledged record is there, unchanged, and
    /// the read models are a replay of the log.
    pub fn after_restart(&mut self, app: &App) -> Result<(), String> {
        let head = app.log.head();
        if head < self.acknowledged {
            return Err(format!(
                "acknowledged records lost: the log ends at {head} after a power cut, {} were acknowledged",
                self.acknowledged
            ));
        }
        let mut position = 1u64;
        while position <= self.shadow.len() as u64 {
            let records =
                app.log.raw_records(position, 1024).map_err(|e| format!("after a power cut: {e}"))?;
            if records.is_empty() {
                return Err(format!("acknowledged record {position} is missing after a power cut"));
            }
            for (p, bytes) in records {
                let Some(expected) = self.shadow.get(p as usize - 1) else { break };
                if sha(&bytes) != *expected {
                    return Err(format!("acknowledged record {p} changed after a power cut"));
                }
                position = p + 1;
            }
        }
        // What was stored but not acknowledged is kept too: it is the log
        // now, and the next power cut must keep all of it.
        self.acknowledged(app)?;
        self.rebuild_equals_live(app)
    }

    /// After every step; `power_cut_planned`: the disk is to lose its
    /// power within its next operations.
    pub fn after_step(&mut self, app: &App, step: u64, power_cut_planned: bool) -> Result<(), String> {
        double_booking(&app.projections.read())?;
        // While the log recovers from a failed write (a failed re-open
        // leaves it closed until the next try), the replay waits; so it
        // does while a power cut is due (the checker's own reads are disk
        // operations too, and one may be the last before the cut: seed
        // 1000 at step 19,800).
        let healthy = app.log.health() == eventlog::Health::Writable;
        if step.is_multiple_of(REPLAY_EVERY) && healthy && !power_cut_planned {
            self.rebuild_equals_live(app)?;
        }
        Ok(())
    }

    /// The live read models are those a replay of the whole log gives.
    pub fn rebuild_equals_live(&self, app: &App) -> Result<(), String> {
        let head = app.log.head();
        let live = app.projections.read().clone();
        if live.position != head {
            return Err(format!(
                "the read models are at {} and the log at {head} between steps",
                live.position
            ));
        }
        let rebuilt = projections::rebuild(&app.log).map_err(|e| format!("replay: {e}"))?;
        if rebuilt != live {
            return Err(format!("the read models differ from a replay of the log at position {head}"));
        }
        Ok(())
    }
}

/// No capacity, public or private address counted twice.
fn double_booking(models: &ReadModels) -> Result<(), String> {
    let mut held: BTreeMap<&domain::NodeId, (u64, u64, u64)> = BTreeMap::new();
    let mut public: BTreeMap<&str, &domain::InstanceId> = BTreeMap::new();
    let mut private: BTreeMap<&str, &domain::InstanceId> = BTreeMap::new();
    for row in models.instances.rows.values() {
        if let (Some(node), Some(holds)) = (&row.node, &row.holds) {
            let h = held.entry(node).or_default();
            *h = (h.0 + u64::from(holds.cpus), h.1 + holds.memory_mib, h.2 + holds.disk_gib);
        }
        if row.state == InstanceState::Terminated {
            continue;
        }
        for (address, taken) in
            [(row.public_address.as_deref(), &mut public), (row.private_address.as_deref(), &mut private)]
        {
            if let Some(a) = address
                && let Some(other) = taken.insert(a, &row.id)
            {
                return Err(format!("address {a} belongs to both {other} and {}", row.id));
            }
        }
    }
    for zone in models.cloud.zones.values() {
        for (id, node) in &zone.nodes {
            let (cpus, memory, disk) = held.get(id).copied().unwrap_or_default();
            let used = &node.used;
            if (u64::from(used.cpus), used.memory_mib, used.disk_gib) != (cpus, memory, disk) {
                return Err(format!(
                    "node {id} counts {used:?} used, its instances hold {cpus}/{memory}/{disk}"
                ));
            }
            let cap = &node.capacity;
            if used.cpus > cap.cpus || used.memory_mib > cap.memory_mib || used.disk_gib > cap.disk_gib {
                return Err(format!("node {id} is booked beyond its capacity: {used:?} of {cap:?}"));
            }
        }
    }
    // Block storage: a zone reserves room for each volume that has it, of
    // the volume's size, and never more than it has.
    for (zone, storage) in &models.volumes.storage {
        let reserved: u64 = storage.reserved.values().map(|gib| u64::from(*gib)).sum();
        if reserved > storage.capacity_gib {
            return Err(format!("{zone} reserves {reserved} GiB of its {} GiB", storage.capacity_gib));
        }
        for (volume, gib) in &storage.reserved {
            match models.volumes.volumes.get(volume) {
                Some(row) if row.size_gib == *gib && &row.zone == zone => {}
                other => {
                    return Err(format!(
                        "{zone} reserves {gib} GiB for {volume}, which is {:?}",
                        other.map(|r| r.state)
                    ));
                }
            }
        }
    }
    for (id, row) in &models.volumes.volumes {
        let holds = matches!(
            row.state,
            domain::volumes::VolumeState::Creating
                | domain::volumes::VolumeState::Available
                | domain::volumes::VolumeState::InUse
        );
        let reserved = models.volumes.storage.get(&row.zone).is_some_and(|s| s.reserved.contains_key(id));
        if holds && !reserved {
            return Err(format!("{id} is {:?} but its zone reserves no room for it", row.state));
        }
    }
    // Attachments: a volume is in use exactly while it has one, and no
    // device of an instance holds two volumes.
    let mut devices: BTreeMap<(&domain::InstanceId, &str), &domain::VolumeId> = BTreeMap::new();
    for (id, row) in &models.volumes.volumes {
        let in_use = row.state == domain::volumes::VolumeState::InUse;
        if in_use != row.attachment.is_some() {
            return Err(format!("{id} is {:?} with attachment {:?}", row.state, row.attachment));
        }
        if let Some(a) = &row.attachment
            && let Some(other) = devices.insert((&a.instance, a.device.as_str()), id)
        {
            return Err(format!("{} of {} holds both {other} and {id}", a.device, a.instance));
        }
    }
    for (allocation, row) in &models.network.addresses {
        if let Some((_, instance)) = &row.association {
            let shown = models.instances.get(instance.as_str()).and_then(|i| i.public_address.as_deref());
            if shown != Some(row.address.as_str()) {
                return Err(format!(
                    "{allocation} ({}) is associated with {instance}, which shows {shown:?}",
                    row.address
                ));
            }
        }
    }
    Ok(())
}

/// The number of records of `log` and the SHA-256 of all of them.
pub fn digest(log: &EventLog) -> Result<(u64, String), String> {
    let mut hash = Sha256::new();
    let mut from = 1;
    let mut count = 0;
    loop {
        let records = log.raw_records(from, 4096).map_err(|e| e.to_string())?;
        let Some((last, _)) = records.last() else { break };
        from = last + 1;
        for (position, bytes) in &records {
            hash.update(bytes);
            count += 1;
            if let Ok(path) = std::env::var("SIM_DUMP") {
                dump(&path, *position, bytes)?;
            }
        }
    }
    Ok((count, hex::encode(hash.finalize())))
}

/// Appends a line of record `position` to the file at `path` (SIM_DUMP).
fn dump(path: &str, position: u64, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let e = decode_record(position, bytes).map_err(|e| e.to_string())?;
    let mut file =
        std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| e.to_string())?;
    let line = format!(
        "{position} {} {} {} {} {}",
        e.stream,
        e.event_type,
        e.recorded_at,
        e.request_id,
        hex::encode(e.payload)
    );
    writeln!(file, "{line}").map_err(|e| e.to_string())
}
