//! Euare, Eucalyptus's identity service, as a minimal IAM-style Query API
//! on `/services/Euare`: accounts (cloud administrator only), users and
//! access keys. Version 2010-05-08 (IAM's); answers and errors in IAM's XML.
//!
//! Login profiles (console passwords): CreateLoginProfile,
//! UpdateLoginProfile, DeleteLoginProfile and GetLoginProfile, in IAM's
//! shapes; the password is never answered, only whether one exists.
//!
//! Signing certificates (`certificates`): Upload/List/Update/Delete, and
//! Eucalyptus's CreateSigningCertificate.
//!
//! CreateAccount is Eucalyptus's extension: it also makes the account's
//! `default` security group and a first access key for its `admin` user,
//! whose secret is in the answer once.

use crate::app::{App, LoginProfileKind};
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::render::iso_time;
use crate::ec2::xml::Xml;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use domain::{AccountId, DecideError, UserName};
use std::sync::Arc;
use tracing::Instrument;

mod certificates;

const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

pub fn router(app: Arc<App>) -> Router {
    Router::new().route("/services/Euare", any(handle)).route("/services/Euare/", any(handle)).with_state(app)
}

/// An IAM error: code, message, HTTP status. IAM's codes are its own
/// (`EntityAlreadyExists`, `NoSuchEntity`…); EC2's refusals of the shared
/// parts (authentication, parameters) keep theirs.
struct IamError {
    code: &'static str,
    message: String,
    status: StatusCode,
}

impl IamError {
    fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> IamError {
        IamError { code, message: message.into(), status }
    }

    fn to_xml(&self, request_id: &str) -> String {
        let mut x = Xml::bare("ErrorResponse");
        let kind = if self.status.is_server_error() { "Receiver" } else { "Sender" };
        x.open("Error").text("Type", kind).text("Code", self.code).text("Message", &self.message).close();
        x.text("RequestId", request_id);
        x.finish()
    }
}

/// An IAM error answer for `message` (for the fuzz target of the renderers).
#[doc(hidden)]
pub fn error_xml(message: &str, request_id: &str) -> String {
    IamError::new("ValidationError", StatusCode::BAD_REQUEST, message).to_xml(request_id)
}

impl From<Ec2Error> for IamError {
    fn from(e: Ec2Error) -> Self {
        IamError { code: e.code.as_str(), status: e.status(), message: e.message }
    }
}

impl From<crate::app::ExecuteError> for IamError {
    fn from(e: crate::app::ExecuteError) -> Self {
        match e {
            crate::app::ExecuteError::Refused(DecideError::AccountNameTaken(n)) => IamError::new(
                "EntityAlreadyExists",
                StatusCode::CONFLICT,
                format!("Account {n} already exists."),
            ),
            crate::app::ExecuteError::Refused(DecideError::UserExists(u)) => IamError::new(
                "EntityAlreadyExists",
                StatusCode::CONFLICT,
                format!("User {u} already exists."),
            ),
            crate::app::ExecuteError::Refused(DecideError::UserInUse(u)) => IamError::new(
                "DeleteConflict",
                StatusCode::CONFLICT,
                format!("User {u} still has access keys or a login profile, or is the account's admin."),
            ),
            crate::app::ExecuteError::Refused(DecideError::LoginProfileExists(u)) => IamError::new(
                "EntityAlreadyExists",
                StatusCode::CONFLICT,
                format!("Login Profile for user {u} already exists."),
            ),
            crate::app::ExecuteError::Refused(DecideError::LoginProfileNotFound(u)) => IamError::new(
                "NoSuchEntity",
                StatusCode::NOT_FOUND,
                format!("Login Profile for User {u} cannot be found."),
            ),
            crate::app::ExecuteError::Refused(DecideError::AccessKeyNotFound(k)) => IamError::new(
                "NoSuchEntity",
                StatusCode::NOT_FOUND,
                format!("The Access Key with id {k} cannot be found."),
            ),
            crate::app::ExecuteError::Refused(DecideError::UserNotFound(u)) => IamError::new(
                "NoSuchEntity",
                StatusCode::NOT_FOUND,
                format!("The user with name {u} cannot be found."),
            ),
            crate::app::ExecuteError::Refused(DecideError::DuplicateCertificate(c)) => IamError::new(
                "DuplicateCertificate",
                StatusCode::CONFLICT,
                format!("The certificate {c} already exists."),
            ),
            crate::app::ExecuteError::Refused(DecideError::SigningCertificateLimit(u)) => IamError::new(
                "LimitExceeded",
                StatusCode::CONFLICT,
                format!("Cannot exceed quota for CertificatesPerUser: 2 (user {u})."),
            ),
            crate::app::ExecuteError::Refused(DecideError::SigningCertificateNotFound(c)) => IamError::new(
                "NoSuchEntity",
                StatusCode::NOT_FOUND,
                format!("The Certificate with id {c} cannot be found."),
            ),
            other => Ec2Error::from(other).into(),
        }
    }
}

