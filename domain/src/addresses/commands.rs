//! AllocateAddress, AssociateAddress, DisassociateAddress and
//! ReleaseAddress; SetElasticIpLimit, the cloud administrator's limit of
//! elastic IPs per account.

use super::elastic_ip::ElasticIp;
use super::events::*;
use super::network::Network;
use crate::accounts::Account;
use crate::aggregate::{StateView, need};
use crate::decide::{Decision, Events, Reply};
use crate::error::DecideError;
use crate::ids::*;
use crate::instances::{Instance, InstancePublicAddressChanged, InstanceState};
use crate::model::*;
use crate::stream::StreamId;
use crate::tags::{Tag, Tags};

/// An elastic IP named by allocation id or by its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressRef {
    Allocation(AllocationId),
    PublicIp(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AllocateAddress {
    pub account: AccountId,
    pub allocation: AllocationId,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AssociateAddress {
    pub account: AccountId,
    pub address: AddressRef,
    pub instance: InstanceId,
    pub association: AssociationId,
    pub allow_reassociation: bool,
    pub at: Timestamp,
}

/// What DisassociateAddress names: an association, or an address.
#[derive(Clone, Debug, PartialEq)]
pub enum DisassociateRef {
    Association(AssociationId),
    PublicIp(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DisassociateAddress {
    pub account: AccountId,
    pub address: DisassociateRef,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseAddress {
    pub account: AccountId,
    pub address: AddressRef,
    pub at: Timestamp,
}

/// How many elastic IPs each account may hold at once (cloud
/// administrators only; their own account has no limit). Decided on the
/// network stream, which every allocation appends to, so a change and an
/// allocation racing it are ordered.
#[derive(Clone, Debug, PartialEq)]
pub struct SetElasticIpLimit {
    pub per_account: u32,
    pub at: Timestamp,
}

impl AllocateAddress {
    /// The account's stream says whether it is the cloud administrator's;
    /// the streams of the addresses allocated are asked for to count the
    /// account's.
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::network(), StreamId::elastic_ip(&self.allocation), StreamId::account(&self.account)]
    }
}

impl AssociateAddress {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::network(), StreamId::instance(&self.instance)]
    }
}

impl DisassociateAddress {
    /// The address's stream is asked for once it is found.
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::network()]
    }
}

impl ReleaseAddress {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::network()]
    }
}

impl SetElasticIpLimit {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::network()]
    }
}

/// Refuses an allocation that would give `account` more elastic IPs than
/// the network's limit. The network stream lists the addresses allocated
/// and their own streams say to whom (`AddressAllocated` has always named
/// the account), so logs written before the limit count right with no new
/// event; and since every allocation and release appends to the network
/// stream, two racing allocations cannot both take the last one.
/// The cloud administrator's account has no limit: it is the one that sets
/// the limit, and it may give the pool to whom it likes anyway.
fn within_limit(view: &dyn StateView, network: &Network, account: &AccountId) -> Result<(), DecideError> {
    if view.account(account).is_some_and(Account::is_cloud_admin) {
        return Ok(());
    }
    let limit = network.elastic_ip_limit;
    need(view, network.allocations().map(StreamId::elastic_ip))?;
    let held =
        network.allocations().filter_map(|id| view.elastic_ip(id)).filter(|eip| &eip.account == account);
    if held.count() >= limit as usize {
        return Err(DecideError::AddressLimitExceeded);
    }
    Ok(())
}

