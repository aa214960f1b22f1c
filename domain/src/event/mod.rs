//! Events: past-tense facts. Each is a struct of its own, stored under its
//! type name and schema version (see docs/adr/0002-event-encoding.md).
//!
//! A released event struct is never edited. A changed fact gets a new struct
//! (or a new schema version of the same name) and, where old data must read
//! as new, an upcaster in [`Event::decode`].

mod account;
mod audit;
mod cloud;
mod image;
mod instance;
mod login;
mod network;
mod security;
mod tags;

pub use account::*;
pub use audit::*;
pub use cloud::*;
pub use image::*;
pub use instance::*;
pub use login::*;
pub use network::*;
pub use security::*;
pub use tags::*;

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
                if let Some(old) = upcast(event_type, schema, bytes) {
                    return old.map_err(malformed);
                }
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
    InstanceRequested = 2,
    InstancePlaced = 1,
    InstanceRunning = 1,
    InstanceTerminationRequested = 1,
    InstanceTerminated = 1,
    InstanceLaunchFailed = 1,
    UserCreated = 1,
    KeyPairCreated = 1,
    KeyPairDeleted = 1,
    GroupNameClaimed = 1,
    GroupNameReleased = 1,
    SecurityGroupCreated = 1,
    SecurityRulesAuthorized = 1,
    SecurityRulesRevoked = 1,
    SecurityGroupMemberAdded = 1,
    SecurityGroupMemberRemoved = 1,
    SecurityGroupDeleted = 1,
    AddressPoolConfigured = 1,
    PrivateAddressTaken = 1,
    PrivateAddressFreed = 1,
    PublicAddressTaken = 1,
    PublicAddressFreed = 1,
    AddressAllocated = 1,
    AddressAssociated = 1,
    AddressDisassociated = 1,
    AddressReleased = 1,
    InstanceAddressed = 1,
    InstancePublicAddressChanged = 1,
    InstanceStopRequested = 1,
    InstanceStopped = 1,
    InstanceStartRequested = 1,
    InstanceRebootRequested = 1,
    InstanceAttributeChanged = 1,
    TagsCreated = 1,
    TagsDeleted = 1,
    AccountNameClaimed = 1,
    VmTypeSet = 1,
    SecurityGroupReferenced = 1,
    SecurityGroupDereferenced = 1,
    AccessKeyStatusChanged = 1,
    AccessKeyDeleted = 1,
    UserDeleted = 1,
    InstanceGroupsChanged = 1,
    RequestRefused = 1,
    ClusterPolicySet = 1,
    NodeCredentialsIssued = 1,
    NodeUnreachable = 1,
    NodeReachable = 1,
    InstanceStartFailed = 1,
    NodeClaimed = 1,
    LoginProfileCreated = 1,
    LoginProfileUpdated = 1,
    LoginProfileDeleted = 1,
}

/// Older schema versions, read as the current one. Every retired
/// (type, schema) pair keeps a line in `fixtures/events.txt`.
fn upcast(event_type: &str, schema: u16, bytes: &[u8]) -> Option<Result<Event, postcard::Error>> {
    match (event_type, schema) {
        ("InstanceRequested", 1) => Some(
            postcard::from_bytes::<InstanceRequestedV1>(bytes).map(|v1| Event::InstanceRequested(v1.into())),
        ),
        _ => None,
    }
}
