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
        match event {
            Event::ClusterAdded(e) => self.zones.push(e.zone.clone()),
            Event::VmTypeSet(e) => match self.vm_types.iter_mut().find(|t| t.name == e.vm_type.name) {
                Some(t) => *t = e.vm_type.clone(),
                None => self.vm_types.push(e.vm_type.clone()),
            },
            _ => {}
        }
    }

    pub fn vm_type(&self, name: &str) -> Option<&VmType> {
        self.vm_types.iter().find(|t| t.name == name)
    }

    pub fn has_zone(&self, zone: &ZoneName) -> bool {
        self.zones.contains(zone)
    }
}
