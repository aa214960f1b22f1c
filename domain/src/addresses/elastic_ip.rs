//! An elastic IP address allocated to an account.

use super::events::*;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::ids::{AccountId, AllocationId, AssociationId, InstanceId};
use crate::registry::ElasticIpEvent;
use crate::stream::StreamId;
use crate::tags::Tags;

#[derive(Clone, Debug, PartialEq)]
pub struct ElasticIp {
    pub allocation: AllocationId,
    pub address: String,
    pub account: AccountId,
    pub association: Option<(AssociationId, InstanceId)>,
    pub released: bool,
    pub tags: Tags,
}

impl State for ElasticIp {
    type Created = AddressAllocated;

    fn created(e: &AddressAllocated) -> Self {
        ElasticIp {
            allocation: e.allocation.clone(),
            address: e.address.clone(),
            account: e.account.clone(),
            association: None,
            released: false,
            tags: Tags::default(),
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        Some(&mut self.tags)
    }
}

impl Evolve for ElasticIp {
    type Event<'a> = ElasticIpEvent<'a>;

    fn apply(&mut self, event: ElasticIpEvent<'_>) {
        match event {
            ElasticIpEvent::AddressAssociated(e) => {
                self.association = Some((e.association.clone(), e.instance.clone()))
            }
            ElasticIpEvent::AddressDisassociated(_) => self.association = None,
            ElasticIpEvent::AddressReleased(_) => {
                self.released = true;
                self.association = None;
            }
        }
    }
}

impl dyn StateView + '_ {
    /// An elastic IP that is allocated (not released).
    pub fn elastic_ip(&self, allocation: &AllocationId) -> Option<&ElasticIp> {
        match self.get(&StreamId::elastic_ip(allocation)) {
            Some(Aggregate::ElasticIp(a)) if !a.released => Some(a),
            _ => None,
        }
    }
}
