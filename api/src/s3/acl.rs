//! ACLs between S3's wire shapes (canned `x-amz-acl`, `x-amz-grant-*`
//! headers, AccessControlPolicy documents) and the domain's [`Acl`]. A
//! grantee is an account, named by its id (Yukari's canonical user id),
//! or one of S3's two groups.

use domain::AccountId;
use domain::buckets::{Acl, AclRequest, CannedAcl, Grant, Grantee, Permission};
use projections::ReadModels;
use s3s::dto;
use s3s::{S3Error, S3ErrorCode, S3Result};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// The `x-amz-grant-*` headers of a request, by permission.
#[derive(Default)]
pub(crate) struct GrantHeaders<'a> {
    pub full_control: Option<&'a str>,
    pub read: Option<&'a str>,
    pub read_acp: Option<&'a str>,
    pub write: Option<&'a str>,
    pub write_acp: Option<&'a str>,
}

/// The ACL a request of an s3s input with a canned `acl` and the
/// `x-amz-grant-*` fields asks for (`write`: whether the input has
/// `grant_write`, which only buckets' have), with `policy` if it has one.
macro_rules! requested_by {
    (@ $i:expr, $write:expr, $policy:expr) => {
        $crate::s3::acl::requested(
            $i.acl.as_ref().map(|a| a.as_str()),
            &$crate::s3::acl::GrantHeaders {
                full_control: $i.grant_full_control.as_deref(),
                read: $i.grant_read.as_deref(),
                read_acp: $i.grant_read_acp.as_deref(),
                write: $write,
                write_acp: $i.grant_write_acp.as_deref(),
            },
            $policy,
        )
    };
    ($i:expr, write) => {
        $crate::s3::acl::requested_by!(@ $i, $i.grant_write.as_deref(), None)
    };
    ($i:expr, write, $policy:expr) => {
        $crate::s3::acl::requested_by!(@ $i, $i.grant_write.as_deref(), $policy)
    };
    ($i:expr) => {
        $crate::s3::acl::requested_by!(@ $i, None, None)
    };
}
pub(crate) use requested_by;

fn malformed(why: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, why.into())
}

/// What a request asks for: a canned ACL, grant headers, or a policy
/// document (at most one of them); private when none.
pub(crate) fn requested(
    canned: Option<&str>,
    headers: &GrantHeaders<'_>,
    policy: Option<&dto::AccessControlPolicy>,
) -> S3Result<AclRequest> {
    let pairs = [
        (headers.full_control, Permission::FullControl),
        (headers.read, Permission::Read),
        (headers.read_acp, Permission::ReadAcp),
        (headers.write, Permission::Write),
        (headers.write_acp, Permission::WriteAcp),
    ];
    let has_headers = pairs.iter().any(|(h, _)| h.is_some());
    if usize::from(canned.is_some()) + usize::from(has_headers) + usize::from(policy.is_some()) > 1 {
        return Err(malformed("Specify only one of a canned ACL, grant headers or an AccessControlPolicy."));
    }
    if let Some(canned) = canned {
        return CannedAcl::parse(canned)
            .map(AclRequest::Canned)
            .ok_or_else(|| malformed(format!("{canned} is not a canned ACL.")));
    }
    if has_headers {
        let mut grants = Vec::new();
        for (header, permission) in pairs {
            if let Some(value) = header {
                for grantee in parse_grantees(value)? {
                    grants.push(Grant { grantee, permission });
                }
            }
        }
        return Ok(AclRequest::Grants(grants));
    }
    if let Some(policy) = policy {
        let mut grants = Vec::new();
        for g in policy.grants.iter().flatten() {
            let Some(grantee) = &g.grantee else { return Err(malformed_acl("a Grant has no Grantee")) };
            let Some(permission) = g.permission.as_ref().and_then(|p| Permission::parse(p.as_str())) else {
                return Err(malformed_acl("a Grant has no valid Permission"));
            };
            grants.push(Grant { grantee: from_dto(grantee)?, permission });
        }
        return Ok(AclRequest::Grants(grants));
    }
    Ok(AclRequest::default())
}

fn malformed_acl(why: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedACLError,
        format!(
            "The XML you provided was not well-formed or did not validate against our published schema: {why}."
        ),
    )
}

