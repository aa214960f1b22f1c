//! Fresh ids and the clock: the domain gets both from here, in commands.

use domain::*;
use rand::Rng;

/// Makes new random ids.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdGen;

impl IdGen {
    fn bits(&self) -> u128 {
        rand::thread_rng().r#gen()
    }

    pub fn instance(&self) -> InstanceId {
        InstanceId::from_bits(self.bits())
    }

    pub fn reservation(&self) -> ReservationId {
        ReservationId::from_bits(self.bits())
    }

    pub fn image(&self, kind: ImageKind) -> ImageId {
        ImageId::with_kind(kind, self.bits())
    }

    pub fn node(&self) -> NodeId {
        NodeId::from_bits(self.bits())
    }

    pub fn security_group(&self) -> SecurityGroupId {
        SecurityGroupId::from_bits(self.bits())
    }

    pub fn key_pair(&self) -> KeyPairId {
        KeyPairId::from_bits(self.bits())
    }

    pub fn allocation(&self) -> AllocationId {
        AllocationId::from_bits(self.bits())
    }

    pub fn association(&self) -> AssociationId {
        AssociationId::from_bits(self.bits())
    }

    pub fn volume(&self) -> VolumeId {
        VolumeId::from_bits(self.bits())
    }

    pub fn snapshot(&self) -> SnapshotId {
        SnapshotId::from_bits(self.bits())
    }

    pub fn account(&self) -> AccountId {
        AccountId::from_bits(rand::thread_rng().r#gen())
    }

    pub fn access_key(&self) -> AccessKeyId {
        AccessKeyId::from_bits(self.bits())
    }

    /// A request id, as AWS formats them (a UUID).
    pub fn request_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// The wall clock, in the domain's unit.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp(ms)
}
