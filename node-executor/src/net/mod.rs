//! Guest networking on the node (bridge mode): the guests' bridge, the
//! metadata service at 169.254.169.254, outbound NAT, public addresses
//! and security groups, as one nftables table kept equal to what the log
//! says.
//!
//! [`GuestNetworking`] replays the log, loads the node's table, then
//! follows the log and loads it again whenever an instance or security
//! group event changes it (a rule authorized or revoked, a guest placed
//! or gone, an elastic IP moved). It runs beside the node executor and
//! shares nothing with it but the log: how guests are driven is not its
//! business. The rules themselves are a pure function (`rules`) of a plan
//! (`view`); the host is touched only in `host`.
//!
//! A node of another host cannot read the log: its controller computes
//! the node's guests and their resolved rules, and the binary hands them
//! over through a [`GuestSource`] ([`GuestNetworking::run_from`]); the
//! ruleset, the loading and the retries are the same.

mod host;
pub mod rules;
mod view;

pub use host::{Firewall, Missing, Nft, prepare_bridge, probe, sync_routes, valid_interface_name};
pub use rules::{Allow, GuestRules, NetPlan, Peers, Traffic, ruleset};
pub use view::{NetView, PlanBase};

use domain::NodeId;
use eventlog::{EventLog, ReadError};
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How soon a ruleset that failed to load is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// Why guest networking could not be set up or kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("cannot run {program}: {reason}")]
    Program { program: String, reason: String },
    #[error("nft refused the ruleset: {0}")]
    Refused(String),
    #[error("cannot set up the guests' bridge: {0}")]
    Bridge(String),
    #[error("cannot read the event log: {0}")]
    Log(String),
    #[error("cannot read the node's network from the controller: {0}")]
    Remote(String),
}

impl From<ReadError> for NetError {
    fn from(e: ReadError) -> Self {
        NetError::Log(e.to_string())
    }
}

/// The guests of a node as someone else computed them (a node of another
/// host asks its controller): each call waits for the next change.
pub trait GuestSource: Send {
    /// The node's guests and their rules, when they (may) have changed.
    fn next_guests(&mut self)
    -> Pin<Box<dyn Future<Output = Result<Vec<GuestRules>, NetError>> + Send + '_>>;
}

/// Keeps this node's nftables table equal to the log.
pub struct GuestNetworking {
    node: NodeId,
    base: PlanBase,
    firewall: Arc<dyn Firewall>,
}

impl GuestNetworking {
    pub fn new(node: NodeId, base: PlanBase, firewall: Arc<dyn Firewall>) -> Self {
        GuestNetworking { node, base, firewall }
    }

    /// Replays the log, loads the table, then follows the log until
    /// `shutdown` (the table stays: guests outlive this process).
    pub async fn run(self, log: EventLog, mut shutdown: watch::Receiver<bool>) -> Result<(), NetError> {
        let replay_log = log.clone();
        let (mut view, last) = tokio::task::spawn_blocking(move || -> Result<_, NetError> {
            let mut view = NetView::new();
            let last = replay_log.scan(1, |envelope| {
                view.apply_ref(&envelope);
                ControlFlow::Continue(())
            })?;
            Ok((view, last))
        })
        .await
        .map_err(|e| NetError::Log(e.to_string()))??;
        let mut loaded: Option<String> = None;
        self.load(&view, &mut loaded).await;
        let mut subscription = log.subscribe(last + 1);
        loop {
            let retry = async {
                if loaded.is_none() { tokio::time::sleep(RETRY).await } else { std::future::pending().await }
            };
            let batch = tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                batch = subscription.next_batch() => Some(batch?),
                _ = retry => None,
            };
            let changed = match &batch {
                Some(batch) => {
                    let mut changed = false;
                    for envelope in batch.iter() {
                        changed |= view.apply_ref(&envelope?);
                    }
                    changed
                }
                None => true,
            };
            if changed {
                self.load(&view, &mut loaded).await;
            }
        }
    }

    /// Like [`Self::run`], but the guests come from `source` (a node of
    /// another host, which cannot read the log) instead of the log.
    pub async fn run_from(
        self,
        mut source: Box<dyn GuestSource>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), NetError> {
        let mut guests: Option<Vec<GuestRules>> = None;
        let mut loaded: Option<String> = None;
        loop {
            let retry = async {
                if loaded.is_none() && guests.is_some() {
                    tokio::time::sleep(RETRY).await
                } else {
                    std::future::pending().await
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                next = source.next_guests() => {
                    let mut next = next?;
                    next.sort_by(|a, b| a.instance.cmp(&b.instance));
                    guests = Some(next);
                }
                _ = retry => {}
            }
            if let Some(guests) = &guests {
                let plan = NetPlan {
                    bridge: self.base.bridge.clone(),
                    private_net: self.base.private_net,
                    metadata: self.base.metadata,
                    guests: guests.clone(),
                };
                self.load_plan(&plan, &mut loaded).await;
            }
        }
    }

    /// Loads the view's ruleset unless it is the one loaded last;
    /// `loaded` becomes `None` when loading fails (tried again later).
    async fn load(&self, view: &NetView, loaded: &mut Option<String>) {
        self.load_plan(&view.plan(&self.node, &self.base), loaded).await;
    }

    async fn load_plan(&self, plan: &NetPlan, loaded: &mut Option<String>) {
        let text = ruleset(plan);
        if loaded.as_deref() == Some(text.as_str()) {
            return;
        }
        let firewall = self.firewall.clone();
        let attempt = text.clone();
        let result = tokio::task::spawn_blocking(move || firewall.apply(&attempt))
            .await
            .unwrap_or_else(|e| Err(NetError::Program { program: "nft".into(), reason: e.to_string() }));
        match result {
            Ok(()) => {
                tracing::info!(rules = text.lines().count(), "guest network rules loaded");
                *loaded = Some(text);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the guest network rules; trying again");
                *loaded = None;
            }
        }
    }
}

#[cfg(test)]
mod tests;
