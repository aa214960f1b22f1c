//! Percent-encoding and canonical forms shared by the SigV4 and SigV2
//! verifiers and the signer: RFC 3986 encoding, the SigV4 canonical URI
//! and query string, and the SigV2 canonicalised parameter list.

use percent_encoding::percent_decode;

/// RFC 3986 unreserved characters, the only ones AWS signing leaves as is.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes every byte except RFC 3986 unreserved characters (and
/// `/` when `keep_slash`), with upper-case hex digits, as AWS requires.
pub(crate) fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len() * 3);
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes one query-string component the way a form decoder does: `+` is
/// a space, `%XX` a byte; malformed escapes stay as they are.
fn form_decode(component: &str) -> Vec<u8> {
    let spaced: Vec<u8> = component.bytes().map(|b| if b == b'+' { b' ' } else { b }).collect();
    percent_decode(&spaced).collect()
}

/// The canonical URIs worth trying for a raw request path, best first.
///
/// 1. The raw path encoded once more, which is what botocore and
///    euca2ools sign for non-S3 services (they encode the path they send).
/// 2. The path decoded and encoded once, which is what S3-style signers do;
///    only differs when the path holds escapes.
/// 3. `/`, which Eucalyptus also accepted for SDKs that always sign `/`.
pub(crate) fn canonical_uri_candidates(raw_path: &str) -> Vec<String> {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let mut out = vec![uri_encode(path.as_bytes(), true)];
    let single = uri_encode(&percent_decode(path.as_bytes()).collect::<Vec<u8>>(), true);
    for candidate in [single, "/".to_owned()] {
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// The SigV4 canonical query string: each parameter decoded then encoded
/// per RFC 3986, sorted by encoded name then value, joined with `&`. A
/// parameter named `skip` (already decoded) is left out.
pub(crate) fn canonical_query(raw_query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|part| !part.is_empty())
        .filter_map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = form_decode(name);
            if skip.is_some_and(|s| s.as_bytes() == name.as_slice()) {
                return None;
            }
            Some((uri_encode(&name, false), uri_encode(&form_decode(value), false)))
        })
        .collect();
    pairs.sort();
    join_pairs(&pairs)
}

/// The SigV2 canonicalised parameters: every parameter but `Signature`,
/// sorted by name (byte order, then value), RFC 3986-encoded, joined with `&`.
pub(crate) fn canonical_v2_params(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(name, _)| name != "Signature").collect();
    sorted.sort();
    let encoded: Vec<(String, String)> = sorted
        .into_iter()
        .map(|(n, v)| (uri_encode(n.as_bytes(), false), uri_encode(v.as_bytes(), false)))
        .collect();
    join_pairs(&encoded)
}

/// RFC 3986-encodes parameters for a query string or form body, in order.
pub(crate) fn encode_pairs(params: &[(String, String)]) -> String {
    let encoded: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (uri_encode(n.as_bytes(), false), uri_encode(v.as_bytes(), false)))
        .collect();
    join_pairs(&encoded)
}

fn join_pairs(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The decoded query parameters, in order (lossy UTF-8).
pub(crate) fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw_query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Whether the raw query string has a parameter with this (decoded) name.
pub(crate) fn query_has_param(raw_query: &str, name: &str) -> bool {
    form_urlencoded::parse(raw_query.as_bytes()).any(|(k, _)| k == name)
}

/// Trims a header value and collapses runs of spaces and tabs to one space.
pub(crate) fn trim_all(value: &str) -> String {
    value.split([' ', '\t']).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encode_leaves_only_unreserved_characters() {
        assert_eq!(uri_encode(b"aZ09-_.~", false), "aZ09-_.~");
        assert_eq!(uri_encode("a b+c*/é".as_bytes(), false), "a%20b%2Bc%2A%2F%C3%A9");
        assert_eq!(uri_encode(b"/services/compute", true), "/services/compute");
    }

    #[test]
    fn canonical_query_decodes_plus_as_space_and_sorts_by_encoded_name_then_value() {
        assert_eq!(canonical_query("b=2&a=x+y&a=%2B&c&&A=1", None), "A=1&a=%2B&a=x%20y&b=2&c=");
    }

    #[test]
    fn canonical_query_can_leave_out_the_signature_even_when_its_name_is_escaped() {
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&B=1&X%2DAmz%2DDate=2", Some("X-Amz-Signature")),
            "B=1&X-Amz-Date=2"
        );
    }

    #[test]
    fn canonical_uri_candidates_start_with_the_raw_path_encoded_once() {
        assert_eq!(canonical_uri_candidates(""), ["/"]);
        assert_eq!(canonical_uri_candidates("/services/compute"), ["/services/compute", "/"]);
        assert_eq!(canonical_uri_candidates("/a%20b"), ["/a%2520b", "/a%20b", "/"]);
    }

    #[test]
    fn v2_params_skip_signature_and_sort_by_name() {
        let params = vec![
            ("Version".to_owned(), "2010-08-31".to_owned()),
            ("Signature".to_owned(), "xyz".to_owned()),
            ("Action".to_owned(), "Describe Images".to_owned()),
        ];
        assert_eq!(canonical_v2_params(&params), "Action=Describe%20Images&Version=2010-08-31");
    }

    #[test]
    fn trim_all_collapses_inner_runs() {
        assert_eq!(trim_all("  \"a   b \t c\"  "), "\"a b c\"");
    }
}
