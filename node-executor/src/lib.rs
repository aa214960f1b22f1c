//! Yukari's node executor: Eucalyptus's node controller. It runs next to a
//! hypervisor, carries out the placements the log assigns to its node
//! (start, keep, destroy guests) through a [`HypervisorDriver`], and reports
//! what really happened back to the controller as commands through a
//! [`Reporter`]. On start it reconciles: desired state from the log, actual
//! state from the hypervisor.
//!
//! It must not know HTTP, the API, projections or how the controller
//! decides a report: it reads envelopes through a [`RecordSource`] (the
//! local log in-process, or the controller's node feed, which the binary
//! provides over HTTP) and submits `domain::command::NodeReport`s through
//! a [`Reporter`] (in-process or HTTP, likewise).
//! Hypervisor specifics stay behind the driver trait: the simulator, and
//! libvirt (real QEMU guests, KVM or emulation). Guest networking in
//! bridge mode (addresses, NAT, security groups as nftables rules) is
//! [`net`], which follows the log beside the executor.

mod driver;
mod executor;
mod fold;
pub mod image_cache;
pub mod libvirt;
pub mod net;
mod report;
mod scrub;
mod sim;
mod source;
pub mod view;
pub mod volumes;
mod worker;

pub use driver::{DriverError, GuestSpec, GuestState, HypervisorDriver, VolumeChap, VolumeDisk};
pub use executor::{ExecutorConfig, ExecutorError, NodeExecutor};
pub use image_cache::{ImageCache, ImageError, ImageSource};
pub use libvirt::LibvirtDriver;
pub use report::{ReportError, Reporter};
pub use sim::SimDriver;
pub use source::{LocalSource, RecordSource, Records, SourceError, history_in};
pub use volumes::{RootDisks, VolumeReport, VolumeSync, WantedAttachment, WantedVolumes};
pub use worker::{Clock, driver_call};

#[cfg(test)]
mod tests;