/// `id="111122223333", uri="http://acs.amazonaws.com/groups/global/AllUsers"`.
fn parse_grantees(value: &str) -> S3Result<Vec<Grantee>> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((kind, quoted)) = item.split_once('=') else {
            return Err(malformed(format!("Invalid grant {item:?}: expected id=\"…\" or uri=\"…\".")));
        };
        let v = quoted.trim().trim_matches('"');
        out.push(match kind.trim() {
            "id" => account_grantee(v)?,
            "uri" => group(v)?,
            "emailAddress" => return Err(email()),
            other => return Err(malformed(format!("Invalid grantee type {other:?}."))),
        });
    }
    Ok(out)
}

fn account_grantee(id: &str) -> S3Result<Grantee> {
    AccountId::parse(id)
        .map(Grantee::Account)
        .map_err(|_| malformed(format!("Invalid id {id:?}: a grantee's id is a 12-digit account id.")))
}

fn group(uri: &str) -> S3Result<Grantee> {
    match uri {
        ALL_USERS => Ok(Grantee::AllUsers),
        AUTHENTICATED_USERS => Ok(Grantee::AuthenticatedUsers),
        other => Err(malformed(format!("Invalid group uri {other:?}."))),
    }
}

fn email() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::UnresolvableGrantByEmailAddress,
        "Grants by e-mail address are not supported: name the account by its id.",
    )
}

fn from_dto(g: &dto::Grantee) -> S3Result<Grantee> {
    match g.type_.as_str() {
        dto::Type::CANONICAL_USER => account_grantee(g.id.as_deref().unwrap_or("")),
        dto::Type::GROUP => group(g.uri.as_deref().unwrap_or("")),
        dto::Type::AMAZON_CUSTOMER_BY_EMAIL => Err(email()),
        other => Err(malformed_acl(&format!("unknown grantee type {other}"))),
    }
}

/// An account as S3 shows an owner: its id, and its name.
pub(crate) fn owner(models: &ReadModels, account: &AccountId) -> dto::Owner {
    dto::Owner {
        id: Some(account.to_string()),
        display_name: models.accounts.accounts.get(account).map(|row| row.name.clone()),
    }
}

/// The grants of `acl` as S3 lists them (the cloud's grant as its admin
/// account's).
pub(crate) fn grants(models: &ReadModels, acl: &Acl) -> Vec<dto::Grant> {
    acl.grants
        .iter()
        .filter_map(|g| {
            let grantee = match &g.grantee {
                Grantee::Account(a) => user(models, a),
                Grantee::Cloud => user(models, models.accounts.account_by_name("admin")?.0),
                Grantee::AllUsers => group_dto(ALL_USERS),
                Grantee::AuthenticatedUsers => group_dto(AUTHENTICATED_USERS),
            };
            Some(dto::Grant {
                grantee: Some(grantee),
                permission: Some(dto::Permission::from(g.permission.as_str().to_owned())),
            })
        })
        .collect()
}

fn user(models: &ReadModels, account: &AccountId) -> dto::Grantee {
    let o = owner(models, account);
    dto::Grantee {
        display_name: o.display_name,
        email_address: None,
        id: o.id,
        type_: dto::Type::from(dto::Type::CANONICAL_USER.to_owned()),
        uri: None,
    }
}

fn group_dto(uri: &str) -> dto::Grantee {
    dto::Grantee {
        display_name: None,
        email_address: None,
        id: None,
        type_: dto::Type::from(dto::Type::GROUP.to_owned()),
        uri: Some(uri.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_headers_name_accounts_and_groups() {
        let headers = GrantHeaders {
            read: Some(r#"id="000000000042", uri="http://acs.amazonaws.com/groups/global/AllUsers""#),
            ..Default::default()
        };
        let AclRequest::Grants(grants) = requested(None, &headers, None).unwrap() else { panic!() };
        assert_eq!(
            grants,
            [
                Grant { grantee: Grantee::Account(AccountId::from_bits(42)), permission: Permission::Read },
                Grant { grantee: Grantee::AllUsers, permission: Permission::Read },
            ]
        );
        let bad = GrantHeaders { write: Some(r#"id="bob""#), ..Default::default() };
        assert!(requested(None, &bad, None).is_err());
        let email = GrantHeaders { write: Some(r#"emailAddress="a@b.c""#), ..Default::default() };
        assert_eq!(
            requested(None, &email, None).unwrap_err().code(),
            &S3ErrorCode::UnresolvableGrantByEmailAddress
        );
        assert!(requested(Some("private"), &headers, None).is_err(), "one way at a time");
        assert!(requested(Some("world-writable"), &GrantHeaders::default(), None).is_err());
        assert_eq!(
            requested(Some("public-read"), &GrantHeaders::default(), None).unwrap(),
            AclRequest::Canned(CannedAcl::PublicRead)
        );
    }
}
