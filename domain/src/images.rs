//! Images (Eucalyptus's emi / eki / eri): RegisterImage, the image
//! registered, and who may see it. An image's stream holds its
//! registration, for a bundle what was verified of it (`events.rs`), its
//! launch permissions, description and deregistration (`attributes.rs`)
//! and its tags.

mod attributes;
mod ebs;
mod events;

pub use attributes::*;
pub use ebs::*;
pub use events::*;

use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::buckets::{BucketName, Caller, Permission};
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::{AccountId, ImageId};
use crate::model::Timestamp;
use crate::registry::ImageEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageKind {
    Machine,
    Kernel,
    Ramdisk,
}

impl ImageKind {
    /// EC2's `imageType`.
    pub fn ec2_name(self) -> &'static str {
        match self {
            ImageKind::Machine => "machine",
            ImageKind::Kernel => "kernel",
            ImageKind::Ramdisk => "ramdisk",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRegistered {
    pub image: ImageId,
    pub owner: AccountId,
    pub kind: ImageKind,
    pub name: String,
    pub description: String,
    pub architecture: String,
    pub location: String,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub public: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub id: ImageId,
    pub owner: AccountId,
    pub kind: ImageKind,
    pub public: bool,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub tags: Tags,
    pub description: String,
    /// Accounts besides the owner that may launch it.
    pub shared_with: BTreeSet<AccountId>,
    pub deregistered: bool,
    /// What RegisterImage verified of its bundle (none for built-in images).
    pub bundle: Option<ImageBundleRecorded>,
    /// An EBS-backed image's root device and block device mapping.
    pub ebs: Option<ImageBlockDevicesRecorded>,
}

impl State for Image {
    type Created = ImageRegistered;

    fn created(e: &ImageRegistered) -> Self {
        Image {
            id: e.image.clone(),
            owner: e.owner.clone(),
            kind: e.kind,
            public: e.public,
            kernel: e.kernel.clone(),
            ramdisk: e.ramdisk.clone(),
            tags: Tags::default(),
            description: e.description.clone(),
            shared_with: BTreeSet::new(),
            deregistered: false,
            bundle: None,
            ebs: None,
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        Some(&mut self.tags)
    }
}

impl Image {
    /// May `account` launch or see this image?
    pub fn visible_to(&self, account: &AccountId) -> bool {
        !self.deregistered && (self.public || &self.owner == account || self.shared_with.contains(account))
    }
}

impl Evolve for Image {
    type Event<'a> = ImageEvent<'a>;

    fn apply(&mut self, event: ImageEvent<'_>) {
        match event {
            ImageEvent::ImageBundleRecorded(e) => self.bundle = Some(e.clone()),
            ImageEvent::ImageDeregistered(_) => self.deregistered = true,
            ImageEvent::ImageLaunchPermissionsSet(e) => {
                self.shared_with = e.accounts.iter().cloned().collect();
                self.public = e.public;
            }
            ImageEvent::ImageDescriptionSet(e) => self.description = e.description.clone(),
            ImageEvent::ImageBlockDevicesRecorded(e) => self.ebs = Some(e.clone()),
        }
    }
}

impl dyn StateView + '_ {
    pub fn image(&self, image: &ImageId) -> Option<&Image> {
        match self.get(&StreamId::image(image)) {
            Some(Aggregate::Image(i)) => Some(i),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegisterImage {
    pub image: ImageId,
    pub owner: AccountId,
    pub kind: ImageKind,
    pub name: String,
    pub description: String,
    pub architecture: String,
    pub location: String,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub public: bool,
    /// A bundle in Walrus (EC2's RegisterImage); `None` for the
    /// built-in images.
    pub bundle: Option<BundleRegistration>,
    /// An EBS-backed image: its root device and block device mapping
    /// (RegisterImage with `RootDeviceName` and `BlockDeviceMapping.N`).
    pub ebs: Option<EbsRegistration>,
    pub at: Timestamp,
}

/// What the API found of a bundle: the manifest read, parsed, its
/// signature checked with `recorded.signed_by`, its key opened with the
/// cloud's key, its parts' digests checked. The domain checks what the
/// log decides: the certificate is an active one of the registering
/// account, and the caller may still read the manifest and every part in
/// the versions that were read.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleRegistration {
    pub caller: Caller,
    pub recorded: ImageBundleRecorded,
}

impl RegisterImage {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut s = vec![StreamId::image(&self.image)];
        s.extend(self.kernel.iter().chain(self.ramdisk.iter()).map(StreamId::image));
        if let Some(b) = &self.bundle {
            s.push(StreamId::account(&self.owner));
            if let Ok(name) = BucketName::parse(&b.recorded.bucket) {
                s.push(StreamId::bucket(&name));
            }
        }
        if let Some(e) = &self.ebs {
            s.extend(e.devices.iter().filter_map(|d| d.snapshot.as_ref()).map(StreamId::snapshot));
        }
        s
    }

    pub(crate) fn registered(&self) -> ImageRegistered {
        ImageRegistered {
            image: self.image.clone(),
            owner: self.owner.clone(),
            kind: self.kind,
            name: self.name.clone(),
            description: self.description.clone(),
            architecture: self.architecture.clone(),
            location: self.location.clone(),
            kernel: self.kernel.clone(),
            ramdisk: self.ramdisk.clone(),
            public: self.public,
            at: self.at,
        }
    }
}

/// A new image id; its kernel and ramdisk must be visible to its owner and
/// be of their kind.
pub(crate) fn register_image(c: &RegisterImage, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.image(&c.image).is_some() {
        return Err(DecideError::ImageExists(c.image.clone()));
    }
    for (part, kind) in [(&c.kernel, ImageKind::Kernel), (&c.ramdisk, ImageKind::Ramdisk)] {
        if let Some(id) = part {
            match view.image(id) {
                Some(img) if img.kind == kind && img.visible_to(&c.owner) => {}
                _ => return Err(DecideError::ImageNotFound(id.clone())),
            }
        }
    }
    let mut events: Events = vec![(StreamId::image(&c.image), c.registered().into())];
    if let Some(b) = &c.bundle {
        check_bundle(c, b, view)?;
        events.push((StreamId::image(&c.image), b.recorded.clone().into()));
    }
    if let Some(e) = &c.ebs {
        if c.bundle.is_some() || c.kind != ImageKind::Machine {
            return Err(DecideError::InvalidBlockDeviceMapping(
                "an image is either a bundle (ImageLocation) or EBS-backed (a root device's snapshot)".into(),
            ));
        }
        let recorded = ImageBlockDevicesRecorded {
            root_device: e.root_device.clone(),
            devices: ebs::image_devices(view, &c.owner, e)?,
            at: c.at,
        };
        events.extend(ebs::hold_snapshots(&c.image, &recorded));
        events.push((StreamId::image(&c.image), recorded.into()));
    }
    Ok(events)
}

/// The signer is an active certificate of the owner's; the manifest and
/// the parts are still there, in the versions read, readable by the caller.
fn check_bundle(c: &RegisterImage, b: &BundleRegistration, view: &dyn StateView) -> Result<(), DecideError> {
    let r = &b.recorded;
    let account = view.account(&c.owner).ok_or_else(|| DecideError::AccountNotFound(c.owner.clone()))?;
    if !account.signing_certificates.get(&r.signed_by).is_some_and(|s| s.active) {
        return Err(DecideError::ManifestNotSigned(format!(
            "the certificate {} is not an active signing certificate of account {}",
            r.signed_by, c.owner
        )));
    }
    let name = BucketName::parse(&r.bucket).map_err(DecideError::InvalidManifest)?;
    let bucket = view.bucket(&name).filter(|b| !b.deleted).ok_or(DecideError::NoSuchBucket(name))?;
    let objects = std::iter::once((&r.manifest_key, &r.manifest_version))
        .chain(r.parts.iter().map(|p| (&p.key, &p.version)));
    for (key, version) in objects {
        match bucket.latest(key) {
            Some(v) if &v.version == version && v.acl.allows(&b.caller, Permission::Read) => {}
            Some(v) if &v.version == version => {
                return Err(DecideError::AccessDenied(format!("{}/{key}", r.bucket)));
            }
            _ => {
                return Err(DecideError::InvalidManifest(format!(
                    "{}/{key} changed or disappeared while the image was being registered",
                    r.bucket
                )));
            }
        }
    }
    Ok(())
}
