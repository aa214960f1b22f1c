//! Stream ids: every event belongs to exactly one stream, and a stream is
//! owned by one aggregate (see DESIGN.md, "Where a decision lives").

use crate::ids::*;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(String);

/// What kind of aggregate owns a stream; the part of the id before `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Cloud,
    Cluster,
    Account,
    Image,
    Instance,
    Reservation,
    ClientToken,
    SecurityGroup,
    Network,
    ElasticIp,
    AccountName,
    /// Claims a node id for one cluster.
    Node,
    /// Refused requests (audit only; no aggregate).
    Refused,
    Volume,
    Snapshot,
    /// A zone's block storage (its storage controller's capacity).
    Storage,
    /// An S3 bucket (by name) with its objects.
    Bucket,
    Unknown,
}

// The part of a stream id before its `/` (or the whole id), by kind.
const CLOUD: &str = "cloud";
const CLUSTER: &str = "cluster";
const ACCOUNT: &str = "account";
const IMAGE: &str = "image";
const INSTANCE: &str = "instance";
const RESERVATION: &str = "reservation";
const CLIENT_TOKEN: &str = "token";
const ACCOUNT_NAME: &str = "account-name";
const SECURITY_GROUP: &str = "sg";
const NODE: &str = "node";
const NETWORK: &str = "network";
const ELASTIC_IP: &str = "eip";
const REFUSED: &str = "refused";
const VOLUME: &str = "volume";
const SNAPSHOT: &str = "snapshot";
const STORAGE: &str = "storage";
const BUCKET: &str = "bucket";

impl StreamId {
    pub fn cloud() -> Self {
        StreamId(CLOUD.to_owned())
    }
    pub fn cluster(zone: &ZoneName) -> Self {
        StreamId(format!("{CLUSTER}/{zone}"))
    }
    pub fn account(account: &AccountId) -> Self {
        StreamId(format!("{ACCOUNT}/{account}"))
    }
    pub fn image(image: &ImageId) -> Self {
        StreamId(format!("{IMAGE}/{image}"))
    }
    pub fn instance(instance: &InstanceId) -> Self {
        StreamId(format!("{INSTANCE}/{instance}"))
    }
    pub fn reservation(reservation: &ReservationId) -> Self {
        StreamId(format!("{RESERVATION}/{reservation}"))
    }
    pub fn client_token(account: &AccountId, token: &str) -> Self {
        StreamId(format!("{CLIENT_TOKEN}/{account}/{token}"))
    }

    /// Claims an account name.
    pub fn account_name(name: &str) -> Self {
        StreamId(format!("{ACCOUNT_NAME}/{name}"))
    }
    pub fn security_group(group: &SecurityGroupId) -> Self {
        StreamId(format!("{SECURITY_GROUP}/{group}"))
    }
    /// Claims a node id (for the cluster of its first registration).
    pub fn node(node: &NodeId) -> Self {
        StreamId(format!("{NODE}/{node}"))
    }
    pub fn network() -> Self {
        StreamId(NETWORK.to_owned())
    }
    pub fn elastic_ip(allocation: &AllocationId) -> Self {
        StreamId(format!("{ELASTIC_IP}/{allocation}"))
    }

    pub fn volume(volume: &VolumeId) -> Self {
        StreamId(format!("{VOLUME}/{volume}"))
    }
    pub fn snapshot(snapshot: &SnapshotId) -> Self {
        StreamId(format!("{SNAPSHOT}/{snapshot}"))
    }
    /// A zone's block storage: its capacity and what is reserved of it.
    pub fn storage(zone: &ZoneName) -> Self {
        StreamId(format!("{STORAGE}/{zone}"))
    }
    /// An S3 bucket: its configuration, objects and uploads.
    pub fn bucket(bucket: &crate::buckets::BucketName) -> Self {
        StreamId(format!("{BUCKET}/{bucket}"))
    }
    /// Every refused request of every account (`RequestRefused`): one
    /// stream appended with any expected version, since no decision reads
    /// it, so refusals never conflict with each other or with decisions.
    pub fn refused() -> Self {
        StreamId(REFUSED.to_owned())
    }

