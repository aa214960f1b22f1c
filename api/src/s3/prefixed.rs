//! Walrus under `/services/objectstorage` and `/services/Walrus` of the
//! EC2 port, path style, as Eucalyptus served it (euca2ools' default
//! `S3_URL`). Clients sign the path they send, prefix included, so s3s
//! authenticates the request as it came (a custom route that matches
//! every request of the prefixed service), and [`Unprefix`] then hands
//! it, prefix and signature removed, to the plain service with the key
//! it verified ([`Verified`]), which [`super::Walrus::who`] believes.

use axum::Router;
use axum::extract::State;
use axum::http::{self, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use s3s::route::S3Route;
use s3s::service::S3Service;
use s3s::{Body, S3Request, S3Response, S3Result};
use sha2::Digest;

/// The path prefixes Walrus answers under on the EC2 port.
pub const PREFIXES: [&str; 2] = ["/services/objectstorage", "/services/Walrus"];

/// The access key s3s verified for a request forwarded without its
/// signature.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    pub access_key: String,
}

/// The trailer an `aws-chunked` body declared (`x-amz-trailer`), which
/// s3s read off the body before it was forwarded: the checksum in it is
/// still checked ([`super::checksum`]).
#[derive(Clone, Debug)]
pub(crate) struct ForwardedTrailer {
    pub name: http::HeaderValue,
    pub handle: s3s::TrailingHeaders,
}

/// The prefix of `path`, if it is one of [`PREFIXES`] (whole, or
/// followed by `/`).
fn prefix_of(path: &str) -> Option<&'static str> {
    PREFIXES
        .into_iter()
        .find(|p| path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

pub(crate) struct Unprefix {
    pub inner: S3Service,
}

/// Query parameters that carry a presigned URL's signature.
const SIGNATURE_PARAMS: [&str; 10] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// Headers of a signature, or of a body s3s has already decoded.
const SIGNATURE_HEADERS: [&str; 4] =
    ["authorization", "x-amz-content-sha256", "x-amz-decoded-content-length", "x-amz-trailer"];

#[async_trait::async_trait]
impl S3Route for Unprefix {
    fn is_match(
        &self,
        _method: &Method,
        uri: &Uri,
        _headers: &HeaderMap,
        _ext: &mut http::Extensions,
    ) -> bool {
        prefix_of(uri.path()).is_some()
    }

    /// Anonymous requests go on too: the plain service answers them with
    /// what `AllUsers` is granted. What a request must have signed is
    /// checked here, on the request as it came: the plain service sees
    /// it with its signature removed.
    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        super::signed::check(&req.uri, &req.headers, req.credentials.is_some())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let path = req.uri.path();
        let rest = prefix_of(path).map_or(path, |p| &path[p.len()..]);
        let rest = if rest.is_empty() { "/" } else { rest };
        let query: Vec<(String, String)> = form_urlencoded::parse(req.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .filter(|(k, _)| !SIGNATURE_PARAMS.contains(&k.as_str()))
            .collect();
        let mut target = rest.to_owned();
        if !query.is_empty() {
            target.push('?');
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &query {
                if v.is_empty() {
                    // Sub-resources (`?acl`, `?uploads`) stay bare.
                    s.append_key_only(k);
                } else {
                    s.append_pair(k, v);
                }
            }
            target.push_str(&s.finish());
        }
        let mut forwarded = http::Request::builder().method(req.method.clone()).uri(target.as_str());
        let trailer = match (req.headers.get("x-amz-trailer"), req.trailing_headers) {
            (Some(name), Some(handle)) => Some(ForwardedTrailer { name: name.clone(), handle }),
            _ => None,
        };
        let mut headers = req.headers;
        for h in SIGNATURE_HEADERS {
            headers.remove(h);
        }
        if headers
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"aws-chunked"))
        {
            headers.remove(http::header::CONTENT_ENCODING);
        }
        if let Some(h) = forwarded.headers_mut() {
            *h = headers;
        }
        let mut request = forwarded
            .body(req.input)
            .map_err(|e| s3s::s3_error!(InvalidURI, "the request cannot be forwarded: {e}"))?;
        if let Some(credentials) = req.credentials {
            request.extensions_mut().insert(Verified { access_key: credentials.access_key });
        }
        if let Some(trailer) = trailer {
            request.extensions_mut().insert(trailer);
        }
        let response = match self.inner.call(request).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(error = ?e, "the S3 service failed a forwarded request");
                return Err(s3s::s3_error!(InternalError));
            }
        };
        let (parts, body) = response.into_parts();
        let mut answer = S3Response::new(body);
        answer.status = Some(parts.status);
        answer.headers = parts.headers;
        Ok(answer)
    }
}

