//! Raw signed HTTP requests, byte for byte what a given client sends,
//! over a plain TCP connection (no client library in between).

use api::auth::{
    V2Target, V4Key, V4Request, boto3_headers, encode_params, euca2ools_headers, presign_v4, sign_v2_query,
    sign_v4_headers,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::SystemTime;

/// Which client's signing to reproduce.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// boto3 / AWS CLI: SigV4 header, charset in the content type.
    Boto3,
    /// euca2ools 3.4: SigV4 header with its own signed headers and a
    /// made-up region in the scope.
    Euca2ools { region: &'a str },
    /// SigV2 in the form body (POST).
    V2Post { sha256: bool },
    /// SigV2 in the query string (GET), as `euca-install-image`.
    V2Get { sha256: bool },
    /// A SigV4 presigned GET URL.
    Presigned,
}

pub struct Client {
    pub port: u16,
    pub access_key: String,
    pub secret: String,
    pub path: String,
}

pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The text of the first `<name>` element.
    pub fn element(&self, name: &str) -> Option<&str> {
        let open = format!("<{name}>");
        let start = self.body.find(&open)? + open.len();
        let end = self.body[start..].find(&format!("</{name}>"))? + start;
        Some(&self.body[start..end])
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        self.body.split(&open).skip(1).filter_map(|s| s.split(&close).next()).map(str::to_owned).collect()
    }

    /// The name in each `<instanceState>`, in order.
    pub fn instance_states(&self) -> Vec<String> {
        self.all("instanceState")
            .iter()
            .map(|s| {
                let name = s.split("<name>").nth(1).and_then(|rest| rest.split("</name>").next());
                name.expect("an instanceState has a name").to_owned()
            })
            .collect()
    }

    pub fn code(&self) -> Option<&str> {
        self.element("Code")
    }
}

/// Status 0 when the connection fails (the controller is gone).
pub fn raw_http(port: u16, method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Answer {
    let dead = || Answer { status: 0, body: String::new() };
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return dead();
    };
    let mut request = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut response = Vec::new();
    let sent = stream.write_all(request.as_bytes()).and_then(|_| stream.write_all(body));
    if sent.and_then(|_| stream.read_to_end(&mut response)).is_err() {
        return dead();
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    // Bodies come chunked or with a length; the XML is all we read.
    let body = match (body.find('<'), body.rfind('>')) {
        (Some(a), Some(b)) if a < b => body[a..=b].to_owned(),
        _ => body,
    };
    Answer { status, body }
}

impl Client {
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends `params` signed as `signer` would, at time `now`.
    pub fn send_at(&self, params: &[(&str, &str)], signer: Signer<'_>, now: SystemTime) -> Answer {
        let mut pairs: Vec<(String, String)> =
            params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let host = self.host();
        match signer {
            Signer::Boto3 | Signer::Euca2ools { .. } => {
                let body = encode_params(&pairs);
                let (mut headers, region) = match signer {
                    Signer::Euca2ools { region } => (euca2ools_headers(body.as_bytes()), region),
                    _ => (boto3_headers(), "yukari"),
                };
                let req = V4Request {
                    method: "POST",
                    host: &host,
                    path: &self.path,
                    query: "",
                    body: body.as_bytes(),
                };
                let key = V4Key {
                    access_key_id: &self.access_key,
                    secret_access_key: &self.secret,
                    region,
                    service: "ec2",
                };
                sign_v4_headers(&req, &mut headers, &key, now);
                raw_http(self.port, "POST", &self.path, &headers, body.as_bytes())
            }
            Signer::V2Post { sha256 } => {
                let target = V2Target { method: "POST", host: &host, path: &self.path };
                sign_v2_query(&target, &mut pairs, &self.access_key, &self.secret, sha256, now);
                let body = encode_params(&pairs);
                let headers = vec![
                    ("Host".to_owned(), host.clone()),
                    (
                        "Content-Type".to_owned(),
                        "application/x-www-form-urlencoded; charset=UTF-8".to_owned(),
                    ),
                ];
                raw_http(self.port, "POST", &self.path, &headers, body.as_bytes())
            }
            Signer::V2Get { sha256 } => {
                let target = V2Target { method: "GET", host: &host, path: &self.path };
                sign_v2_query(&target, &mut pairs, &self.access_key, &self.secret, sha256, now);
                let url = format!("{}?{}", self.path, encode_params(&pairs));
                raw_http(self.port, "GET", &url, &[("Host".to_owned(), host.clone())], b"")
            }
            Signer::Presigned => {
                let query = encode_params(&pairs);
                let req =
                    V4Request { method: "GET", host: &host, path: &self.path, query: &query, body: b"" };
                let key = V4Key {
                    access_key_id: &self.access_key,
                    secret_access_key: &self.secret,
                    region: "yukari",
                    service: "ec2",
                };
                let signed = presign_v4(&req, &key, now, 300);
                let url = format!("{}?{}", self.path, signed);
                raw_http(self.port, "GET", &url, &[("Host".to_owned(), host.clone())], b"")
            }
        }
    }

    pub fn send(&self, params: &[(&str, &str)], signer: Signer<'_>) -> Answer {
        self.send_at(params, signer, SystemTime::now())
    }
}

impl crate::common::Cloud {
    /// A new account `name` (`yukari account create`), as a wire client
    /// signing with its admin's key.
    pub fn wire_as_new_account(&self, name: &str, path: &str) -> Client {
        let made = crate::common::yukari()
            .args(["account", "create", name, "--data-dir"])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let eucarc = std::fs::read_to_string(self.dir.join("accounts").join(name).join("eucarc")).unwrap();
        let keys = crate::common::parse_eucarc(&eucarc);
        Client {
            port: self.port,
            access_key: keys["AWS_ACCESS_KEY_ID"].clone(),
            secret: keys["AWS_SECRET_ACCESS_KEY"].clone(),
            path: path.to_owned(),
        }
    }

    pub fn wire(&self, path: &str) -> Client {
        Client {
            port: self.port,
            access_key: self.access_key().to_owned(),
            secret: self.secret_key().to_owned(),
            path: path.to_owned(),
        }
    }
}
