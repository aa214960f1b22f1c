//! Yukari's API: the EC2 Query endpoint (request parsing, authentication,
//! error mapping, XML rendering) and the application layer that turns a
//! request into a command, runs the decide loop and reads projections.
//!
//! Handlers stay thin: they parse, hand a command to [`app`], and render.
//! Nothing in here decides a business rule; that is the domain's job.

pub mod admin;
pub mod app;
pub mod auth;
pub mod ec2;
pub mod euare;
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
pub mod metadata;
pub mod nodes;
pub mod query;
pub mod s3;
pub mod secrets;
pub mod serve;
pub mod storage;

#[cfg(test)]
mod tenancy_tests;

use std::sync::Arc;

/// The controller's API on its one port, for `yukari up` to serve and
/// tests to call in-process: EC2 (with Eucalyptus's paths), Euare, the
/// metadata service, and the admin, node and storage protocols. Walrus
/// (S3) joins it under `/services/objectstorage` where an object store
/// is set up (`s3::Walrus::prefixed_router`).
pub fn app(state: Arc<app::App>) -> axum::Router {
    ec2::router(state.clone())
        .merge(euare::router(state.clone()))
        .merge(metadata::router(state.clone()))
        .merge(admin::router(state.clone()))
        .merge(nodes::router(state.clone()))
        .merge(storage::router(state))
}