/// Answers an HTTP request with an S3 service (and CORS, which s3s
/// leaves to its user).
pub(crate) async fn serve(
    walrus: &super::Walrus,
    service: &S3Service,
    request: axum::extract::Request,
) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(answer) = super::cors::preflight(walrus, request.method(), request.headers(), &path) {
        return answer;
    }
    if let Some(refused) = expected_owner_refused(walrus, request.headers(), &path) {
        return refused;
    }
    let (method, origin) = (request.method().clone(), request.headers().clone());
    let mut request = request;
    let secret_of = |key: &str| crate::auth::SecretLookup::secret(&walrus.app.credentials, key);
    if let Some(uri) = super::sigv2_slash::uri_for_s3s(request.uri(), &method, &origin, secret_of) {
        *request.uri_mut() = uri;
    }
    let response = forward(service, request).await;
    let mut response = well_formed_error(response).await;
    super::cors::decorate(walrus, &method, &origin, &path, &mut response);
    response
}

/// Error bodies larger than this are left as they are (s3s's are a few
/// hundred bytes).
const ERROR_BODY: usize = 64 << 10;

/// An error answer whose XML body holds characters XML 1.0 cannot carry
/// (an object key with a NUL or another control character, echoed in a
/// NoSuchKey message: s3s escapes `<`, `&` and quotes, not those) gets
/// them replaced with U+FFFD, as the EC2 API's writer does, so that no
/// error is ever ill-formed XML (found by the `s3` fuzz target). An XML
/// error without a `Content-Type` (s3s drops every header of an error
/// that carries headers of its own, such as NoSuchKey's
/// `x-amz-delete-marker`) gets S3's `application/xml` back.
async fn well_formed_error(response: Response) -> Response {
    let content_type = response.headers().get(http::header::CONTENT_TYPE);
    let xml_or_none = content_type.is_none_or(|t| t.to_str().unwrap_or("").contains("xml"));
    let error = response.status().is_client_error() || response.status().is_server_error();
    let small =
        axum::body::HttpBody::size_hint(response.body()).upper().is_some_and(|n| n <= ERROR_BODY as u64);
    if !error || !xml_or_none || !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "an S3 error's body could not be read");
            return (http::StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    if !text.starts_with("<?xml") {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    parts
        .headers
        .entry(http::header::CONTENT_TYPE)
        .or_insert(http::HeaderValue::from_static("application/xml"));
    match crate::ec2::xml::only_xml_chars(text) {
        std::borrow::Cow::Borrowed(_) => Response::from_parts(parts, axum::body::Body::from(bytes)),
        std::borrow::Cow::Owned(cleaned) => {
            parts.headers.remove(http::header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(cleaned))
        }
    }
}

/// `x-amz-expected-bucket-owner` naming another account than the
/// bucket's owner: AccessDenied, before anything else is done (a bucket
/// that does not exist is left to the operation to refuse).
fn expected_owner_refused(walrus: &super::Walrus, headers: &HeaderMap, path: &str) -> Option<Response> {
    let expected = headers.get("x-amz-expected-bucket-owner")?.to_str().unwrap_or("");
    let bucket = super::cors::bucket_of(walrus, headers, path)?;
    let owner =
        walrus.app.projections.read().buckets.bucket(&bucket).filter(|b| !b.deleted)?.owner.to_string();
    if owner == expected {
        return None;
    }
    let request_id = walrus.app.ids.request_id();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied\
         </Message><RequestId>{request_id}</RequestId></Error>"
    );
    let headers = [
        (http::header::CONTENT_TYPE, "application/xml".to_owned()),
        (http::header::HeaderName::from_static("x-amz-request-id"), request_id),
    ];
    Some((http::StatusCode::FORBIDDEN, headers, body).into_response())
}

