//! The EC2 Query API endpoint: collects parameters from the query string
//! and form body, authenticates (SigV4 / SigV2), checks Action and Version,
//! and hands the parsed action to its own module. Errors leave through
//! `error.rs` only.

pub mod access;
pub mod actions;
pub mod as_of;
pub mod error;
pub mod filter;
pub mod paging;
pub mod params;
pub mod refusal;
pub mod render;
pub mod tagging;
pub mod xml;

#[cfg(test)]
mod address_limit_tests;
#[cfg(test)]
mod block_device_tests;
#[cfg(test)]
pub(crate) mod capture;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod retention_tests;

use crate::app::{App, Executed, Past, RequestMeta};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use domain::{AccountId, Command};
use error::{Code, Ec2Error};
use projections::ReadModels;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// The oldest and newest EC2 API versions answered (euca2ools 3 sends
/// 2013-02-01 … 2015-10-01, current SDKs 2016-11-15).
pub const OLDEST_VERSION: &str = "2006-06-26";
pub const NEWEST_VERSION: &str = "2016-11-15";

/// One authenticated request, as the actions see it.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub meta: RequestMeta,
    /// `http://ec2.amazonaws.com/doc/<Version>/`
    pub namespace: String,
    /// `DryRun=true`: check, store nothing.
    pub dry_run: bool,
    /// The past read models, when the admin asked `AsOf`.
    pub past: Option<Arc<Past>>,
}

/// The read models an action answers from: the live ones, or the past ones
/// of an `AsOf` request.
pub enum Models<'a> {
    Live(projections::ModelsGuard<'a>),
    Past(&'a ReadModels),
}

impl std::ops::Deref for Models<'_> {
    type Target = ReadModels;

    fn deref(&self) -> &ReadModels {
        match self {
            Models::Live(guard) => guard,
            Models::Past(models) => models,
        }
    }
}

impl Ctx {
    /// Runs `command` (or, with DryRun, only decides it: EC2 then answers
    /// DryRunOperation when it would have gone through).
    pub async fn execute(&self, app: &App, command: Command) -> Result<Executed, Ec2Error> {
        #[cfg(test)]
        if capture::keep(&command) {
            return Err(Ec2Error::new(Code::InternalError, "the command was captured by a test"));
        }
        if self.dry_run {
            app.dry_run(command, &self.meta).await?;
            return Err(Ec2Error::dry_run());
        }
        Ok(app.execute(command, &self.meta).await?)
    }

    pub fn account(&self) -> &AccountId {
        &self.meta.principal.account
    }

    /// The read models to answer from: as of the requested moment for an
    /// `AsOf` request, else the live ones.
    pub fn models<'a>(&'a self, app: &'a App) -> Models<'a> {
        match &self.past {
            Some(past) => Models::Past(&past.models),
            None => Models::Live(app.projections.read()),
        }
    }

    pub fn request_id(&self) -> &str {
        &self.meta.request_id
    }

    /// A response document for `root` in the requested version's namespace.
    pub fn response(&self, root: &'static str) -> xml::Xml {
        xml::Xml::response(root, &self.namespace, self.request_id())
    }
}

/// The EC2 routes: `/`, `/services/compute` and `/services/Eucalyptus`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", any(handle))
        .route("/services/compute", any(handle))
        .route("/services/compute/", any(handle))
        .route("/services/Eucalyptus", any(handle))
        .route("/services/Eucalyptus/", any(handle))
        .with_state(app)
}

/// Valid `YYYY-MM-DD` within the supported range.
fn version_supported(version: &str) -> bool {
    let b = version.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped && (OLDEST_VERSION..=NEWEST_VERSION).contains(&version)
}

/// Largest request body accepted (user data is at most 16 KiB, base64).
const BODY_LIMIT: usize = 1 << 20;

async fn handle(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let request_id = app.ids.request_id();
    let (parts, body) = request.into_parts();
    let source = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let span = tracing::info_span!(
        "ec2",
        request_id = %request_id,
        source = %source,
        action = tracing::field::Empty,
        account = tracing::field::Empty
    );
    async move {
        let started = Instant::now();
        let result = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(body) => serve(&app, &method, &uri, &headers, &body, &request_id, &source).await,
            Err(e) if crate::serve::body_stalled(&e) => {
                Err(Ec2Error::new(Code::RequestTimeout, "The request body was not sent in time"))
            }
            Err(_) => Err(Ec2Error::invalid(format!("The request body is larger than {BODY_LIMIT} bytes"))),
        };
        let elapsed_us = started.elapsed().as_micros() as u64;
        let (status, xml) = match result {
            Ok(xml) => {
                tracing::debug!(elapsed_us, "ok");
                (StatusCode::OK, xml)
            }
            Err(e) => {
                tracing::info!(code = e.code.as_str(), message = %e.message, elapsed_us, "refused");
                (e.status(), e.to_xml(&request_id))
            }
        };
        let mut response = (status, xml).into_response();
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=UTF-8"));
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("x-amzn-requestid", v);
        }
        response
    }
    .instrument(span)
    .await
}

