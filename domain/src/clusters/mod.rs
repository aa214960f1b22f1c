//! Clusters and nodes: a cluster (availability zone, Eucalyptus's CC), its
//! nodes and the room they have left, where new instances are placed
//! (decided by the cluster's stream, so two racing launches cannot both
//! take the last slot), whether a node is heard from, and the claim that
//! keeps a node id in one cluster.

mod commands;
mod events;
mod state;

pub use commands::*;
pub use events::*;
pub use state::*;
