//! The registry: every command, event and aggregate of the domain, listed
//! once, by area. The areas (`instances`, `security_groups` …) define
//! them; this file only says they exist and which state folds which
//! event, and the macros in `macros.rs` assemble [`Command`], [`Event`] and
//! [`Aggregate`] from it (docs/adr/0011-domain-by-area.md).
//!
//! Adding a command is one line in `commands!`; adding an event is one line
//! under the state that folds it in `events!` (the compiler then asks that
//! state to handle it); adding an aggregate is one entry with its first
//! event. An event's name and schema version are what the log stores:
//! never change a released one (docs/adr/0002-event-encoding.md).

use crate::accounts::*;
use crate::addresses::*;
use crate::audit::*;
use crate::buckets::*;
use crate::cloud::*;
use crate::clusters::*;
use crate::images::*;
use crate::instances::*;
use crate::key_pairs::*;
use crate::reservations::*;
use crate::security_groups::*;
use crate::tags::*;
use crate::volumes::*;
use crate::{
    accounts, addresses, buckets, cloud, clusters, images, instances, key_pairs, security_groups, tags,
    volumes,
};

commands! {
    // The cloud.
    BootstrapCloud(BootstrapCloud) => cloud::bootstrap,
    ModifyInstanceTypeAttribute(ModifyInstanceTypeAttribute) => cloud::modify_instance_type_attribute,
    // Clusters and nodes.
    AddCluster(AddCluster) => clusters::add_cluster,
    RegisterNode(RegisterNode) => clusters::register_node,
    SetClusterPolicy(SetClusterPolicy) => clusters::set_cluster_policy,
    MarkNodeReachable(MarkNodeReachable) => clusters::mark_node_reachable,
    MarkNodeUnreachable(MarkNodeUnreachable) => clusters::mark_node_unreachable,
    // Accounts, users and access keys.
    CreateAccount(CreateAccount) => accounts::create_account,
    CreateUser(CreateUser) => accounts::create_user,
    DeleteUser(DeleteUser) => accounts::delete_user,
    CreateAccessKey(CreateAccessKey) => accounts::create_access_key,
    UpdateAccessKey(UpdateAccessKey) => accounts::update_access_key,
    DeleteAccessKey(DeleteAccessKey) => accounts::delete_access_key,
    CreateLoginProfile(CreateLoginProfile) => accounts::create_login_profile,
    UpdateLoginProfile(UpdateLoginProfile) => accounts::update_login_profile,
    DeleteLoginProfile(DeleteLoginProfile) => accounts::delete_login_profile,
    UploadSigningCertificate(UploadSigningCertificate) => accounts::upload_signing_certificate,
    UpdateSigningCertificate(UpdateSigningCertificate) => accounts::update_signing_certificate,
    DeleteSigningCertificate(DeleteSigningCertificate) => accounts::delete_signing_certificate,
    // Images.
    RegisterImage(RegisterImage) => images::register_image,
    DeregisterImage(DeregisterImage) => images::deregister_image,
    ModifyImageAttribute(ModifyImageAttribute) => images::modify_image_attribute,
    ResetImageAttribute(ResetImageAttribute) => images::reset_image_attribute,
    CreateImage(CreateImage) => images::create_image,
    // Instances.
    RunInstances(RunInstances) => instances::run_instances,
    TerminateInstances(InstanceIds) => instances::terminate_instances,
    StopInstances(StopInstances) => instances::stop_instances,
    StartInstances(InstanceIds) => instances::start_instances,
    RebootInstances(InstanceIds) => instances::reboot_instances,
    ModifyInstanceAttribute(ModifyInstanceAttribute) => instances::modify_instance_attribute,
    // What node executors report.
    ReportInstanceRunning(InstanceReport) => instances::report_running,
    ReportInstanceTerminated(InstanceReport) => instances::report_terminated,
    ReportInstanceStopped(InstanceReport) => instances::report_stopped,
    ReportInstancePoweredOff(InstanceReport) => instances::report_powered_off,
    ReportLaunchFailed(LaunchFailure) => instances::report_launch_failed,
    // Key pairs.
    CreateKeyPair(NewKeyPair) => key_pairs::create_key_pair,
    ImportKeyPair(NewKeyPair) => key_pairs::import_key_pair,
    DeleteKeyPair(DeleteKeyPair) => key_pairs::delete_key_pair,
    // Security groups.
    CreateSecurityGroup(CreateSecurityGroup) => security_groups::create_security_group,
    DeleteSecurityGroup(DeleteSecurityGroup) => security_groups::delete_security_group,
    AuthorizeSecurityGroupIngress(GroupRules) => security_groups::authorize_ingress,
    AuthorizeSecurityGroupEgress(GroupRules) => security_groups::authorize_egress,
    RevokeSecurityGroupIngress(GroupRules) => security_groups::revoke_ingress,
    RevokeSecurityGroupEgress(GroupRules) => security_groups::revoke_egress,
    // Addresses.
    AllocateAddress(AllocateAddress) => addresses::allocate_address,
    AssociateAddress(AssociateAddress) => addresses::associate_address,
    DisassociateAddress(DisassociateAddress) => addresses::disassociate_address,
    ReleaseAddress(ReleaseAddress) => addresses::release_address,
    SetElasticIpLimit(SetElasticIpLimit) => addresses::set_elastic_ip_limit,
    // Tags.
    CreateTags(CreateTags) => tags::create_tags,
    DeleteTags(DeleteTags) => tags::delete_tags,
    // Block storage: volumes, attachments, snapshots.
    ConfigureStorage(ConfigureStorage) => volumes::configure_storage,
    RegisterStorageController(RegisterStorageController) => volumes::register_storage_controller,
    CreateVolume(CreateVolume) => volumes::create_volume,
    DeleteVolume(DeleteVolume) => volumes::delete_volume,
    AttachVolume(AttachVolume) => volumes::attach_volume,
    DetachVolume(DetachVolume) => volumes::detach_volume,
    CreateSnapshot(CreateSnapshot) => volumes::create_snapshot,
    DeleteSnapshot(DeleteSnapshot) => volumes::delete_snapshot,
    CopySnapshot(CopySnapshot) => volumes::copy_snapshot,
    ModifySnapshotAttribute(ModifySnapshotAttribute) => volumes::modify_snapshot_attribute,
    ResetSnapshotAttribute(ResetSnapshotAttribute) => volumes::reset_snapshot_attribute,
    // What storage controllers report.
    ReportVolumeCreated(VolumeReport) => volumes::report_created,
    ReportVolumeCreateFailed(VolumeFailure) => volumes::report_create_failed,
    ReportVolumeExported(VolumeReport) => volumes::report_exported,
    ReportVolumeRevoked(VolumeReport) => volumes::report_revoked,
    ReportVolumeDeleted(VolumeReport) => volumes::report_deleted,
    ReportSnapshotProgress(SnapshotProgress) => volumes::report_snapshot_progress,
    ReportSnapshotCompleted(SnapshotDone) => volumes::report_snapshot_completed,
    ReportSnapshotFailed(SnapshotFailure) => volumes::report_snapshot_failed,
    // What node executors report on attachments.
    ReportVolumeAttached(AttachmentReport) => volumes::report_attached,
    ReportVolumeAttachFailed(AttachmentFailure) => volumes::report_attach_failed,
    ReportVolumeDetached(AttachmentReport) => volumes::report_detached,
    // Deadlines of transitional states.
    ExpireVolume(ExpireVolume) => volumes::expire_volume,
    ExpireSnapshot(ExpireSnapshot) => volumes::expire_snapshot,
    // Walrus (S3): buckets and objects.
    CreateBucket(CreateBucket) => buckets::create_bucket,
    DeleteBucket(DeleteBucket) => buckets::delete_bucket,
    PutBucketAcl(PutBucketAcl) => buckets::put_bucket_acl,
    PutBucketVersioning(PutBucketVersioning) => buckets::put_bucket_versioning,
    PutBucketCors(PutBucketCors) => buckets::put_bucket_cors,
    PutBucketTagging(PutBucketTagging) => buckets::put_bucket_tagging,
    PutObject(PutObject) => buckets::put_object,
    CopyObject(CopyObject) => buckets::copy_object,
    DeleteObject(DeleteObject) => buckets::delete_object,
    PutObjectAcl(PutObjectAcl) => buckets::put_object_acl,
    CreateMultipartUpload(CreateMultipartUpload) => buckets::create_multipart_upload,
    UploadPart(UploadPart) => buckets::upload_part,
    CompleteMultipartUpload(CompleteMultipartUpload) => buckets::complete_multipart_upload,
    AbortMultipartUpload(AbortMultipartUpload) => buckets::abort_multipart_upload,
}

