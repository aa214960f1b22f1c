//! Bucket and object actions of the console are Walrus's S3 operations
//! (`s3s::S3` on `api::s3::Walrus`), run in process for the signed-in
//! user: the request carries the user's principal (`api::s3::InProcess`)
//! instead of a signature, and goes through the same authorization (ACLs,
//! only an account's admin user changes anything), commands, answers and
//! refusal records as a signed request. The audit trail tells them apart
//! by their source (`console:ADDRESS`).

use crate::Console;
use crate::i18n::Tr;
use crate::sessions::Session;
use axum::http::{Extensions, HeaderMap, Method, Uri};
use s3s::{S3Error, S3Request};
use std::net::SocketAddr;

/// An S3 request of `session`'s user with `input`.
pub(crate) fn request<T>(
    console: &Console,
    session: &Session,
    peer: Option<SocketAddr>,
    method: Method,
    input: T,
) -> S3Request<T> {
    let mut extensions = Extensions::new();
    extensions.insert(api::s3::InProcess(crate::ec2::meta(console, session, peer)));
    S3Request {
        input,
        method,
        uri: Uri::from_static("/"),
        headers: HeaderMap::new(),
        extensions,
        credentials: None,
        region: None,
        service: None,
        trailing_headers: None,
    }
}

/// The translation key of an S3 error code (`BucketNotEmpty` →
/// `s3-BucketNotEmpty`).
pub(crate) fn error_key(e: &S3Error) -> String {
    format!("s3-{}", e.code().as_str())
}

/// The message of an S3 error: its code's translation where there is
/// one, else a general sentence; both are given the code and S3's message.
pub(crate) fn error_text(tr: &Tr, e: &S3Error) -> (String, Vec<(String, String)>) {
    let key = error_key(e);
    let key = if crate::i18n::has(tr.lang, &key) { key } else { "s3-other".to_owned() };
    let args = vec![
        ("code".to_owned(), e.code().as_str().to_owned()),
        ("message".to_owned(), e.message().unwrap_or("").to_owned()),
    ];
    (key, args)
}

/// A domain time from an S3 one.
pub(crate) fn time_of(t: &s3s::dto::Timestamp) -> domain::Timestamp {
    let at = time::OffsetDateTime::from(t.clone());
    domain::Timestamp(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
}

/// A number of bytes as the language writes it (B, KiB, MiB, GiB: one
/// decimal above bytes, in integers).
pub(crate) fn bytes_text(tr: &Tr, n: u64) -> String {
    const UNITS: [&str; 4] = ["size-bytes", "size-kib", "size-mib", "size-gib-bytes"];
    let mut unit = 0;
    let mut scaled = n;
    while scaled >= 1024 * 10 && unit < UNITS.len() - 1 {
        scaled /= 1024;
        unit += 1;
    }
    // Tenths for KiB and up below 10 (1.5 KiB), whole numbers otherwise.
    let text = if unit == 0 && n >= 1024 {
        let tenths = n * 10 / 1024;
        unit = 1;
        format!("{}.{}", tenths / 10, tenths % 10)
    } else {
        tr.number(scaled)
    };
    tr.msg_args(UNITS[unit], &[("size", &text)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn sizes_are_written_in_binary_units() {
        let tr = Tr::new(Lang::En);
        assert_eq!(bytes_text(&tr, 0), "0 B");
        assert_eq!(bytes_text(&tr, 1023), "1,023 B");
        assert_eq!(bytes_text(&tr, 1536), "1.5 KiB");
        assert_eq!(bytes_text(&tr, 5 * 1024 * 1024), "5,120 KiB");
        assert_eq!(bytes_text(&tr, 50 * 1024 * 1024), "50 MiB");
        assert_eq!(bytes_text(&tr, 3 << 40), "3,072 GiB");
    }
}
