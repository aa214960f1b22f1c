//! An elastic IP address allocated to an account.

use super::tags::{Tags, tag_resource};
use crate::event::*;
use crate::ids::{AccountId, AllocationId, AssociationId, InstanceId};

#[derive(Clone, Debug, PartialEq)]
pub struct ElasticIp {
    pub allocation: AllocationId,
    pub address: String,
    pub account: AccountId,
    pub association: Option<(AssociationId, InstanceId)>,
    pub released: bool,
    pub tags: Tags,
}

impl ElasticIp {
    pub(crate) fn new(e: &AddressAllocated) -> Self {
        ElasticIp {
            allocation: e.allocation.clone(),
            address: e.address.clone(),
            account: e.account.clone(),
            association: None,
            released: false,
            tags: Tags::default(),
        }
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::AddressAssociated(e) => {
                self.association = Some((e.association.clone(), e.instance.clone()))
            }
            Event::AddressDisassociated(_) => self.association = None,
            Event::AddressReleased(_) => {
                self.released = true;
                self.association = None;
            }
            _ => {
                if let Some(resource) = tag_resource(event) {
                    self.tags.apply(resource, event);
                }
            }
        }
    }
}
