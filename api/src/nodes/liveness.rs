//! What the controller keeps about nodes on other hosts outside the log:
//! when each was last heard from (in memory), and the console output they
//! pushed (in memory and in files, see [`super::consoles`]). None of it
//! goes to the log: heartbeats would flood it. Only transitions do
//! (MarkNode → NodeUnreachable / NodeReachable), decided by the monitor.
//!
//! After a controller restart nothing was heard yet: every node gets the
//! full timeout from the controller's start (a grace period) before it is
//! marked unreachable.

use super::consoles::{Consoles, KEEP_AFTER_TERMINATION};
use crate::app::ids::now;
use crate::app::{App, RequestMeta};
use domain::command::{MarkNodeReachable, MarkNodeUnreachable};
use domain::{Command, InstanceId, InstanceState, NodeId, Principal, Timestamp, ZoneName};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub use super::consoles::CONSOLE_LIMIT;

/// How often the monitor forgets the consoles of long-gone instances.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// In-memory node state of this controller process.
#[derive(Debug)]
pub struct Liveness {
    started: Instant,
    started_at: Timestamp,
    /// Changes at each controller start (nodes push their consoles again).
    pub epoch: u64,
    heard: Mutex<HashMap<NodeId, (Instant, Timestamp)>>,
    /// Console output pushed by the nodes.
    pub consoles: Consoles,
    timeout: Mutex<Duration>,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            started: Instant::now(),
            started_at: now(),
            epoch: rand::random(),
            heard: Mutex::new(HashMap::new()),
            consoles: Consoles::default(),
            timeout: Mutex::new(Duration::from_secs(30)),
        }
    }
}

impl Liveness {
    /// A heartbeat of `node`, now.
    pub fn heard(&self, node: &NodeId) {
        self.heard.lock().expect("liveness lock").insert(node.clone(), (Instant::now(), now()));
    }

    /// When `node` was last heard from since this controller started.
    pub fn last_heartbeat(&self, node: &NodeId) -> Option<Timestamp> {
        self.heard.lock().expect("liveness lock").get(node).map(|(_, at)| *at)
    }

    /// How long `node` has been silent (since the controller's start if
    /// never heard), and the time of its last heartbeat (or that start).
    fn silence(&self, node: &NodeId) -> (Duration, Timestamp) {
        match self.heard.lock().expect("liveness lock").get(node) {
            Some((when, at)) => (when.elapsed(), *at),
            None => (self.started.elapsed(), self.started_at),
        }
    }

    pub fn timeout(&self) -> Duration {
        *self.timeout.lock().expect("liveness lock")
    }

    pub fn set_timeout(&self, timeout: Duration) {
        *self.timeout.lock().expect("liveness lock") = timeout;
    }

    /// Keeps the console output a node pushed (its last 64 KiB); blocks
    /// on the file write when consoles are persisted.
    pub fn set_console(&self, instance: InstanceId, bytes: Vec<u8>) {
        self.consoles.set(instance, bytes);
    }

    /// The console output last pushed for `instance` (before a controller
    /// restart too, when consoles are persisted).
    pub fn console(&self, instance: &InstanceId) -> Option<Vec<u8>> {
        self.consoles.get(instance)
    }
}

/// Forgets the pushed consoles of instances the read models no longer
/// know, or that were terminated longer ago than EC2 keeps their output.
pub fn prune_consoles(app: &App) {
    let now = now().0;
    let keep_ms = KEEP_AFTER_TERMINATION.as_millis() as i64;
    let models = app.projections.read();
    app.liveness.consoles.prune(&|id| {
        models.instances.get(id.as_str()).is_some_and(|row| {
            row.state != InstanceState::Terminated || now - row.state_changed_at.0 < keep_ms
        })
    });
}

fn monitor_meta(app: &App, node: &NodeId) -> RequestMeta {
    RequestMeta {
        principal: Principal::system("node-monitor"),
        request_id: app.ids.request_id(),
        correlation_id: node.to_string(),
        source: "node-monitor".to_owned(),
    }
}

/// Records that `node` of `zone` went silent or was heard again (nothing
/// when it already was). Errors are logged: the monitor tries again.
pub async fn mark(app: &App, zone: &ZoneName, node: &NodeId, reachable: bool, last_heartbeat: Timestamp) {
    let (z, n) = (zone.clone(), node.clone());
    let command = if reachable {
        Command::MarkNodeReachable(MarkNodeReachable { zone: z, node: n, at: now() })
    } else {
        Command::MarkNodeUnreachable(MarkNodeUnreachable { zone: z, node: n, last_heartbeat, at: now() })
    };
    match app.execute(command, &monitor_meta(app, node)).await {
        Ok(done) if done.last_position > 0 => {
            if reachable {
                tracing::info!(%node, %zone, "node reachable again");
            } else {
                tracing::warn!(%node, %zone, "node unreachable: no heartbeat within the timeout");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(%node, error = %e, "cannot record a change of node reachability"),
    }
}

/// Marks nodes unreachable when they stay silent longer than `timeout`,
/// until `stop`. `exempt` (the embedded node of `yukari up`, in this very
/// process) has no heartbeat to give.
pub async fn monitor(
    app: Arc<App>,
    timeout: Duration,
    exempt: Option<NodeId>,
    mut stop: watch::Receiver<bool>,
) {
    app.liveness.set_timeout(timeout);
    let period = (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tick.tick() => {}
        }
        if pruned.is_none_or(|at| at.elapsed() > PRUNE_EVERY) {
            pruned = Some(Instant::now());
            let app = app.clone();
            let _ = tokio::task::spawn_blocking(move || prune_consoles(&app)).await;
        }
        let silent: Vec<(ZoneName, NodeId, Timestamp)> = {
            let models = app.projections.read();
            models
                .cloud
                .zones
                .iter()
                .flat_map(|(zone, z)| z.nodes.iter().map(move |(id, row)| (zone, id, row)))
                .filter(|(_, id, row)| row.reachable && Some(*id) != exempt.as_ref())
                .filter_map(|(zone, id, _)| {
                    let (quiet, last) = app.liveness.silence(id);
                    (quiet > timeout).then(|| (zone.clone(), id.clone(), last))
                })
                .collect()
        };
        for (zone, node, last) in silent {
            mark(&app, &zone, &node, false, last).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_never_heard_is_silent_since_the_controller_started() {
        let l = Liveness::default();
        let node = NodeId::from_bits(1);
        let (_, last) = l.silence(&node);
        assert_eq!(last, l.started_at);
        assert_eq!(l.last_heartbeat(&node), None);
        l.heard(&node);
        assert!(l.last_heartbeat(&node).is_some());
        assert!(l.silence(&node).0 < l.started.elapsed() + Duration::from_secs(1));
    }
}
