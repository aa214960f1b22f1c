//! S3's access control lists: who a request comes from ([`Caller`]), what
//! a bucket or object grants ([`Acl`]), the canned ACLs, and the one
//! function that says whether a grant lets a caller do something.

use crate::ids::AccountId;
use serde::{Deserialize, Serialize};

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// No signature: only what `AllUsers` is granted.
    Anonymous,
    /// A signed request of a user of `account`. `cloud_admin`: of the
    /// cloud's administrator account, which what `aws-exec-read` grants
    /// (images, to boot them).
    Account { account: AccountId, cloud_admin: bool },
}

impl Caller {
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Caller::Anonymous => None,
            Caller::Account { account, .. } => Some(account),
        }
    }
}

/// Who a grant is to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grantee {
    /// An account, named by its id (its canonical user id here).
    Account(AccountId),
    /// Everyone, signed or not (`http://acs.amazonaws.com/groups/global/AllUsers`).
    AllUsers,
    /// Every signed request (`…/global/AuthenticatedUsers`).
    AuthenticatedUsers,
    /// The cloud itself, to read images (`aws-exec-read`).
    Cloud,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
            Permission::FullControl => "FULL_CONTROL",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Some(match s {
            "READ" => Permission::Read,
            "WRITE" => Permission::Write,
            "READ_ACP" => Permission::ReadAcp,
            "WRITE_ACP" => Permission::WriteAcp,
            "FULL_CONTROL" => Permission::FullControl,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: Permission,
}

/// A bucket's or an object's owner and grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    pub owner: AccountId,
    pub grants: Vec<Grant>,
}

/// S3's canned ACLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CannedAcl {
    Private,
    PublicRead,
    PublicReadWrite,
    AuthenticatedRead,
    BucketOwnerRead,
    BucketOwnerFullControl,
    AwsExecRead,
    LogDeliveryWrite,
}

impl CannedAcl {
    pub fn parse(s: &str) -> Option<CannedAcl> {
        Some(match s {
            "private" => CannedAcl::Private,
            "public-read" => CannedAcl::PublicRead,
            "public-read-write" => CannedAcl::PublicReadWrite,
            "authenticated-read" => CannedAcl::AuthenticatedRead,
            "bucket-owner-read" => CannedAcl::BucketOwnerRead,
            "bucket-owner-full-control" => CannedAcl::BucketOwnerFullControl,
            "aws-exec-read" => CannedAcl::AwsExecRead,
            "log-delivery-write" => CannedAcl::LogDeliveryWrite,
            _ => return None,
        })
    }
}

/// The ACL a request asks for: canned, or grants of its own (the owner is
/// always the resource's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AclRequest {
    Canned(CannedAcl),
    Grants(Vec<Grant>),
}

impl Default for AclRequest {
    fn default() -> Self {
        AclRequest::Canned(CannedAcl::Private)
    }
}

impl Acl {
    /// The ACL `request` makes for a resource owned by `owner` in a bucket
    /// owned by `bucket_owner` (the same account for a bucket).
    pub fn new(request: &AclRequest, owner: &AccountId, bucket_owner: &AccountId) -> Acl {
        let grant = |grantee: Grantee, permission| Grant { grantee, permission };
        let owner_full = grant(Grantee::Account(owner.clone()), Permission::FullControl);
        let grants = match request {
            AclRequest::Grants(grants) => grants.clone(),
            AclRequest::Canned(canned) => match canned {
                CannedAcl::Private | CannedAcl::LogDeliveryWrite => vec![owner_full],
                CannedAcl::PublicRead => vec![owner_full, grant(Grantee::AllUsers, Permission::Read)],
                CannedAcl::PublicReadWrite => vec![
                    owner_full,
                    grant(Grantee::AllUsers, Permission::Read),
                    grant(Grantee::AllUsers, Permission::Write),
                ],
                CannedAcl::AuthenticatedRead => {
                    vec![owner_full, grant(Grantee::AuthenticatedUsers, Permission::Read)]
                }
                CannedAcl::BucketOwnerRead => {
                    let mut g = vec![owner_full];
                    if bucket_owner != owner {
                        g.push(grant(Grantee::Account(bucket_owner.clone()), Permission::Read));
                    }
                    g
                }
                CannedAcl::BucketOwnerFullControl => {
                    let mut g = vec![owner_full];
                    if bucket_owner != owner {
                        g.push(grant(Grantee::Account(bucket_owner.clone()), Permission::FullControl));
                    }
                    g
                }
                CannedAcl::AwsExecRead => vec![owner_full, grant(Grantee::Cloud, Permission::Read)],
            },
        };
        Acl { owner: owner.clone(), grants }
    }

