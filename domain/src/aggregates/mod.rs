//! One module per aggregate: its state, how events fold into it, and the
//! rules it owns.

mod account;
mod cloud;
mod cluster;
mod elastic_ip;
mod image;
mod instance;
mod login_profiles;
mod network;
mod reservation;
mod security_group;
pub mod tags;

pub use account::{Account, KeyPair};
pub use cloud::Cloud;
pub use cluster::{Cluster, Node};
pub use elastic_ip::ElasticIp;
pub use image::Image;
pub use instance::Instance;
pub use login_profiles::LoginProfiles;
pub use network::{Network, cidr_range};
pub use reservation::{ClientToken, Reservation};
pub use security_group::SecurityGroup;
