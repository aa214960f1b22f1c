//! What guest networking needs from the log, for the whole cloud: every
//! live instance's node, addresses and groups (a group-to-group rule
//! names members on any node), and every security group's rules. Folded
//! with the domain's own `Aggregate::evolve`, so the node reads the
//! events exactly as the controller decided them.
//!
//! It must not know nft or the host: [`NetView::plan`] turns it into the
//! [`NetPlan`] of one node, which `rules` renders.

use super::rules::{Allow, GuestRules, NetPlan, Peers, Traffic};
use domain::{
    Aggregate, Event, InstanceId, InstanceState, NodeId, RuleSource, SecurityGroupId, SecurityRule,
};
use eventlog::EnvelopeRef;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};

const INSTANCE_STREAM: &str = "instance/";
const GROUP_STREAM: &str = "sg/";

/// The node-independent part of a plan: the bridge and where metadata is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanBase {
    pub bridge: String,
    pub private_net: (Ipv4Addr, u8),
    pub metadata: SocketAddrV4,
}

/// Instances and security groups, as guest networking sees them.
#[derive(Default)]
pub struct NetView {
    instances: HashMap<InstanceId, Aggregate>,
    groups: HashMap<SecurityGroupId, Aggregate>,
}

impl NetView {
    pub fn new() -> Self {
        NetView::default()
    }

    /// Folds one stored event; `true` if it may change some node's plan.
    pub fn apply_ref(&mut self, e: &EnvelopeRef<'_>) -> bool {
        let (instances, key) = if let Some(id) = e.stream.strip_prefix(INSTANCE_STREAM) {
            (true, id)
        } else if let Some(id) = e.stream.strip_prefix(GROUP_STREAM) {
            (false, id)
        } else {
            return false;
        };
        let event = match Event::decode(e.event_type, e.schema, e.payload) {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(position = e.position, stream = e.stream, error = %err, "skipping an event guest networking cannot read");
                return false;
            }
        };
        if instances {
            let Ok(id) = InstanceId::parse(key) else { return false };
            let aggregate = self.instances.entry(id.clone()).or_insert(Aggregate::Empty);
            aggregate.evolve(&event);
            if matches!(aggregate, Aggregate::Instance(i) if i.state == InstanceState::Terminated) {
                self.instances.remove(&id);
            }
        } else {
            let Ok(id) = SecurityGroupId::parse(key) else { return false };
            let aggregate = self.groups.entry(id.clone()).or_insert(Aggregate::Empty);
            aggregate.evolve(&event);
            if matches!(aggregate, Aggregate::SecurityGroup(g) if g.deleted) {
                self.groups.remove(&id);
            }
        }
        true
    }

    /// The plan of `node`: its guests that have (or are about to have) a
    /// running guest, with their groups' rules resolved to addresses.
    pub fn plan(&self, node: &NodeId, base: &PlanBase) -> NetPlan {
        // Members' private addresses by group, over the whole cloud.
        let mut members: HashMap<&SecurityGroupId, BTreeSet<Ipv4Addr>> = HashMap::new();
        for aggregate in self.instances.values() {
            let Aggregate::Instance(i) = aggregate else { continue };
            let Some(private) = i.private_address.as_deref().and_then(|a| a.parse().ok()) else { continue };
            for g in &i.groups {
                members.entry(g).or_default().insert(private);
            }
        }
        let resolve = |rules: &mut BTreeSet<Allow>, rule: &SecurityRule| {
            let Some(traffic) = Traffic::from_rule(&rule.protocol, rule.from_port, rule.to_port) else {
                tracing::warn!(?rule, "a security group rule this node cannot enforce is left out");
                return;
            };
            let peers = match &rule.source {
                RuleSource::Cidr(cidr) => match Peers::cidr(cidr) {
                    Some(peers) => peers,
                    None => {
                        tracing::warn!(?rule, "a security group rule with an unusable CIDR is left out");
                        return;
                    }
                },
                RuleSource::Group { group, .. } => Peers::Addresses(
                    members.get(group).map(|m| m.iter().copied().collect()).unwrap_or_default(),
                ),
            };
            rules.insert(Allow { traffic, peers });
        };
        let mut guests: BTreeMap<&InstanceId, GuestRules> = BTreeMap::new();
        for (id, aggregate) in &self.instances {
            let Aggregate::Instance(i) = aggregate else { continue };
            let live = matches!(
                i.state,
                InstanceState::Pending
                    | InstanceState::Running
                    | InstanceState::Stopping
                    | InstanceState::ShuttingDown
            );
            if !live || i.node.as_ref() != Some(node) {
                continue;
            }
            let Some(private) = i.private_address.as_deref().and_then(|a| a.parse().ok()) else { continue };
            let (mut ingress, mut egress) = (BTreeSet::new(), BTreeSet::new());
            for g in &i.groups {
                if let Some(Aggregate::SecurityGroup(group)) = self.groups.get(g) {
                    group.ingress.iter().for_each(|r| resolve(&mut ingress, r));
                    group.egress.iter().for_each(|r| resolve(&mut egress, r));
                }
            }
            guests.insert(
                id,
                GuestRules {
                    instance: id.clone(),
                    private,
                    public: i.public_address.as_deref().and_then(|a| a.parse().ok()),
                    ingress: ingress.into_iter().collect(),
                    egress: egress.into_iter().collect(),
                },
            );
        }
        NetPlan {
            bridge: base.bridge.clone(),
            private_net: base.private_net,
            metadata: base.metadata,
            guests: guests.into_values().collect(),
        }
    }
}