    /// A stream id read back from the log.
    pub fn from_stored(s: &str) -> Self {
        StreamId(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> StreamKind {
        StreamKind::of(&self.0)
    }

    /// What this is the stream of.
    pub fn parse(&self) -> ParsedStream {
        ParsedStream::of(&self.0)
    }
}

impl StreamKind {
    /// The kind of a stream id as stored, without making a [`StreamId`]
    /// (for code that looks at every record of the log).
    pub fn of(stream: &str) -> StreamKind {
        match stream.split_once('/').map_or(stream, |(kind, _)| kind) {
            CLOUD => StreamKind::Cloud,
            CLUSTER => StreamKind::Cluster,
            ACCOUNT => StreamKind::Account,
            IMAGE => StreamKind::Image,
            INSTANCE => StreamKind::Instance,
            RESERVATION => StreamKind::Reservation,
            CLIENT_TOKEN => StreamKind::ClientToken,
            SECURITY_GROUP => StreamKind::SecurityGroup,
            NETWORK => StreamKind::Network,
            ELASTIC_IP => StreamKind::ElasticIp,
            ACCOUNT_NAME => StreamKind::AccountName,
            NODE => StreamKind::Node,
            REFUSED => StreamKind::Refused,
            VOLUME => StreamKind::Volume,
            SNAPSHOT => StreamKind::Snapshot,
            STORAGE => StreamKind::Storage,
            BUCKET => StreamKind::Bucket,
            _ => StreamKind::Unknown,
        }
    }
}

/// A stream id read back: the kind of stream and the typed ids in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedStream {
    Cloud,
    Cluster(ZoneName),
    Account(AccountId),
    Image(ImageId),
    Instance(InstanceId),
    Reservation(ReservationId),
    ClientToken {
        account: AccountId,
        token: String,
    },
    SecurityGroup(SecurityGroupId),
    Network,
    ElasticIp(AllocationId),
    AccountName(String),
    Node(NodeId),
    Refused,
    Volume(VolumeId),
    Snapshot(SnapshotId),
    Storage(ZoneName),
    Bucket(crate::buckets::BucketName),
    /// Not a stream the domain writes (or an id of the wrong shape).
    Unknown,
}

impl ParsedStream {
    /// What the stream `stream` (as stored) is the stream of.
    pub fn of(stream: &str) -> ParsedStream {
        let parsed = match stream.split_once('/') {
            None => match stream {
                CLOUD => Some(ParsedStream::Cloud),
                NETWORK => Some(ParsedStream::Network),
                REFUSED => Some(ParsedStream::Refused),
                _ => None,
            },
            Some((CLUSTER, zone)) => ZoneName::parse(zone).ok().map(ParsedStream::Cluster),
            Some((ACCOUNT, id)) => AccountId::parse(id).ok().map(ParsedStream::Account),
            Some((IMAGE, id)) => ImageId::parse(id).ok().map(ParsedStream::Image),
            Some((INSTANCE, id)) => InstanceId::parse(id).ok().map(ParsedStream::Instance),
            Some((RESERVATION, id)) => ReservationId::parse(id).ok().map(ParsedStream::Reservation),
            Some((CLIENT_TOKEN, rest)) => rest.split_once('/').and_then(|(account, token)| {
                let account = AccountId::parse(account).ok()?;
                Some(ParsedStream::ClientToken { account, token: token.to_owned() })
            }),
            Some((SECURITY_GROUP, id)) => SecurityGroupId::parse(id).ok().map(ParsedStream::SecurityGroup),
            Some((ELASTIC_IP, id)) => AllocationId::parse(id).ok().map(ParsedStream::ElasticIp),
            Some((ACCOUNT_NAME, name)) if !name.is_empty() => {
                Some(ParsedStream::AccountName(name.to_owned()))
            }
            Some((NODE, id)) => NodeId::parse(id).ok().map(ParsedStream::Node),
            Some((VOLUME, id)) => VolumeId::parse(id).ok().map(ParsedStream::Volume),
            Some((SNAPSHOT, id)) => SnapshotId::parse(id).ok().map(ParsedStream::Snapshot),
            Some((STORAGE, zone)) => ZoneName::parse(zone).ok().map(ParsedStream::Storage),
            Some((BUCKET, name)) => crate::buckets::BucketName::parse(name).ok().map(ParsedStream::Bucket),
            Some(_) => None,
        };
        parsed.unwrap_or(ParsedStream::Unknown)
    }

