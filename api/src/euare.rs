//! Euare, Eucalyptus's identity service, as a minimal IAM-style Query API
//! on `/services/Euare`: accounts (cloud administrator only), users and
//! access keys. Version 2010-05-08 (IAM's); answers and errors in IAM's XML.
//!
//! CreateAccount is Eucalyptus's extension: it also makes the account's
//! `default` security group and a first access key for its `admin` user,
//! whose secret is in the answer once.

use crate::app::App;
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

const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/services/Euare", any(handle))
        .route("/services/Euare/", any(handle))
        .with_state(app)
}

/// An IAM error: code, message, HTTP status.
struct IamError(Ec2Error);

impl IamError {
    fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> IamError {
        IamError(Ec2Error { code, message: message.into(), status })
    }

    fn to_xml(&self, request_id: &str) -> String {
        let mut x = Xml::bare("ErrorResponse");
        let kind = if self.0.status.is_server_error() { "Receiver" } else { "Sender" };
        x.open("Error").text("Type", kind).text("Code", self.0.code).text("Message", &self.0.message).close();
        x.text("RequestId", request_id);
        x.finish()
    }
}

impl From<Ec2Error> for IamError {
    fn from(e: Ec2Error) -> Self {
        IamError(e)
    }
}

impl From<crate::app::ExecuteError> for IamError {
    fn from(e: crate::app::ExecuteError) -> Self {
        match e {
            crate::app::ExecuteError::Refused(DecideError::AccountNameTaken(n)) => {
                IamError::new("EntityAlreadyExists", StatusCode::CONFLICT, format!("Account {n} already exists."))
            }
            crate::app::ExecuteError::Refused(DecideError::UserExists(u)) => {
                IamError::new("EntityAlreadyExists", StatusCode::CONFLICT, format!("User {u} already exists."))
            }
            crate::app::ExecuteError::Refused(DecideError::UserNotFound(u)) => IamError::new(
                "NoSuchEntity",
                StatusCode::NOT_FOUND,
                format!("The user with name {u} cannot be found."),
            ),
            other => IamError(other.into()),
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
            Err(_) => Err(IamError::new("ValidationError", StatusCode::BAD_REQUEST, "The request is too large")),
        };
        let (status, xml) = match result {
            Ok(xml) => (StatusCode::OK, xml),
            Err(e) => {
                tracing::info!(code = e.0.code, message = %e.0.message, "refused");
                (e.0.status, e.to_xml(&request_id))
            }
        };
        let mut response = (status, xml).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=UTF-8"));
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

async fn serve(
    app: &App,
    parts: &axum::http::request::Parts,
    body: &[u8],
    request_id: &str,
    source: &str,
) -> Result<String, IamError> {
    let (params, meta) =
        crate::query::authenticate(app, &parts.method, &parts.uri, &parts.headers, body, request_id, source)?;
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
    let mut x = Xml::response_iam(&format!("{action}Response"), NAMESPACE);
    match action.as_str() {
        "CreateAccount" => {
            if !cloud_admin {
                return Err(denied());
            }
            let name = name_param(&params, "AccountName")?;
            let key = app.create_account(name, &meta).await?;
            x.open_owned(format!("{action}Result")).open("Account");
            x.text("AccountName", name).text("AccountId", key.account.as_str()).close();
            access_key(&mut x, "admin", &key.access_key.to_string(), Some(&key.secret));
            x.close();
        }
        "ListAccounts" => {
            if !cloud_admin {
                return Err(denied());
            }
            let models = app.projections.read();
            x.open_owned(format!("{action}Result")).open("Accounts");
            for (id, row) in &models.accounts.accounts {
                x.open("member").text("AccountName", &row.name).text("AccountId", id.as_str()).close();
            }
            x.close().display("IsTruncated", false).close();
        }
        "CreateUser" => {
            if !account_admin {
                return Err(denied());
            }
            let user = UserName::parse(params.required("UserName")?)
                .map_err(|e| IamError::new("ValidationError", StatusCode::BAD_REQUEST, e.to_string()))?;
            app.create_user(&principal.account, &user, &meta).await?;
            x.open_owned(format!("{action}Result")).open("User");
            x.text("UserName", user.as_str()).text("Path", "/");
            x.text("Arn", &format!("arn:aws:iam::{}:user/{user}", principal.account)).close().close();
        }
        "ListUsers" => {
            let models = app.projections.read();
            let row = models.accounts.accounts.get(&principal.account).ok_or_else(denied)?;
            x.open_owned(format!("{action}Result")).open("Users");
            for user in &row.users {
                x.open("member").text("UserName", user.as_str()).text("Path", "/");
                x.text("Arn", &format!("arn:aws:iam::{}:user/{user}", principal.account)).close();
            }
            x.close().display("IsTruncated", false).close();
        }
        "CreateAccessKey" => {
            // An account's admin makes keys for its users; others for themselves.
            let user = match params.get("UserName") {
                Some(u) if account_admin => UserName::parse(u)
                    .map_err(|e| IamError::new("ValidationError", StatusCode::BAD_REQUEST, e.to_string()))?,
                Some(u) if u != principal.user.as_str() => return Err(denied()),
                _ => principal.user.clone(),
            };
            let key = app.create_access_key(&principal.account, &user, &meta).await?;
            x.open_owned(format!("{action}Result"));
            access_key(&mut x, user.as_str(), key.access_key.as_str(), Some(&key.secret));
            x.close();
        }
        "ListAccessKeys" => {
            let user = params.get("UserName").unwrap_or(principal.user.as_str()).to_owned();
            if !account_admin && user != principal.user.as_str() {
                return Err(denied());
            }
            let models = app.projections.read();
            x.open_owned(format!("{action}Result")).open("AccessKeyMetadata");
            let account: &AccountId = &principal.account;
            for (key, row) in models.accounts.keys.iter().filter(|(_, r)| &r.account == account && r.user.as_str() == user) {
                x.open("member").text("UserName", row.user.as_str()).text("AccessKeyId", key.as_str());
                x.text("Status", "Active").text("CreateDate", &iso_time(row.created_at)).close();
            }
            x.close().display("IsTruncated", false).close();
        }
        other => {
            return Err(IamError::new(
                "InvalidAction",
                StatusCode::BAD_REQUEST,
                format!("The action {other} is not valid for this web service."),
            ));
        }
    }
    x.open("ResponseMetadata").text("RequestId", request_id).close();
    Ok(x.finish())
}

fn access_key(x: &mut Xml, user: &str, id: &str, secret: Option<&str>) {
    x.open("AccessKey").text("UserName", user).text("AccessKeyId", id).text("Status", "Active");
    x.opt("SecretAccessKey", secret);
    x.close();
}
