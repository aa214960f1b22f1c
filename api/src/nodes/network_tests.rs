//! Which network view a node gets from the read models: its own live
//! guests with their groups' rules, group sources resolved to members on
//! any node, routes to other nodes' guests; the shared per-position
//! computation gives every node the same view as computing it alone.

use super::*;
use domain::event::*;
use domain::*;
use eventlog::{Metadata, RecordedEvent};

fn here() -> NodeId {
    NodeId::from_bits(1)
}

fn elsewhere() -> NodeId {
    NodeId::from_bits(2)
}

fn account() -> AccountId {
    AccountId::from_bits(123_456_789_012)
}

fn zone() -> ZoneName {
    ZoneName::parse("z").unwrap()
}

fn rule(protocol: &str, from: i32, to: i32, source: RuleSource) -> SecurityRule {
    SecurityRule { protocol: protocol.into(), from_port: from, to_port: to, source }
}

fn cidr(c: &str) -> RuleSource {
    RuleSource::Cidr(c.into())
}

/// Read models folded from events, as the controller folds them.
#[derive(Default)]
struct Models(ReadModels);

impl Models {
    fn apply(&mut self, stream: &str, events: Vec<Event>) -> &mut Self {
        for event in events {
            let position = self.0.position + 1;
            let recorded = RecordedEvent {
                position,
                stream: stream.to_owned(),
                version: position,
                event_type: event.type_name().into(),
                schema: event.schema(),
                recorded_at: 0,
                metadata: Metadata::default(),
                payload: event.encode(),
            };
            self.0.apply(&recorded.as_envelope()).unwrap();
        }
        self
    }

    /// A cloud with two nodes on the hosts given.
    fn cloud(hosts: [&str; 2]) -> Models {
        let mut m = Models::default();
        let at = Timestamp(1);
        let pool =
            AddressPoolConfigured { private_cidr: "10.111.0.0/16".into(), public_addresses: Vec::new(), at };
        m.apply("network", vec![pool.into()]);
        let mut events: Vec<Event> =
            vec![ClusterRegistered { zone: zone(), policy: SchedulingPolicy::Greedy, at }.into()];
        for (node, host) in [here(), elsewhere()].into_iter().zip(hosts) {
            events.push(
                NodeRegistered {
                    node,
                    zone: zone(),
                    host: host.into(),
                    hypervisor: "sim".into(),
                    capacity: Resources { cpus: 8, memory_mib: 8192, disk_gib: 100 },
                    at,
                }
                .into(),
            );
        }
        m.apply("cluster/z", events);
        m
    }

    /// A new group with its ingress rules (and egress to anywhere).
    fn group(&mut self, bits: u128, ingress: Vec<SecurityRule>) -> &mut Self {
        let id = SecurityGroupId::from_bits(bits);
        let at = Timestamp(1);
        let mut events: Vec<Event> = vec![
            SecurityGroupCreated {
                group: id.clone(),
                account: account(),
                name: format!("g{bits}"),
                description: String::new(),
                at,
            }
            .into(),
            SecurityRulesAuthorized {
                direction: Direction::Egress,
                rules: vec![rule("-1", -1, -1, cidr("0.0.0.0/0"))],
                at,
            }
            .into(),
        ];
        if !ingress.is_empty() {
            events.push(SecurityRulesAuthorized { direction: Direction::Ingress, rules: ingress, at }.into());
        }
        self.apply(StreamId::security_group(&id).as_str(), events)
    }

