//! Value types every area uses: time, who asked, sealed secrets. Values of
//! one area (VM types, instance states, rules, tags …) live in it.

use crate::ids::{AccessKeyId, AccountId, UserName};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch. The domain never reads a clock: every
/// time it sees arrives inside a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }
}

/// Who asked for a command: an account, a user in it and the access key used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: Option<AccessKeyId>,
}

impl Principal {
    /// The cloud itself (bootstrap, node executors' reports).
    pub fn system(actor: &str) -> Self {
        Principal {
            account: AccountId::system(),
            user: UserName::parse(actor).unwrap_or_else(|_| UserName::admin()),
            access_key: None,
        }
    }
}

/// A secret encrypted with the cloud's master key, which is kept outside the
/// log. The domain only carries it; sealing and opening happen in the API.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.ciphertext.len())
    }
}
