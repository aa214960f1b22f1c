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

#[cfg(test)]
mod parser_tests;

/// The volume types CreateVolume accepts (the console offers them).
pub use create_volume::VOLUME_TYPES;

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::access::Access;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;

/// The registry: each action, the module that parses and runs it, and who
/// may call it (its [`Access`]: authorization, DryRun and which refusals
/// are recorded depend on it).
macro_rules! actions {
    ($($name:ident => $module:ident :: $parse:ident, access: $access:ident;)+) => {
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
                    other => Err(invalid_action(other)),
                }
            }

            /// Who may call the action named `name`; `None` for a name
            /// this endpoint does not answer.
            pub fn access_by_name(name: &str) -> Option<Access> {
                match name {
                    $(stringify!($name) => Some(Access::$access),)+
                    _ => None,
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
    RunInstances => run_instances::parse, access: Change;
    DescribeInstances => describe_instances::parse, access: Read;
    TerminateInstances => instance_states::parse_terminate, access: Change;
    StopInstances => instance_states::parse_stop, access: Change;
    StartInstances => instance_states::parse_start, access: Change;
    RebootInstances => instance_states::parse_reboot, access: Change;
    DescribeInstanceStatus => describe_instance_status::parse, access: Read;
    DescribeInstanceAttribute => describe_instance_attribute::parse, access: Read;
    ModifyInstanceAttribute => modify_instance_attribute::parse, access: Change;
    GetConsoleOutput => get_console_output::parse, access: Read;
    DescribeInstanceTypes => describe_instance_types::parse, access: Read;
    ModifyInstanceTypeAttribute => modify_instance_type_attribute::parse, access: CloudAdmin;
    DescribeImages => describe_images::parse, access: Read;
    RegisterImage => register_image::parse, access: Change;
    DeregisterImage => deregister_image::parse, access: Change;
    CreateImage => create_image::parse, access: Change;
    DescribeImageAttribute => image_attribute::parse_describe, access: Read;
    ModifyImageAttribute => image_attribute::parse_modify, access: Change;
    ResetImageAttribute => image_attribute::parse_reset, access: Change;
    DescribeRegions => describe_regions::parse, access: Read;
    DescribeAvailabilityZones => describe_availability_zones::parse, access: Read;
    DescribeAccountAttributes => describe_account_attributes::parse, access: Read;
    CreateKeyPair => create_key_pair::parse, access: Change;
    ImportKeyPair => import_key_pair::parse, access: Change;
    DescribeKeyPairs => describe_key_pairs::parse, access: Read;
    DeleteKeyPair => delete_key_pair::parse, access: Change;
    CreateSecurityGroup => create_security_group::parse, access: Change;
    DeleteSecurityGroup => delete_security_group::parse, access: Change;
    DescribeSecurityGroups => describe_security_groups::parse, access: Read;
    AuthorizeSecurityGroupIngress => security_group_rules::parse_authorize_ingress, access: Change;
    AuthorizeSecurityGroupEgress => security_group_rules::parse_authorize_egress, access: Change;
    RevokeSecurityGroupIngress => security_group_rules::parse_revoke_ingress, access: Change;
    RevokeSecurityGroupEgress => security_group_rules::parse_revoke_egress, access: Change;
    AllocateAddress => allocate_address::parse, access: Change;
    AssociateAddress => associate_address::parse, access: Change;
    DisassociateAddress => disassociate_address::parse, access: Change;
    ReleaseAddress => release_address::parse, access: Change;
    DescribeAddresses => describe_addresses::parse, access: Read;
    CreateTags => create_tags::parse, access: Change;
    DeleteTags => delete_tags::parse, access: Change;
    DescribeTags => describe_tags::parse, access: Read;
    CreateVolume => create_volume::parse, access: Change;
    DescribeVolumes => describe_volumes::parse, access: Read;
    DeleteVolume => delete_volume::parse, access: Change;
    AttachVolume => attach_volume::parse_attach, access: Change;
    DetachVolume => attach_volume::parse_detach, access: Change;
    DescribeVolumeStatus => describe_volume_status::parse, access: Read;
    DescribeVolumeAttribute => volume_attribute::parse_describe, access: Read;
    ModifyVolumeAttribute => volume_attribute::parse_modify, access: Change;
    CreateSnapshot => create_snapshot::parse_one, access: Change;
    CreateSnapshots => create_snapshot::parse_of_instance, access: Change;
    DescribeSnapshots => describe_snapshots::parse, access: Read;
    DeleteSnapshot => delete_snapshot::parse, access: Change;
    CopySnapshot => copy_snapshot::parse, access: Change;
    DescribeSnapshotAttribute => snapshot_attribute::parse_describe, access: Read;
    ModifySnapshotAttribute => snapshot_attribute::parse_modify, access: Change;
    ResetSnapshotAttribute => snapshot_attribute::parse_reset, access: Change;
}

/// EC2's answer to an action it does not know.
pub fn invalid_action(name: &str) -> Ec2Error {
    Ec2Error::new(Code::InvalidAction, format!("The action {name} is not valid for this web service."))
}

/// Parses `prefix.N` instance ids; a malformed one is EC2's
/// InvalidInstanceID.Malformed.
pub(crate) fn instance_ids(params: &Params, prefix: &str) -> Result<Vec<domain::InstanceId>, Ec2Error> {
    params
        .list(prefix)
        .into_iter()
        .map(|s| {
            domain::InstanceId::parse(s)
                .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{s}\"")))
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
