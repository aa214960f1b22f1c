//! Instances: RunInstances, the EC2 state machine (every transition is
//! decided by the instance's own stream), what users ask of it (terminate,
//! stop, start, reboot, attributes) and what node executors report, and
//! what a finished or stopped instance gives back (room on its node,
//! addresses, group memberships).

mod attributes;
mod client_token;
mod events;
mod launch;
mod release;
mod reports;
mod state;
mod states;

pub use attributes::*;
pub use events::*;
pub use launch::*;
pub(crate) use release::release_all;
pub use reports::*;
pub use state::*;
pub use states::*;
