//! The clients: accounts issuing EC2 requests drawn from the seed, naming
//! their own resources mostly and now and then another account's (which
//! must be answered as for a resource that does not exist).

use domain::AccountId;
use rand::Rng;
use rand::rngs::StdRng;

/// What a client knows of its account: the ids and names its answers gave.
#[derive(Debug)]
pub struct Known {
    pub account: AccountId,
    pub instances: Vec<String>,
    pub allocations: Vec<String>,
    pub tokens: Vec<String>,
    pub volumes: Vec<String>,
    pub snapshots: Vec<String>,
}

/// A request to send, and how to read its answer.
#[derive(Clone, Debug)]
pub struct Request {
    /// Index of the asking account.
    pub client: usize,
    pub params: Vec<(String, String)>,
    /// It names another account's resource: only "not found" may come back.
    pub foreign: bool,
}

impl Request {
    pub fn action(&self) -> &str {
        self.params.first().map_or("", |(_, v)| v.as_str())
    }
}

/// Whether a client may send `request` again while it is in flight (a
/// retry after a timeout): a RunInstances (with its ClientToken), a stop,
/// start or termination.
pub fn retried(request: &Request) -> bool {
    matches!(request.action(), "RunInstances" | "StopInstances" | "StartInstances" | "TerminateInstances")
}

const TYPES: [&str; 3] = ["t1.micro", "m1.small", "m1.medium"];
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl sim";

fn pick<'a>(rng: &mut StdRng, from: &'a [String]) -> Option<&'a String> {
    (!from.is_empty()).then(|| &from[rng.gen_range(0..from.len())])
}

