//! The areas' states, under the path other crates have always used. Each
//! state is defined, folded and given its rules in its area.

pub use crate::accounts::{Account, AccountNameClaim};
pub use crate::addresses::{DEFAULT_ELASTIC_IP_LIMIT, ElasticIp, Network, cidr_range};
pub use crate::cloud::Cloud;
pub use crate::clusters::{Cluster, Node, NodeClaim};
pub use crate::images::Image;
pub use crate::instances::Instance;
pub use crate::key_pairs::KeyPair;
pub use crate::reservations::{ClientToken, Reservation};
pub use crate::security_groups::SecurityGroup;
pub use crate::tags;
