//! Accounts: an account and the name it goes by, its users and their
//! access keys (Eucalyptus's Euare) and their console passwords
//! (`login_profiles`) and their signing certificates
//! (`signing_certificates`). An account's stream also holds what
//! must be unique in it: its key pairs (`key_pairs`) and the names of its
//! security groups (`security_groups`).

mod commands;
mod events;
mod login_profiles;
mod signing_certificates;
mod state;

pub use commands::*;
pub use events::*;
pub use login_profiles::*;
pub use signing_certificates::*;
pub use state::*;
