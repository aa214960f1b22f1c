//! Fresh ids and the clock: the domain gets both from here, in commands.

use domain::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cell::Cell;
use std::sync::Mutex;

/// Makes new random ids: from the thread's generator, or from a seeded one
/// (the deterministic simulator's: one seed, the same ids).
#[derive(Debug, Default)]
pub struct IdGen {
    seeded: Option<Mutex<StdRng>>,
}

impl IdGen {
    /// Ids drawn from `seed`, the same every run.
    pub fn seeded(seed: u64) -> IdGen {
        IdGen { seeded: Some(Mutex::new(StdRng::seed_from_u64(seed))) }
    }

    fn bits(&self) -> u128 {
        match &self.seeded {
            Some(rng) => rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).r#gen(),
            None => rand::thread_rng().r#gen(),
        }
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
        AccountId::from_bits(self.bits() as u64)
    }

    pub fn access_key(&self) -> AccessKeyId {
        AccessKeyId::from_bits(self.bits())
    }

    /// 128 secret bits (an attachment's initiator name): from the
    /// operating system's generator, or the seeded one.
    pub fn secret(&self) -> u128 {
        match &self.seeded {
            Some(_) => self.bits(),
            None => {
                let mut bytes = [0u8; 16];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
                u128::from_le_bytes(bytes)
            }
        }
    }

    /// A nonce to seal a secret with (see `MasterKey::seal_with_nonce`).
    pub fn nonce(&self) -> [u8; 12] {
        let bits = self.secret().to_le_bytes();
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&bits[..12]);
        nonce
    }

    /// A request id, as AWS formats them (a UUID).
    pub fn request_id(&self) -> String {
        match &self.seeded {
            Some(_) => uuid::Builder::from_random_bytes(self.bits().to_le_bytes()).into_uuid().to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        }
    }
}

thread_local! {
    /// The simulated clock of this thread, in milliseconds; 0: the wall
    /// clock is used.
    static SIMULATED_MS: Cell<i64> = const { Cell::new(0) };
}

/// Sets the clock [`now`] reads on this thread to a simulated time (the
/// deterministic simulator's, whose cloud runs on one thread); `None`: the
/// wall clock.
pub fn set_simulated_clock(ms: Option<i64>) {
    SIMULATED_MS.with(|c| c.set(ms.unwrap_or(0)));
}

/// The clock, in the domain's unit: the wall clock, or the simulated one.
pub fn now() -> Timestamp {
    match SIMULATED_MS.with(Cell::get) {
        0 => {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            Timestamp(ms)
        }
        ms => Timestamp(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::IdGen;

    /// Secrets and nonces come from the operating system's generator, or,
    /// in the simulator, from its seed: one seed, the same grants.
    #[test]
    fn secrets_are_random_unless_seeded() {
        let (a, b) = (IdGen::default(), IdGen::default());
        assert_ne!(a.secret(), b.secret());
        assert_ne!(a.nonce(), a.nonce());
        let (c, d) = (IdGen::seeded(7), IdGen::seeded(7));
        assert_eq!((c.secret(), c.nonce()), (d.secret(), d.nonce()));
        assert_ne!(IdGen::seeded(8).secret(), IdGen::seeded(7).secret());
    }
}
