//! The cloud's address pools: which private and public addresses are
//! taken and by what. One stream, so two launches never get one address.

use crate::event::*;
use crate::ids::InstanceId;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// First and last usable private address (as integers).
    pub private_range: (u32, u32),
    pub public_pool: Vec<String>,
    pub private_taken: BTreeMap<u32, InstanceId>,
    pub public_taken: BTreeMap<String, AddressHolder>,
    /// Where the search for the next private address starts.
    pub private_cursor: u32,
}

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

impl Network {
    pub(crate) fn new(e: &AddressPoolConfigured) -> Self {
        let range = cidr_range(&e.private_cidr).unwrap_or((0, 0));
        Network {
            private_range: range,
            public_pool: e.public_addresses.clone(),
            private_taken: BTreeMap::new(),
            public_taken: BTreeMap::new(),
            private_cursor: range.0,
        }
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::PrivateAddressTaken(e) => {
                if let Ok(ip) = e.address.parse::<Ipv4Addr>() {
                    self.private_taken.insert(ip.into(), e.instance.clone());
                    self.private_cursor = u32::from(ip).wrapping_add(1);
                }
            }
            Event::PrivateAddressFreed(e) => {
                if let Ok(ip) = e.address.parse::<Ipv4Addr>() {
                    self.private_taken.remove(&u32::from(ip));
                }
            }
            Event::PublicAddressTaken(e) => {
                self.public_taken.insert(e.address.clone(), e.holder.clone());
            }
            Event::PublicAddressFreed(e) => {
                self.public_taken.remove(&e.address);
            }
            _ => {}
        }
    }

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

    /// The first `count` free public addresses of the pool, in pool order.
    pub fn free_public(&self, count: usize) -> Vec<String> {
        self.public_pool.iter().filter(|a| !self.public_taken.contains_key(*a)).take(count).cloned().collect()
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
}
