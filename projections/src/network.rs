//! Address pools and elastic IPs.

use domain::event::*;
use domain::{AccountId, AllocationId, AssociationId, InstanceId, ParsedStream, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkView {
    pub private_cidr: String,
    pub public_pool: Vec<String>,
    /// Public addresses in use, and by what.
    pub public_taken: BTreeMap<String, AddressHolder>,
    pub private_in_use: u64,
    pub addresses: BTreeMap<AllocationId, AddressRow>,
    /// Elastic IPs an account (not the cloud administrator's) may hold.
    pub elastic_ip_limit: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressRow {
    pub address: String,
    pub account: AccountId,
    pub association: Option<(AssociationId, InstanceId)>,
    pub allocated_at: Timestamp,
}

impl NetworkView {
    pub(crate) fn apply(&mut self, stream: &str, event: Event) {
        let allocation = || match ParsedStream::of(stream) {
            ParsedStream::ElasticIp(id) => Some(id),
            _ => None,
        };
        match event {
            Event::AddressPoolConfigured(e) => {
                self.private_cidr = e.private_cidr;
                self.public_pool = e.public_addresses;
                self.elastic_ip_limit = domain::aggregates::DEFAULT_ELASTIC_IP_LIMIT;
            }
            Event::PrivateAddressTaken(_) => self.private_in_use += 1,
            Event::PrivateAddressFreed(_) => self.private_in_use = self.private_in_use.saturating_sub(1),
            Event::PublicAddressTaken(e) => {
                self.public_taken.insert(e.address, e.holder);
            }
            Event::PublicAddressFreed(e) => {
                self.public_taken.remove(&e.address);
            }
            Event::ElasticIpLimitSet(e) => self.elastic_ip_limit = e.per_account,
            Event::AddressAllocated(e) => {
                self.addresses.insert(
                    e.allocation,
                    AddressRow {
                        address: e.address,
                        account: e.account,
                        association: None,
                        allocated_at: e.at,
                    },
                );
            }
            Event::AddressAssociated(e) => {
                if let Some(row) = allocation().and_then(|a| self.addresses.get_mut(&a)) {
                    row.association = Some((e.association, e.instance));
                }
            }
            Event::AddressDisassociated(_) => {
                if let Some(row) = allocation().and_then(|a| self.addresses.get_mut(&a)) {
                    row.association = None;
                }
            }
            Event::AddressReleased(_) => {
                if let Some(a) = allocation() {
                    self.addresses.remove(&a);
                }
            }
            _ => {}
        }
    }

    /// The allocation of an elastic IP by its address.
    pub fn by_address(&self, address: &str) -> Option<(&AllocationId, &AddressRow)> {
        self.addresses.iter().find(|(_, r)| r.address == address)
    }
}