    /// An instance launched on `node` in `groups`.
    fn instance(
        &mut self,
        bits: u128,
        node: &NodeId,
        groups: &[u128],
        private: &str,
        public: Option<&str>,
    ) -> &mut Self {
        let id = InstanceId::from_bits(bits);
        let at = Timestamp(2);
        let events: Vec<Event> = vec![
            InstanceRequested {
                instance: id.clone(),
                reservation: ReservationId::from_bits(bits),
                account: account(),
                image: ImageId::with_kind(ImageKind::Machine, 1),
                kernel: None,
                ramdisk: None,
                vm_type: VmType::eucalyptus_defaults()[0].clone(),
                launch_index: 0,
                user_data: Vec::new(),
                client_token: None,
                key_name: None,
                security_groups: groups.iter().map(|g| SecurityGroupId::from_bits(*g)).collect(),
                shutdown_behavior: ShutdownBehavior::Stop,
                disable_api_termination: false,
                at,
            }
            .into(),
            InstanceAddressed { private_address: private.into(), public_address: public.map(Into::into) }
                .into(),
            InstancePlaced { node: node.clone(), zone: zone(), at }.into(),
        ];
        self.apply(StreamId::instance(&id).as_str(), events)
    }

    fn on(&mut self, bits: u128, events: Vec<Event>) -> &mut Self {
        self.apply(StreamId::instance(&InstanceId::from_bits(bits)).as_str(), events)
    }
}

fn route(address: &str, via: &str) -> NetRoute {
    NetRoute { address: address.into(), via: via.into() }
}

#[test]
fn a_guest_gets_its_groups_rules_with_group_sources_resolved_across_nodes() {
    let (web, db) = (0x10, 0x20);
    let from_web = RuleSource::Group { account: account(), group: SecurityGroupId::from_bits(web) };
    let mut m = Models::cloud(["10.250.0.11", "10.250.0.12"]);
    m.group(web, vec![rule("tcp", 80, 80, cidr("0.0.0.0/0"))])
        .group(db, vec![rule("tcp", 5432, 5432, from_web), rule("icmp", -1, -1, cidr("10.0.0.0/8"))])
        .instance(1, &here(), &[db], "10.111.0.2", Some("198.51.100.2"))
        // Members of `web` on both nodes.
        .instance(2, &here(), &[web], "10.111.0.3", None)
        .instance(3, &elsewhere(), &[web], "10.111.0.4", None)
        // Not ours: only a route to it.
        .instance(4, &elsewhere(), &[db], "10.111.0.5", None);
    let view = view_of(&m.0, &here());
    assert_eq!(view.position, m.0.position);
    assert_eq!(view.private_network, "10.111.0.0/16");
    let ids: Vec<&str> = view.guests.iter().map(|g| g.instance.as_str()).collect();
    assert_eq!(ids, [InstanceId::from_bits(1).to_string(), InstanceId::from_bits(2).to_string()]);
    let db_guest = &view.guests[0];
    assert_eq!((db_guest.private.as_str(), db_guest.public.as_deref()), ("10.111.0.2", Some("198.51.100.2")));
    assert_eq!(
        db_guest.ingress,
        [
            NetRule::new("icmp", -1, -1, Some("10.0.0.0/8"), &[]),
            NetRule::new("tcp", 5432, 5432, None, &["10.111.0.3", "10.111.0.4"]),
        ]
    );
    assert_eq!(db_guest.egress, [NetRule::new("-1", -1, -1, Some("0.0.0.0/0"), &[])]);
    assert_eq!(view.routes, [route("10.111.0.4", "10.250.0.12"), route("10.111.0.5", "10.250.0.12")]);

    let theirs = view_of(&m.0, &elsewhere());
    let ids: Vec<&str> = theirs.guests.iter().map(|g| g.instance.as_str()).collect();
    assert_eq!(ids, [InstanceId::from_bits(3).to_string(), InstanceId::from_bits(4).to_string()]);
    assert_eq!(theirs.routes, [route("10.111.0.2", "10.250.0.11"), route("10.111.0.3", "10.250.0.11")]);
    assert_ne!(theirs.version, view.version);
}

