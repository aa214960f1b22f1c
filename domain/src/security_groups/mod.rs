//! Security groups: a group and its name in its account (names are unique
//! there, so the account's stream decides them), its rules and who may
//! reach its members (decided by the group's stream), the instances that
//! are its members and the groups whose rules name it (a group in use or
//! named cannot be deleted). Rules are only recorded here; nodes enforce
//! them.

mod commands;
mod events;
mod rules;
mod state;

pub use commands::*;
pub use events::*;
pub use rules::*;
pub use state::*;
