//! The cloud's address pools: which private and public addresses are
//! taken and by what. One stream, so two launches never get one address.

use super::events::*;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::ids::{AllocationId, InstanceId};
use crate::registry::NetworkEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// First and last usable private address (as integers).
    pub private_range: (u32, u32),
    pub public_pool: Vec<String>,
    pub private_taken: BTreeMap<u32, InstanceId>,
    pub public_taken: BTreeMap<String, AddressHolder>,
    /// How many elastic IPs an account other than the cloud
    /// administrator's may hold at once.
    pub elastic_ip_limit: u32,
    /// Where the search for the next private address starts.
    pub private_cursor: u32,
    /// Derived from the pool and `public_taken`: the pool positions of the
    /// free public addresses, so the first free ones are found without
    /// walking past every taken one (a pool of 10,000 addresses, mostly
    /// taken, made every launch scan it).
    public_free: BTreeSet<usize>,
    /// Each pool address's (first) position.
    public_position: HashMap<String, usize>,
}

/// Elastic IPs an account may hold at once until the cloud administrator
/// sets another limit: EC2's default (5 per region).
pub const DEFAULT_ELASTIC_IP_LIMIT: u32 = 5;

/// The usable host addresses of an IPv4 CIDR (network, first host kept for
/// the gateway, and broadcast left out).
pub fn cidr_range(cidr: &str) -> Option<(u32, u32)> {
    let (addr, len) = cidr.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if !(8..=29).contains(&len) {
        return None;
    }
    let mask = u32::MAX << (32 - len);
    let base = u32::from(addr) & mask;
    Some((base + 2, base + !mask - 1))
}

impl State for Network {
    type Created = AddressPoolConfigured;

