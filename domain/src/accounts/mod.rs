//! Accounts: an account and the name it goes by, its users and their
//! access keys (Eucalyptus's Euare). An account's stream also holds what
//! must be unique in it: its key pairs (`key_pairs`) and the names of its
//! security groups (`security_groups`).

mod commands;
mod events;
mod state;

pub use commands::*;
pub use events::*;
pub use state::*;
