//! The cloud's state: region, VM types and zones.

use super::events::*;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::ids::ZoneName;
use crate::model::Timestamp;
use crate::registry::CloudEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// A Eucalyptus VM type: the size of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VmType {
    /// Inline (no allocation of its own) up to 23 bytes: every instance's
    /// state carries its type.
    pub name: SmolStr,
    pub cpus: u32,
    pub memory_mib: u32,
    pub disk_gib: u32,
}

impl VmType {
    fn new(name: &str, cpus: u32, memory_mib: u32, disk_gib: u32) -> Self {
        VmType { name: SmolStr::from(name), cpus, memory_mib, disk_gib }
    }

    /// Eucalyptus 4's default VM types (name, CPUs, memory MiB, disk GiB).
    pub fn eucalyptus_defaults() -> Vec<VmType> {
        vec![
            Self::new("t1.micro", 1, 256, 5),
            Self::new("m1.small", 1, 256, 5),
            Self::new("m1.medium", 1, 512, 10),
            Self::new("c1.medium", 2, 512, 10),
            Self::new("m1.large", 2, 512, 10),
            Self::new("m1.xlarge", 2, 1024, 10),
            Self::new("c1.xlarge", 2, 2048, 10),
            Self::new("m2.xlarge", 2, 2048, 10),
            Self::new("m3.xlarge", 4, 2048, 15),
            Self::new("m2.2xlarge", 2, 4096, 30),
            Self::new("m3.2xlarge", 4, 4096, 30),
            Self::new("cc1.4xlarge", 8, 3072, 60),
            Self::new("m2.4xlarge", 8, 4096, 60),
            Self::new("hi1.4xlarge", 8, 6144, 120),
            Self::new("cc2.8xlarge", 16, 6144, 120),
            Self::new("cg1.4xlarge", 16, 12288, 200),
            Self::new("cr1.8xlarge", 16, 16384, 240),
            Self::new("hs1.8xlarge", 48, 119808, 24000),
        ]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cloud {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub zones: Vec<ZoneName>,
    pub initialized_at: Timestamp,
}

impl State for Cloud {
    type Created = CloudInitialized;

    fn created(e: &CloudInitialized) -> Self {
        Cloud {
            region: e.region.clone(),
            vm_types: e.vm_types.clone(),
            zones: Vec::new(),
            initialized_at: e.at,
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl Evolve for Cloud {
    type Event<'a> = CloudEvent<'a>;

    fn apply(&mut self, event: CloudEvent<'_>) {
        match event {
            CloudEvent::ClusterAdded(e) => self.zones.push(e.zone.clone()),
            CloudEvent::VmTypeSet(e) => match self.vm_types.iter_mut().find(|t| t.name == e.vm_type.name) {
                Some(t) => *t = e.vm_type.clone(),
                None => self.vm_types.push(e.vm_type.clone()),
            },
        }
    }
}

impl Cloud {
    pub fn vm_type(&self, name: &str) -> Option<&VmType> {
        self.vm_types.iter().find(|t| t.name == name)
    }

    pub fn has_zone(&self, zone: &ZoneName) -> bool {
        self.zones.contains(zone)
    }
}

impl dyn StateView + '_ {
    pub fn cloud(&self) -> Option<&Cloud> {
        match self.get(&StreamId::cloud()) {
            Some(Aggregate::Cloud(c)) => Some(c),
            _ => None,
        }
    }
}
