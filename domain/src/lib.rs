//! Yukari's domain: ids, commands, events, aggregates, and the pure
//! functions `decide` (command + current state → events or a refusal) and
//! `Aggregate::evolve` (state + event → state).
//!
//! It is cut by area, one module each, under the name users know:
//! `cloud`, `clusters` (and nodes), `accounts`, `key_pairs`,
//! `security_groups`, `images`, `instances`, `reservations`, `addresses`,
//! `tags`, and `audit`. An area holds its commands, its events, its state
//! with `evolve`, and the decisions on them. `registry.rs` lists them all
//! once, and its macros assemble [`Command`], [`Event`] and [`Aggregate`];
//! `drive` is the decide loop's pure part. The modules `command`, `event`
//! and `aggregates` re-export the areas' items under their older paths.
//! See docs/adr/0011-domain-by-area.md.
//!
//! This crate must not know about clocks, randomness, storage, HTTP, tokio or
//! libvirt: times and new ids arrive inside commands, and events leave as
//! values for the event log to store.

#[macro_use]
mod macros;
pub mod registry;

pub mod accounts;
pub mod addresses;
pub mod audit;
pub mod buckets;
pub mod cloud;
pub mod clusters;
pub mod images;
pub mod instances;
pub mod key_pairs;
pub mod reservations;
pub mod security_groups;
pub mod tags;
pub mod volumes;

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
pub use cloud::VmType;
pub use clusters::{Resources, SchedulingPolicy};
pub use command::Command;
pub use decide::{Decision, Reply, StateChange, decide};
pub use drive::{Driven, Folded, Streams, drive};
pub use error::DecideError;
pub use event::{CodecError, Event};
pub use ids::*;
pub use images::ImageKind;
pub use instances::{InstanceAttribute, InstanceState, Lifecycle, ShutdownBehavior, StateReason};
pub use model::*;
pub use security_groups::{Direction, RuleSource, SecurityRule};
pub use stream::{ParsedStream, StreamId, StreamKind};
pub use tags::{Tag, TagRemoval};

#[cfg(test)]
mod tests;
