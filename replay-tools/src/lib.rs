//! Yukari's replay tools: what can be learnt from the event log after the
//! fact. Audit (who changed what, when, from where), usage and invoices,
//! the cloud as it was at any position or time and what changed between
//! two, verification, rebuilding what is derived from the log, a readable
//! tail, and salvaging the readable records of a damaged log.
//!
//! Every tool reads records through [`source::Records`]: the log file of a
//! stopped controller ([`source::Offline`]), or a running controller's
//! admin API (implemented by the `yukari` binary). The tools fold events
//! with the domain's aggregates and the projections' read models, never a
//! copy of their rules, and skip (and count) event types this build does
//! not know where they can.
//!
//! This crate must not write to the log (offline, it is opened read-only;
//! salvage writes a new log, never the damaged one), and must not know HTTP.

pub mod audit;
pub mod diff;
pub mod error;
pub mod output;
pub mod plot;
pub mod progress;
pub mod rebuild;
pub mod salvage;
pub mod snapshots;
pub mod source;
pub mod state;
pub mod synth;
pub mod tail;
#[cfg(test)]
mod testing;
pub mod time;
pub mod tree;
pub mod usage;
pub mod verify;

pub use error::ReplayError;
pub use progress::Progress;
pub use source::{Offline, Records};
