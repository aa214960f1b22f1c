//! Accounts and access keys (the secret stays sealed here too).

use domain::event::{
    AccessKeyCreated, AccessKeyDeleted, AccessKeyStatusChanged, AccountCreated, SigningCertificateDeleted,
    SigningCertificateStatusChanged, SigningCertificateUploaded, UserCreated, UserDeleted,
};
use domain::{AccessKeyId, AccountId, SealedSecret, Timestamp, UserName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountsView {
    pub accounts: BTreeMap<AccountId, AccountRow>,
    pub keys: BTreeMap<AccessKeyId, AccessKeyRow>,
    /// Users' signing certificates by certificate id.
    #[serde(default)]
    pub certificates: BTreeMap<String, CertificateRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateRow {
    pub account: AccountId,
    pub user: UserName,
    pub pem: String,
    pub active: bool,
    pub uploaded_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountRow {
    pub name: String,
    pub users: Vec<UserName>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyRow {
    pub account: AccountId,
    pub user: UserName,
    pub secret: SealedSecret,
    /// Only active keys authenticate.
    pub active: bool,
    pub created_at: Timestamp,
}

impl AccountsView {
    pub(crate) fn account_created(&mut self, e: &AccountCreated) {
        self.accounts.insert(
            e.account.clone(),
            AccountRow { name: e.name.clone(), users: vec![UserName::admin()], created_at: e.at },
        );
    }

    pub(crate) fn user_created(&mut self, e: &UserCreated) {
        if let Some(row) = self.accounts.get_mut(&e.account) {
            row.users.push(e.user.clone());
        }
    }

    pub(crate) fn access_key_created(&mut self, e: &AccessKeyCreated) {
        self.keys.insert(
            e.access_key.clone(),
            AccessKeyRow {
                account: e.account.clone(),
                user: e.user.clone(),
                secret: e.secret.clone(),
                active: true,
                created_at: e.at,
            },
        );
    }

    pub(crate) fn access_key_status_changed(&mut self, e: &AccessKeyStatusChanged) {
        if let Some(row) = self.keys.get_mut(&e.access_key) {
            row.active = e.active;
        }
    }

    pub(crate) fn access_key_deleted(&mut self, e: &AccessKeyDeleted) {
        self.keys.remove(&e.access_key);
    }

    pub(crate) fn user_deleted(&mut self, account: &AccountId, e: &UserDeleted) {
        if let Some(row) = self.accounts.get_mut(account) {
            row.users.retain(|u| u != &e.user);
        }
    }

    pub(crate) fn certificate_uploaded(&mut self, e: &SigningCertificateUploaded) {
        let row = CertificateRow {
            account: e.account.clone(),
            user: e.user.clone(),
            pem: e.pem.clone(),
            active: true,
            uploaded_at: e.at,
        };
        self.certificates.insert(e.certificate.clone(), row);
    }

    pub(crate) fn certificate_status_changed(&mut self, e: &SigningCertificateStatusChanged) {
        if let Some(row) = self.certificates.get_mut(&e.certificate) {
            row.active = e.active;
        }
    }

    pub(crate) fn certificate_deleted(&mut self, e: &SigningCertificateDeleted) {
        self.certificates.remove(&e.certificate);
    }

    /// An account by its name or its id.
    pub fn find(&self, name_or_id: &str) -> Option<&AccountId> {
        self.accounts
            .get_key_value(name_or_id)
            .map(|(id, _)| id)
            .or_else(|| self.account_by_name(name_or_id).map(|(id, _)| id))
    }

    pub fn account_by_name(&self, name: &str) -> Option<(&AccountId, &AccountRow)> {
        self.accounts.iter().find(|(_, row)| row.name == name)
    }
}