pub(crate) fn allocate_address(c: &AllocateAddress, view: &dyn StateView) -> Result<Decision, DecideError> {
    let network = view.network().ok_or(DecideError::CloudNotInitialized)?;
    within_limit(view, network, &c.account)?;
    let address = network.free_public(1).pop().ok_or(DecideError::AddressLimitExceeded)?;
    if view.get(&StreamId::elastic_ip(&c.allocation)).is_some_and(|a| !a.is_empty()) {
        return Err(DecideError::IdInUse(c.allocation.to_string()));
    }
    let mut events: Events = vec![
        (
            StreamId::network(),
            PublicAddressTaken {
                address: address.clone(),
                holder: AddressHolder::Allocation(c.allocation.clone()),
            }
            .into(),
        ),
        (
            StreamId::elastic_ip(&c.allocation),
            AddressAllocated {
                allocation: c.allocation.clone(),
                address: address.clone(),
                account: c.account.clone(),
                at: c.at,
            }
            .into(),
        ),
    ];
    if !c.tags.is_empty() {
        let tags = Tags::default();
        events
            .push((StreamId::elastic_ip(&c.allocation), tags.create(c.allocation.as_str(), &c.tags, c.at)?));
    }
    Ok(Decision { events, reply: Reply::Address { allocation: c.allocation.clone(), address } })
}

/// The caller's elastic IP named by `address` (its stream is then in view).
fn owned_address<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    address: &AddressRef,
) -> Result<&'v ElasticIp, DecideError> {
    let allocation = match address {
        AddressRef::Allocation(id) => id.clone(),
        AddressRef::PublicIp(ip) => {
            let network = view.network().ok_or(DecideError::CloudNotInitialized)?;
            match network.public_taken.get(ip) {
                Some(AddressHolder::Allocation(id)) => id.clone(),
                _ => return Err(DecideError::AddressNotFound(ip.clone())),
            }
        }
    };
    need(view, [StreamId::elastic_ip(&allocation)])?;
    match view.elastic_ip(&allocation) {
        Some(eip) if &eip.account == account => Ok(eip),
        _ => Err(DecideError::AddressNotFound(match address {
            AddressRef::Allocation(id) => id.to_string(),
            AddressRef::PublicIp(ip) => ip.clone(),
        })),
    }
}

/// The events that take `eip` off the instance it is associated with; the
/// instance gets an auto-assigned public address again if one is free.
fn detach(
    view: &dyn StateView,
    eip: &ElasticIp,
    at: Timestamp,
    taken: &mut Vec<String>,
) -> Result<Events, DecideError> {
    let Some((_, instance)) = &eip.association else { return Ok(Vec::new()) };
    need(view, [StreamId::instance(instance)])?;
    let mut events: Events =
        vec![(StreamId::elastic_ip(&eip.allocation), AddressDisassociated { at }.into())];
    let gone = view.instance(instance).is_none_or(Instance::is_gone);
    let running = view.instance(instance).is_some_and(|i| i.state != InstanceState::Stopped);
    let fresh = if gone || !running { None } else { next_public(view, taken)? };
    // An instance shutting down loses the address too (it must not show
    // it, nor give it back when it terminates); a terminated one has none.
    let terminated = view.instance(instance).is_none_or(|i| i.state == InstanceState::Terminated);
    if let Some(address) = &fresh {
        events.push((
            StreamId::network(),
            PublicAddressTaken {
                address: address.clone(),
                holder: AddressHolder::Instance(instance.clone()),
            }
            .into(),
        ));
    }
    if !terminated {
        events.push((
            StreamId::instance(instance),
            InstancePublicAddressChanged { public_address: fresh, elastic: None }.into(),
        ));
    }
    Ok(events)
}

fn next_public(view: &dyn StateView, taken: &mut Vec<String>) -> Result<Option<String>, DecideError> {
    let network = view.network().ok_or(DecideError::CloudNotInitialized)?;
    let next = network.free_public(taken.len() + 1).into_iter().find(|a| !taken.contains(a));
    if let Some(a) = &next {
        taken.push(a.clone());
    }
    Ok(next)
}