/// Bodies up to this size that come with their SHA-256
/// (`x-amz-content-sha256`) are read and checked before s3s sees them:
/// s3s answers a body that does not match with 500 InternalError where S3
/// answers 400 XAmzContentSHA256Mismatch (found by the `s3` fuzz target).
/// Larger bodies are streamed (PutObject, UploadPart) and checked as they
/// are stored (`objects.rs`). Small, because each body read here is held
/// whole: at 8 MiB the AWS CLI's ten concurrent 8 MiB parts (over HTTP
/// it declares every part's SHA-256) held 80 MiB and more.
const CHECKED_BODY: usize = 1 << 20;

/// The payload's SHA-256 the request declares, when it declares one (not
/// `UNSIGNED-PAYLOAD` nor a streaming signature).
fn declared_sha256(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get("x-amz-content-sha256")?.to_str().ok()?;
    (value.len() == 64).then(|| hex::decode(value).ok()).flatten()
}

/// S3's answer to a body whose SHA-256 is not the one declared.
pub(crate) fn sha256_mismatch(declared: &[u8], computed: &[u8]) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>XAmzContentSHA256Mismatch</Code>\
         <Message>The provided 'x-amz-content-sha256' header does not match what was computed.</Message>\
         <ClientComputedContentSHA256>{}</ClientComputedContentSHA256>\
         <S3ComputedContentSHA256>{}</S3ComputedContentSHA256></Error>",
        hex::encode(declared),
        hex::encode(computed)
    );
    (http::StatusCode::BAD_REQUEST, [(http::header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn forward(service: &S3Service, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    // An HTTP/1.1 request with neither a length nor chunks has no body:
    // say so exactly (s3s checks a signed payload's length).
    let bodiless = !parts.headers.contains_key(http::header::CONTENT_LENGTH)
        && !parts.headers.contains_key(http::header::TRANSFER_ENCODING);
    let length =
        parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let body = match declared_sha256(&parts.headers) {
        Some(declared) if bodiless || length.is_some_and(|l| l <= CHECKED_BODY) => {
            let bytes = if bodiless {
                bytes::Bytes::new()
            } else {
                match axum::body::to_bytes(body, CHECKED_BODY).await {
                    Ok(bytes) => bytes,
                    // The client went away or sent more than it said.
                    Err(_) => return http::StatusCode::BAD_REQUEST.into_response(),
                }
            };
            let computed = sha2::Sha256::digest(&bytes);
            if computed.as_slice() != declared.as_slice() {
                return sha256_mismatch(&declared, &computed);
            }
            if bodiless { Body::empty() } else { Body::from(bytes) }
        }
        _ if bodiless => Body::empty(),
        _ => Body::http_body_unsync(body),
    };
    let request = http::Request::from_parts(parts, body);
    match service.call(request).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            Response::from_parts(parts, axum::body::Body::new(body))
        }
        Err(e) => {
            tracing::error!(error = ?e, "the S3 service failed a request");
            http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The EC2 port's routes to Walrus.
pub(crate) fn router(walrus: super::Walrus, service: S3Service) -> Router {
    let mut router = Router::new();
    for prefix in PREFIXES {
        router = router.route(prefix, any(handle)).route(&format!("{prefix}/{{*rest}}"), any(handle));
    }
    router.with_state((walrus, service))
}

async fn handle(
    State((walrus, service)): State<(super::Walrus, S3Service)>,
    request: axum::extract::Request,
) -> Response {
    serve(&walrus, &service, request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_whole_path_segments() {
        assert_eq!(prefix_of("/services/objectstorage"), Some("/services/objectstorage"));
        assert_eq!(prefix_of("/services/objectstorage/b/k"), Some("/services/objectstorage"));
        assert_eq!(prefix_of("/services/Walrus/b"), Some("/services/Walrus"));
        assert_eq!(prefix_of("/services/objectstoragex"), None);
        assert_eq!(prefix_of("/b/k"), None);
    }
}