    /// Whether this ACL lets `caller` do what `permission` covers. The
    /// owner may always read and change the ACL itself (S3's rule, so an
    /// owner cannot lock itself out); everything else comes from grants,
    /// `FULL_CONTROL` covering all.
    pub fn allows(&self, caller: &Caller, permission: Permission) -> bool {
        if let Caller::Account { account, .. } = caller
            && *account == self.owner
            && matches!(permission, Permission::ReadAcp | Permission::WriteAcp)
        {
            return true;
        }
        self.grants.iter().any(|g| {
            let to_caller = match (&g.grantee, caller) {
                (Grantee::AllUsers, _) => true,
                (Grantee::AuthenticatedUsers, Caller::Account { .. }) => true,
                (Grantee::Account(a), Caller::Account { account, .. }) => a == account,
                (Grantee::Cloud, Caller::Account { cloud_admin, .. }) => *cloud_admin,
                _ => false,
            };
            to_caller && (g.permission == permission || g.permission == Permission::FullControl)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(n: u64) -> AccountId {
        AccountId::parse(&format!("{n:012}")).unwrap()
    }

    fn caller(n: u64) -> Caller {
        Caller::Account { account: acct(n), cloud_admin: false }
    }

    #[test]
    fn private_lets_only_the_owner_in() {
        let acl = Acl::new(&AclRequest::default(), &acct(1), &acct(1));
        assert!(acl.allows(&caller(1), Permission::Read));
        assert!(acl.allows(&caller(1), Permission::Write));
        assert!(!acl.allows(&caller(2), Permission::Read));
        assert!(!acl.allows(&Caller::Anonymous, Permission::Read));
    }

    #[test]
    fn canned_acls_grant_what_s3_says() {
        let public = Acl::new(&AclRequest::Canned(CannedAcl::PublicRead), &acct(1), &acct(1));
        assert!(public.allows(&Caller::Anonymous, Permission::Read));
        assert!(!public.allows(&Caller::Anonymous, Permission::Write));
        assert!(!public.allows(&caller(2), Permission::ReadAcp));
        let authenticated = Acl::new(&AclRequest::Canned(CannedAcl::AuthenticatedRead), &acct(1), &acct(1));
        assert!(authenticated.allows(&caller(2), Permission::Read));
        assert!(!authenticated.allows(&Caller::Anonymous, Permission::Read));
        let read_write = Acl::new(&AclRequest::Canned(CannedAcl::PublicReadWrite), &acct(1), &acct(1));
        assert!(read_write.allows(&Caller::Anonymous, Permission::Write));
        let owner_read = Acl::new(&AclRequest::Canned(CannedAcl::BucketOwnerRead), &acct(2), &acct(1));
        assert!(owner_read.allows(&caller(1), Permission::Read));
        assert!(!owner_read.allows(&caller(1), Permission::Write));
        let exec = Acl::new(&AclRequest::Canned(CannedAcl::AwsExecRead), &acct(2), &acct(2));
        assert!(exec.allows(&Caller::Account { account: acct(9), cloud_admin: true }, Permission::Read));
        assert!(!exec.allows(&caller(9), Permission::Read));
    }

    #[test]
    fn the_owner_keeps_its_acl_rights_without_grants() {
        let acl = Acl { owner: acct(1), grants: vec![] };
        assert!(acl.allows(&caller(1), Permission::ReadAcp));
        assert!(acl.allows(&caller(1), Permission::WriteAcp));
        assert!(!acl.allows(&caller(1), Permission::Read));
    }
}
