//! Typed identifiers. Every id that crosses the API looks like the AWS one
//! (`i-` + 17 lowercase hex digits, 12-digit account numbers, …); the domain
//! never makes them up, it only checks their shape.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A string that does not have the shape of the id it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {kind} id {value:?}")]
pub struct MalformedId {
    pub kind: &'static str,
    pub value: String,
}

fn is_lower_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `prefix-` followed by 8 (legacy) or 17 lowercase hex digits.
fn hex_id_ok(value: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| {
        value
            .strip_prefix(p)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && is_lower_hex(hex))
    })
}

/// Renders `prefix-` and the low 68 bits of `bits` as 17 hex digits.
fn hex_id_from_bits(prefix: &str, bits: u128) -> String {
    format!("{prefix}-{:017x}", bits & ((1u128 << 68) - 1))
}

/// The text of an id: kept inline when it fits in 23 bytes (every id
/// Yukari makes but the elastic addresses' `eipalloc-`/`eipassoc-` ones
/// does), so that decoding, cloning and keeping an id allocate nothing;
/// 24 bytes, as a `String` without its allocation.
type IdText = smol_str::SmolStr;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(IdText);

        impl $name {
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        // Hash and Ord of the id are those of its string (as `SmolStr`'s
        // are), so maps keyed by the id can be searched with a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }
    };
}

macro_rules! hex_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, [$($prefix:literal),+]) => {
        string_id!($(#[$meta])* $name);

        impl $name {
            pub const PREFIXES: &'static [&'static str] = &[$($prefix),+];

            pub fn parse(value: &str) -> Result<Self, MalformedId> {
                if hex_id_ok(value, Self::PREFIXES) {
                    Ok(Self(IdText::new(value)))
                } else {
                    Err(MalformedId { kind: $kind, value: value.to_owned() })
                }
            }

            /// A new id from caller-supplied random bits, with the first prefix.
            pub fn from_bits(bits: u128) -> Self {
                Self(hex_id_from_bits(Self::PREFIXES[0], bits).into())
            }
        }
    };
}

hex_id!(
    /// `i-…`
    InstanceId, "instance", ["i"]
);
hex_id!(
    /// `r-…`
    ReservationId, "reservation", ["r"]
);
hex_id!(
    /// `emi-…` (machine), `eki-…` (kernel), `eri-…` (ramdisk); `ami-…`, `aki-…`
    /// and `ari-…` are accepted on input as AWS clients send them.
    ImageId, "image", ["emi", "eki", "eri", "ami", "aki", "ari"]
);
hex_id!(
    /// `nc-…`: a node controller (one hypervisor host).
    NodeId, "node", ["nc"]
);
hex_id!(
    /// `sg-…`
    SecurityGroupId, "security group", ["sg"]
);
hex_id!(
    /// `key-…`
    KeyPairId, "key pair", ["key"]
);
hex_id!(
    /// `eipalloc-…`: an allocated elastic IP address.
    AllocationId, "allocation", ["eipalloc"]
);
hex_id!(
    /// `eipassoc-…`: an elastic IP's association with an instance.
    AssociationId, "association", ["eipassoc"]
);
hex_id!(
    /// `vol-…`: an EBS volume.
    VolumeId, "volume", ["vol"]
);
hex_id!(
    /// `snap-…`: a snapshot of a volume.
    SnapshotId, "snapshot", ["snap"]
);

impl ImageId {
    pub fn with_kind(kind: crate::ImageKind, bits: u128) -> Self {
        let prefix = match kind {
            crate::ImageKind::Machine => "emi",
            crate::ImageKind::Kernel => "eki",
            crate::ImageKind::Ramdisk => "eri",
        };
        Self(hex_id_from_bits(prefix, bits).into())
    }
}

string_id!(
    /// A 12-digit account number, as AWS and Eucalyptus use.
    AccountId
);

impl AccountId {
    pub fn parse(value: &str) -> Result<Self, MalformedId> {
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(IdText::new(value)))
        } else {
            Err(MalformedId { kind: "account", value: value.to_owned() })
        }
    }

    /// Twelve decimal digits from caller-supplied random bits.
    pub fn from_bits(bits: u64) -> Self {
        Self(format!("{:012}", bits % 1_000_000_000_000).into())
    }

    /// The account that system actors (node executors, the bootstrap) act as.
    pub fn system() -> Self {
        Self(IdText::new("000000000000"))
    }
}

string_id!(
    /// `AKIA` followed by 16 characters of `A-Z2-7`, as AWS access key ids.
    AccessKeyId
);

