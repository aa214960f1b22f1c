//! One module per EC2 action: `parse` (parameters → request, before
//! anything happens) and `run` (request → command or query → XML).

mod allocate_address;
mod associate_address;
mod attach_volume;
mod block_device_mappings;
mod copy_snapshot;
mod create_image;
mod create_key_pair;
mod create_security_group;
mod create_snapshot;
mod create_tags;
mod create_volume;
mod delete_key_pair;
mod delete_security_group;
mod delete_snapshot;
mod delete_tags;
mod delete_volume;
mod deregister_image;
mod describe_account_attributes;
mod describe_addresses;
mod describe_availability_zones;
mod describe_images;
mod describe_instance_attribute;
mod describe_instance_status;
mod describe_instance_types;
mod describe_instances;
mod describe_key_pairs;
mod describe_regions;
mod describe_security_groups;
mod describe_snapshots;
mod describe_tags;
mod describe_volume_status;
mod describe_volumes;
mod disassociate_address;
mod get_console_output;
mod image_attribute;
mod import_key_pair;
mod instance_states;
mod modify_instance_attribute;
mod modify_instance_type_attribute;
mod register_image;
mod release_address;
mod run_instances;
mod security_group_rules;
mod snapshot_attribute;
mod volume_attribute;
mod volume_items;

/// The volume types CreateVolume accepts (the console offers them).
pub use create_volume::VOLUME_TYPES;

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;

/// The registry: each action, the module that parses and runs it, and
/// whether it changes anything (DryRun and authorization depend on it).
macro_rules! actions {
    ($($name:ident => $module:ident :: $parse:ident, changes: $changes:literal;)+) => {
        /// Every action this endpoint answers, parsed.
        #[derive(Debug)]
        pub enum Action {
            $($name($module::Request)),+
        }

        impl Action {
            /// The name of every action this endpoint answers, in the
            /// registry's order (the tenancy matrix is generated from it).
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),+];

            pub fn parse(name: &str, params: &Params) -> Result<Action, Ec2Error> {
                match name {
                    $(stringify!($name) => Ok(Action::$name($module::$parse(params)?)),)+
                    other => Err(Ec2Error::new(
                        "InvalidAction",
                        format!("The action {other} is not valid for this web service."),
                    )),
                }
            }

            /// Whether the action named `name` changes anything; `None`
            /// for a name this endpoint does not answer.
            pub fn changes_by_name(name: &str) -> Option<bool> {
                match name {
                    $(stringify!($name) => Some($changes),)+
                    _ => None,
                }
            }

            /// Does the action change anything (as opposed to describe)?
            pub fn changes(&self) -> bool {
                match self {
                    $(Action::$name(_) => $changes),+
                }
            }

            pub async fn run(self, app: &App, ctx: &Ctx) -> Result<String, Ec2Error> {
                match self {
                    $(Action::$name(r) => $module::run(app, ctx, r).await),+
                }
            }
        }
    };
}