impl From<crate::app::LoginProfileError> for IamError {
    fn from(e: crate::app::LoginProfileError) -> Self {
        match e {
            crate::app::LoginProfileError::PasswordPolicy => {
                IamError::new("PasswordPolicyViolation", StatusCode::BAD_REQUEST, e.to_string())
            }
            crate::app::LoginProfileError::Execute(e) => e.into(),
        }
    }
}

async fn handle(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let request_id = app.ids.request_id();
    let (parts, body) = request.into_parts();
    let source = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let span = tracing::info_span!("euare", request_id = %request_id, source = %source, account = tracing::field::Empty);
    async move {
        let result = match axum::body::to_bytes(body, 1 << 16).await {
            Ok(body) => serve(&app, &parts, &body, &request_id, &source).await,
            Err(e) if crate::serve::body_stalled(&e) => Err(IamError::new(
                "RequestTimeout",
                StatusCode::BAD_REQUEST,
                "The request body was not sent in time",
            )),
            Err(_) => {
                Err(IamError::new("ValidationError", StatusCode::BAD_REQUEST, "The request is too large"))
            }
        };
        let (status, xml) = match result {
            Ok(xml) => (StatusCode::OK, xml),
            Err(e) => {
                tracing::info!(code = e.code, message = %e.message, "refused");
                (e.status, e.to_xml(&request_id))
            }
        };
        let mut response = (status, xml).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=UTF-8"));
        response
    }
    .instrument(span)
    .await
}

fn name_param<'p>(params: &'p Params, name: &str) -> Result<&'p str, IamError> {
    let value = params.required(name)?;
    let ok = value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-');
    if ok {
        Ok(value)
    } else {
        Err(IamError::new(
            "ValidationError",
            StatusCode::BAD_REQUEST,
            format!("{name} must be 1 to 63 lowercase letters, digits and dashes"),
        ))
    }
}

/// Who may call an Euare action: decided once per request, from the table,
/// before the action runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Allowed {
    /// The cloud's administrator only.
    CloudAdmin,
    /// Any user, about its own account.
    AnyUser,
    /// The admin of the account acted on (its own, or any account as the
    /// cloud's administrator with DelegateAccount).
    AccountAdmin,
    /// The user acted on itself, or its account's admin.
    UserOrAdmin,
}

/// One Euare action: its name, whether it changes anything (any refusal of
/// one that does is recorded; of one that reads, only refusals for
/// authorization) and who may call it.
pub(crate) struct Action {
    pub name: &'static str,
    pub changes: bool,
    pub allowed: Allowed,
}

const fn action(name: &'static str, changes: bool, allowed: Allowed) -> Action {
    Action { name, changes, allowed }
}

