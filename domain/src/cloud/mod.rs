//! The cloud: its region, its VM types (Eucalyptus's instance types, which
//! the cloud administrator resizes) and its availability zones, and the
//! bootstrap that sets a new cloud up in one decision.

mod commands;
mod events;
mod state;

pub use commands::*;
pub use events::*;
pub use state::*;
