//! EBS's views and grants (docs/adr/0013-block-storage.md): what a zone's
//! storage controller must hold and what a node's guests must have plugged
//! in, computed from the read models, with each attachment's initiator
//! name unsealed (only the controller holds the master key). The embedded
//! storage controller and node of `yukari up` get them in the process;
//! those on other hosts will get the same JSON over HTTP.
//!
//! Also the deadline monitor: a volume or snapshot whose transitional
//! state outlived its deadline is sent `ExpireVolume` / `ExpireSnapshot`,
//! which record the failure, so nothing stays stuck.

use super::{App, ExecuteError, RequestMeta};
use domain::volumes::{AttachmentState, SnapshotState, VolumeState, volume_deadline};
use domain::{Command, InstanceId, NodeId, Principal, SealedSecret, Timestamp, VolumeId, ZoneName};
use projections::ReadModels;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Where a zone's storage controller serves its targets: the node's
/// initiators connect to `portal` and log in to `iqn_prefix` + volume id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageTarget {
    pub portal: String,
    pub iqn_prefix: String,
}

/// The storage targets the controller knows, by zone (memory only: a
/// storage controller tells where it serves each time it starts).
#[derive(Debug)]
pub struct StorageTargets {
    targets: Mutex<BTreeMap<ZoneName, StorageTarget>>,
    /// Targets ask for CHAP too (set once at start).
    pub chap: std::sync::atomic::AtomicBool,
    /// When each zone's storage controller last asked for its view.
    heard: Mutex<BTreeMap<ZoneName, std::time::Instant>>,
    started: std::time::Instant,
}

impl Default for StorageTargets {
    fn default() -> Self {
        StorageTargets {
            targets: Mutex::default(),
            chap: Default::default(),
            heard: Mutex::default(),
            started: std::time::Instant::now(),
        }
    }
}

/// A storage controller silent this long is unreachable: what needs it
/// (making, attaching, snapshotting volumes) is refused meanwhile.
pub const STORAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl StorageTargets {
    pub fn set(&self, zone: ZoneName, target: StorageTarget) {
        self.targets.lock().unwrap_or_else(|p| p.into_inner()).insert(zone, target);
    }

    pub fn of(&self, zone: &ZoneName) -> Option<StorageTarget> {
        self.targets.lock().unwrap_or_else(|p| p.into_inner()).get(zone).cloned()
    }

    /// The zone's storage controller is alive (it asked for its view).
    pub fn heard(&self, zone: &ZoneName) {
        self.heard.lock().unwrap_or_else(|p| p.into_inner()).insert(zone.clone(), std::time::Instant::now());
    }

    /// When the zone's storage controller was last heard from.
    pub fn heard_at(&self, zone: &ZoneName) -> Option<std::time::Instant> {
        self.heard.lock().unwrap_or_else(|p| p.into_inner()).get(zone).copied()
    }

    /// How long the zone's storage controller has been silent, if beyond
    /// [`STORAGE_TIMEOUT`] (counted from this controller's start when it
    /// was never heard from).
    pub fn silent(&self, zone: &ZoneName) -> Option<std::time::Duration> {
        let last = self.heard.lock().unwrap_or_else(|p| p.into_inner()).get(zone).copied();
        let silent = last.unwrap_or(self.started).elapsed();
        (silent > STORAGE_TIMEOUT).then_some(silent)
    }
}

/// One volume as a zone's storage controller must hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageVolume {
    pub volume: VolumeId,
    pub size_bytes: u64,
    /// The manifest of the snapshot a volume being created is restored from.
    pub source: Option<String>,
    /// The initiator to let in (the attachment's, unsealed).
    pub grant: Option<String>,
    /// The CHAP account it must log in with too.
    pub chap: Option<Chap>,
    /// The log knows the volume was made.
    pub created: bool,
    /// The log knows the grant is exported.
    pub exported: bool,
    /// A grant to revoke and report (a detach the node is done with, or forced).
    pub revoke: Option<String>,
}

/// What a zone's storage controller must hold, as of `position`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageView {
    pub position: u64,
    pub volumes: Vec<StorageVolume>,
    pub deleting: Vec<VolumeId>,
    /// Snapshots to take: (snapshot, volume).
    pub snapshots: Vec<(domain::SnapshotId, VolumeId)>,
    /// Manifests of every completed snapshot of the zone (their chunks are kept).
    pub live_snapshots: Vec<String>,
}

/// One attachment a node's guest must have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAttachment {
    pub instance: InstanceId,
    pub volume: VolumeId,
    pub device: String,
    pub iqn: String,
    pub lun: u32,
    pub portal: String,
    pub initiator: String,
    /// The CHAP account to log in with, when the cloud asks for CHAP.
    pub chap: Option<Chap>,
    /// The log knows it is attached.
    pub attached: bool,
}

