//! Commands: imperative requests, one per verb, each carrying every id and
//! time the decision needs (the domain makes none up). Each area defines
//! its commands next to the decisions on them; [`Command`] gathers them
//! (see `registry.rs`). This module re-exports them under the path other
//! crates have always used.

pub use crate::accounts::{
    CreateAccessKey, CreateAccount, CreateLoginProfile, CreateUser, DeleteAccessKey, DeleteLoginProfile,
    DeleteSigningCertificate, DeleteUser, NewAccessKey, UpdateAccessKey, UpdateLoginProfile,
    UpdateSigningCertificate, UploadSigningCertificate,
};
pub use crate::addresses::{
    AddressRef, AllocateAddress, AssociateAddress, DisassociateAddress, DisassociateRef, ReleaseAddress,
    SetElasticIpLimit,
};
pub use crate::buckets::{
    AbortMultipartUpload, CompleteMultipartUpload, CopyObject, CreateBucket, CreateMultipartUpload,
    DeleteBucket, DeleteObject, ObjectRef, PutBucketAcl, PutBucketCors, PutBucketTagging,
    PutBucketVersioning, PutObject, PutObjectAcl, UploadPart,
};
pub use crate::cloud::{BootstrapCloud, ModifyInstanceTypeAttribute};
pub use crate::clusters::{
    AddCluster, MarkNodeReachable, MarkNodeUnreachable, NodeKey, RegisterNode, SetClusterPolicy,
};
pub use crate::images::{
    BundleRegistration, DeregisterImage, ModifyImageAttribute, RegisterImage, ResetImageAttribute,
};
pub use crate::instances::{
    AttributeChange, InstanceIds, InstanceReport, LaunchFailure, ModifyInstanceAttribute, NodeOutcome,
    NodeReport, RunInstances, StopInstances,
};
pub use crate::key_pairs::{DeleteKeyPair, NewKeyPair};
pub use crate::registry::Command;
pub use crate::security_groups::{
    CreateSecurityGroup, DeleteSecurityGroup, GroupRef, GroupRules, RuleRef, SourceRef,
};
pub use crate::tags::{CreateTags, DeleteTags};
pub use crate::volumes::{
    AttachVolume, AttachmentFailure, AttachmentReport, ConfigureStorage, CopySnapshot, CreateSnapshot,
    CreateVolume, DeleteSnapshot, DeleteVolume, DetachVolume, ExpireSnapshot, ExpireVolume,
    ModifySnapshotAttribute, RegisterStorageController, ResetSnapshotAttribute, SnapshotDone,
    SnapshotFailure, SnapshotProgress, SnapshotReport, VolumeFailure, VolumeReport,
};