/// The next request of a client drawn at random.
pub fn next(rng: &mut StdRng, clients: &[Known], image: &str, zone: &str) -> Request {
    let client = rng.gen_range(0..clients.len());
    let me = &clients[client];
    let other = &clients[rng.gen_range(0..clients.len())];
    // An instance id: the client's own, or (one time in ten) another's.
    let foreign = other.account != me.account && !other.instances.is_empty() && rng.gen_ratio(1, 10);
    let instance = if foreign { pick(rng, &other.instances) } else { pick(rng, &me.instances) }.cloned();
    let group = format!("g{}", rng.gen_range(0..4));
    let mut p: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| p.push((k.to_owned(), v));
    let mut named_foreign = false;
    match (rng.gen_range(0..100), instance) {
        (0..20, _) => {
            set("Action", "RunInstances".into());
            set("ImageId", image.to_owned());
            set("MinCount", "1".into());
            set("MaxCount", rng.gen_range(1..=3).to_string());
            set("InstanceType", TYPES[rng.gen_range(0..TYPES.len())].into());
            match pick(rng, &me.tokens) {
                Some(token) if rng.gen_ratio(1, 4) => set("ClientToken", token.clone()),
                _ => set("ClientToken", format!("t{}", rng.r#gen::<u32>())),
            }
            if rng.gen_ratio(1, 3) {
                set("SecurityGroup.1", group);
            }
            if rng.gen_ratio(1, 3) {
                set("KeyName", format!("k{}", rng.gen_range(0..3)));
            }
        }
        (20..45, Some(id)) => {
            let action =
                ["TerminateInstances", "StopInstances", "StartInstances", "RebootInstances", "StopInstances"]
                    [rng.gen_range(0..5)];
            set("Action", action.into());
            set("InstanceId.1", id);
            named_foreign = foreign;
        }
        (45..55, Some(id)) => {
            let delete = rng.gen_ratio(1, 3);
            set("Action", if delete { "DeleteTags" } else { "CreateTags" }.into());
            set("ResourceId.1", id);
            set("Tag.1.Key", format!("k{}", rng.gen_range(0..3)));
            if !delete {
                set("Tag.1.Value", format!("v{}", rng.gen_range(0..100)));
            }
            named_foreign = foreign;
        }
        (55..70, _) => {
            let action = [
                "CreateSecurityGroup",
                "DeleteSecurityGroup",
                "AuthorizeSecurityGroupIngress",
                "AuthorizeSecurityGroupIngress",
                "RevokeSecurityGroupIngress",
            ][rng.gen_range(0..5)];
            set("Action", action.into());
            set("GroupName", group);
            match action {
                "CreateSecurityGroup" => set("GroupDescription", "simulated".into()),
                "DeleteSecurityGroup" => {}
                _ => {
                    let port = 20 + rng.gen_range(0..4) * 1000;
                    set("IpPermissions.1.IpProtocol", "tcp".into());
                    set("IpPermissions.1.FromPort", port.to_string());
                    set("IpPermissions.1.ToPort", port.to_string());
                    set("IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8".into());
                }
            }
        }
        (70..75, _) => {
            let import = rng.gen_ratio(2, 3);
            set("Action", if import { "ImportKeyPair" } else { "DeleteKeyPair" }.into());
            set("KeyName", format!("k{}", rng.gen_range(0..3)));
            if import {
                set("PublicKeyMaterial", KEY.into());
            }
        }
        (75..88, instance) => {
            let allocation = pick(rng, &me.allocations).cloned();
            match (rng.gen_range(0..4), allocation, instance) {
                (0, _, _) | (_, None, _) => set("Action", "AllocateAddress".into()),
                (1, Some(a), Some(i)) if !foreign => {
                    set("Action", "AssociateAddress".into());
                    set("AllocationId", a);
                    set("InstanceId", i);
                    set("AllowReassociation", "true".into());
                }
                (2, Some(a), _) => {
                    set("Action", "ReleaseAddress".into());
                    set("AllocationId", a);
                }
                (_, Some(a), _) => {
                    set("Action", "DescribeAddresses".into());
                    set("AllocationId.1", a);
                }
            }
        }
        (88..96, instance) => {
            // Volumes and snapshots: the client's own, or (one time in
            // ten) another account's.
            let foreign_volume =
                other.account != me.account && !other.volumes.is_empty() && rng.gen_ratio(1, 10);
            let volume =
                if foreign_volume { pick(rng, &other.volumes) } else { pick(rng, &me.volumes) }.cloned();
            let snapshot = pick(rng, &me.snapshots).cloned();
            // Attachments name the newest instance and volume mostly (the
            // older ones are likely gone).
            let attachment = rng.gen_ratio(1, 2);
            let newest = |from: &[String], or: Option<String>| match from.last() {
                Some(last) if !foreign_volume && !foreign => Some(last.clone()),
                _ => or,
            };
            let (volume, instance) = if attachment && rng.gen_ratio(2, 3) {
                (newest(&me.volumes, volume), newest(&me.instances, instance))
            } else {
                (volume, instance)
            };
            if let (true, Some(v), Some(i)) = (attachment, volume.clone(), instance) {
                // Attach one's own volume to one's own instance (or, now
                // and then, another's volume to one's own), or detach it.
                if rng.gen_ratio(2, 3) && !foreign {
                    set("Action", "AttachVolume".into());
                    set("VolumeId", v);
                    set("InstanceId", i);
                    set("Device", format!("/dev/sd{}", ['f', 'g', 'h'][rng.gen_range(0..3)]));
                } else {
                    set("Action", "DetachVolume".into());
                    set("VolumeId", v);
                    if rng.gen_ratio(1, 4) {
                        set("Force", "true".into());
                    }
                }
                named_foreign = foreign_volume;
            } else {
                volume_or_snapshot(rng, &mut set, &mut named_foreign, foreign_volume, volume, snapshot, zone);
            }
        }
        (_, Some(id)) => {
            set("Action", "DescribeInstances".into());
            set("InstanceId.1", id);
            named_foreign = foreign;
        }
        (_, None) => set("Action", "DescribeInstances".into()),
    }
    p.push(("Version".into(), "2016-11-15".into()));
    Request { client, params: p, foreign: named_foreign }
}

/// A request about a volume or a snapshot (not an attachment).
fn volume_or_snapshot(
    rng: &mut StdRng,
    set: &mut impl FnMut(&str, String),
    named_foreign: &mut bool,
    foreign_volume: bool,
    volume: Option<String>,
    snapshot: Option<String>,
    zone: &str,
) {
    match (rng.gen_range(0..7), volume, snapshot) {
        (0 | 1, _, _) | (_, None, None) => {
            set("Action", "CreateVolume".into());
            set("Size", rng.gen_range(1..=4).to_string());
            set("AvailabilityZone", zone.to_owned());
        }
        (2, _, Some(s)) => {
            set("Action", "CreateVolume".into());
            set("SnapshotId", s);
            set("AvailabilityZone", zone.to_owned());
        }
        (3, Some(v), _) => {
            set("Action", "DeleteVolume".into());
            set("VolumeId", v);
            *named_foreign = foreign_volume;
        }
        (4, Some(v), _) => {
            set("Action", "CreateSnapshot".into());
            set("VolumeId", v);
            *named_foreign = foreign_volume;
        }
        (5, _, Some(s)) => {
            set("Action", "DeleteSnapshot".into());
            set("SnapshotId", s);
        }
        (_, Some(v), _) => {
            set("Action", "DescribeVolumes".into());
            set("VolumeId.1", v);
            *named_foreign = foreign_volume;
        }
        (_, None, Some(s)) => {
            set("Action", "DescribeSnapshots".into());
            set("SnapshotId.1", s);
        }
    }
}
