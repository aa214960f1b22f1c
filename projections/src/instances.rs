//! Instances and reservations, indexed for DescribeInstances: by id, and
//! per account in id order (the order pages are served in).

use domain::event::*;
use domain::{
    AccountId, AllocationId, ImageId, InstanceAttribute, InstanceId, InstanceState, NodeId, ReservationId,
    Resources, SecurityGroupId, ShutdownBehavior, StateReason, Timestamp, UserName, ZoneName,
};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

/// How long a terminated instance stays in the read models (and so in
/// DescribeInstances, the console and time travel), in µs of record time:
/// an hour, as in EC2. The log keeps it for ever (audit, usage); the read
/// models follow the live cloud, not its age. The domain's commands find
/// no instance gone from view by the same measure
/// ([`domain::instances::VISIBLE_AFTER_END_MS`]).
pub const TERMINATED_VISIBLE_US: i64 = domain::instances::VISIBLE_AFTER_END_MS * 1000;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstancesView {
    /// Each row behind an `Arc`: a row is some 500 bytes, and a hash
    /// table keeps room for more entries than it holds (and, while it
    /// grows, two tables); and the copy of the models made while a
    /// snapshot shares them (see `Projections`) copies the pointers and
    /// then only the rows that change, not every row.
    #[serde(with = "crate::sorted")]
    pub rows: HashMap<InstanceId, Arc<InstanceRow>>,
    pub by_account: BTreeMap<AccountId, BTreeSet<InstanceId>>,
    pub reservations: BTreeMap<ReservationId, ReservationRow>,
    /// Terminated instances in the order they ended, with the record time
    /// (µs) they ended at: each leaves [`TERMINATED_VISIBLE_US`] later.
    pub ended: VecDeque<(i64, InstanceId)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRow {
    pub id: InstanceId,
    pub account: AccountId,
    pub reservation: ReservationId,
    pub image: ImageId,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    /// Short texts inline (no allocation of their own; 100,000 rows).
    pub vm_type: SmolStr,
    pub launch_index: u32,
    pub client_token: Option<String>,
    pub state: InstanceState,
    pub reason: Option<StateReason>,
    pub launched_at: Timestamp,
    pub state_changed_at: Timestamp,
    pub node: Option<NodeId>,
    /// The nodes it was placed on before `node` (a stopped instance
    /// started on another node), each once: their feeds still carry its
    /// placements elsewhere, so that they let its guest go.
    pub moved_from: Vec<NodeId>,
    pub zone: Option<ZoneName>,
    /// Room held on the node, between CapacityReserved and CapacityReleased.
    pub holds: Option<Resources>,
    pub key_name: Option<String>,
    pub groups: Vec<SecurityGroupId>,
    pub private_address: Option<SmolStr>,
    pub public_address: Option<String>,
    pub elastic: Option<AllocationId>,
    pub shutdown_behavior: ShutdownBehavior,
    pub disable_api_termination: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReservationRow {
    pub account: AccountId,
    pub requester: UserName,
    pub instances: Vec<InstanceId>,
    pub created_at: Timestamp,
}

impl InstancesView {
    pub(crate) fn requested(&mut self, e: InstanceRequested) {
        match self.by_account.get_mut(&e.account) {
            Some(ids) => {
                ids.insert(e.instance.clone());
            }
            None => {
                self.by_account.insert(e.account.clone(), BTreeSet::from([e.instance.clone()]));
            }
        }
        self.rows.insert(
            e.instance.clone(),
            Arc::new(InstanceRow {
                id: e.instance,
                account: e.account,
                reservation: e.reservation,
                image: e.image,
                kernel: e.kernel,
                ramdisk: e.ramdisk,
                vm_type: e.vm_type.name,
                launch_index: e.launch_index,
                client_token: e.client_token,
                state: InstanceState::Pending,
                reason: None,
                launched_at: e.at,
                state_changed_at: e.at,
                node: None,
                moved_from: Vec::new(),
                zone: None,
                holds: None,
                key_name: e.key_name,
                groups: e.security_groups,
                private_address: None,
                public_address: None,
                elastic: None,
                shutdown_behavior: e.shutdown_behavior,
                disable_api_termination: e.disable_api_termination,
            }),
        );
    }

    pub(crate) fn reservation_created(&mut self, e: ReservationCreated) {
        self.reservations.insert(
            e.reservation,
            ReservationRow {
                account: e.account,
                requester: e.requester,
                instances: e.instances,
                created_at: e.at,
            },
        );
    }

    /// Applies an event of the instance's own stream, recorded at
    /// `recorded_at` (µs).
    pub(crate) fn instance_event(&mut self, instance: &InstanceId, event: &Event, recorded_at: i64) {
        let Some(row) = self.rows.get_mut(instance.as_str()) else {
            return;
        };
        let row = Arc::make_mut(row);
        let was_terminated = row.state == InstanceState::Terminated;
        match event {
            Event::InstancePlaced(e) => {
                if let Some(before) = row.node.replace(e.node.clone())
                    && before != e.node
                    && !row.moved_from.contains(&before)
                {
                    row.moved_from.push(before);
                }
                row.moved_from.retain(|n| n != &e.node);
                row.zone = Some(e.zone.clone());
            }
            Event::InstanceRunning(e) => row.set_state(InstanceState::Running, None, e.at),
            Event::InstanceTerminationRequested(e) => {
                row.set_state(InstanceState::ShuttingDown, Some(StateReason::user_terminated()), e.at)
            }
            Event::InstanceTerminated(e) => {
                row.set_state(InstanceState::Terminated, Some(e.reason.clone()), e.at)
            }
            Event::InstanceLaunchFailed(e) => {
                row.set_state(InstanceState::Terminated, Some(e.reason.clone()), e.at)
            }
            Event::InstanceStartFailed(e) => {
                row.set_state(InstanceState::Stopped, Some(e.reason.clone()), e.at)
            }
            Event::InstanceAddressed(e) => {
                row.private_address = Some(SmolStr::from(e.private_address.as_str()));
                row.public_address = e.public_address.clone();
            }
            Event::InstancePublicAddressChanged(e) => {
                row.public_address = e.public_address.clone();
                row.elastic = e.elastic.clone();
            }
            Event::InstanceStopRequested(e) => {
                let reason =
                    if e.by_guest { StateReason::guest_stopped() } else { StateReason::user_stopped() };
                row.set_state(InstanceState::Stopping, Some(reason), e.at)
            }
            Event::InstanceStopped(e) => {
                let reason = row.reason.take();
                row.set_state(InstanceState::Stopped, reason, e.at)
            }
            Event::InstanceStartRequested(e) => row.set_state(InstanceState::Pending, None, e.at),
            Event::InstanceGroupsChanged(e) => row.groups = e.groups.clone(),
            Event::InstanceAttributeChanged(e) => match &e.attribute {
                InstanceAttribute::InstanceType(t) => row.vm_type = SmolStr::from(t.name.as_str()),
                InstanceAttribute::UserData(_) => {}
                InstanceAttribute::DisableApiTermination(v) => row.disable_api_termination = *v,
                InstanceAttribute::ShutdownBehavior(b) => row.shutdown_behavior = *b,
            },
            _ => {}
        }
        if row.state == InstanceState::Terminated && !was_terminated {
            self.ended.push_back((recorded_at, instance.clone()));
        }
    }

    /// Removes the instances that ended [`TERMINATED_VISIBLE_US`] or more
    /// before `now` (µs of record time), with their reservations once empty;
    /// calls `gone` with each. One that still holds node capacity or an
    /// elastic address (their release comes as later events) waits another
    /// period.
    pub(crate) fn expire(&mut self, now: i64, mut gone: impl FnMut(&InstanceId)) {
        while let Some((ended, _)) = self.ended.front() {
            if now - ended < TERMINATED_VISIBLE_US {
                return;
            }
            let Some((_, id)) = self.ended.pop_front() else { return };
            let Some(row) = self.rows.remove(id.as_str()) else { continue };
            if row.holds.is_some() || row.elastic.is_some() {
                self.rows.insert(id.clone(), row);
                self.ended.push_back((now, id));
                continue;
            }
            if let Some(ids) = self.by_account.get_mut(&row.account) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_account.remove(&row.account);
                }
            }
            // Most reservations hold one instance: this one.
            let empty = self
                .reservations
                .get(&row.reservation)
                .is_some_and(|r| r.instances.iter().all(|i| *i == id || !self.rows.contains_key(i.as_str())));
            if empty {
                self.reservations.remove(&row.reservation);
            }
            gone(&id);
        }
    }

    /// Records the room an instance holds; returns the zone it is in.
    pub(crate) fn holds(
        &mut self,
        instance: &InstanceId,
        amount: Option<Resources>,
    ) -> Option<(ZoneName, Resources)> {
        let row = Arc::make_mut(self.rows.get_mut(instance)?);
        let before = row.holds.take();
        row.holds = amount;
        let zone = row.zone.clone()?;
        amount.or(before).map(|a| (zone, a))
    }

    pub fn get(&self, id: &str) -> Option<&InstanceRow> {
        self.rows.get(id).map(|row| &**row)
    }

    /// The account's instances in id order, starting after `after`.
    pub fn of_account<'a>(
        &'a self,
        account: &AccountId,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = &'a InstanceRow> + 'a {
        let ids = self.by_account.get(account);
        let lower = match after {
            Some(a) => Bound::Excluded(a),
            None => Bound::Unbounded,
        };
        ids.into_iter()
            .flat_map(move |set| set.range::<str, _>((lower, Bound::Unbounded)))
            .filter_map(|id| self.get(id.as_str()))
    }
}

impl InstanceRow {
    fn set_state(&mut self, state: InstanceState, reason: Option<StateReason>, at: Timestamp) {
        self.state = state;
        self.reason = reason;
        self.state_changed_at = at;
    }
}
