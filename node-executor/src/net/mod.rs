//! Guest networking on the node (bridge mode): the guests' bridge, the
//! metadata service at 169.254.169.254, outbound NAT, public addresses
//! and security groups, as one nftables table, and the routes to other
//! nodes' guests, kept equal to the node's network view.
//!
//! The view (the node's guests, their addresses, their groups' rules
//! resolved to addresses, the other nodes' guests and their hosts) is
//! computed by the controller from its read models, once for every node;
//! [`GuestNetworking`] gets it through a [`GuestSource`] (in the process
//! for the embedded node of `yukari up`, over HTTP for a node of another
//! host: the binary's glue, since this crate knows no HTTP) and loads the
//! table and the routes whenever it changes, retrying what failed. The
//! rules themselves are a pure function (`rules`) of a [`NetPlan`]; the
//! host is touched only in `host`.

mod host;
pub mod rules;

pub use host::{Firewall, Missing, Nft, prepare_bridge, probe, sync_routes, valid_interface_name};
pub use rules::{Allow, GuestRules, NetPlan, Peers, Traffic, ruleset};

use domain::NodeId;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How soon a ruleset or routes that failed to load are tried again.
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
    #[error("the read models stopped: {0}")]
    Stalled(String),
    #[error("cannot read the node's network from the controller: {0}")]
    Remote(String),
}

/// The node-independent part of a plan: the bridge and where metadata is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanBase {
    pub bridge: String,
    pub private_net: (Ipv4Addr, u8),
    pub metadata: SocketAddrV4,
}

/// What a node enforces: its guests and their rules, and the routes to
/// other nodes' guests (private address → that node's host).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeView {
    pub guests: Vec<GuestRules>,
    pub routes: Vec<(Ipv4Addr, Ipv4Addr)>,
}

/// The node's view as the controller computes it: each call waits for the
/// next change.
pub trait GuestSource: Send {
    /// The node's guests, their rules and its routes, when they (may) have
    /// changed.
    fn next_view(&mut self) -> Pin<Box<dyn Future<Output = Result<NodeView, NetError>> + Send + '_>>;
}

/// Keeps this node's nftables table and routes equal to its view.
pub struct GuestNetworking {
    base: PlanBase,
    firewall: Arc<dyn Firewall>,
    retry: Duration,
}

/// What was last loaded; `None` when loading failed (tried again later).
#[derive(Default)]
struct Loaded {
    ruleset: Option<String>,
    routes: Option<Vec<(Ipv4Addr, Ipv4Addr)>>,
}

impl GuestNetworking {
    /// `node` is only named in logs: the source knows whose view it is.
    pub fn new(node: NodeId, base: PlanBase, firewall: Arc<dyn Firewall>) -> Self {
        tracing::debug!(%node, bridge = %base.bridge, "guest networking for this node");
        GuestNetworking { base, firewall, retry: RETRY }
    }

    /// How soon what failed to load is tried again (5 s unless set).
    pub fn retry_every(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// Loads the table and the routes of each view from `source` until
    /// `shutdown` (the table and routes stay: guests outlive this process).
    /// A ruleset or routes that fail to load are tried again every
    /// `retry`, not only when the view changes.
    pub async fn run_from(
        self,
        mut source: Box<dyn GuestSource>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), NetError> {
        let mut view: Option<NodeView> = None;
        let mut loaded = Loaded::default();
        loop {
            let failed = loaded.ruleset.is_none() || loaded.routes.is_none();
            let retry = async {
                if failed && view.is_some() {
                    tokio::time::sleep(self.retry).await
                } else {
                    std::future::pending().await
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                next = source.next_view() => {
                    let mut next = next?;
                    next.guests.sort_by(|a, b| a.instance.cmp(&b.instance));
                    next.routes.sort();
                    next.routes.dedup();
                    view = Some(next);
                }
                _ = retry => {}
            }
            if let Some(view) = &view {
                let plan = NetPlan {
                    bridge: self.base.bridge.clone(),
                    private_net: self.base.private_net,
                    metadata: self.base.metadata,
                    guests: view.guests.clone(),
                };
                self.load_plan(&plan, &mut loaded.ruleset).await;
                self.load_routes(&view.routes, &mut loaded.routes).await;
            }
        }
    }

    /// Loads the plan's ruleset unless it is the one loaded last.
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

    /// Sets the routes to other nodes' guests unless they are those set last.
    async fn load_routes(
        &self,
        routes: &[(Ipv4Addr, Ipv4Addr)],
        loaded: &mut Option<Vec<(Ipv4Addr, Ipv4Addr)>>,
    ) {
        if loaded.as_deref() == Some(routes) {
            return;
        }
        let firewall = self.firewall.clone();
        let attempt = routes.to_vec();
        let result = tokio::task::spawn_blocking(move || firewall.routes(&attempt))
            .await
            .unwrap_or_else(|e| Err(NetError::Program { program: "ip".into(), reason: e.to_string() }));
        match result {
            Ok(()) => {
                tracing::debug!(routes = routes.len(), "routes to other nodes' guests set");
                *loaded = Some(routes.to_vec());
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot set the routes to other nodes' guests; trying again");
                *loaded = None;
            }
        }
    }
}

#[cfg(test)]
mod tests;