events! {
    // States larger than a few ids are boxed, so that an `Aggregate` (kept
    // for every stream in the decide cache, and by the node executor and
    // the storage controller) is the size of the smallest, not the largest
    // (88 bytes rather than 472; issue 14, target 5).
    evolving {
        /// `cloud`: region, VM types and zones.
        Cloud(Cloud) as CloudEvent: CloudInitialized = 1 {
            ClusterAdded = 1,
            VmTypeSet = 1,
        }
        /// `cluster/ZONE`: its nodes, their room and reachability.
        Cluster(Cluster) as ClusterEvent: ClusterRegistered = 1 {
            NodeRegistered = 1,
            CapacityReserved = 1,
            CapacityReleased = 1,
            ClusterPolicySet = 1,
            NodeCredentialsIssued = 1,
            NodeUnreachable = 1,
            NodeReachable = 1,
        }
        /// `account/ID`: users, access keys, login profiles, key pairs, group names.
        Account(Box<Account>) as AccountEvent: AccountCreated = 1 {
            AccessKeyCreated = 1,
            UserCreated = 1,
            UserDeleted = 1,
            AccessKeyStatusChanged = 1,
            AccessKeyDeleted = 1,
            KeyPairCreated = 1,
            KeyPairDeleted = 1,
            GroupNameClaimed = 1,
            GroupNameReleased = 1,
            LoginProfileCreated = 1,
            LoginProfileUpdated = 1,
            LoginProfileDeleted = 1,
            SigningCertificateUploaded = 1,
            SigningCertificateStatusChanged = 1,
            SigningCertificateDeleted = 1,
        }
        /// `instance/ID`: the EC2 instance state machine.
        Instance(Box<Instance>) as InstanceEvent: InstanceRequested = 2 {
            InstancePlaced = 1,
            InstanceRunning = 1,
            InstanceTerminationRequested = 1,
            InstanceTerminated = 1,
            InstanceLaunchFailed = 1,
            InstanceStartFailed = 1,
            InstanceAddressed = 1,
            InstancePublicAddressChanged = 1,
            InstanceStopRequested = 1,
            InstanceStopped = 1,
            InstanceStartRequested = 1,
            InstanceRebootRequested = 1,
            InstanceAttributeChanged = 1,
            InstanceGroupsChanged = 1,
            InstanceDeviceClaimed = 1,
            InstanceDeviceReleased = 1,
        }
        /// `sg/ID`: rules, members and who names it.
        SecurityGroup(Box<SecurityGroup>) as SecurityGroupEvent: SecurityGroupCreated = 1 {
            SecurityRulesAuthorized = 1,
            SecurityRulesRevoked = 1,
            SecurityGroupMemberAdded = 1,
            SecurityGroupMemberRemoved = 1,
            SecurityGroupReferenced = 1,
            SecurityGroupDereferenced = 1,
            SecurityGroupDeleted = 1,
        }
        /// `network`: the address pools.
        Network(Box<Network>) as NetworkEvent: AddressPoolConfigured = 1 {
            PrivateAddressTaken = 1,
            PrivateAddressFreed = 1,
            PublicAddressTaken = 1,
            PublicAddressFreed = 1,
            ElasticIpLimitSet = 1,
        }
        /// `eip/ALLOCATION`: an elastic IP.
        ElasticIp(Box<ElasticIp>) as ElasticIpEvent: AddressAllocated = 1 {
            AddressAssociated = 1,
            AddressDisassociated = 1,
            AddressReleased = 1,
        }
        /// `volume/ID`: an EBS volume and its attachment.
        Volume(Box<Volume>) as VolumeEvent: VolumeRequested = 1 {
            VolumeCreated = 1,
            VolumeFailed = 1,
            VolumeAttachRequested = 1,
            VolumeExported = 1,
            VolumeAttached = 1,
            VolumeAttachFailed = 1,
            VolumeDetachRequested = 1,
            VolumeDetachForced = 1,
            VolumeReleased = 1,
            VolumeRevoked = 1,
            VolumeDeleteRequested = 1,
            VolumeDeleted = 1,
            VolumeAttachmentPlanned = 1,
            VolumeAttachmentCancelled = 1,
            VolumeDeleteOnTerminationSet = 1,
        }
        /// `snapshot/ID`: a snapshot of a volume.
        Snapshot(Box<Snapshot>) as SnapshotEvent: SnapshotRequested = 1 {
            SnapshotProgressed = 1,
            SnapshotCompleted = 1,
            SnapshotFailed = 1,
            SnapshotDeleted = 1,
            SnapshotPermissionsSet = 1,
            SnapshotImageRegistered = 1,
            SnapshotImageDeregistered = 1,
        }
        /// `storage/ZONE`: a zone's block storage capacity.
        Storage(Box<Storage>) as StorageEvent: StorageConfigured = 1 {
            StorageCapacitySet = 1,
            StorageReserved = 1,
            StorageReleased = 1,
            StorageControllerRegistered = 1,
        }
        /// `bucket/NAME`: an S3 bucket, its objects and its uploads.
        Bucket(Box<Bucket>) as BucketEvent: BucketCreated = 1 {
            BucketRecreated = 1,
            BucketDeleted = 1,
            BucketAclSet = 1,
            BucketVersioningSet = 1,
            BucketCorsSet = 1,
            BucketTaggingSet = 1,
            ObjectStored = 1,
            DeleteMarkerPlaced = 1,
            ObjectVersionDeleted = 1,
            ObjectAclSet = 1,
            MultipartUploadStarted = 1,
            MultipartPartStored = 1,
            MultipartUploadEnded = 1,
        }
        /// `image/ID`: an image, what was verified of its bundle, who may
        /// launch it.
        Image(Box<Image>) as ImageEvent: ImageRegistered = 1 {
            ImageBundleRecorded = 1,
            ImageDeregistered = 1,
            ImageLaunchPermissionsSet = 1,
            ImageDescriptionSet = 1,
            ImageBlockDevicesRecorded = 1,
        }
    }
    once {
        /// `reservation/ID`: the instances of one RunInstances.
        Reservation(Reservation): ReservationCreated = 1,
        /// `token/ACCOUNT/TOKEN`: RunInstances' idempotency.
        ClientToken(ClientToken): ClientTokenClaimed = 1,
        /// `account-name/NAME`: a name taken by an account.
        AccountName(AccountNameClaim): AccountNameClaimed = 1,
        /// `node/ID`: a node id taken by a cluster.
        Node(NodeClaim): NodeClaimed = 1,
    }
    tags as TagEvent {
        TagsCreated = 1,
        TagsDeleted = 1,
    }
    unfolded {
        RequestRefused = 1,
    }
}
