//! Yukari's read models: the query side of the event log. Each model is a
//! fold of events into maps that Describe* calls read; none of them decides
//! anything (a rule a read model seems to need belongs in an event).
//!
//! Models are disposable: they are built live from a subscription, saved in
//! a snapshot with the position they reflect (the checkpoint), and can be
//! rebuilt from the log at any time with the same result, byte for byte.
//! This crate knows the log and the domain's events; it must not know HTTP.

mod accounts;
mod buckets;
mod catalog;
mod error;
mod instances;
mod login_profiles;
mod models;
mod network;
mod parallel;
mod runner;
mod security;
mod snapshot;
mod sorted;
mod tags;
pub mod time_travel;
mod volumes;

pub use accounts::{AccessKeyRow, AccountRow, AccountsView};
pub use buckets::BucketsView;
pub use catalog::{CloudView, ImageRow, NodeRow, ZoneRow, fits};
pub use error::ProjectionError;
pub use instances::{InstanceRow, InstancesView, ReservationRow, TERMINATED_VISIBLE_US};
pub use login_profiles::{LoginProfileRow, LoginProfilesView};
pub use models::ReadModels;
pub use network::{AddressRow, NetworkView};
pub use parallel::{FoldFailed, Visitor, fold_decoding_aside};
pub use runner::{ModelsGuard, Projections, Stalled, TimeTravelPolicy, catch_up, rebuild};
pub use security::{GroupRow, KeyPairRow, SecurityView};
pub use snapshot::{encode_snapshot, load_snapshot, save_snapshot};
pub use tags::TagsView;
pub use time_travel::TimeTravel;
pub use volumes::{AttachmentRow, PlannedRow, SnapshotRow, StorageRow, VolumeRow, VolumesView};

#[cfg(test)]
mod tests;
