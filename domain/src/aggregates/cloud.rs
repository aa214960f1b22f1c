//! The cloud: its region, VM types and availability zones.

use crate::event::*;
use crate::ids::ZoneName;
use crate::model::{Timestamp, VmType};

#[derive(Clone, Debug, PartialEq)]
pub struct Cloud {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub zones: Vec<ZoneName>,
    pub initialized_at: Timestamp,
}

impl Cloud {
    pub(crate) fn new(e: &CloudInitialized) -> Self {
        Cloud {
            region: e.region.clone(),
            vm_types: e.vm_types.clone(),
            zones: Vec::new(),
            initialized_at: e.at,
        }
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        if let Event::ClusterAdded(e) = event {
            self.zones.push(e.zone.clone());
        }
    }

    pub fn vm_type(&self, name: &str) -> Option<&VmType> {
        self.vm_types.iter().find(|t| t.name == name)
    }

    pub fn has_zone(&self, zone: &ZoneName) -> bool {
        self.zones.contains(zone)
    }
}
