//! Images (Eucalyptus's emi / eki / eri): RegisterImage, the image
//! registered, and who may see it. An image's stream holds its
//! registration and its tags.

use crate::aggregate::{Aggregate, State, StateView};
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::{AccountId, ImageId};
use crate::model::Timestamp;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};

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
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        Some(&mut self.tags)
    }
}

impl Image {
    /// May `account` launch or see this image?
    pub fn visible_to(&self, account: &AccountId) -> bool {
        self.public || &self.owner == account
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
    pub at: Timestamp,
}

impl RegisterImage {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut s = vec![StreamId::image(&self.image)];
        s.extend(self.kernel.iter().chain(self.ramdisk.iter()).map(StreamId::image));
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
    Ok(vec![(StreamId::image(&c.image), c.registered().into())])
}
