//! JSON bodies of the node protocol and the cluster/node admin calls,
//! shared by the controller's handlers and the command-line clients.
//! Wire structs live apart from domain types; conversions are here.

use domain::command::{NodeOutcome, NodeReport};
use domain::{InstanceId, NodeId, Timestamp, ZoneName};
use serde::{Deserialize, Serialize};

/// A node report as a node posts it. The node and zone are not in it: they
/// are the ones the node's credentials belong to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportBody {
    pub instance: String,
    /// The instance's launch attempt the node acted on (1 for RunInstances,
    /// one more at each start). Absent from older nodes: the controller
    /// then takes the report as one of the current attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// `running`, `terminated`, `stopped`, `powered-off`, `launch-failed`.
    pub outcome: String,
    #[serde(default)]
    pub detail: String,
    /// Milliseconds since the epoch, when the node saw it.
    pub at: i64,
}

impl ReportBody {
    pub fn from_report(report: &NodeReport) -> ReportBody {
        let (outcome, detail) = match &report.outcome {
            NodeOutcome::Running => ("running", String::new()),
            NodeOutcome::Terminated => ("terminated", String::new()),
            NodeOutcome::Stopped => ("stopped", String::new()),
            NodeOutcome::PoweredOff => ("powered-off", String::new()),
            NodeOutcome::LaunchFailed(d) => ("launch-failed", d.clone()),
        };
        ReportBody {
            instance: report.instance.to_string(),
            attempt: report.attempt,
            outcome: outcome.into(),
            detail,
            at: report.at.0,
        }
    }

    /// The report of `node` in `zone`, or why the body is not one.
    pub fn into_report(self, node: NodeId, zone: ZoneName) -> Result<NodeReport, String> {
        let instance = InstanceId::parse(&self.instance).map_err(|e| e.to_string())?;
        let outcome = match self.outcome.as_str() {
            "running" => NodeOutcome::Running,
            "terminated" => NodeOutcome::Terminated,
            "stopped" => NodeOutcome::Stopped,
            "powered-off" => NodeOutcome::PoweredOff,
            "launch-failed" => NodeOutcome::LaunchFailed(self.detail),
            other => return Err(format!("unknown outcome {other:?}")),
        };
        Ok(NodeReport { node, zone, instance, attempt: self.attempt, outcome, at: Timestamp(self.at) })
    }
}

/// What a node says in its heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatBody {
    /// Guests its hypervisor has now.
    pub guests: u32,
}

/// The controller's answer to a heartbeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatReply {
    /// Changes when the controller restarts: the node then pushes its
    /// consoles again (the controller keeps them in memory only).
    pub epoch: u64,
    /// After this long without a heartbeat the node is marked unreachable.
    pub timeout_secs: u64,
}

/// A node's credentials, as the controller issues them at registration.
#[derive(Clone, Serialize, Deserialize)]
pub struct NodeCredentials {
    pub node: String,
    pub zone: String,
    pub access_key: String,
    pub secret: String,
}

impl std::fmt::Debug for NodeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeCredentials({}, {}, {})", self.node, self.zone, self.access_key)
    }
}

/// One cluster in `yukari cluster list`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub zone: String,
    pub policy: String,
    pub nodes: u32,
    pub reachable_nodes: u32,
    pub instances: u32,
}

/// One node in `yukari node list`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node: String,
    pub zone: String,
    pub host: String,
    pub hypervisor: String,
    pub reachable: bool,
    /// The embedded node of `yukari up` (in the controller's process).
    pub embedded: bool,
    /// Milliseconds since the epoch; `None` when none was had since the
    /// controller started.
    pub last_heartbeat: Option<i64>,
    pub cpus: u32,
    pub cpus_used: u32,
    pub memory_mib: u64,
    pub memory_mib_used: u64,
    pub disk_gib: u64,
    pub disk_gib_used: u64,
    pub instances: u32,
}