async fn serve(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    source: &str,
) -> Result<String, Ec2Error> {
    let (params, meta) = crate::query::authenticate(app, method, uri, headers, body, request_id, source)?;
    invoke(app, &params, meta).await
}

/// An EC2 action for a caller already authenticated some other way (the
/// web console's signed-in user), in-process: exactly what a signed
/// request goes through after its signature checked out: the same
/// parsing, authorization, commands, answer and refusal records.
/// `params` holds `Action`, `Version` and the action's parameters.
pub async fn invoke(app: &App, params: &params::Params, meta: RequestMeta) -> Result<String, Ec2Error> {
    let result = serve_with(app, params, meta.clone(), None).await;
    if let Err(e) = &result
        && let Some(action) = refusal::recorded(params, e)
    {
        // The caller is known: the refusal is recorded, durably, before
        // the answer leaves. If that fails the answer is still the
        // refusal (it changed nothing); the gap is in the controller's log.
        let dry_run = params.bool("DryRun").ok().flatten().unwrap_or(false);
        let refused = domain::event::RequestRefused::new(
            e.code.as_str(),
            &e.message,
            refusal::named_resources(params),
            dry_run,
            crate::app::ids::now(),
        );
        if let Err(failure) = app.record_refusal(action, &meta, refused).await {
            tracing::error!(error = %failure, code = e.code.as_str(), "could not record the refusal in the log");
        }
    }
    result
}

/// A read (an action that changes nothing) answered from `models`
/// instead of the live read models, as [`invoke`] would answer it, without
/// recording a refusal: the deterministic simulator compares a live answer
/// with this one over the read models folded from the log up to a
/// position the read may have seen.
#[doc(hidden)]
pub async fn read_from(
    app: &App,
    params: &params::Params,
    meta: RequestMeta,
    models: Arc<crate::app::time_travel::Past>,
) -> Result<String, Ec2Error> {
    serve_with(app, params, meta, Some(models)).await
}

async fn serve_with(
    app: &App,
    params: &params::Params,
    meta: RequestMeta,
    given: Option<Arc<crate::app::time_travel::Past>>,
) -> Result<String, Ec2Error> {
    let span = tracing::Span::current();
    let action = params
        .get("Action")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Ec2Error::new(Code::MissingAction, "The request must contain the parameter Action"))?
        .to_owned();
    span.record("action", action.as_str());
    let version = params.required("Version")?;
    if !version_supported(version) {
        return Err(Ec2Error::new(
            Code::NoSuchVersion,
            format!("The requested version ({version}) of service AmazonEC2 does not exist"),
        ));
    }
    let dry_run = params.bool("DryRun")?.unwrap_or(false);
    // Who may call the action (and ask for the past) is decided before
    // what they asked is looked at, so a refusal tells nothing about the
    // resources named or the log (its length).
    let access = actions::Action::access_by_name(&action).ok_or_else(|| actions::invalid_action(&action))?;
    access::authorize(app, &meta.principal, access, as_of::asked(params))?;
    let now_us = crate::app::ids::now().millis().saturating_mul(1000).saturating_add(999);
    let as_of = as_of::requested(params, now_us, app.head())?;
    let mut ctx =
        Ctx { meta, namespace: format!("http://ec2.amazonaws.com/doc/{version}/"), dry_run, past: None };
    let parsed = actions::Action::parse(&action, params)?;
    if as_of.is_some() {
        as_of::check_action(&action)?;
    }
    if dry_run && !access.changes() {
        return Err(Ec2Error::dry_run());
    }
    if let Some(past) = given {
        if access.changes() {
            return Err(Ec2Error::new(Code::InvalidAction, format!("{action} is not a read")));
        }
        ctx.past = Some(past);
    } else if let Some(at) = as_of {
        let past = app.models_as_of(at).await?;
        tracing::debug!(
            position = past.models.position,
            from_snapshot = past.from_snapshot,
            "answering as of"
        );
        ctx.past = Some(Arc::new(past));
    }
    parsed.run(app, &ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_for_shape_and_range() {
        assert!(version_supported("2016-11-15"));
        assert!(version_supported("2015-10-01"));
        assert!(version_supported("2013-02-01"));
        assert!(!version_supported("2016-11-16"));
        assert!(!version_supported("2099-01-01"));
        assert!(!version_supported("2005-01-01"));
        assert!(!version_supported("latest"));
        assert!(!version_supported("2016-1-15x"));
    }
}
