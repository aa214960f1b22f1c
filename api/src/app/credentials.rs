//! Access keys → account, user and secret, for request authentication.
//! Secrets are opened with the master key on first use and kept in memory
//! only (never logged, never written).

use crate::auth::SecretLookup;
use crate::secrets::MasterKey;
use domain::{AccessKeyId, AccountId, UserName};
use projections::Projections;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct Credentials {
    projections: Arc<Projections>,
    master_key: MasterKey,
    opened: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

impl Credentials {
    pub fn new(projections: Arc<Projections>, master_key: MasterKey) -> Self {
        Credentials { projections, master_key, opened: Mutex::new(HashMap::new()) }
    }

    /// The account and user an active access key belongs to.
    pub fn owner(&self, access_key: &str) -> Option<(AccountId, UserName)> {
        let models = self.projections.read();
        models
            .accounts
            .keys
            .get(access_key)
            .filter(|row| row.active)
            .map(|row| (row.account.clone(), row.user.clone()))
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    /// The secret of an access key, if the key exists and its secret opens.
    pub fn secret_of(&self, access_key: &AccessKeyId) -> Option<String> {
        self.secret(access_key.as_str())
    }
}

impl SecretLookup for Credentials {
    fn secret(&self, access_key_id: &str) -> Option<String> {
        // A deleted or inactive key stops working at once, opened or not.
        let sealed = {
            let models = self.projections.read();
            let row = models.accounts.keys.get(access_key_id).filter(|row| row.active)?;
            row.secret.clone()
        };
        if let Some(s) = self.opened.lock().expect("credentials lock").get(access_key_id) {
            return Some(s.clone());
        }
        let secret = self.master_key.open(&sealed, access_key_id)?;
        self.opened.lock().expect("credentials lock").insert(access_key_id.to_owned(), secret.clone());
        Some(secret)
    }
}