pub(crate) fn associate_address(c: &AssociateAddress, view: &dyn StateView) -> Result<Decision, DecideError> {
    let eip = owned_address(view, &c.account, &c.address)?;
    let instance = match view.instance(&c.instance) {
        Some(i) if i.account == c.account && !i.is_gone() => i,
        _ => return Err(DecideError::InstanceNotFound(vec![c.instance.clone()])),
    };
    let reply = Reply::Address { allocation: eip.allocation.clone(), address: eip.address.clone() };
    if eip.association.as_ref().is_some_and(|(_, i)| i == &instance.id) {
        return Ok(Decision { events: Vec::new(), reply });
    }
    let mut events = Vec::new();
    let mut taken = Vec::new();
    if let Some((_, other)) = &eip.association {
        // EC2-Classic moves an address named by its IP; by allocation id it
        // must be allowed explicitly.
        let by_ip = matches!(c.address, AddressRef::PublicIp(_));
        if !by_ip && !c.allow_reassociation {
            return Err(DecideError::AddressInUse { address: eip.address.clone(), instance: other.clone() });
        }
        events.extend(detach(view, eip, c.at, &mut taken)?);
    }
    match (&instance.elastic, &instance.public_address) {
        (Some(previous), _) => {
            need(view, [StreamId::elastic_ip(previous)])?;
            if view.elastic_ip(previous).is_some() {
                events.push((StreamId::elastic_ip(previous), AddressDisassociated { at: c.at }.into()));
            }
        }
        (None, Some(auto)) => {
            events.push((StreamId::network(), PublicAddressFreed { address: auto.clone() }.into()));
        }
        (None, None) => {}
    }
    events.push((
        StreamId::elastic_ip(&eip.allocation),
        AddressAssociated { association: c.association.clone(), instance: instance.id.clone(), at: c.at }
            .into(),
    ));
    events.push((
        StreamId::instance(&instance.id),
        InstancePublicAddressChanged {
            public_address: Some(eip.address.clone()),
            elastic: Some(eip.allocation.clone()),
        }
        .into(),
    ));
    Ok(Decision { events, reply })
}

/// The caller's elastic IP whose current association is `association`.
/// The network stream lists every allocated address; their own streams say
/// which is associated, and how (no read model is asked, and none may lag).
fn associated<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    association: &AssociationId,
) -> Result<&'v ElasticIp, DecideError> {
    let network = view.network().ok_or(DecideError::CloudNotInitialized)?;
    let allocations: Vec<&AllocationId> = network.allocations().collect();
    need(view, allocations.iter().map(|id| StreamId::elastic_ip(id)))?;
    allocations
        .into_iter()
        .filter_map(|id| view.elastic_ip(id))
        .find(|eip| {
            &eip.account == account && eip.association.as_ref().is_some_and(|(a, _)| a == association)
        })
        .ok_or_else(|| DecideError::AssociationNotFound(association.to_string()))
}

pub(crate) fn disassociate_address(
    c: &DisassociateAddress,
    view: &dyn StateView,
) -> Result<Decision, DecideError> {
    let eip = match &c.address {
        DisassociateRef::PublicIp(ip) => owned_address(view, &c.account, &AddressRef::PublicIp(ip.clone()))?,
        DisassociateRef::Association(association) => associated(view, &c.account, association)?,
    };
    let events = detach(view, eip, c.at, &mut Vec::new())?;
    Ok(Decision {
        events,
        reply: Reply::Address { allocation: eip.allocation.clone(), address: eip.address.clone() },
    })
}

pub(crate) fn release_address(c: &ReleaseAddress, view: &dyn StateView) -> Result<Decision, DecideError> {
    let eip = owned_address(view, &c.account, &c.address)?;
    let mut events = detach(view, eip, c.at, &mut Vec::new())?;
    events.push((StreamId::elastic_ip(&eip.allocation), AddressReleased { at: c.at }.into()));
    events.push((StreamId::network(), PublicAddressFreed { address: eip.address.clone() }.into()));
    Ok(Decision {
        events,
        reply: Reply::Address { allocation: eip.allocation.clone(), address: eip.address.clone() },
    })
}

/// Records the new limit; nothing when it is the limit already. Addresses
/// held beyond a lowered limit stay: only new allocations are refused.
pub(crate) fn set_elastic_ip_limit(
    c: &SetElasticIpLimit,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let network = view.network().ok_or(DecideError::CloudNotInitialized)?;
    if network.elastic_ip_limit == c.per_account {
        return Ok(Vec::new());
    }
    Ok(vec![(StreamId::network(), ElasticIpLimitSet { per_account: c.per_account, at: c.at }.into())])
}
