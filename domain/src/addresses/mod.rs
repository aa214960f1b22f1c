//! Addresses: the cloud's pools of private and public addresses (one
//! network stream, so two launches never get one address) and elastic IPs
//! (AllocateAddress takes one from the public pool on the network stream;
//! association is decided by the address's own stream). As in EC2-Classic
//! and Eucalyptus, an instance without an elastic IP has an auto-assigned
//! public address; it gives it back when an elastic IP is associated and
//! gets a new one when it is disassociated.

mod commands;
mod elastic_ip;
mod events;
mod network;

pub use commands::*;
pub use elastic_ip::*;
pub use events::*;
pub use network::*;