/// An attachment's CHAP account (user name and secret), derived from its
/// grant with a key only the controller holds: the initiator name travels
/// in clear when a node logs in, the CHAP secret never does.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chap {
    pub user: String,
    pub secret: String,
}

impl std::fmt::Debug for Chap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chap({}, <secret>)", self.user)
    }
}

/// What a node's guests must have plugged in, as of `position`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeVolumes {
    pub position: u64,
    pub attach: Vec<NodeAttachment>,
    /// (instance, volume) to unplug and report.
    pub detach: Vec<(InstanceId, VolumeId)>,
    /// The node's guests whose disks the view covers: a volume disk no
    /// attachment names is unplugged.
    pub instances: Vec<InstanceId>,
}

/// A new attachment's initiator name (random: no other attachment can
/// guess it) and its sealed form for the log.
pub fn new_grant(app: &App, volume: &VolumeId) -> (String, SealedSecret) {
    let bits = app.ids.secret();
    let initiator = format!("iqn.2026-12.io.yukari:att-{bits:032x}");
    let sealed =
        app.credentials.master_key().seal_with_nonce(&initiator, &grant_context(volume), app.ids.nonce());
    (initiator, sealed)
}

fn grant_context(volume: &VolumeId) -> String {
    format!("grant/{volume}")
}

