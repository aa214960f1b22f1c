//! Fuzz targets (reliability issue, part 4). Each takes arbitrary bytes,
//! must not panic, hang or allocate without bound, and checks what must
//! hold of what it got back:
//!
//! - [`query`]: the Query parameter parser and every action's parameter
//!   parsing; any refusal renders as well-formed XML.
//! - [`sigv4`] and [`sigv2`]: verification of arbitrary requests, and
//!   what the signer signs the verifier accepts (and refuses once changed).
//! - [`xml`]: any text renders as well-formed XML that reads back as the
//!   text (characters XML cannot carry as U+FFFD).
//! - [`node_wire`] and [`admin_wire`]: the node protocol's JSON bodies
//!   (what decodes encodes back to itself) and the admin log's frames
//!   (the same frames however the stream is split).
//! - [`event_decode`]: stored records and event payloads of every type.
//! - [`bundle_manifest`]: euca2ools bundle manifests (what RegisterImage
//!   reads from a user's bucket), and nodes' download manifests (in
//!   [`node_wire`]).
//! - [`s3`]: the S3 request path (s3s's parsing and authentication, then
//!   Walrus) on a real log and object store: never a panic or a 500,
//!   errors in well-formed XML, no secret shown.
//!
//! The same functions run under libFuzzer (`fuzz/`, see RELIABILITY.md)
//! and, briefly, as ordinary tests (`tests.rs`: seeded mutations of valid
//! inputs, a fixed number of cases).

mod input;
mod s3;
#[cfg(test)]
mod tests;

pub use s3::s3;

use crate::auth::{SignedRequest, V2Target, V4Key, V4Request, sign_v2_query, sign_v4_headers, verify};
use crate::ec2::actions::Action;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::xml::{Xml, xml_char};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use input::Input;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The moment every target signs and verifies at.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_780_000_000)
}

const ACCESS_KEY: &str = "AKIAFUZZFUZZFUZZFUZZ";
const SECRET: &str = "fuzz/secret/key/that/must/never/be/shown0";

fn lookup() -> HashMap<String, String> {
    HashMap::from([(ACCESS_KEY.to_owned(), SECRET.to_owned())])
}

/// The XML must parse.
fn well_formed(what: &str, xml: &str) {
    if let Err(e) = roxmltree::Document::parse(xml) {
        panic!("{what}: ill-formed XML ({e}): {xml:?}");
    }
}

/// `sent`: the request itself carried the secret (see [`carries_secret`]).
fn refusal_renders(e: &Ec2Error, sent: bool) {
    well_formed("an error answer", &e.to_xml("fuzz-request"));
    assert!(sent || !e.message.contains(SECRET), "an error shows the secret: {}", e.message);
}

/// Did the request itself carry the secret, in its bytes or in a decoded
/// parameter? An error may then echo it (EC2 names the value it refuses),
/// which shows the sender nothing it did not send. The fuzzer learns the
/// secret's text from the comparisons the targets make, and sends it.
fn carries_secret(data: &[u8], pairs: &[(String, String)]) -> bool {
    data.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
        || pairs.iter().any(|(k, v)| k.contains(SECRET) || v.contains(SECRET))
}

/// The Query parser: `data` is a query string, a NUL, and a form body.
/// The parameters, whatever they are, parse for every action or are
/// refused with an error that renders.
pub fn query(data: &[u8]) {
    let (query, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query).into_owned().chain(form_urlencoded::parse(body).into_owned()).collect();
    let sent = carries_secret(data, &pairs);
    let params = match Params::from_request(pairs) {
        Ok(params) => params,
        Err(e) => return refusal_renders(&e, sent),
    };
    if let Err(e) = params.filters() {
        refusal_renders(&e, sent);
    }
    let _ = crate::ec2::refusal::named_resources(&params);
    if let Err(e) = crate::ec2::as_of::requested(&params, 1_780_000_000_000_000, 1_000) {
        refusal_renders(&e, sent);
    }
    let names: Vec<&str> = match params.get("Action") {
        Some(action) => vec![action],
        None => Action::NAMES.to_vec(),
    };
    // Most actions refuse the same way (a missing parameter): each distinct
    // refusal is rendered and parsed once.
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if let Err(e) = Action::parse(name, &params)
            && seen.insert((e.code, e.message.clone()))
        {
            refusal_renders(&e, sent);
        }
    }
}

