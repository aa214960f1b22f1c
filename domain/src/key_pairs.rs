//! Key pairs: CreateKeyPair, ImportKeyPair and DeleteKeyPair, and the key
//! pairs an account keeps. Names are unique in an account, so key pairs
//! live in the account's stream and are decided there; only the public
//! half is ever stored.

use crate::accounts::Account;
use crate::aggregate::StateView;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::{AccountId, KeyPairId};
use crate::model::Timestamp;
use crate::stream::StreamId;
use crate::tags::{Tag, Tags};
use serde::{Deserialize, Serialize};

/// A key pair was created (its private key was handed out once and never
/// stored) or imported. Only the public half is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPairCreated {
    pub account: AccountId,
    pub name: String,
    pub key_pair: KeyPairId,
    /// As EC2 computes it for this kind of key.
    pub fingerprint: String,
    /// The OpenSSH public key line (`ssh-rsa AAAA…`).
    pub public_key: String,
    /// `rsa` or `ed25519`.
    pub key_type: String,
    pub imported: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPairDeleted {
    pub account: AccountId,
    pub name: String,
    pub at: Timestamp,
}

/// A key pair of an account, by name in [`Account::key_pairs`].
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPair {
    pub id: KeyPairId,
    pub tags: Tags,
}

impl Account {
    pub(crate) fn key_pair_created(&mut self, e: &KeyPairCreated) {
        self.key_pairs.insert(e.name.clone(), KeyPair { id: e.key_pair.clone(), tags: Tags::default() });
    }

    pub(crate) fn key_pair_deleted(&mut self, e: &KeyPairDeleted) {
        self.key_pairs.remove(&e.name);
    }

    /// The key pair with this id.
    pub fn key_pair_by_id(&self, id: &str) -> Option<(&String, &KeyPair)> {
        self.key_pairs.iter().find(|(_, k)| k.id.as_str() == id)
    }
}

/// A key pair to store, made by EC2 (CreateKeyPair: its private key is
/// already handed out and gone) or given (ImportKeyPair).
#[derive(Clone, Debug, PartialEq)]
pub struct NewKeyPair {
    pub account: AccountId,
    pub name: String,
    pub key_pair: KeyPairId,
    pub fingerprint: String,
    pub public_key: String,
    pub key_type: String,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteKeyPair {
    pub account: AccountId,
    /// By name, or by id (`key-…`).
    pub name: Option<String>,
    pub key_pair: Option<KeyPairId>,
    pub at: Timestamp,
}

impl NewKeyPair {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl DeleteKeyPair {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

pub(crate) fn create_key_pair(c: &NewKeyPair, view: &dyn StateView) -> Result<Events, DecideError> {
    new_key_pair(c, false, view)
}

pub(crate) fn import_key_pair(c: &NewKeyPair, view: &dyn StateView) -> Result<Events, DecideError> {
    new_key_pair(c, true, view)
}

fn new_key_pair(c: &NewKeyPair, imported: bool, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.key_pairs.contains_key(&c.name) {
        return Err(DecideError::KeyPairExists(c.name.clone()));
    }
    let stream = StreamId::account(&c.account);
    let mut events: Events = vec![(
        stream.clone(),
        KeyPairCreated {
            account: c.account.clone(),
            name: c.name.clone(),
            key_pair: c.key_pair.clone(),
            fingerprint: c.fingerprint.clone(),
            public_key: c.public_key.clone(),
            key_type: c.key_type.clone(),
            imported,
            at: c.at,
        }
        .into(),
    )];
    if !c.tags.is_empty() {
        events.push((stream, Tags::default().create(c.key_pair.as_str(), &c.tags, c.at)?));
    }
    Ok(events)
}

/// EC2 answers success for a key pair that does not exist (nothing changes).
pub(crate) fn delete_key_pair(c: &DeleteKeyPair, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    let name = match (&c.name, &c.key_pair) {
        (Some(name), _) => account.key_pairs.contains_key(name).then(|| name.clone()),
        (None, Some(id)) => match account.key_pair_by_id(id.as_str()) {
            Some((name, _)) => Some(name.clone()),
            None => return Err(DecideError::KeyPairNotFound(id.to_string())),
        },
        (None, None) => None,
    };
    Ok(name
        .map(|name| {
            vec![(
                StreamId::account(&c.account),
                KeyPairDeleted { account: c.account.clone(), name, at: c.at }.into(),
            )]
        })
        .unwrap_or_default())
}
