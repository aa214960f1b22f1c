//! BootstrapCloud (a new cloud in one atomic decision) and
//! ModifyInstanceTypeAttribute (VM types, decided by the cloud stream).

use super::events::*;
use super::state::VmType;
use crate::accounts::{CreateAccount, create_account};
use crate::addresses::{AddressPoolConfigured, cidr_range};
use crate::aggregate::StateView;
use crate::clusters::{AddCluster, ClusterRegistered, RegisterNode};
use crate::decide::{Decision, Events, Reply};
use crate::error::DecideError;
use crate::images::RegisterImage;
use crate::model::*;
use crate::stream::StreamId;
use smol_str::SmolStr;

/// Sets up a new cloud in one atomic decision: region and VM types, the
/// first cluster and node, the address pools, the admin account with its
/// key, and the built-in images.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapCloud {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub cluster: AddCluster,
    pub node: RegisterNode,
    pub private_cidr: String,
    pub public_addresses: Vec<String>,
    pub admin: CreateAccount,
    pub images: Vec<RegisterImage>,
    pub at: Timestamp,
}

/// Eucalyptus's ModifyInstanceTypeAttribute (cloud administrators only):
/// resizes a VM type (what is not given keeps its current value), resets
/// it to Eucalyptus's default first (`reset`), or defines a new one (which
/// needs all three sizes). Decided on the cloud stream, so two racing
/// changes of one type each change what the other left.
#[derive(Clone, Debug, PartialEq)]
pub struct ModifyInstanceTypeAttribute {
    pub name: String,
    pub cpus: Option<u32>,
    pub memory_mib: Option<u32>,
    pub disk_gib: Option<u32>,
    pub reset: bool,
    pub at: Timestamp,
}

impl BootstrapCloud {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut s = vec![
            StreamId::cloud(),
            StreamId::cluster(&self.cluster.zone),
            StreamId::network(),
            StreamId::account(&self.admin.account),
            StreamId::account_name(&self.admin.name),
            StreamId::security_group(&self.admin.default_group),
        ];
        s.extend(self.images.iter().map(|i| StreamId::image(&i.image)));
        s
    }
}

impl ModifyInstanceTypeAttribute {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::cloud()]
    }
}

pub(crate) fn bootstrap(c: &BootstrapCloud, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.cloud().is_some() {
        return Err(DecideError::CloudAlreadyInitialized);
    }
    if c.node.zone != c.cluster.zone {
        return Err(DecideError::UnknownZone(c.node.zone.clone()));
    }
    if cidr_range(&c.private_cidr).is_none() {
        return Err(DecideError::InvalidNetwork(c.private_cidr.clone()));
    }
    let mut events: Events = vec![
        (
            StreamId::cloud(),
            CloudInitialized { region: c.region.clone(), vm_types: c.vm_types.clone(), at: c.at }.into(),
        ),
        (StreamId::cloud(), ClusterAdded { zone: c.cluster.zone.clone(), at: c.at }.into()),
        (
            StreamId::cluster(&c.cluster.zone),
            ClusterRegistered { zone: c.cluster.zone.clone(), policy: c.cluster.policy, at: c.at }.into(),
        ),
        (StreamId::cluster(&c.node.zone), c.node.registered().into()),
        (
            StreamId::network(),
            AddressPoolConfigured {
                private_cidr: c.private_cidr.clone(),
                public_addresses: c.public_addresses.clone(),
                at: c.at,
            }
            .into(),
        ),
    ];
    events.extend(create_account(&c.admin, view)?);
    for image in &c.images {
        if view.image(&image.image).is_some() {
            return Err(DecideError::ImageExists(image.image.clone()));
        }
        events.push((StreamId::image(&image.image), image.registered().into()));
    }
    Ok(events)
}

/// The new size of the type, from the cloud's current one (or
/// Eucalyptus's default); the reply has both.
pub(crate) fn modify_instance_type_attribute(
    c: &ModifyInstanceTypeAttribute,
    view: &dyn StateView,
) -> Result<Decision, DecideError> {
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    let previous = cloud.vm_type(&c.name).cloned();
    let base = if c.reset {
        VmType::eucalyptus_defaults().into_iter().find(|t| t.name == c.name)
    } else {
        previous.clone()
    };
    let t = match (base, c.cpus, c.memory_mib, c.disk_gib) {
        (Some(t), cpus, memory_mib, disk_gib) => VmType {
            cpus: cpus.unwrap_or(t.cpus),
            memory_mib: memory_mib.unwrap_or(t.memory_mib),
            disk_gib: disk_gib.unwrap_or(t.disk_gib),
            ..t
        },
        (None, Some(cpus), Some(memory_mib), Some(disk_gib)) => {
            VmType { name: SmolStr::from(c.name.as_str()), cpus, memory_mib, disk_gib }
        }
        (None, ..) => return Err(DecideError::NewVmTypeIncomplete(c.name.clone())),
    };
    let sane =
        !t.name.is_empty() && t.name.len() <= 32 && t.cpus >= 1 && t.memory_mib >= 64 && t.disk_gib >= 1;
    if !sane {
        return Err(DecideError::InvalidVmType(t.name.to_string()));
    }
    let events = if previous.as_ref() == Some(&t) {
        Vec::new()
    } else {
        vec![(StreamId::cloud(), VmTypeSet { vm_type: t.clone(), at: c.at }.into())]
    };
    Ok(Decision { events, reply: Reply::VmType { vm_type: t, previous } })
}