/// Headers from `input`: up to eight (name, value) pairs, invalid ones left out.
fn headers(input: &mut Input<'_>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for _ in 0..input.byte() % 8 {
        let name = input.text();
        let value = input.text();
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    headers
}

/// Parameters from `input` (up to 16 pairs of any text).
fn params(input: &mut Input<'_>) -> Vec<(String, String)> {
    (0..input.byte() % 16).map(|_| (input.text(), input.text())).collect()
}

/// A path a client could send: `/` and URL-safe characters from `input`.
fn path(input: &mut Input<'_>) -> String {
    let mut path = String::from("/");
    path.extend(input.text().chars().filter(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(*c)));
    path
}

/// SigV4: an arbitrary request is verified without panicking and its
/// refusal tells no secret; a request the signer signed (any parameters)
/// is accepted, and refused once a parameter changes.
pub fn sigv4(data: &[u8]) {
    let mut input = Input::new(data);
    let lookup = lookup();
    // Anything at all.
    let method = if input.byte().is_multiple_of(2) { "GET" } else { "POST" };
    let path_sent = input.text();
    let query = input.text();
    let mut headers = headers(&mut input);
    if input.byte().is_multiple_of(2) {
        let value = format!("AWS4-HMAC-SHA256 {}", input.text());
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(axum::http::header::AUTHORIZATION, value);
        }
    }
    let body = input.bytes();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let request = SignedRequest { method, path: &path_sent, query: &query, headers: &headers, body: &body };
    if let Err(e) = verify(&request, &pairs, now(), &lookup) {
        assert!(carries_secret(data, &pairs) || !e.to_string().contains(SECRET), "{e}");
    }
    // Signed by the signer: accepted.
    let params = params(&mut input);
    let path = path(&mut input);
    let query = crate::auth::encode_params(&params);
    let region = input.text();
    let region = if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        "yukari".to_owned()
    } else {
        region
    };
    let key = V4Key { access_key_id: ACCESS_KEY, secret_access_key: SECRET, region: &region, service: "ec2" };
    let v4 = V4Request { method: "GET", host: "localhost:8773", path: &path, query: &query, body: b"" };
    let mut sent = vec![("Host".to_owned(), "localhost:8773".to_owned())];
    sign_v4_headers(&v4, &mut sent, &key, now());
    let map = header_map(&sent);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let request = SignedRequest { method: "GET", path: &path, query: &query, headers: &map, body: b"" };
    let verified = verify(&request, &pairs, now(), &lookup);
    assert!(verified.is_ok(), "a signed request is refused: {verified:?} {path:?} {query:?}");
    // Changed after signing: refused.
    let mut changed = params.clone();
    changed.push(("Changed".into(), "after signing".into()));
    let query = crate::auth::encode_params(&changed);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let request = SignedRequest { method: "GET", path: &path, query: &query, headers: &map, body: b"" };
    assert!(verify(&request, &pairs, now(), &lookup).is_err(), "a changed request is accepted");
}

fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::try_from(name.as_str()).unwrap(),
            HeaderValue::try_from(value.as_str()).unwrap(),
        );
    }
    map
}

/// SigV2: arbitrary parameters (with or without SigV2's own) are verified
/// without panicking; what `sign_v2_query` signed is accepted, and refused
/// once changed.
pub fn sigv2(data: &[u8]) {
    let mut input = Input::new(data);
    let lookup = lookup();
    let mut pairs = params(&mut input);
    for name in ["AWSAccessKeyId", "SignatureVersion", "SignatureMethod", "Timestamp", "Expires", "Signature"]
    {
        if !input.byte().is_multiple_of(3) {
            let value = match (name, input.byte() % 4) {
                ("AWSAccessKeyId", 0) => ACCESS_KEY.to_owned(),
                ("SignatureVersion", 0) => "2".to_owned(),
                ("SignatureMethod", 0) => "HmacSHA256".to_owned(),
                ("Timestamp", 0) => "2026-05-28T20:26:40Z".to_owned(),
                _ => input.text(),
            };
            pairs.push((name.to_owned(), value));
        }
    }
    let mut headers = headers(&mut input);
    headers.insert(axum::http::header::HOST, HeaderValue::from_static("localhost:8773"));
    let query = crate::auth::encode_params(&pairs);
    let path_sent = input.text();
    let request =
        SignedRequest { method: "GET", path: &path_sent, query: &query, headers: &headers, body: b"" };
    if let Err(e) = verify(&request, &pairs, now(), &lookup) {
        assert!(carries_secret(data, &pairs) || !e.to_string().contains(SECRET), "{e}");
    }
    // Signed: accepted, whatever the parameters, by GET or POST.
    let mut params = params(&mut input);
    params.retain(|(k, _)| k != "Signature" && k != "SignatureVersion" && k != "X-Amz-Algorithm");
    let path = path(&mut input);
    let post = input.byte().is_multiple_of(2);
    let method = if post { "POST" } else { "GET" };
    let target = V2Target { method, host: "localhost:8773", path: &path };
    sign_v2_query(&target, &mut params, ACCESS_KEY, SECRET, input.byte().is_multiple_of(2), now());
    let encoded = crate::auth::encode_params(&params);
    let (query, body) = if post { (String::new(), encoded) } else { (encoded, String::new()) };
    let request =
        SignedRequest { method, path: &path, query: &query, headers: &headers, body: body.as_bytes() };
    let verified = verify(&request, &params, now(), &lookup);
    assert!(verified.is_ok(), "a SigV2-signed request is refused: {verified:?} {params:?}");
    params.push(("Changed".into(), "after signing".into()));
    assert!(verify(&request, &params, now(), &lookup).is_err(), "a changed SigV2 request is accepted");
}