/// Every action Euare answers.
pub(crate) const ACTIONS: &[Action] = &[
    action("CreateAccount", true, Allowed::CloudAdmin),
    action("ListAccounts", false, Allowed::CloudAdmin),
    action("ListAccountAliases", false, Allowed::AnyUser),
    action("CreateUser", true, Allowed::AccountAdmin),
    action("GetUser", false, Allowed::UserOrAdmin),
    action("ListUsers", false, Allowed::AccountAdmin),
    action("DeleteUser", true, Allowed::AccountAdmin),
    action("ListUserPolicies", false, Allowed::UserOrAdmin),
    action("ListGroupsForUser", false, Allowed::UserOrAdmin),
    action("ListAttachedUserPolicies", false, Allowed::UserOrAdmin),
    action("CreateAccessKey", true, Allowed::UserOrAdmin),
    action("UpdateAccessKey", true, Allowed::UserOrAdmin),
    action("DeleteAccessKey", true, Allowed::UserOrAdmin),
    action("ListAccessKeys", false, Allowed::UserOrAdmin),
    action("CreateLoginProfile", true, Allowed::UserOrAdmin),
    action("UpdateLoginProfile", true, Allowed::UserOrAdmin),
    action("DeleteLoginProfile", true, Allowed::UserOrAdmin),
    action("GetLoginProfile", false, Allowed::UserOrAdmin),
    action("UploadSigningCertificate", true, Allowed::UserOrAdmin),
    action("CreateSigningCertificate", true, Allowed::UserOrAdmin),
    action("ListSigningCertificates", false, Allowed::UserOrAdmin),
    action("UpdateSigningCertificate", true, Allowed::UserOrAdmin),
    action("DeleteSigningCertificate", true, Allowed::UserOrAdmin),
];

