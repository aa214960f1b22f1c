//! All read models together, and the one place events are routed to them.

use crate::accounts::AccountsView;
use crate::buckets::BucketsView;
use crate::catalog::{CloudView, ImageRow, image_row};
use crate::error::ProjectionError;
use crate::instances::InstancesView;
use crate::login_profiles::LoginProfilesView;
use crate::network::NetworkView;
use crate::security::SecurityView;
use crate::tags::TagsView;
use crate::volumes::VolumesView;
use domain::event::{CodecError, Event};
use domain::{ImageId, ParsedStream};
use eventlog::EnvelopeRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadModels {
    /// The last log position folded in (the checkpoint).
    pub position: u64,
    pub cloud: CloudView,
    pub accounts: AccountsView,
    pub images: BTreeMap<ImageId, ImageRow>,
    pub instances: InstancesView,
    pub security: SecurityView,
    pub network: NetworkView,
    pub tags: TagsView,
    /// Console passwords (sealed hashes).
    pub login_profiles: LoginProfilesView,
    /// Volumes, snapshots and block storage.
    pub volumes: VolumesView,
    /// Buckets and objects (Walrus, S3).
    pub buckets: BucketsView,
}

impl ReadModels {
    /// Folds one stored event. Positions must come in order, each once.
    pub fn apply(&mut self, envelope: &EnvelopeRef<'_>) -> Result<(), ProjectionError> {
        // Checked again by `apply_decoded` (which the two-thread fold calls
        // alone); here so that a record out of order is not even decoded.
        if envelope.position != self.position + 1 {
            return Err(ProjectionError::OutOfOrder { position: envelope.position, previous: self.position });
        }
        let event = Event::decode(envelope.event_type, envelope.schema, envelope.payload);
        self.apply_decoded(envelope.position, envelope.stream, event, envelope.recorded_at)
    }

    /// Folds one stored event already decoded (the second half of
    /// [`ReadModels::apply`], see [`crate::fold_decoding_aside`]).
    pub(crate) fn apply_decoded(
        &mut self,
        position: u64,
        stream: &str,
        event: Result<Event, CodecError>,
        recorded_at: i64,
    ) -> Result<(), ProjectionError> {
        if position != self.position + 1 {
            return Err(ProjectionError::OutOfOrder { position, previous: self.position });
        }
        let event = event.map_err(|source| ProjectionError::Decode { position, source })?;
        self.apply_event(stream, event, recorded_at);
        let (tags, volumes) = (&mut self.tags, &mut self.volumes);
        self.instances.expire(recorded_at, |gone| {
            tags.forget(gone.as_str());
            volumes.by_instance.remove(gone);
        });
        self.position = position;
        Ok(())
    }

