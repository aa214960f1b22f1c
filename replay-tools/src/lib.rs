//! Yukari's replay tools: what can be learnt from the event log after the
//! fact. For now `verify`; audit, usage, state-at and diff follow.
//!
//! This crate reads the log and folds it with the domain and projections;
//! it must not write to the log, and must not know HTTP.

pub mod verify;
