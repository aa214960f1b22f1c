//! SigV2's bucket resource, both ways. For a request to a bucket itself
//! (`GET /bucket?…`), botocore signs the canonical resource `/bucket/`
//! (with the slash S3 itself canonicalizes to) while it sends `/bucket`;
//! other clients sign the path as sent. s3s verifies only the path as
//! sent, so before it sees such a request, this finds which of the two the
//! signature is over and, for the slashed one, sends the path with its
//! slash (which names the same bucket).

use axum::http::{HeaderMap, Method, Uri};
use base64::Engine as _;
use hmac::{Hmac, Mac};

/// The sub-resources SigV2 signs (as s3s's list).
const SIGNED_QUERY: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// SigV2's string to sign for `path` (header authentication).
fn string_to_sign(method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let date = if headers.contains_key("x-amz-date") { "" } else { header("date") };
    let mut s =
        format!("{}\n{}\n{}\n{}\n", method.as_str(), header("content-md5"), header("content-type"), date);
    let mut amz: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-amz-"))
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.trim().to_owned())))
        .collect();
    amz.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::new();
    for (n, v) in amz {
        match merged.last_mut() {
            Some((last, values)) if *last == n => {
                values.push(',');
                values.push_str(&v);
            }
            _ => merged.push((n, v)),
        }
    }
    for (n, v) in merged {
        s.push_str(&format!("{n}:{v}\n"));
    }
    s.push_str(&percent_encoding::percent_decode_str(path).decode_utf8_lossy());
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
    let mut first = true;
    for q in SIGNED_QUERY {
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == q) {
            s.push(if first { '?' } else { '&' });
            first = false;
            s.push_str(q);
            if !v.is_empty() {
                s.push('=');
                s.push_str(v);
            }
        }
    }
    s
}

fn signature(secret: &str, text: &str) -> Option<String> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(text.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// The URI to hand s3s: `uri` with a slash after the bucket when the
/// request is SigV2-signed over the bucket's resource with its slash and
/// not over the path as sent.
pub(crate) fn uri_for_s3s(
    uri: &Uri,
    method: &Method,
    headers: &HeaderMap,
    secret_of: impl Fn(&str) -> Option<String>,
) -> Option<Uri> {
    let auth = headers.get("authorization")?.to_str().ok()?.strip_prefix("AWS ")?;
    let (key, given) = auth.split_once(':')?;
    let path = uri.path();
    let rest = super::prefixed::PREFIXES.iter().find_map(|p| path.strip_prefix(p)).unwrap_or(path);
    let bucket_only = rest.len() > 1 && rest.starts_with('/') && !rest[1..].contains('/');
    if !bucket_only {
        return None;
    }
    let secret = secret_of(key)?;
    if signature(&secret, &string_to_sign(method, path, uri.query(), headers)).as_deref() == Some(given) {
        return None;
    }
    let slashed = format!("{path}/");
    if signature(&secret, &string_to_sign(method, &slashed, uri.query(), headers)).as_deref() != Some(given) {
        return None;
    }
    let target = match uri.query() {
        Some(q) => format!("{slashed}?{q}"),
        None => slashed,
    };
    target.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn signed(resource: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("date", HeaderValue::from_static("Sat, 05 Dec 2026 23:45:15 GMT"));
        let text = format!("GET\n\n\nSat, 05 Dec 2026 23:45:15 GMT\n{resource}");
        let sig = signature("secret", &text).unwrap();
        h.insert("authorization", HeaderValue::from_str(&format!("AWS AKID:{sig}")).unwrap());
        h
    }

    #[test]
    fn a_bucket_signed_with_its_slash_is_sent_with_it() {
        let secret = |_: &str| Some("secret".to_owned());
        let uri: Uri = "/v2bucket?encoding-type=url".parse().unwrap();
        let fixed = uri_for_s3s(&uri, &Method::GET, &signed("/v2bucket/"), secret).unwrap();
        assert_eq!(fixed.to_string(), "/v2bucket/?encoding-type=url");
        // Signed as sent, or an object, or a wrong signature: left alone.
        assert!(uri_for_s3s(&uri, &Method::GET, &signed("/v2bucket"), secret).is_none());
        let object: Uri = "/v2bucket/key".parse().unwrap();
        assert!(uri_for_s3s(&object, &Method::GET, &signed("/v2bucket/key/"), secret).is_none());
        assert!(uri_for_s3s(&uri, &Method::GET, &signed("/other/"), secret).is_none());
        let prefixed: Uri = "/services/objectstorage/v2bucket".parse().unwrap();
        let fixed =
            uri_for_s3s(&prefixed, &Method::GET, &signed("/services/objectstorage/v2bucket/"), secret);
        assert_eq!(fixed.unwrap().to_string(), "/services/objectstorage/v2bucket/");
    }
}