impl App {
    /// Whether targets ask attachments for CHAP as well as their initiator
    /// name (`yukari up --iscsi-chap`).
    pub fn iscsi_chap(&self) -> bool {
        self.storage_targets.chap.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The CHAP account of the attachment whose initiator is `initiator`.
    pub fn chap_of(&self, initiator: &str) -> Chap {
        use hmac::Mac;
        let key = self.credentials.master_key().derive("iscsi-chap");
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(initiator.as_bytes());
        let secret = hex::encode(mac.finalize().into_bytes());
        let id = initiator.rsplit(':').next().unwrap_or(initiator);
        let user = match id.strip_prefix("att-") {
            Some(random) => format!("att-{}", &random[..random.len().min(16)]),
            None => format!("att-{}", &secret[40..56]),
        };
        Chap { user, secret: secret[..24].to_owned() }
    }

    pub(crate) fn unseal_grant(&self, volume: &VolumeId, grant: &SealedSecret) -> Option<String> {
        let opened = self.credentials.master_key().open(grant, &grant_context(volume));
        if opened.is_none() {
            tracing::error!(%volume, "an attachment's grant does not open with this master key");
        }
        opened
    }

    /// What `zone`'s storage controller must hold now.
    pub fn storage_view(&self, zone: &ZoneName) -> StorageView {
        let models = self.projections.read();
        self.storage_view_of(&models, zone)
    }

    pub fn storage_view_of(&self, models: &ReadModels, zone: &ZoneName) -> StorageView {
        let view = &models.volumes;
        let mut out = StorageView { position: models.position, ..StorageView::default() };
        for (id, row) in view.volumes.iter().filter(|(_, r)| &r.zone == zone) {
            let size_bytes = u64::from(row.size_gib) << 30;
            match row.state {
                VolumeState::Deleting => {
                    out.deleting.push(id.clone());
                    continue;
                }
                // Nothing to hold: never made, or made and lost.
                VolumeState::Error | VolumeState::Deleted => continue,
                VolumeState::Creating | VolumeState::Available | VolumeState::InUse => {}
            }
            let created = row.state != VolumeState::Creating;
            let source = match (&row.snapshot, created) {
                (Some(snapshot), false) => {
                    match view.snapshots.get(snapshot).and_then(|s| s.manifest.clone()) {
                        Some(manifest) => Some(manifest),
                        // The snapshot went before the volume was made:
                        // left to its deadline, which records the failure.
                        None => continue,
                    }
                }
                _ => None,
            };
            let mut volume = StorageVolume {
                volume: id.clone(),
                size_bytes,
                source,
                grant: None,
                chap: None,
                created,
                exported: false,
                revoke: None,
            };
            if let Some(a) = &row.attachment {
                let Some(initiator) = self.unseal_grant(id, &a.grant) else { continue };
                let letting_go = a.state == AttachmentState::Detaching && (a.released || a.forced);
                if letting_go {
                    volume.revoke = Some(initiator);
                } else {
                    volume.exported = a.exported;
                    volume.chap = self.iscsi_chap().then(|| self.chap_of(&initiator));
                    volume.grant = Some(initiator);
                }
            }
            out.volumes.push(volume);
        }
        for (id, row) in view.snapshots.iter().filter(|(_, r)| &r.zone == zone) {
            match (&row.state, &row.manifest) {
                (SnapshotState::Pending, _) => out.snapshots.push((id.clone(), row.volume.clone())),
                (_, Some(manifest)) => out.live_snapshots.push(manifest.clone()),
                _ => {}
            }
        }
        out
    }

    /// What `node`'s guests must have plugged in now.
    pub fn node_volumes(&self, node: &NodeId) -> NodeVolumes {
        let models = self.projections.read();
        self.node_volumes_of(&models, node)
    }

    pub fn node_volumes_of(&self, models: &ReadModels, node: &NodeId) -> NodeVolumes {
        let mut out = NodeVolumes { position: models.position, ..NodeVolumes::default() };
        let on_node = |instance: &InstanceId| {
            models.instances.get(instance.as_str()).is_some_and(|i| i.node.as_ref() == Some(node))
        };
        for (instance, devices) in &models.volumes.by_instance {
            if !on_node(instance) {
                continue;
            }
            out.instances.push(instance.clone());
            for volume in devices.values() {
                let Some(row) = models.volumes.volumes.get(volume) else { continue };
                let Some(a) = row.attachment.as_ref().filter(|a| &a.instance == instance) else { continue };
                match a.state {
                    AttachmentState::Detaching if !a.released => {
                        out.detach.push((instance.clone(), volume.clone()))
                    }
                    AttachmentState::Detaching => {}
                    AttachmentState::Attaching | AttachmentState::Attached => {
                        // The node plugs in only what the storage controller exported.
                        let Some(target) = self.storage_targets.of(&row.zone) else { continue };
                        if !a.exported {
                            continue;
                        }
                        let Some(initiator) = self.unseal_grant(volume, &a.grant) else { continue };
                        out.attach.push(NodeAttachment {
                            instance: instance.clone(),
                            volume: volume.clone(),
                            device: a.device.clone(),
                            iqn: format!("{}{volume}", target.iqn_prefix),
                            lun: 1,
                            portal: target.portal,
                            chap: self.iscsi_chap().then(|| self.chap_of(&initiator)),
                            initiator,
                            attached: a.state == AttachmentState::Attached,
                        });
                    }
                }
            }
        }
        out
    }

    /// Sends `ExpireVolume` / `ExpireSnapshot` for every volume and
    /// snapshot whose transitional state outlived its deadline at `now`;
    /// returns how many were expired.
    pub async fn expire_storage(&self, now: Timestamp) -> Result<usize, ExecuteError> {
        let commands: Vec<Command> = {
            let models = self.projections.read();
            let view = &models.volumes;
            let volumes = view.volumes.iter().filter_map(|(id, row)| {
                let deadline =
                    volume_deadline(row.state, row.attachment.as_ref().map(|a| a.state), row.since)?;
                (deadline < now).then(|| {
                    Command::ExpireVolume(domain::volumes::ExpireVolume { volume: id.clone(), at: now })
                })
            });
            let snapshots = view.snapshots.iter().filter_map(|(id, row)| {
                let deadline =
                    Timestamp(row.started_at.0.saturating_add(domain::volumes::deadlines::SNAPSHOT));
                (row.state == SnapshotState::Pending && deadline < now).then(|| {
                    Command::ExpireSnapshot(domain::volumes::ExpireSnapshot { snapshot: id.clone(), at: now })
                })
            });
            volumes.chain(snapshots).collect()
        };
        let mut expired = 0;
        for command in commands {
            let meta = self.system_meta("storage-monitor", "storage-monitor".to_owned());
            match self.execute(command, &meta).await {
                Ok(_) => expired += 1,
                Err(ExecuteError::Refused(e)) => tracing::debug!(error = %e, "nothing to expire"),
                Err(e) => return Err(e),
            }
        }
        Ok(expired)
    }
}

/// What a storage controller did, as it reports it (in the process, or
/// as JSON from another host); recorded as the matching command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StorageDone {
    Created { volume: VolumeId },
    CreateFailed { volume: VolumeId, reason: String },
    Exported { volume: VolumeId },
    Revoked { volume: VolumeId },
    Deleted { volume: VolumeId },
    SnapshotProgress { snapshot: domain::SnapshotId, percent: u8 },
    SnapshotCompleted { snapshot: domain::SnapshotId, manifest: String },
    SnapshotFailed { snapshot: domain::SnapshotId, reason: String },
}

