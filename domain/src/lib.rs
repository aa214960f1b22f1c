//! Yukari's domain: ids, commands, events, aggregates, and the pure
//! functions `decide` (command + current state → events or a refusal) and
//! `Aggregate::evolve` (state + event → state).
//!
//! This crate must not know about clocks, randomness, storage, HTTP, tokio or
//! libvirt: times and new ids arrive inside commands, and events leave as
//! values for the event log to store.

pub mod aggregate;
pub mod aggregates;
pub mod command;
pub mod decide;
pub mod drive;
pub mod error;
pub mod event;
pub mod ids;
pub mod model;
pub mod stream;

pub use aggregate::{Aggregate, StateView};
pub use command::Command;
pub use decide::{Decision, Reply, StateChange, decide};
pub use drive::{Driven, Folded, Streams, drive};
pub use error::DecideError;
pub use event::{CodecError, Event};
pub use ids::*;
pub use model::*;
pub use stream::{ParsedStream, StreamId, StreamKind};

#[cfg(test)]
mod tests;