    /// The instance whose stream `stream` is, if it is one; nothing is
    /// made for other streams (for code that looks at every record).
    pub fn instance(stream: &str) -> Option<InstanceId> {
        let id = stream.strip_prefix(INSTANCE)?.strip_prefix('/')?;
        InstanceId::parse(id).ok()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_id_parses_back_to_what_made_it() {
        let account = AccountId::from_bits(42);
        let instance = InstanceId::from_bits(7);
        let cases = [
            (StreamId::cloud(), ParsedStream::Cloud),
            (StreamId::network(), ParsedStream::Network),
            (StreamId::refused(), ParsedStream::Refused),
            (
                StreamId::cluster(&ZoneName::parse("z-1").unwrap()),
                ParsedStream::Cluster(ZoneName::parse("z-1").unwrap()),
            ),
            (StreamId::account(&account), ParsedStream::Account(account.clone())),
            (StreamId::image(&ImageId::from_bits(3)), ParsedStream::Image(ImageId::from_bits(3))),
            (StreamId::instance(&instance), ParsedStream::Instance(instance.clone())),
            (
                StreamId::reservation(&ReservationId::from_bits(4)),
                ParsedStream::Reservation(ReservationId::from_bits(4)),
            ),
            (
                StreamId::client_token(&account, "a/b token"),
                ParsedStream::ClientToken { account: account.clone(), token: "a/b token".into() },
            ),
            (
                StreamId::security_group(&SecurityGroupId::from_bits(5)),
                ParsedStream::SecurityGroup(SecurityGroupId::from_bits(5)),
            ),
            (
                StreamId::elastic_ip(&AllocationId::from_bits(6)),
                ParsedStream::ElasticIp(AllocationId::from_bits(6)),
            ),
            (StreamId::account_name("team-a"), ParsedStream::AccountName("team-a".into())),
            (StreamId::node(&NodeId::from_bits(8)), ParsedStream::Node(NodeId::from_bits(8))),
            (StreamId::volume(&VolumeId::from_bits(9)), ParsedStream::Volume(VolumeId::from_bits(9))),
            (
                StreamId::snapshot(&SnapshotId::from_bits(10)),
                ParsedStream::Snapshot(SnapshotId::from_bits(10)),
            ),
            (
                StreamId::storage(&ZoneName::parse("yukari-1a").unwrap()),
                ParsedStream::Storage(ZoneName::parse("yukari-1a").unwrap()),
            ),
        ];
        for (stream, parsed) in cases {
            assert_eq!(stream.parse(), parsed, "{stream}");
            assert_eq!(ParsedStream::of(stream.as_str()), parsed, "{stream}");
            assert_ne!(stream.kind(), StreamKind::Unknown, "{stream}");
            let is_instance = matches!(parsed, ParsedStream::Instance(_));
            assert_eq!(ParsedStream::instance(stream.as_str()).is_some(), is_instance, "{stream}");
        }
        assert_eq!(ParsedStream::instance(StreamId::instance(&instance).as_str()), Some(instance));
    }

    #[test]
    fn other_strings_are_unknown() {
        for s in [
            "",
            "cloud/x",
            "instancex/i-00000001",
            "instance/",
            "instance/i-nothex1",
            "sg/i-00000001",
            "volume/snap-00000000000000001",
            "snapshot/vol-1",
            "storage/",
            "token/12",
            "bench-1/3",
        ] {
            assert_eq!(ParsedStream::of(s), ParsedStream::Unknown, "{s:?}");
            assert_eq!(ParsedStream::instance(s), None, "{s:?}");
        }
        assert_eq!(StreamKind::of("instancex/1"), StreamKind::Unknown);
        assert_eq!(StreamKind::of("instance/i-1"), StreamKind::Instance);
    }
}
