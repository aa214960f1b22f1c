//! The application layer: what the HTTP handlers call. It turns a request
//! into a command with fresh ids and times, runs it through the decide loop,
//! waits for the read models to include the result, and answers queries
//! from the read models.

pub mod bootstrap;
mod credentials;
mod execute;
pub mod ids;
pub mod image_downloads;
pub mod images;
pub mod login_profiles;
mod refusals;
#[cfg(test)]
pub(crate) mod testing;
pub mod time_travel;
pub mod volumes;

pub use credentials::Credentials;
pub use execute::{ExecuteError, Executed};
pub use ids::IdGen;
pub use login_profiles::{LoginProfileError, LoginProfileKind, PasswordCheck};
pub use time_travel::{AsOf, Past};

use crate::secrets::MasterKey;
use domain::{Command, InstanceId, NodeId, Principal};
use eventlog::{AppendError, EventLog, Metadata};
use execute::SharedCache;
use projections::Projections;
use std::sync::Arc;

/// How many times a command is decided again after a version conflict.
const MAX_ATTEMPTS: usize = 8;

/// Where console output comes from: the node executors' hypervisors.
pub trait ConsoleSource: Send + Sync {
    /// The console log of a guest on `node` so far; `None` when that node
    /// has no such guest (yet, or any more).
    fn console_output(&self, node: &NodeId, instance: &InstanceId) -> Result<Option<Vec<u8>>, String>;
}

/// Everything a request handler needs.
pub struct App {
    pub log: EventLog,
    pub projections: Arc<Projections>,
    pub credentials: Credentials,
    pub ids: IdGen,
    pub config: AppConfig,
    /// Where GetConsoleOutput reads from (set once the node executor runs).
    pub consoles: std::sync::OnceLock<Arc<dyn ConsoleSource>>,
    /// Heartbeats and pushed consoles of nodes on other hosts (memory only).
    pub liveness: crate::nodes::liveness::Liveness,
    /// Every node's guest network as of the read models, computed once
    /// per position (api::nodes::network).
    pub network_views: crate::nodes::network::NetworkViews,
    /// Where each zone's storage controller serves its volumes.
    pub storage_targets: volumes::StorageTargets,
    /// The cloud's identity and the object store, for image bundles (set
    /// once by `yukari up`).
    pub images: std::sync::OnceLock<images::ImageSupport>,
    cache: SharedCache,
}

/// Settings the API answers with.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The public EC2 endpoint URL (DescribeRegions).
    pub ec2_url: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "App({:?}, {:?})", self.log, self.projections)
    }
}

/// Who is asking and why: copied into every envelope of the command.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub principal: Principal,
    pub request_id: String,
    pub correlation_id: String,
    /// The client's address, or what a system actor is (`node:nc-…`).
    pub source: String,
}

impl RequestMeta {
    /// The envelope metadata of `action` done for this request.
    pub fn metadata(&self, action: &str) -> Metadata {
        Metadata {
            account: self.principal.account.to_string(),
            user: self.principal.user.to_string(),
            access_key: self.principal.access_key.as_ref().map(|k| k.to_string()).unwrap_or_default(),
            action: action.to_owned(),
            source: self.source.clone(),
            request_id: self.request_id.clone(),
            correlation_id: self.correlation_id.clone(),
            causation_id: self.request_id.clone(),
        }
    }
}

impl App {
    pub fn new(
        log: EventLog,
        projections: Arc<Projections>,
        master_key: MasterKey,
        config: AppConfig,
    ) -> App {
        App {
            credentials: Credentials::new(projections.clone(), master_key),
            log,
            projections,
            ids: IdGen::default(),
            config,
            consoles: std::sync::OnceLock::new(),
            liveness: Default::default(),
            network_views: Default::default(),
            storage_targets: Default::default(),
            images: std::sync::OnceLock::new(),
            cache: SharedCache::default(),
        }
    }

    /// An instance's user data: as launched, or as last modified. Read from
    /// its stream in the log (the read models do not keep user data).
    pub fn user_data(&self, instance: &InstanceId) -> Result<Vec<u8>, ExecuteError> {
        let mut data = Vec::new();
        for recorded in self.log.read_stream(domain::StreamId::instance(instance).as_str(), 0)? {
            let event = domain::Event::decode(&recorded.event_type, recorded.schema, &recorded.payload)
                .map_err(|e| ExecuteError::Decode { position: recorded.position, reason: e.to_string() })?;
            match event {
                domain::Event::InstanceRequested(e) => data = e.user_data,
                domain::Event::InstanceAttributeChanged(e) => {
                    if let domain::InstanceAttribute::UserData(d) = e.attribute {
                        data = d;
                    }
                }
                _ => {}
            }
        }
        Ok(data)
    }

    /// Decides and stores `command`; answers once its events are durable and
    /// visible in the read models.
    pub async fn execute(&self, command: Command, meta: &RequestMeta) -> Result<Executed, ExecuteError> {
        self.run(command, meta, false).await
    }

    /// Decides `command` against the current state and stores nothing
    /// (EC2's DryRun): `Ok` when it would have gone through.
    pub async fn dry_run(&self, command: Command, meta: &RequestMeta) -> Result<Executed, ExecuteError> {
        self.run(command, meta, true).await
    }

    async fn run(
        &self,
        command: Command,
        meta: &RequestMeta,
        dry_run: bool,
    ) -> Result<Executed, ExecuteError> {
        let command = Arc::new(command);
        let metadata = Arc::new(meta.metadata(command.name()));
        for attempt in 1..=MAX_ATTEMPTS {
            let (cache, command, metadata) = (self.cache.clone(), command.clone(), metadata.clone());
            let outcome = self
                .log
                .transact(move |tx| execute::decide_in_tx(&cache, tx, &command, &metadata, dry_run))
                .await;
            match outcome {
                Ok(Ok(executed)) => {
                    self.projections.wait_for(executed.last_position).await?;
                    return Ok(executed);
                }
                Ok(Err(ExecuteError::Conflict)) => {
                    tracing::debug!(attempt, "version conflict; deciding again");
                }
                Ok(Err(e)) => return Err(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ExecuteError::Append(AppendError::Storage(format!(
            "{} kept conflicting after {MAX_ATTEMPTS} attempts",
            command.name()
        ))))
    }
}