#[test]
fn stopped_and_terminated_guests_leave_the_view_and_only_the_terminated_leave_their_groups() {
    let sg = 0x10;
    let from_sg = RuleSource::Group { account: account(), group: SecurityGroupId::from_bits(sg) };
    let mut m = Models::cloud(["10.250.0.11", "10.250.0.12"]);
    m.group(sg, vec![rule("tcp", 22, 22, from_sg)]).instance(1, &here(), &[sg], "10.111.0.2", None).instance(
        2,
        &elsewhere(),
        &[sg],
        "10.111.0.3",
        None,
    );
    let before = view_of(&m.0, &here());
    assert_eq!(before.guests[0].ingress[0].addresses, ["10.111.0.2", "10.111.0.3"]);
    assert_eq!(before.routes, [route("10.111.0.3", "10.250.0.12")]);

    let (at, reason) = (Timestamp(3), StateReason::user_terminated());
    m.on(
        2,
        vec![
            InstanceStopRequested { by_guest: false, force: false, at }.into(),
            InstanceStopped { at }.into(),
        ],
    );
    let stopped = view_of(&m.0, &here());
    assert!(stopped.routes.is_empty(), "a stopped guest has no route: {stopped:?}");
    assert_eq!(
        stopped.guests[0].ingress[0].addresses,
        ["10.111.0.2", "10.111.0.3"],
        "a stopped instance keeps its address and its groups"
    );
    assert!(view_of(&m.0, &elsewhere()).guests.is_empty());

    m.on(2, vec![InstanceTerminationRequested { at }.into(), InstanceTerminated { reason, at }.into()]);
    let ended = view_of(&m.0, &here());
    assert_eq!(ended.guests[0].ingress[0].addresses, ["10.111.0.2"]);
    m.on(1, vec![InstanceTerminationRequested { at }.into()]);
    assert_eq!(view_of(&m.0, &here()).guests.len(), 1, "shutting down: still guarded");
    m.on(1, vec![InstanceTerminated { reason: StateReason::user_terminated(), at }.into()]);
    let gone = view_of(&m.0, &here());
    assert!(gone.guests.is_empty() && gone.routes.is_empty(), "{gone:?}");
}

#[test]
fn rules_follow_authorize_revoke_and_addresses_moving() {
    let sg = 0x10;
    let mut m = Models::cloud(["10.250.0.11", "10.250.0.12"]);
    m.group(sg, vec![]).instance(1, &here(), &[sg], "10.111.0.2", None);
    let first = view_of(&m.0, &here());
    assert!(first.guests[0].ingress.is_empty());
    let port = vec![rule("tcp", 8080, 8080, cidr("0.0.0.0/0"))];
    let group = StreamId::security_group(&SecurityGroupId::from_bits(sg));
    let at = Timestamp(5);
    m.apply(
        group.as_str(),
        vec![SecurityRulesAuthorized { direction: Direction::Ingress, rules: port.clone(), at }.into()],
    );
    let authorized = view_of(&m.0, &here());
    assert_eq!(authorized.guests[0].ingress, [NetRule::new("tcp", 8080, 8080, Some("0.0.0.0/0"), &[])]);
    assert_ne!(authorized.version, first.version);
    let moved = InstancePublicAddressChanged { public_address: Some("198.51.100.9".into()), elastic: None };
    m.on(1, vec![moved.into()]);
    assert_eq!(view_of(&m.0, &here()).guests[0].public.as_deref(), Some("198.51.100.9"));
    m.apply(
        group.as_str(),
        vec![SecurityRulesRevoked { direction: Direction::Ingress, rules: port, at }.into()],
    );
    let revoked = view_of(&m.0, &here());
    assert!(revoked.guests[0].ingress.is_empty(), "{revoked:?}");
}

#[test]
fn no_routes_between_nodes_of_one_host_nor_via_names_or_loopback() {
    let mut m = Models::cloud(["10.250.0.11", "10.250.0.11"]);
    m.instance(1, &here(), &[], "10.111.0.2", None).instance(2, &elsewhere(), &[], "10.111.0.3", None);
    assert!(view_of(&m.0, &here()).routes.is_empty());
    let mut m = Models::cloud(["10.250.0.11", "node-b.example"]);
    m.instance(1, &here(), &[], "10.111.0.2", None).instance(2, &elsewhere(), &[], "10.111.0.3", None);
    assert!(view_of(&m.0, &here()).routes.is_empty(), "no IPv4 host, no route");
    assert_eq!(view_of(&m.0, &elsewhere()).routes, [route("10.111.0.2", "10.250.0.11")]);
    // The embedded node of a `yukari up` on loopback: nobody routes to it.
    let mut m = Models::cloud(["127.0.0.1", "10.250.0.12"]);
    m.instance(1, &here(), &[], "10.111.0.2", None).instance(2, &elsewhere(), &[], "10.111.0.3", None);
    assert!(view_of(&m.0, &elsewhere()).routes.is_empty(), "no route via loopback");
    assert_eq!(view_of(&m.0, &here()).routes, [route("10.111.0.3", "10.250.0.12")]);
}