    fn apply_event(&mut self, stream: &str, event: Event, recorded_at: i64) {
        match event {
            Event::CloudInitialized(e) => self.cloud.initialized(&e),
            Event::ClusterAdded(_) => {}
            Event::VmTypeSet(e) => self.cloud.vm_type_set(e.vm_type),
            Event::ClusterRegistered(e) => self.cloud.cluster_registered(&e),
            Event::NodeRegistered(e) => self.cloud.node_registered(&e),
            Event::NodeCredentialsIssued(e) => self.cloud.node_credentials(&e),
            Event::NodeUnreachable(e) => {
                self.cloud.node_reachability(&e.node, Some((e.at, e.last_heartbeat)))
            }
            Event::NodeReachable(e) => self.cloud.node_reachability(&e.node, None),
            Event::ClusterPolicySet(e) => self.cloud.policy_set(&e),
            Event::CapacityReserved(e) => {
                if let Some((zone, amount)) = self.instances.holds(&e.instance, Some(e.amount)) {
                    self.cloud.capacity_changed(zone.as_str(), &e.node, &amount, true);
                }
            }
            Event::CapacityReleased(e) => {
                if let Some((zone, amount)) = self.instances.holds(&e.instance, None) {
                    self.cloud.capacity_changed(zone.as_str(), &e.node, &amount, false);
                }
            }
            Event::AccountCreated(e) => self.accounts.account_created(&e),
            Event::AccessKeyCreated(e) => self.accounts.access_key_created(&e),
            Event::UserCreated(e) => self.accounts.user_created(&e),
            Event::UserDeleted(e) => {
                if let ParsedStream::Account(id) = ParsedStream::of(stream) {
                    self.accounts.user_deleted(&id, &e);
                }
            }
            Event::AccessKeyStatusChanged(e) => self.accounts.access_key_status_changed(&e),
            Event::AccessKeyDeleted(e) => self.accounts.access_key_deleted(&e),
            Event::LoginProfileCreated(e) => self.login_profiles.created(&e),
            Event::LoginProfileUpdated(e) => self.login_profiles.updated(&e),
            Event::LoginProfileDeleted(e) => self.login_profiles.deleted(&e),
            Event::ImageRegistered(e) => {
                self.images.insert(e.image.clone(), image_row(&e));
            }
            e @ (Event::ImageBundleRecorded(_)
            | Event::ImageDeregistered(_)
            | Event::ImageLaunchPermissionsSet(_)
            | Event::ImageDescriptionSet(_)
            | Event::ImageBlockDevicesRecorded(_)) => {
                if let ParsedStream::Image(id) = ParsedStream::of(stream)
                    && let Some(row) = self.images.get_mut(&id)
                {
                    row.apply(&e);
                }
            }
            Event::SigningCertificateUploaded(e) => self.accounts.certificate_uploaded(&e),
            Event::SigningCertificateStatusChanged(e) => self.accounts.certificate_status_changed(&e),
            Event::SigningCertificateDeleted(e) => self.accounts.certificate_deleted(&e),
            Event::ReservationCreated(e) => self.instances.reservation_created(e),
            Event::ClientTokenClaimed(_)
            | Event::GroupNameClaimed(_)
            | Event::GroupNameReleased(_)
            | Event::AccountNameClaimed(_)
            | Event::NodeClaimed(_)
            | Event::SecurityGroupReferenced(_)
            | Event::SecurityGroupDereferenced(_)
            | Event::RequestRefused(_) => {}
            Event::InstanceRequested(e) => self.instances.requested(e),
            e @ (Event::InstancePlaced(_)
            | Event::InstanceRunning(_)
            | Event::InstanceTerminationRequested(_)
            | Event::InstanceTerminated(_)
            | Event::InstanceLaunchFailed(_)
            | Event::InstanceStartFailed(_)
            | Event::InstanceAddressed(_)
            | Event::InstancePublicAddressChanged(_)
            | Event::InstanceStopRequested(_)
            | Event::InstanceStopped(_)
            | Event::InstanceStartRequested(_)
            | Event::InstanceRebootRequested(_)
            | Event::InstanceAttributeChanged(_)
            | Event::InstanceGroupsChanged(_)) => {
                if let Some(id) = ParsedStream::instance(stream) {
                    self.instances.instance_event(&id, &e, recorded_at);
                }
            }
            Event::KeyPairDeleted(e) => {
                if let Some(row) = self.security.key_pairs.get(&(e.account.clone(), e.name.clone())) {
                    self.tags.forget(row.id.as_str());
                }
                self.security.apply(stream, Event::KeyPairDeleted(e));
            }
            e @ Event::SecurityGroupDeleted(_) => {
                if let ParsedStream::SecurityGroup(id) = ParsedStream::of(stream) {
                    self.tags.forget(id.as_str());
                }
                self.security.apply(stream, e);
            }
            e @ (Event::KeyPairCreated(_)
            | Event::SecurityGroupCreated(_)
            | Event::SecurityRulesAuthorized(_)
            | Event::SecurityRulesRevoked(_)
            | Event::SecurityGroupMemberAdded(_)
            | Event::SecurityGroupMemberRemoved(_)) => self.security.apply(stream, e),
            e @ Event::AddressReleased(_) => {
                if let ParsedStream::ElasticIp(id) = ParsedStream::of(stream) {
                    self.tags.forget(id.as_str());
                }
                self.network.apply(stream, e);
            }
            e @ (Event::AddressPoolConfigured(_)
            | Event::PrivateAddressTaken(_)
            | Event::PrivateAddressFreed(_)
            | Event::PublicAddressTaken(_)
            | Event::PublicAddressFreed(_)
            | Event::ElasticIpLimitSet(_)
            | Event::AddressAllocated(_)
            | Event::AddressAssociated(_)
            | Event::AddressDisassociated(_)) => self.network.apply(stream, e),
            Event::TagsCreated(t)
                if t.resource.starts_with("i-") && self.instances.get(&t.resource).is_none() =>
            {
                // Tags on an instance gone from the read models (ended an
                // hour ago or more) are not shown: it is not.
            }
            e @ (Event::TagsCreated(_) | Event::TagsDeleted(_)) => self.tags.apply(&e),
            e @ (Event::InstanceDeviceClaimed(_)
            | Event::InstanceDeviceReleased(_)
            | Event::VolumeRequested(_)
            | Event::VolumeCreated(_)
            | Event::VolumeFailed(_)
            | Event::VolumeAttachRequested(_)
            | Event::VolumeExported(_)
            | Event::VolumeAttached(_)
            | Event::VolumeAttachFailed(_)
            | Event::VolumeDetachRequested(_)
            | Event::VolumeDetachForced(_)
            | Event::VolumeReleased(_)
            | Event::VolumeRevoked(_)
            | Event::VolumeDeleteRequested(_)
            | Event::VolumeDeleted(_)
            | Event::VolumeAttachmentPlanned(_)
            | Event::VolumeAttachmentCancelled(_)
            | Event::VolumeDeleteOnTerminationSet(_)
            | Event::SnapshotRequested(_)
            | Event::SnapshotProgressed(_)
            | Event::SnapshotCompleted(_)
            | Event::SnapshotFailed(_)
            | Event::SnapshotDeleted(_)
            | Event::SnapshotPermissionsSet(_)
            | Event::SnapshotImageRegistered(_)
            | Event::SnapshotImageDeregistered(_)
            | Event::StorageConfigured(_)
            | Event::StorageCapacitySet(_)
            | Event::StorageReserved(_)
            | Event::StorageReleased(_)
            | Event::StorageControllerRegistered(_)) => {
                if let Some(gone) = self.volumes.apply(stream, e) {
                    self.tags.forget(&gone);
                }
            }
            e @ (Event::BucketCreated(_)
            | Event::BucketRecreated(_)
            | Event::BucketDeleted(_)
            | Event::BucketAclSet(_)
            | Event::BucketVersioningSet(_)
            | Event::BucketCorsSet(_)
            | Event::BucketTaggingSet(_)
            | Event::ObjectStored(_)
            | Event::DeleteMarkerPlaced(_)
            | Event::ObjectVersionDeleted(_)
            | Event::ObjectAclSet(_)
            | Event::MultipartUploadStarted(_)
            | Event::MultipartPartStored(_)
            | Event::MultipartUploadEnded(_)) => self.buckets.apply(stream, &e),
        }
    }
}
