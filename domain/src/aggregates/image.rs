//! A registered image (Eucalyptus's emi / eki / eri).

use super::tags::{Tags, tag_resource};
use crate::event::*;
use crate::ids::{AccountId, ImageId};
use crate::model::ImageKind;

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

impl Image {
    pub(crate) fn new(e: &ImageRegistered) -> Self {
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

    pub(crate) fn apply(&mut self, event: &Event) {
        if let Some(resource) = tag_resource(event) {
            self.tags.apply(resource, event);
        }
    }

    /// May `account` launch or see this image?
    pub fn visible_to(&self, account: &AccountId) -> bool {
        self.public || &self.owner == account
    }
}