#[test]
fn the_shared_views_equal_views_computed_alone_and_move_with_the_models() {
    let (web, db) = (0x10, 0x20);
    let from_web = RuleSource::Group { account: account(), group: SecurityGroupId::from_bits(web) };
    let mut m = Models::cloud(["10.250.0.11", "10.250.0.12"]);
    m.group(web, vec![]).group(db, vec![rule("tcp", 5432, 5432, from_web)]);
    for bits in 1..=20u128 {
        let node = if bits % 3 == 0 { elsewhere() } else { here() };
        let groups: &[u128] = if bits % 2 == 0 { &[web] } else { &[db, web] };
        m.instance(bits, &node, groups, &format!("10.111.0.{}", bits + 1), None);
    }
    let shared = NetworkViews::default();
    for node in [here(), elsewhere(), NodeId::from_bits(3)] {
        assert_eq!(shared.view_of(&m.0, &node), view_of(&m.0, &node), "{node}");
    }
    let cached = shared.at(&m.0);
    assert!(Arc::ptr_eq(&cached, &shared.at(&m.0)), "one computation per position");
    m.on(4, vec![InstanceTerminationRequested { at: Timestamp(9) }.into()]);
    m.on(4, vec![InstanceTerminated { reason: StateReason::user_terminated(), at: Timestamp(9) }.into()]);
    assert!(!Arc::ptr_eq(&cached, &shared.at(&m.0)), "a new position, a new computation");
    for node in [here(), elsewhere()] {
        assert_eq!(shared.view_of(&m.0, &node), view_of(&m.0, &node), "{node}");
    }
    assert!(
        !shared
            .view_of(&m.0, &here())
            .guests
            .iter()
            .any(|g| g.instance == InstanceId::from_bits(4).to_string())
    );
}

#[test]
fn groups_named_by_name_or_by_another_owner_resolve_only_to_that_owners_group() {
    let (web, db) = (0x10, 0x20);
    let stranger = AccountId::from_bits(999_999_999_999);
    let web_id = SecurityGroupId::from_bits(web);
    let mut m = Models::cloud(["10.250.0.11", "10.250.0.12"]);
    m.group(web, vec![])
        .group(
            db,
            vec![
                // By name, as euca2ools' `-o g16 -u ACCOUNT` names it.
                rule("tcp", 1, 1, RuleSource::NamedGroup { account: account(), name: "g16".into() }),
                // The right group id with the wrong owner: nobody.
                rule("tcp", 2, 2, RuleSource::Group { account: stranger.clone(), group: web_id.clone() }),
                // A name the owner does not have, an owner that does not exist.
                rule("tcp", 3, 3, RuleSource::NamedGroup { account: account(), name: "nope".into() }),
                rule("tcp", 4, 4, RuleSource::NamedGroup { account: stranger, name: "g16".into() }),
            ],
        )
        .instance(1, &here(), &[db], "10.111.0.2", None)
        .instance(2, &elsewhere(), &[web], "10.111.0.3", None);
    let view = view_of(&m.0, &here());
    assert_eq!(
        view.guests[0].ingress,
        [
            NetRule::new("tcp", 1, 1, None, &["10.111.0.3"]),
            NetRule::new("tcp", 2, 2, None, &[]),
            NetRule::new("tcp", 3, 3, None, &[]),
            NetRule::new("tcp", 4, 4, None, &[]),
        ]
    );
}