fn action_named(name: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Is this refusal of an authenticated caller recorded?
fn recorded(action: &str, code: &str) -> bool {
    match code {
        "InternalError" | "ServiceUnavailable" => false,
        "AccessDenied" => action_named(action).is_some(),
        _ => action_named(action).is_some_and(|a| a.changes),
    }
}

async fn serve(
    app: &App,
    parts: &axum::http::request::Parts,
    body: &[u8],
    request_id: &str,
    source: &str,
) -> Result<String, IamError> {
    let (params, meta) =
        crate::query::authenticate(app, &parts.method, &parts.uri, &parts.headers, body, request_id, source)?;
    let result = serve_authenticated(app, &params, &meta).await;
    if let Err(e) = &result
        && let Some(action) = params.get("Action").filter(|a| recorded(a, e.code))
    {
        let named = ["UserName", "AccountName", "AccessKeyId", "DelegateAccount"]
            .iter()
            .filter_map(|p| params.get(p).map(str::to_owned));
        let refused =
            domain::event::RequestRefused::new(e.code, &e.message, named, false, crate::app::ids::now());
        if let Err(failure) = app.record_refusal(action, &meta, refused).await {
            tracing::error!(error = %failure, code = e.code, "could not record the refusal in the log");
        }
    }
    result
}

async fn serve_authenticated(
    app: &App,
    params: &Params,
    meta: &crate::app::RequestMeta,
) -> Result<String, IamError> {
    let action = params.required("Action")?.to_owned();
    let principal = &meta.principal;
    let account_admin = principal.user == UserName::admin();
    let cloud_admin = account_admin && app.is_cloud_admin(&principal.account);
    let denied = || {
        IamError::new(
            "AccessDenied",
            StatusCode::FORBIDDEN,
            format!("User {} is not authorized to perform {action}", principal.user),
        )
    };
    // The account acted on: the caller's, or, for the cloud administrator,
    // the one named by DelegateAccount (as euca2ools' --as-account sends).
    let target: AccountId = match params.get("DelegateAccount").filter(|d| !d.is_empty()) {
        Some(_) if !cloud_admin => return Err(denied()),
        Some(name) => app.projections.read().accounts.find(name).cloned().ok_or_else(|| {
            IamError::new(
                "NoSuchEntity",
                StatusCode::NOT_FOUND,
                format!("The account {name} cannot be found."),
            )
        })?,
        None => principal.account.clone(),
    };
    let Some(spec) = action_named(&action) else {
        return Err(IamError::new(
            "InvalidAction",
            StatusCode::BAD_REQUEST,
            format!("The action {action} is not valid for this web service."),
        ));
    };
    // May the caller manage the target account's users and keys?
    let manages = account_admin && (target == principal.account || cloud_admin);
    let user_param = |name: &str| -> Result<UserName, IamError> {
        UserName::parse(params.required(name)?)
            .map_err(|e| IamError::new("ValidationError", StatusCode::BAD_REQUEST, e.to_string()))
    };
    // The user named (default: the caller, in its own account).
    let subject = match params.get("UserName").filter(|u| !u.is_empty()) {
        Some(_) => user_param("UserName")?,
        None if target == principal.account => principal.user.clone(),
        None => UserName::admin(),
    };
    let own = target == principal.account && subject == principal.user;
    let permitted = match spec.allowed {
        Allowed::CloudAdmin => cloud_admin,
        Allowed::AnyUser => true,
        Allowed::AccountAdmin => manages,
        Allowed::UserOrAdmin => own || manages,
    };
    if !permitted {
        return Err(denied());
    }
    let no_user = |u: &UserName| {
        IamError::new(
            "NoSuchEntity",
            StatusCode::NOT_FOUND,
            format!("The user with name {u} cannot be found."),
        )
    };
    let arn = |u: &UserName| format!("arn:aws:iam::{target}:user/{u}");
    let mut x = Xml::response_iam(&format!("{action}Response"), NAMESPACE);
    match action.as_str() {
        "CreateAccount" => {
            let name = name_param(params, "AccountName")?;
            let key = app.create_account(name, meta).await?;
            x.open_owned(format!("{action}Result")).open("Account");
            x.text("AccountName", name).text("AccountId", key.account.as_str()).close();
            // Yukari's extension: the new admin's first key (Eucalyptus
            // returned only the account).
            access_key(&mut x, "admin", key.access_key.as_str(), Some(&key.secret));
            x.close();
        }
        "ListAccounts" => {
            let models = app.projections.read();
            x.open_owned(format!("{action}Result")).open("Accounts");
            for (id, row) in &models.accounts.accounts {
                x.open("member").text("AccountName", &row.name).text("AccountId", id.as_str()).close();
            }
            x.close().display("IsTruncated", false).close();
        }
        "ListAccountAliases" => {
            let models = app.projections.read();
            let row = models.accounts.accounts.get(&target).ok_or_else(denied)?;
            x.open_owned(format!("{action}Result")).open("AccountAliases");
            x.text("member", &row.name).close().display("IsTruncated", false).close();
        }
        "CreateUser" => {
            let user = user_param("UserName")?;
            app.create_user(&target, &user, meta).await?;
            x.open_owned(format!("{action}Result")).open("User");
            x.text("UserName", user.as_str()).text("Path", "/").text("Arn", &arn(&user)).close().close();
        }
        "GetUser" => {
            let models = app.projections.read();
            let row = models.accounts.accounts.get(&target).ok_or_else(denied)?;
            if !row.users.contains(&subject) {
                return Err(no_user(&subject));
            }
            x.open_owned(format!("{action}Result")).open("User");
            x.text("UserName", subject.as_str()).text("Path", "/").text("Arn", &arn(&subject));
            x.text("UserId", &format!("{target}:{subject}")).text("CreateDate", &iso_time(row.created_at));
            x.close().close();
        }
        "ListUsers" => {
            let models = app.projections.read();
            let row = models.accounts.accounts.get(&target).ok_or_else(denied)?;
            x.open_owned(format!("{action}Result")).open("Users");
            for user in &row.users {
                x.open("member")
                    .text("UserName", user.as_str())
                    .text("Path", "/")
                    .text("Arn", &arn(user))
                    .close();
            }
            x.close().display("IsTruncated", false).close();
        }
        "DeleteUser" => {
            app.delete_user(&target, &user_param("UserName")?, meta).await?;
        }
        "ListUserPolicies" | "ListGroupsForUser" | "ListAttachedUserPolicies" => {
            // No policies or groups yet: an empty list.
            let list = match action.as_str() {
                "ListUserPolicies" => "PolicyNames",
                "ListGroupsForUser" => "Groups",
                _ => "AttachedPolicies",
            };
            x.open_owned(format!("{action}Result")).open_owned(list.to_owned()).close();
            x.display("IsTruncated", false).close();
        }
        "CreateAccessKey" => {
            let key = app.create_access_key(&target, &subject, meta).await?;
            x.open_owned(format!("{action}Result"));
            access_key(&mut x, subject.as_str(), key.access_key.as_str(), Some(&key.secret));
            x.close();
        }
        "UpdateAccessKey" | "DeleteAccessKey" => {
            let key = domain::AccessKeyId::parse(params.required("AccessKeyId")?)
                .map_err(|e| IamError::new("ValidationError", StatusCode::BAD_REQUEST, e.to_string()))?;
            match (action.as_str(), params.get("Status")) {
                ("DeleteAccessKey", _) => app.delete_access_key(&target, &subject, &key, meta).await?,
                (_, Some("Active")) => app.update_access_key(&target, &subject, &key, true, meta).await?,
                (_, Some("Inactive")) => app.update_access_key(&target, &subject, &key, false, meta).await?,
                _ => {
                    return Err(IamError::new(
                        "ValidationError",
                        StatusCode::BAD_REQUEST,
                        "Status must be Active or Inactive",
                    ));
                }
            }
        }
        "ListAccessKeys" => {
            let models = app.projections.read();
            x.open_owned(format!("{action}Result")).open("AccessKeyMetadata");
            for (key, row) in
                models.accounts.keys.iter().filter(|(_, r)| r.account == target && r.user == subject)
            {
                x.open("member").text("UserName", row.user.as_str()).text("AccessKeyId", key.as_str());
                x.text("Status", if row.active { "Active" } else { "Inactive" });
                x.text("CreateDate", &iso_time(row.created_at)).close();
            }
            x.close().display("IsTruncated", false).close();
        }
        "CreateLoginProfile" | "UpdateLoginProfile" | "DeleteLoginProfile" => {
            let kind = match action.as_str() {
                "CreateLoginProfile" => LoginProfileKind::Create,
                "UpdateLoginProfile" => LoginProfileKind::Update,
                _ => LoginProfileKind::Delete,
            };
            let password = match kind {
                LoginProfileKind::Create => Some(params.required("Password")?.to_owned()),
                LoginProfileKind::Update => {
                    params.get("Password").filter(|p| !p.is_empty()).map(str::to_owned)
                }
                LoginProfileKind::Delete => None,
            };
            let reset_required = match params.get("PasswordResetRequired") {
                None | Some("") => None,
                Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
                Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
                Some(_) => {
                    return Err(IamError::new(
                        "ValidationError",
                        StatusCode::BAD_REQUEST,
                        "PasswordResetRequired must be true or false",
                    ));
                }
            };
            app.change_login_profile(&target, &subject, kind, password, reset_required, meta).await?;
            if kind == LoginProfileKind::Create {
                let models = app.projections.read();
                let row = models.login_profiles.get(&target, &subject).ok_or_else(|| no_user(&subject))?;
                x.open_owned(format!("{action}Result")).open("LoginProfile");
                x.text("UserName", subject.as_str()).text("CreateDate", &iso_time(row.created_at));
                x.display("PasswordResetRequired", row.reset_required).close().close();
            }
        }
        "GetLoginProfile" => {
            let models = app.projections.read();
            let row = models.login_profiles.get(&target, &subject).ok_or_else(|| {
                IamError::new(
                    "NoSuchEntity",
                    StatusCode::NOT_FOUND,
                    format!("Login Profile for User {subject} cannot be found."),
                )
            })?;
            x.open_owned(format!("{action}Result")).open("LoginProfile");
            x.text("UserName", subject.as_str()).text("CreateDate", &iso_time(row.created_at));
            x.display("PasswordResetRequired", row.reset_required).close().close();
        }
        a if certificates::ACTIONS.contains(&a) => {
            let models_has_user = app
                .projections
                .read()
                .accounts
                .accounts
                .get(&target)
                .is_some_and(|r| r.users.contains(&subject));
            if !models_has_user {
                return Err(no_user(&subject));
            }
            certificates::serve(app, a, params, &target, &subject, meta, &mut x).await?;
        }
        other => {
            return Err(IamError::new(
                "InvalidAction",
                StatusCode::BAD_REQUEST,
                format!("The action {other} is not valid for this web service."),
            ));
        }
    }
    x.open("ResponseMetadata").text("RequestId", &meta.request_id).close();
    Ok(x.finish())
}

fn access_key(x: &mut Xml, user: &str, id: &str, secret: Option<&str>) {
    x.open("AccessKey").text("UserName", user).text("AccessKeyId", id).text("Status", "Active");
    x.opt("SecretAccessKey", secret);
    x.close();
}

#[cfg(test)]
mod tests;
