//! The Query protocol shared by the EC2 and Euare endpoints: parameters from
//! the query string and form body, and the caller authenticated from its
//! signature (SigV4 or SigV2) and access key.

use crate::app::{App, RequestMeta};
use crate::auth::{SignedRequest, verify};
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use axum::http::{HeaderMap, Method, Uri, header};
use domain::Principal;
use std::time::SystemTime;

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// The request's parameters and who sent it.
pub fn authenticate(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    source: &str,
) -> Result<(Params, RequestMeta), Ec2Error> {
    if method != Method::GET && method != Method::POST {
        return Err(Ec2Error::new(Code::InvalidAction, format!("The HTTP method {method} is not supported")));
    }
    let query = uri.query().unwrap_or("");
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if method == Method::POST && is_form(headers) {
        pairs.extend(form_urlencoded::parse(body).into_owned());
    }
    let signed = SignedRequest { method: method.as_str(), path: uri.path(), query, headers, body };
    let verified = verify(&signed, &pairs, SystemTime::now(), &app.credentials)?;
    let (account, user) = app.credentials.owner(&verified.access_key_id).ok_or_else(|| {
        Ec2Error::new(Code::AuthFailure, "AWS was not able to validate the provided access credentials")
    })?;
    tracing::Span::current().record("account", account.as_str());
    let access_key = domain::AccessKeyId::parse(&verified.access_key_id).ok();
    let meta = RequestMeta {
        principal: Principal { account, user, access_key },
        request_id: request_id.to_owned(),
        correlation_id: request_id.to_owned(),
        source: source.to_owned(),
    };
    Ok((Params::from_request(pairs)?, meta))
}
