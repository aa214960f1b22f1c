//! CORS for browsers: a bucket's rules (PutBucketCors) answer preflight
//! `OPTIONS` requests, and add `Access-Control-*` headers to the answers
//! of requests that come with an `Origin`, as S3 does.

use super::Walrus;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::buckets::CorsRule;

/// Whether `pattern` (with at most one `*`, as S3 allows) matches `value`.
fn wildcard(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(value),
        Some((head, tail)) => {
            value.len() >= head.len() + tail.len()
                && value[..head.len()].eq_ignore_ascii_case(head)
                && value[value.len() - tail.len()..].eq_ignore_ascii_case(tail)
        }
    }
}

/// The first rule that lets `origin` use `method` with `headers`.
pub(crate) fn matching<'r>(
    rules: &'r [CorsRule],
    origin: &str,
    method: &str,
    headers: &[&str],
) -> Option<&'r CorsRule> {
    rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wildcard(o, origin))
            && r.allowed_methods.iter().any(|m| m.eq_ignore_ascii_case(method))
            && headers.iter().all(|h| r.allowed_headers.iter().any(|a| wildcard(a, h)))
    })
}

/// The bucket a request names: `BUCKET.HOST` under a virtual host, else
/// the first segment of the path (after the EC2 port's prefix).
pub(crate) fn bucket_of(walrus: &Walrus, headers: &HeaderMap, path: &str) -> Option<String> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
    for base in &walrus.config.virtual_hosts {
        if let Some(bucket) = name.strip_suffix(base.as_str()).and_then(|b| b.strip_suffix('.'))
            && !bucket.is_empty()
        {
            return Some(bucket.to_owned());
        }
    }
    let path = super::prefixed::PREFIXES.iter().find_map(|p| path.strip_prefix(p)).unwrap_or(path);
    let first = path.trim_start_matches('/').split('/').next()?;
    (!first.is_empty()).then(|| first.to_owned())
}

fn rules_of(walrus: &Walrus, bucket: &str) -> Vec<CorsRule> {
    let models = walrus.app.projections.read();
    models.buckets.bucket(bucket).map(|b| b.cors.clone()).unwrap_or_default()
}

/// Answers a preflight request (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`), if this is one.
pub(crate) fn preflight(
    walrus: &Walrus,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
) -> Option<Response> {
    if method != Method::OPTIONS {
        return None;
    }
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let asked = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?.to_str().ok()?;
    let asked_headers: Vec<String> = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let names: Vec<&str> = asked_headers.iter().map(String::as_str).collect();
    let rules = bucket_of(walrus, headers, path).map(|b| rules_of(walrus, &b)).unwrap_or_default();
    let Some(rule) = matching(&rules, origin, asked, &names) else {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessForbidden</Code>\
                    <Message>CORSResponse: This CORS request is not allowed. This is usually because the \
                    evalution of Origin, request method / Access-Control-Request-Method or \
                    Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.</Message></Error>";
        return Some(
            (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/xml")], body).into_response(),
        );
    };
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    allow(h, rule, origin);
    if let Ok(v) = HeaderValue::from_str(asked) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if !asked_headers.is_empty()
        && let Ok(v) = HeaderValue::from_str(&asked_headers.join(", "))
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    if let Some(age) = rule.max_age_seconds {
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
    }
    Some(response)
}

/// Adds the CORS headers of the bucket's matching rule to the answer of a
/// request that came with an `Origin`.
pub(crate) fn decorate(
    walrus: &Walrus,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    response: &mut Response,
) {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return };
    let Some(bucket) = bucket_of(walrus, headers, path) else { return };
    let rules = rules_of(walrus, &bucket);
    if let Some(rule) = matching(&rules, origin, method.as_str(), &[]) {
        allow(response.headers_mut(), rule, origin);
    }
}

fn allow(h: &mut HeaderMap, rule: &CorsRule, origin: &str) {
    let any = rule.allowed_origins.iter().any(|o| o == "*");
    let value = if any {
        HeaderValue::from_static("*")
    } else {
        HeaderValue::from_str(origin).unwrap_or(HeaderValue::from_static("null"))
    };
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if !any {
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    if !rule.expose_headers.is_empty()
        && let Ok(v) = HeaderValue::from_str(&rule.expose_headers.join(", "))
    {
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            allowed_methods: methods.iter().map(|s| (*s).to_owned()).collect(),
            allowed_headers: headers.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn origins_methods_and_headers_must_all_match() {
        let rules = [rule(&["https://*.example.com"], &["GET", "PUT"], &["x-amz-*", "content-type"])];
        assert!(
            matching(&rules, "https://app.example.com", "PUT", &["content-type", "x-amz-date"]).is_some()
        );
        assert!(matching(&rules, "https://example.org", "GET", &[]).is_none());
        assert!(matching(&rules, "https://app.example.com", "DELETE", &[]).is_none());
        assert!(matching(&rules, "https://app.example.com", "GET", &["authorization"]).is_none());
        let any = [rule(&["*"], &["GET"], &["*"])];
        assert!(matching(&any, "http://localhost:3000", "GET", &["anything"]).is_some());
        assert!(wildcard("http://*", "http://a"));
        assert!(!wildcard("http://*.a.com", "http://.a.co"));
    }
}
