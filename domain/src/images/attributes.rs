//! DeregisterImage and Modify/ResetImageAttribute, decided by the image's
//! stream: only its owner changes an image.

use super::events::*;
use crate::aggregate::StateView;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::{AccountId, ImageId};
use crate::images::Image;
use crate::model::Timestamp;
use crate::stream::StreamId;
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq)]
pub struct DeregisterImage {
    pub account: AccountId,
    pub image: ImageId,
    pub at: Timestamp,
}

/// Launch permissions added or removed (accounts, and everyone when
/// `public` is `Some`), and a new description.
#[derive(Clone, Debug, PartialEq)]
pub struct ModifyImageAttribute {
    pub account: AccountId,
    pub image: ImageId,
    pub add: Vec<AccountId>,
    pub remove: Vec<AccountId>,
    pub public: Option<bool>,
    pub description: Option<String>,
    pub at: Timestamp,
}

/// launchPermission back to the owner alone.
#[derive(Clone, Debug, PartialEq)]
pub struct ResetImageAttribute {
    pub account: AccountId,
    pub image: ImageId,
    pub at: Timestamp,
}

impl DeregisterImage {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::image(&self.image)]
    }
}

impl ModifyImageAttribute {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut streams = vec![StreamId::image(&self.image)];
        streams.extend(self.add.iter().map(StreamId::account));
        streams
    }
}

impl ResetImageAttribute {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::image(&self.image)]
    }
}

/// The caller's own image, not deregistered.
pub(crate) fn own_image<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    image: &ImageId,
) -> Result<&'v Image, DecideError> {
    match view.image(image) {
        Some(i) if &i.owner == account && !i.deregistered => Ok(i),
        _ => Err(DecideError::ImageNotFound(image.clone())),
    }
}

pub(crate) fn deregister_image(c: &DeregisterImage, view: &dyn StateView) -> Result<Events, DecideError> {
    let image = own_image(view, &c.account, &c.image)?;
    let mut events: Events = vec![(StreamId::image(&c.image), ImageDeregistered { at: c.at }.into())];
    events.extend(super::ebs::release_snapshots(view, image, c.at)?);
    Ok(events)
}

fn permissions(image: &Image, accounts: BTreeSet<AccountId>, public: bool, at: Timestamp) -> Events {
    if accounts == image.shared_with && public == image.public {
        return Vec::new();
    }
    vec![(
        StreamId::image(&image.id),
        ImageLaunchPermissionsSet { accounts: accounts.into_iter().collect(), public, at }.into(),
    )]
}

pub(crate) fn modify_image_attribute(
    c: &ModifyImageAttribute,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let image = own_image(view, &c.account, &c.image)?;
    for account in &c.add {
        if view.account(account).is_none() {
            return Err(DecideError::AccountNotFound(account.clone()));
        }
    }
    let mut accounts = image.shared_with.clone();
    accounts.extend(c.add.iter().filter(|a| **a != c.account).cloned());
    for account in &c.remove {
        accounts.remove(account);
    }
    let mut events = permissions(image, accounts, c.public.unwrap_or(image.public), c.at);
    if let Some(description) = c.description.as_ref().filter(|d| **d != image.description) {
        events.push((
            StreamId::image(&c.image),
            ImageDescriptionSet { description: description.clone(), at: c.at }.into(),
        ));
    }
    Ok(events)
}

pub(crate) fn reset_image_attribute(
    c: &ResetImageAttribute,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let image = own_image(view, &c.account, &c.image)?;
    Ok(permissions(image, BTreeSet::new(), false, c.at))
}