actions! {
    RunInstances => run_instances::parse, changes: true;
    DescribeInstances => describe_instances::parse, changes: false;
    TerminateInstances => instance_states::parse_terminate, changes: true;
    StopInstances => instance_states::parse_stop, changes: true;
    StartInstances => instance_states::parse_start, changes: true;
    RebootInstances => instance_states::parse_reboot, changes: true;
    DescribeInstanceStatus => describe_instance_status::parse, changes: false;
    DescribeInstanceAttribute => describe_instance_attribute::parse, changes: false;
    ModifyInstanceAttribute => modify_instance_attribute::parse, changes: true;
    GetConsoleOutput => get_console_output::parse, changes: false;
    DescribeInstanceTypes => describe_instance_types::parse, changes: false;
    ModifyInstanceTypeAttribute => modify_instance_type_attribute::parse, changes: true;
    DescribeImages => describe_images::parse, changes: false;
    RegisterImage => register_image::parse, changes: true;
    DeregisterImage => deregister_image::parse, changes: true;
    CreateImage => create_image::parse, changes: true;
    DescribeImageAttribute => image_attribute::parse_describe, changes: false;
    ModifyImageAttribute => image_attribute::parse_modify, changes: true;
    ResetImageAttribute => image_attribute::parse_reset, changes: true;
    DescribeRegions => describe_regions::parse, changes: false;
    DescribeAvailabilityZones => describe_availability_zones::parse, changes: false;
    DescribeAccountAttributes => describe_account_attributes::parse, changes: false;
    CreateKeyPair => create_key_pair::parse, changes: true;
    ImportKeyPair => import_key_pair::parse, changes: true;
    DescribeKeyPairs => describe_key_pairs::parse, changes: false;
    DeleteKeyPair => delete_key_pair::parse, changes: true;
    CreateSecurityGroup => create_security_group::parse, changes: true;
    DeleteSecurityGroup => delete_security_group::parse, changes: true;
    DescribeSecurityGroups => describe_security_groups::parse, changes: false;
    AuthorizeSecurityGroupIngress => security_group_rules::parse_authorize_ingress, changes: true;
    AuthorizeSecurityGroupEgress => security_group_rules::parse_authorize_egress, changes: true;
    RevokeSecurityGroupIngress => security_group_rules::parse_revoke_ingress, changes: true;
    RevokeSecurityGroupEgress => security_group_rules::parse_revoke_egress, changes: true;
    AllocateAddress => allocate_address::parse, changes: true;
    AssociateAddress => associate_address::parse, changes: true;
    DisassociateAddress => disassociate_address::parse, changes: true;
    ReleaseAddress => release_address::parse, changes: true;
    DescribeAddresses => describe_addresses::parse, changes: false;
    CreateTags => create_tags::parse, changes: true;
    DeleteTags => delete_tags::parse, changes: true;
    DescribeTags => describe_tags::parse, changes: false;
    CreateVolume => create_volume::parse, changes: true;
    DescribeVolumes => describe_volumes::parse, changes: false;
    DeleteVolume => delete_volume::parse, changes: true;
    AttachVolume => attach_volume::parse_attach, changes: true;
    DetachVolume => attach_volume::parse_detach, changes: true;
    DescribeVolumeStatus => describe_volume_status::parse, changes: false;
    DescribeVolumeAttribute => volume_attribute::parse_describe, changes: false;
    ModifyVolumeAttribute => volume_attribute::parse_modify, changes: true;
    CreateSnapshot => create_snapshot::parse_one, changes: true;
    CreateSnapshots => create_snapshot::parse_of_instance, changes: true;
    DescribeSnapshots => describe_snapshots::parse, changes: false;
    DeleteSnapshot => delete_snapshot::parse, changes: true;
    CopySnapshot => copy_snapshot::parse, changes: true;
    DescribeSnapshotAttribute => snapshot_attribute::parse_describe, changes: false;
    ModifySnapshotAttribute => snapshot_attribute::parse_modify, changes: true;
    ResetSnapshotAttribute => snapshot_attribute::parse_reset, changes: true;
}

/// Parses `prefix.N` instance ids; a malformed one is EC2's
/// InvalidInstanceID.Malformed.
pub(crate) fn instance_ids(params: &Params, prefix: &str) -> Result<Vec<domain::InstanceId>, Ec2Error> {
    params
        .list(prefix)
        .into_iter()
        .map(|s| {
            domain::InstanceId::parse(s)
                .map_err(|_| Ec2Error::new("InvalidInstanceID.Malformed", format!("Invalid id: \"{s}\"")))
        })
        .collect()
}

/// A Describe* request of names (`prefix.N`) and filters, checked against
/// the filter names the action knows.
#[derive(Debug)]
pub struct NamedQuery {
    pub names: Vec<String>,
    pub filters: Vec<crate::ec2::params::Filter>,
}

impl NamedQuery {
    pub fn parse(params: &Params, prefix: &str, known_filters: &[&str]) -> Result<NamedQuery, Ec2Error> {
        let filters = params.filters()?;
        crate::ec2::filter::check_names(&filters, known_filters)?;
        Ok(NamedQuery { names: params.list(prefix).into_iter().map(str::to_owned).collect(), filters })
    }
}