/// What XML carries of `text`: every character it cannot carry as U+FFFD.
fn carried(text: &str) -> String {
    text.chars().map(|c| if xml_char(c) { c } else { char::REPLACEMENT_CHARACTER }).collect()
}

/// The XML writer and the error renderers: any text, anywhere a value
/// goes, gives a well-formed document that reads back as the text.
pub fn xml(data: &[u8]) {
    let mut input = Input::new(data);
    // The namespace is always EC2's of some version (only checked versions
    // reach it, but any text after the prefix must still give a document):
    // an arbitrary one could be XML's own, which no document may declare
    // as the default (found by this target, kept in tests.rs).
    let namespace = format!("http://ec2.amazonaws.com/doc/{}/", input.text());
    let request_id = input.text();
    let texts: Vec<String> = (0..1 + input.byte() % 6).map(|_| input.text()).collect();
    let mut x = Xml::response("FuzzResponse", &namespace, &request_id);
    x.open("set");
    for text in &texts {
        x.open("item").text("value", text).display("length", text.len()).close();
    }
    x.close();
    let out = x.finish();
    let doc = roxmltree::Document::parse(&out).unwrap_or_else(|e| panic!("ill-formed ({e}): {out:?}"));
    let values: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("value"))
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect();
    let expected: Vec<String> = texts.iter().map(|t| carried(t)).collect();
    assert_eq!(values, expected, "the text did not read back");
    let request_ids: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("requestId")).filter_map(|n| n.text()).collect();
    assert!(request_id.is_empty() || request_ids == [carried(&request_id)]);
    // Error answers, EC2's and Euare's.
    let message = input.text();
    let error = Ec2Error::invalid(message.clone());
    let out = error.to_xml(&request_id);
    let doc = roxmltree::Document::parse(&out).unwrap_or_else(|e| panic!("ill-formed error ({e}): {out:?}"));
    let shown = doc.descendants().find(|n| n.has_tag_name("Message")).and_then(|n| n.text()).unwrap_or("");
    assert_eq!(shown, carried(&message));
    well_formed("a Euare error", &crate::euare::error_xml(&message, &request_id));
}