    fn created(e: &AddressPoolConfigured) -> Self {
        let range = cidr_range(&e.private_cidr).unwrap_or((0, 0));
        let mut public_position = HashMap::with_capacity(e.public_addresses.len());
        let mut public_free = BTreeSet::new();
        for (i, address) in e.public_addresses.iter().enumerate() {
            if let std::collections::hash_map::Entry::Vacant(slot) = public_position.entry(address.clone()) {
                slot.insert(i);
                public_free.insert(i);
            }
        }
        Network {
            private_range: range,
            public_pool: e.public_addresses.clone(),
            private_taken: BTreeMap::new(),
            public_taken: BTreeMap::new(),
            elastic_ip_limit: DEFAULT_ELASTIC_IP_LIMIT,
            private_cursor: range.0,
            public_free,
            public_position,
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl Evolve for Network {
    type Event<'a> = NetworkEvent<'a>;

    fn apply(&mut self, event: NetworkEvent<'_>) {
        match event {
            NetworkEvent::PrivateAddressTaken(e) => {
                if let Ok(ip) = e.address.parse::<Ipv4Addr>() {
                    self.private_taken.insert(ip.into(), e.instance.clone());
                    self.private_cursor = u32::from(ip).wrapping_add(1);
                }
            }
            NetworkEvent::PrivateAddressFreed(e) => {
                if let Ok(ip) = e.address.parse::<Ipv4Addr>() {
                    self.private_taken.remove(&u32::from(ip));
                }
            }
            NetworkEvent::PublicAddressTaken(e) => {
                self.public_taken.insert(e.address.clone(), e.holder.clone());
                if let Some(i) = self.public_position.get(&e.address) {
                    self.public_free.remove(i);
                }
            }
            NetworkEvent::PublicAddressFreed(e) => {
                self.public_taken.remove(&e.address);
                if let Some(&i) = self.public_position.get(&e.address) {
                    self.public_free.insert(i);
                }
            }
            NetworkEvent::ElasticIpLimitSet(e) => self.elastic_ip_limit = e.per_account,
        }
    }
}

impl Network {
    /// The next `count` free private addresses, round-robin from the cursor.
    pub fn free_private(&self, count: usize) -> Vec<String> {
        let (first, last) = self.private_range;
        if first == 0 || last < first {
            return Vec::new();
        }
        let size = last - first + 1;
        let start = if (first..=last).contains(&self.private_cursor) { self.private_cursor } else { first };
        let mut out = Vec::with_capacity(count);
        for k in 0..size {
            if out.len() == count {
                break;
            }
            let ip = first + (start - first + k) % size;
            if !self.private_taken.contains_key(&ip) {
                out.push(Ipv4Addr::from(ip).to_string());
            }
        }
        out
    }

    /// The first `count` free public addresses of the pool, in pool order
    /// (each once, should the pool name one twice). Costs `count`
    /// steps, however many addresses are taken.
    pub fn free_public(&self, count: usize) -> Vec<String> {
        self.public_free.iter().take(count).map(|&i| self.public_pool[i].clone()).collect()
    }

    /// The elastic IPs allocated now (of every account).
    pub fn allocations(&self) -> impl Iterator<Item = &AllocationId> {
        self.public_taken.values().filter_map(|holder| match holder {
            AddressHolder::Allocation(id) => Some(id),
            AddressHolder::Instance(_) => None,
        })
    }
}

impl dyn StateView + '_ {
    pub fn network(&self) -> Option<&Network> {
        match self.get(&StreamId::network()) {
            Some(Aggregate::Network(n)) => Some(n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges_leave_out_network_gateway_and_broadcast() {
        assert_eq!(
            cidr_range("10.0.0.0/24").map(|(a, b)| (Ipv4Addr::from(a), Ipv4Addr::from(b))),
            Some((Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 254)))
        );
        assert_eq!(cidr_range("10.0.0.0/30"), None);
        assert_eq!(cidr_range("nonsense"), None);
    }

    fn pool(n: usize) -> Network {
        Network::created(&AddressPoolConfigured {
            private_cidr: "10.0.0.0/24".into(),
            public_addresses: (0..n).map(|i| format!("198.51.{}.{}", i / 256, i % 256)).collect(),
            at: crate::model::Timestamp(0),
        })
    }

    /// The pool scan the free set replaces: first free ones in pool order.
    fn scanned(n: &Network, count: usize) -> Vec<String> {
        n.public_pool.iter().filter(|a| !n.public_taken.contains_key(*a)).take(count).cloned().collect()
    }

    fn take(n: &mut Network, address: &str) {
        let taken = PublicAddressTaken {
            address: address.into(),
            holder: AddressHolder::Instance(InstanceId::from_bits(1)),
        };
        n.apply(NetworkEvent::PublicAddressTaken(&taken));
    }

    fn free(n: &mut Network, address: &str) {
        n.apply(NetworkEvent::PublicAddressFreed(&PublicAddressFreed { address: address.into() }));
    }

    #[test]
    fn free_public_addresses_come_in_pool_order_however_many_are_taken() {
        let mut n = pool(10_000);
        for i in 0..9_990 {
            let first = n.free_public(1).pop().unwrap();
            assert_eq!(first, n.public_pool[i]);
            take(&mut n, &first);
        }
        assert_eq!(n.free_public(3), scanned(&n, 3));
        // A freed address near the start is the next one given.
        free(&mut n, "198.51.0.7");
        assert_eq!(n.free_public(2), vec!["198.51.0.7".to_string(), n.public_pool[9_990].clone()]);
        // Addresses outside the pool (and repeats) change nothing.
        take(&mut n, "203.0.113.1");
        free(&mut n, "203.0.113.1");
        free(&mut n, "198.51.0.7");
        assert_eq!(n.free_public(20), scanned(&n, 20));
        assert_eq!(n.free_public(20).len(), 11);
    }

    proptest::proptest! {
        /// Any sequence of takes and frees: the free set answers as the scan did.
        #[test]
        fn the_free_set_agrees_with_a_scan_of_the_pool(
            steps in proptest::collection::vec((proptest::prelude::any::<bool>(), 0usize..24), 0..200),
            count in 0usize..30,
        ) {
            let mut n = pool(20);
            for (taking, i) in steps {
                let address = format!("198.51.0.{i}");
                if taking { take(&mut n, &address) } else { free(&mut n, &address) }
                proptest::prop_assert_eq!(n.free_public(count), scanned(&n, count));
            }
        }
    }

    #[test]
    fn a_pool_naming_an_address_twice_gives_it_once() {
        let mut n = Network::created(&AddressPoolConfigured {
            private_cidr: "10.0.0.0/24".into(),
            public_addresses: vec!["192.0.2.1".into(), "192.0.2.2".into(), "192.0.2.1".into()],
            at: crate::model::Timestamp(0),
        });
        assert_eq!(n.free_public(5), vec!["192.0.2.1".to_string(), "192.0.2.2".to_string()]);
        take(&mut n, "192.0.2.1");
        assert_eq!(n.free_public(5), vec!["192.0.2.2".to_string()]);
    }
}
