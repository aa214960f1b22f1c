//! Events: past-tense facts. Each is a struct of its own, stored under its
//! type name and schema version (see docs/adr/0002-event-encoding.md).
//!
//! A released event struct is never edited. A changed fact gets a new struct
//! (or a new schema version of the same name) and, where old data must read
//! as new, an upcaster in [`Event::decode`].

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

// ---- cloud stream ----

/// The cloud was set up: its region, VM types and system account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudInitialized {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub at: Timestamp,
}

/// A cluster (availability zone) joined the cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterAdded {
    pub zone: ZoneName,
    pub at: Timestamp,
}

// ---- cluster stream ----

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterRegistered {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRegistered {
    pub node: NodeId,
    pub zone: ZoneName,
    pub host: String,
    pub hypervisor: String,
    pub capacity: Resources,
    pub at: Timestamp,
}

/// The scheduler set aside room on a node for an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityReserved {
    pub node: NodeId,
    pub instance: InstanceId,
    pub amount: Resources,
}

/// An instance gave its room on a node back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityReleased {
    pub node: NodeId,
    pub instance: InstanceId,
}

// ---- account stream ----

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountCreated {
    pub account: AccountId,
    pub name: String,
    pub at: Timestamp,
}

/// An access key for a user; the secret is sealed with the master key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyCreated {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
    pub at: Timestamp,
}

// ---- image stream ----

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRegistered {
    pub image: ImageId,
    pub owner: AccountId,
    pub kind: ImageKind,
    pub name: String,
    pub description: String,
    pub architecture: String,
    pub location: String,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub public: bool,
    pub at: Timestamp,
}

// ---- reservation and client-token streams ----

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReservationCreated {
    pub reservation: ReservationId,
    pub account: AccountId,
    pub requester: UserName,
    pub instances: Vec<InstanceId>,
    pub at: Timestamp,
}

/// A RunInstances client token was used; a retry with the same token
/// answers with this reservation instead of launching again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientTokenClaimed {
    pub account: AccountId,
    pub token: String,
    pub reservation: ReservationId,
    /// What the first request asked for; a retry asking for something else
    /// is refused (EC2's IdempotentParameterMismatch).
    pub fingerprint: String,
}

// ---- instance stream ----

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRequested {
    pub instance: InstanceId,
    pub reservation: ReservationId,
    pub account: AccountId,
    pub image: ImageId,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub vm_type: VmType,
    pub launch_index: u32,
    pub user_data: Vec<u8>,
    pub client_token: Option<String>,
    pub at: Timestamp,
}

/// The scheduler chose a node: the node executor acts on this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstancePlaced {
    pub node: NodeId,
    pub zone: ZoneName,
    pub at: Timestamp,
}

/// The node reports the guest is up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRunning {
    pub node: NodeId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceTerminationRequested {
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceTerminated {
    pub reason: StateReason,
    pub at: Timestamp,
}

/// The node could not start the guest; the instance ends terminated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceLaunchFailed {
    pub node: NodeId,
    pub reason: StateReason,
    pub at: Timestamp,
}

/// Errors decoding a stored event.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unknown event type {event_type:?} (schema {schema})")]
    UnknownType { event_type: String, schema: u16 },
    #[error("event {event_type:?} (schema {schema}) does not decode: {source}")]
    Malformed {
        event_type: String,
        schema: u16,
        #[source]
        source: postcard::Error,
    },
}

macro_rules! events {
    ($($name:ident = $schema:literal),+ $(,)?) => {
        /// Every fact the domain records.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Event {
            $($name($name)),+
        }

        impl Event {
            /// Every (type name, current schema version) pair.
            pub const TYPES: &'static [(&'static str, u16)] = &[$((stringify!($name), $schema)),+];

            /// The type name stored in the envelope.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Event::$name(_) => stringify!($name)),+
                }
            }

            /// The schema version this build writes.
            pub fn schema(&self) -> u16 {
                match self {
                    $(Event::$name(_) => $schema),+
                }
            }

            /// The payload bytes (postcard) of the event, without its type.
            pub fn encode(&self) -> Vec<u8> {
                let bytes = match self {
                    $(Event::$name(e) => postcard::to_stdvec(e)),+
                };
                bytes.expect("encoding an in-memory event cannot fail")
            }

            /// Decodes a payload by its stored type name and schema version.
            /// Older schema versions are upcast here.
            pub fn decode(event_type: &str, schema: u16, bytes: &[u8]) -> Result<Event, CodecError> {
                let malformed = |source| CodecError::Malformed {
                    event_type: event_type.to_owned(),
                    schema,
                    source,
                };
                match (event_type, schema) {
                    $((stringify!($name), $schema) => {
                        postcard::from_bytes::<$name>(bytes).map(Event::$name).map_err(malformed)
                    })+
                    _ => Err(CodecError::UnknownType { event_type: event_type.to_owned(), schema }),
                }
            }
        }

        $(impl From<$name> for Event {
            fn from(e: $name) -> Event {
                Event::$name(e)
            }
        })+
    };
}

events! {
    CloudInitialized = 1,
    ClusterAdded = 1,
    ClusterRegistered = 1,
    NodeRegistered = 1,
    CapacityReserved = 1,
    CapacityReleased = 1,
    AccountCreated = 1,
    AccessKeyCreated = 1,
    ImageRegistered = 1,
    ReservationCreated = 1,
    ClientTokenClaimed = 1,
    InstanceRequested = 1,
    InstancePlaced = 1,
    InstanceRunning = 1,
    InstanceTerminationRequested = 1,
    InstanceTerminated = 1,
    InstanceLaunchFailed = 1,
}