/// The node protocol's JSON bodies: anything decodes or is refused, and
/// what decodes encodes back to the same value.
pub fn node_wire(data: &[u8]) {
    use crate::nodes::wire::*;
    fn round_trip<T>(bytes: &[u8]) -> Option<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let value: T = serde_json::from_slice(bytes).ok()?;
        let again: T = serde_json::from_slice(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(again, value, "JSON did not read back");
        Some(value)
    }
    let Some((&which, bytes)) = data.split_first() else { return };
    match which % 10 {
        0 => {
            if let Some(report) = round_trip::<ReportBody>(bytes) {
                let node = domain::NodeId::from_bits(1);
                let zone = domain::ZoneName::parse("yukari-1a").unwrap();
                if let Ok(parsed) = report.clone().into_report(node, zone) {
                    assert_eq!(ReportBody::from_report(&parsed).instance, report.instance);
                }
            }
        }
        1 => drop(round_trip::<HeartbeatBody>(bytes)),
        2 => drop(round_trip::<HeartbeatReply>(bytes)),
        3 => drop(serde_json::from_slice::<NodeCredentials>(bytes)),
        4 => drop(round_trip::<ClusterInfo>(bytes)),
        5 => drop(round_trip::<NodeInfo>(bytes)),
        6 => drop(round_trip::<NodeNetwork>(bytes)),
        7 => drop(round_trip::<Vec<NetRule>>(bytes)),
        8 => drop(serde_json::from_slice::<crate::nodes::ManifestRequest>(bytes)),
        _ => {
            // A download manifest as a node reads it: what it accepts
            // names files by 40 hex digits and adds up.
            if let Some(manifest) = round_trip::<bundle::DownloadManifest>(bytes)
                && let Ok(layout) = manifest.layout()
            {
                assert!(
                    layout.image_digest.len() == 40
                        && layout.image_digest.bytes().all(|b| b.is_ascii_hexdigit())
                );
                assert_eq!(layout.parts.len(), manifest.parts.len());
                assert_eq!(manifest.parts.iter().map(|p| p.size).sum::<u64>(), layout.bundled_size);
            }
        }
    }
}

/// A bundle manifest (euca2ools' XML): parsed or refused, never a panic;
/// what parses renders back to XML that parses to the same manifest, and
/// its layout and signature check refuse or accept without panicking.
pub fn bundle_manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(manifest) = bundle::Manifest::parse(text) else { return };
    let rendered = manifest.render();
    let again = bundle::Manifest::parse(&rendered).expect("a rendered manifest parses");
    assert_eq!(again.render(), rendered, "rendering is stable");
    assert_eq!(
        (&again.parts, again.image_size, &again.image_digest),
        (&manifest.parts, manifest.image_size, &manifest.image_digest)
    );
    let _ = bundle::Layout::of_manifest(&manifest);
    assert!(manifest.verify_signature(FUZZ_CERT).is_err() || manifest.signature.len() > 2);
}

/// A certificate no fuzzed manifest is signed with.
const FUZZ_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/// The admin log's frames: the stream split anywhere gives the same frames
/// (or the same refusal), each of which decodes as a record or is refused.
pub fn admin_wire(data: &[u8]) {
    use crate::admin::wire::Decoder;
    let Some((&step, stream)) = data.split_first() else { return };
    let frames = |chunk: usize| {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for piece in stream.chunks(chunk.max(1)) {
            decoder.push(piece);
            loop {
                match decoder.next_frame() {
                    Ok(Some(frame)) => out.push(frame),
                    Ok(None) => break,
                    Err(e) => return (out, Some(e)),
                }
            }
        }
        let end = decoder.finish().err();
        (out, end)
    };
    let whole = frames(stream.len());
    let split = frames(usize::from(step % 32) + 1);
    assert_eq!(whole, split, "the frames depend on how the stream was split");
    let mut again = Vec::new();
    for (position, record) in &whole.0 {
        let _ = eventlog::decode_record(*position, record);
        crate::admin::wire::encode(&mut again, *position, record);
    }
    assert!(stream.starts_with(&again), "frames did not encode back to the stream");
}

/// Event decoding of arbitrary bytes: as a stored record (its checksum
/// made right when the first byte is odd, so the envelope is reached) and
/// as the payload of each event type and schema; what decodes encodes
/// back to the same event.
pub fn event_decode(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else { return };
    let mut record = Vec::with_capacity(bytes.len() + 4);
    if !which.is_multiple_of(2) {
        record.extend_from_slice(&crc32c::crc32c(bytes).to_le_bytes());
    }
    record.extend_from_slice(bytes);
    if let Ok(envelope) = eventlog::decode_record(1, &record) {
        let owned = envelope.to_owned();
        if let Ok(event) = domain::Event::decode(&owned.event_type, owned.schema, &owned.payload) {
            let again = domain::Event::decode(event.type_name(), event.schema(), &event.encode()).unwrap();
            assert_eq!(again, event);
        }
    }
    let types = domain::Event::TYPES;
    let (name, schema) = types[usize::from(which) % types.len()];
    // The current schema and the ones before it (upcast).
    for schema in [schema, schema.saturating_sub(1), u16::from(which >> 7)] {
        if let Ok(event) = domain::Event::decode(name, schema, bytes) {
            let again = domain::Event::decode(event.type_name(), event.schema(), &event.encode()).unwrap();
            assert_eq!(again, event, "{name} v{schema} did not encode back");
        }
    }
}
