//! Yukari's event log: an append-only write-ahead log of envelopes on redb.
//!
//! It owns the storage format (one table of records by global position, one
//! index by stream and version), optimistic concurrency per stream, group
//! commit (appends from concurrent callers share one durable transaction and
//! each caller is answered only after its events are on disk), reads by
//! stream and by position, and subscriptions that catch up and then follow.
//! It also knows what it can do now ([`Health`]: a full or read-only disk
//! refuses appends until it heals, a damaged log until it is salvaged;
//! `health.rs`), and salvages the readable records of a damaged log into a
//! new one ([`salvage`]).
//!
//! It must not know the domain: events arrive as a type name, a schema
//! version and payload bytes. There is no update and no delete.

mod check;
mod envelope;
mod error;
#[cfg(test)]
mod faults;
pub mod gate;
mod health;
mod index;
mod log;
mod open;
mod read;
pub mod salvage;
pub mod simdisk;
mod stats;
mod store;
mod subscribe;
mod tables;
mod tx;
mod writer;

pub use envelope::{EnvelopeRef, Metadata, NewEvent, RecordedEvent, decode_record};
pub use error::{AppendError, Damage, OpenError, ReadError, Unavailable};
pub use health::Health;
pub use log::{Clock, EventLog, LogOptions};
pub use stats::WriterStats;
pub use subscribe::{Batch, Subscription};
pub use tx::{Appended, ExpectedVersion, StreamAppend, Tx};
pub use writer::RawRecord;

#[cfg(test)]
mod tests;
