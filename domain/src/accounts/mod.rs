//! Accounts: an account and the name it goes by, its users and their
//! access keys (Eucalyptus's Euare) and their console passwords
//! (`login_profiles`). An account's stream also holds what
//! must be unique in it: its key pairs (`key_pairs`) and the names of its
//! security groups (`security_groups`).

mod commands;
mod events;
mod login_profiles;
mod state;

pub use commands::*;
pub use events::*;
pub use login_profiles::*;
pub use state::*;