/// What a node did with a volume of one of its guests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeDone {
    Attached { instance: InstanceId, volume: VolumeId },
    AttachFailed { instance: InstanceId, volume: VolumeId, reason: String },
    Detached { instance: InstanceId, volume: VolumeId },
}

impl StorageDone {
    pub fn command(self, zone: &ZoneName, at: Timestamp) -> Command {
        use domain::volumes::*;
        let on = |volume| VolumeReport { zone: zone.clone(), volume, at };
        let of = |snapshot| SnapshotReport { zone: zone.clone(), snapshot, at };
        match self {
            StorageDone::Created { volume } => Command::ReportVolumeCreated(on(volume)),
            StorageDone::CreateFailed { volume, reason } => {
                Command::ReportVolumeCreateFailed(VolumeFailure { report: on(volume), reason })
            }
            StorageDone::Exported { volume } => Command::ReportVolumeExported(on(volume)),
            StorageDone::Revoked { volume } => Command::ReportVolumeRevoked(on(volume)),
            StorageDone::Deleted { volume } => Command::ReportVolumeDeleted(on(volume)),
            StorageDone::SnapshotProgress { snapshot, percent } => {
                Command::ReportSnapshotProgress(SnapshotProgress { report: of(snapshot), percent })
            }
            StorageDone::SnapshotCompleted { snapshot, manifest } => {
                Command::ReportSnapshotCompleted(SnapshotDone { report: of(snapshot), manifest })
            }
            StorageDone::SnapshotFailed { snapshot, reason } => {
                Command::ReportSnapshotFailed(SnapshotFailure { report: of(snapshot), reason })
            }
        }
    }
}

impl NodeDone {
    pub fn command(self, node: &NodeId, at: Timestamp) -> Command {
        use domain::volumes::{AttachmentFailure, AttachmentReport};
        let of = |instance, volume| AttachmentReport { node: node.clone(), instance, volume, at };
        match self {
            NodeDone::Attached { instance, volume } => Command::ReportVolumeAttached(of(instance, volume)),
            NodeDone::AttachFailed { instance, volume, reason } => {
                Command::ReportVolumeAttachFailed(AttachmentFailure { report: of(instance, volume), reason })
            }
            NodeDone::Detached { instance, volume } => Command::ReportVolumeDetached(of(instance, volume)),
        }
    }
}

/// Why a report was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReportRefused {
    /// It names what is not the reporter's (another zone's volume, a
    /// guest on another node): a 403 on the wire.
    #[error("{0}")]
    NotYours(String),
    /// The log cannot take it now: try again.
    #[error("{0}")]
    Unavailable(String),
}

impl App {
    /// The metadata of a command the cloud's own parts (`who`) send.
    fn system_meta(&self, who: &str, source: String) -> RequestMeta {
        RequestMeta {
            principal: Principal::system(who),
            request_id: self.ids.request_id(),
            correlation_id: String::new(),
            source,
        }
    }

    async fn record(&self, command: Command, who: &str, source: String) -> Result<(), ReportRefused> {
        match self.execute(command, &self.system_meta(who, source)).await {
            Ok(_) => Ok(()),
            Err(ExecuteError::Refused(
                e @ (domain::DecideError::NotInZone { .. } | domain::DecideError::NotPlacedOnNode { .. }),
            )) => Err(ReportRefused::NotYours(e.to_string())),
            // Overtaken by the log (a retry, a deadline): nothing to do.
            Err(ExecuteError::Refused(e)) => {
                tracing::info!(error = %e, "a storage report decided nothing");
                Ok(())
            }
            Err(e) => Err(ReportRefused::Unavailable(e.to_string())),
        }
    }

    /// Sets `zone`'s block storage capacity (nothing when it is so already).
    pub async fn configure_storage(&self, zone: &ZoneName, capacity_gib: u64) -> Result<(), ExecuteError> {
        let command = Command::ConfigureStorage(domain::volumes::ConfigureStorage {
            zone: zone.clone(),
            capacity_gib,
            at: super::ids::now(),
        });
        let meta = self.system_meta("storage-controller", format!("storage:{zone}"));
        self.execute(command, &meta).await.map(drop)
    }

    /// Records what `zone`'s storage controller did.
    pub async fn record_storage(&self, zone: &ZoneName, done: StorageDone) -> Result<(), ReportRefused> {
        let command = done.command(zone, super::ids::now());
        self.record(command, "storage-controller", format!("storage:{zone}")).await
    }

    /// Records what `node` did with its guests' volumes.
    pub async fn record_node_volume(&self, node: &NodeId, done: NodeDone) -> Result<(), ReportRefused> {
        let command = done.command(node, super::ids::now());
        self.record(command, "node-executor", format!("node:{node}")).await
    }
}