impl AccessKeyId {
    const ALPHABET: &'static [u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    pub fn parse(value: &str) -> Result<Self, MalformedId> {
        let ok = (16..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(IdText::new(value)))
        } else {
            Err(MalformedId { kind: "access key", value: value.to_owned() })
        }
    }

    /// `AKIA` + 16 base32 characters taken from caller-supplied random bits.
    pub fn from_bits(bits: u128) -> Self {
        let mut s = String::from("AKIA");
        for i in 0..16 {
            s.push(Self::ALPHABET[((bits >> (i * 5)) & 31) as usize] as char);
        }
        Self(s.into())
    }
}

string_id!(
    /// An availability zone, which is also a cluster (Eucalyptus's CC).
    ZoneName
);

impl ZoneName {
    pub fn parse(value: &str) -> Result<Self, MalformedId> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(IdText::new(value)))
        } else {
            Err(MalformedId { kind: "availability zone", value: value.to_owned() })
        }
    }
}

string_id!(
    /// A user inside an account (Eucalyptus's Euare user); `admin` exists in every account.
    UserName
);

impl UserName {
    pub fn parse(value: &str) -> Result<Self, MalformedId> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b));
        if ok {
            Ok(Self(IdText::new(value)))
        } else {
            Err(MalformedId { kind: "user", value: value.to_owned() })
        }
    }

    pub fn admin() -> Self {
        Self(IdText::new("admin"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_accept_8_and_17_hex_digits_only() {
        assert!(InstanceId::parse("i-0123456789abcdef0").is_ok());
        assert!(InstanceId::parse("i-12345678").is_ok());
        assert!(InstanceId::parse("i-123456789").is_err());
        assert!(InstanceId::parse("i-0123456789ABCDEF0").is_err());
        assert!(InstanceId::parse("x-12345678").is_err());
        assert!(InstanceId::parse("i12345678").is_err());
        assert!(InstanceId::parse("").is_err());
    }

    /// Ids are kept inline up to 23 bytes and on the heap beyond; either
    /// way they compare, hash, order and encode as their text does (maps
    /// keyed by ids are searched with `&str`, and logs written before ids
    /// were kept inline read the same).
    #[test]
    fn ids_compare_hash_order_and_encode_as_their_text() {
        use std::hash::{BuildHasher, RandomState};
        let texts = [
            "",
            "a",
            "admin",
            "i-12345678",
            "eipalloc-0123456789abcdef0",
            &"x".repeat(23),
            &"y".repeat(24),
            &"z".repeat(64),
        ];
        let hasher = RandomState::new();
        for a in texts {
            let id = UserName(IdText::new(a));
            assert_eq!(id.as_str(), a);
            assert_eq!(UserName(IdText::from(a.to_owned())), id, "{a:?} made from a String");
            assert_eq!(id.0.is_heap_allocated(), a.len() > 23, "{a:?}");
            assert_eq!(hasher.hash_one(&id), hasher.hash_one(a), "{a:?}");
            let encoded = postcard::to_allocvec(&id).unwrap();
            assert_eq!(encoded, postcard::to_allocvec(a).unwrap(), "{a:?}");
            assert_eq!(postcard::from_bytes::<UserName>(&encoded).unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, serde_json::to_string(a).unwrap());
            assert_eq!(serde_json::from_str::<UserName>(&json).unwrap(), id);
            for b in texts {
                let other = UserName(IdText::new(b));
                assert_eq!(id == other, a == b, "{a:?} == {b:?}");
                assert_eq!(id.cmp(&other), a.cmp(b), "{a:?} against {b:?}");
            }
        }
        let set: std::collections::BTreeSet<InstanceId> =
            [InstanceId::from_bits(3), InstanceId::from_bits(1)].into_iter().collect();
        assert!(set.contains("i-00000000000000001"));
        assert_eq!(std::mem::size_of::<InstanceId>(), 24);
        assert_eq!(std::mem::size_of::<Option<InstanceId>>(), 24);
    }

    #[test]
    fn generated_ids_parse_back() {
        let id = InstanceId::from_bits(u128::MAX);
        assert_eq!(id.as_str(), "i-fffffffffffffffff");
        assert_eq!(InstanceId::parse(id.as_str()).unwrap(), id);
        let img = ImageId::with_kind(crate::ImageKind::Kernel, 5);
        assert_eq!(img.as_str(), "eki-00000000000000005");
        assert!(ImageId::parse("ami-1234abcd").is_ok());
        let key = AccessKeyId::from_bits(0xdead_beef_u128 << 40);
        assert_eq!(key.as_str().len(), 20);
        assert!(AccessKeyId::parse(key.as_str()).is_ok());
        assert_eq!(AccountId::from_bits(42).as_str(), "000000000042");
    }
}