/// What guest networking on one node must enforce, computed by the
/// controller (`GET /node/network`): the node's own live guests with their
/// addresses and their groups' rules, group sources already resolved to
/// members' private addresses. Nothing else of any instance or account
/// (no user data, no names, no other node's guests beyond the addresses a
/// rule names) reaches the node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeNetwork {
    /// The read models' position this view was computed at.
    pub position: u64,
    /// Names this view's content (not its position): the node sends it
    /// back as `have`, and the controller answers only when it changed
    /// (or the wait ran out).
    pub version: String,
    /// The cloud's private network (`10.111.0.0/16`): the node's bridge
    /// takes its first address.
    pub private_network: String,
    /// The node's guests that have (or are about to have) a running guest,
    /// sorted by instance id.
    pub guests: Vec<NetGuest>,
    /// The private addresses of live guests on other nodes, each with the
    /// address of its node's host (as registered, when it is an IPv4
    /// address): guests of different nodes reach each other by private
    /// address through these hosts. Sorted by address.
    #[serde(default)]
    pub routes: Vec<NetRoute>,
}

/// A guest of another node, reached through that node's host.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NetRoute {
    pub address: String,
    pub via: String,
}

/// One guest of the node, as its network sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetGuest {
    pub instance: String,
    pub private: String,
    pub public: Option<String>,
    /// Traffic allowed in, by source.
    pub ingress: Vec<NetRule>,
    /// Traffic allowed out, by destination.
    pub egress: Vec<NetRule>,
}

/// One security group rule with its peers resolved: EC2's protocol and
/// ports, and either a CIDR block or the private addresses of a group's
/// members (empty: nobody yet).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NetRule {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

impl NetRule {
    /// A rule of `protocol` and ports from a CIDR block or from addresses.
    pub fn new(
        protocol: &str,
        from_port: i32,
        to_port: i32,
        cidr: Option<&str>,
        addresses: &[&str],
    ) -> NetRule {
        NetRule {
            protocol: protocol.to_owned(),
            from_port,
            to_port,
            cidr: cidr.map(str::to_owned),
            addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_travel_and_come_back_the_same() {
        for (attempt, outcome) in [None, Some(1), Some(7)].into_iter().flat_map(|a| {
            [
                NodeOutcome::Running,
                NodeOutcome::Terminated,
                NodeOutcome::Stopped,
                NodeOutcome::PoweredOff,
                NodeOutcome::LaunchFailed("no disk".into()),
            ]
            .map(|o| (a, o))
        }) {
            let report = NodeReport {
                node: NodeId::from_bits(1),
                zone: ZoneName::parse("z").unwrap(),
                instance: InstanceId::from_bits(2),
                attempt,
                outcome,
                at: Timestamp(5),
            };
            let json = serde_json::to_string(&ReportBody::from_report(&report)).unwrap();
            let back: ReportBody = serde_json::from_str(&json).unwrap();
            assert_eq!(back.into_report(report.node.clone(), report.zone.clone()).unwrap(), report);
        }
        let bad = ReportBody {
            instance: "i-x".into(),
            attempt: None,
            outcome: "running".into(),
            detail: String::new(),
            at: 0,
        };
        assert!(bad.into_report(NodeId::from_bits(1), ZoneName::parse("z").unwrap()).is_err());
    }

    /// The attempt is on the wire when known, and a body without one (an
    /// older node) reads as a report that does not say.
    #[test]
    fn the_attempt_travels_and_an_older_node_may_leave_it_out() {
        let (node, zone) = (NodeId::from_bits(1), ZoneName::parse("z").unwrap());
        let report = NodeReport {
            node: node.clone(),
            zone: zone.clone(),
            instance: InstanceId::from_bits(2),
            attempt: Some(3),
            outcome: NodeOutcome::Running,
            at: Timestamp(5),
        };
        let json = serde_json::to_value(ReportBody::from_report(&report)).unwrap();
        assert_eq!(json["attempt"], 3);

        let older = serde_json::json!({
            "instance": InstanceId::from_bits(2).to_string(),
            "outcome": "running",
            "at": 5,
        });
        let body: ReportBody = serde_json::from_value(older).unwrap();
        let read = body.into_report(node.clone(), zone.clone()).unwrap();
        assert_eq!(read, NodeReport { attempt: None, ..report.clone() });
        let unsaid = serde_json::to_value(ReportBody::from_report(&read)).unwrap();
        assert!(unsaid.get("attempt").is_none(), "{unsaid}");

        let negative = serde_json::json!({"instance": "i-x", "attempt": -1, "outcome": "running", "at": 5});
        assert!(serde_json::from_value::<ReportBody>(negative).is_err());
    }
}
