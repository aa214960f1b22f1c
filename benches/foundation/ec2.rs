//! A boto3-like EC2 Query client: form POSTs to `/`, signed with SigV4 in
//! the `Authorization` header with botocore's headers, over one keep-alive
//! connection per client. Plus the little XML reading the bench needs.

use anyhow::{Context, Result, bail};
use api::auth::{V4Key, V4Request, boto3_headers, encode_params, sign_v4_headers};
use std::time::{Duration, Instant, SystemTime};

/// The API version boto3 sends.
pub const API_VERSION: &str = "2016-11-15";

/// Who signs, and for which region.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key: String,
    pub secret: String,
    pub region: String,
}

/// A request ready to go: signed headers and form body.
pub struct Signed {
    headers: Vec<(String, String)>,
    body: String,
}

pub struct Ec2Client {
    http: reqwest::Client,
    url: String,
    host: String,
    credentials: Credentials,
}

impl Ec2Client {
    pub fn new(port: u16, credentials: Credentials) -> Result<Ec2Client> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            // moto takes seconds per RunInstances of 1,000.
            .timeout(Duration::from_secs(600))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Ec2Client {
            http,
            url: format!("http://127.0.0.1:{port}/"),
            host: format!("127.0.0.1:{port}"),
            credentials,
        })
    }

    /// Signs `params` (after `Action`/`Version`, which are added) as
    /// botocore does for an EC2 form POST.
    pub fn sign(&self, action: &str, params: &[(&str, &str)]) -> Signed {
        let mut pairs =
            vec![("Action".to_owned(), action.to_owned()), ("Version".to_owned(), API_VERSION.to_owned())];
        pairs.extend(params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let body = encode_params(&pairs);
        let mut headers = boto3_headers();
        let request =
            V4Request { method: "POST", host: &self.host, path: "/", query: "", body: body.as_bytes() };
        let key = V4Key {
            access_key_id: &self.credentials.access_key,
            secret_access_key: &self.credentials.secret,
            region: &self.credentials.region,
            service: "ec2",
        };
        sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
        Signed { headers, body }
    }

    /// Sends a signed request; the answer's body, or an error naming the
    /// EC2 error code for anything but 200.
    pub async fn send(&self, signed: Signed) -> Result<String> {
        let mut request = self.http.post(&self.url);
        for (name, value) in &signed.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response =
            request.body(signed.body).send().await.with_context(|| format!("POST {} failed", self.url))?;
        let status = response.status();
        let body =
            response.text().await.with_context(|| format!("reading the answer of {} failed", self.url))?;
        if !status.is_success() {
            let message = match first(&body, "Message") {
                Some(m) => m.to_owned(),
                None => body.chars().take(300).collect(),
            };
            bail!("HTTP {status}: {} {message}", first(&body, "Code").unwrap_or("(no code)"));
        }
        Ok(body)
    }

    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String> {
        self.send(self.sign(action, params)).await.with_context(|| format!("{action} failed"))
    }

    /// Like [`Ec2Client::call`], timing the round trip only (signing is
    /// done before the clock starts).
    pub async fn timed(&self, action: &str, params: &[(&str, &str)]) -> Result<(Duration, String)> {
        let signed = self.sign(action, params);
        let started = Instant::now();
        let body = self.send(signed).await.with_context(|| format!("{action} failed"))?;
        Ok((started.elapsed(), body))
    }
}

impl Ec2Client {
    /// Times an unsigned form POST, which the server refuses before doing
    /// any work: the floor of a round trip through both HTTP stacks.
    pub async fn timed_unsigned(&self, action: &str) -> Result<Duration> {
        let body = encode_params(&[
            ("Action".to_owned(), action.to_owned()),
            ("Version".to_owned(), API_VERSION.to_owned()),
        ]);
        let started = Instant::now();
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {} failed", self.url))?;
        let status = response.status();
        response.bytes().await.with_context(|| format!("reading the answer of {} failed", self.url))?;
        if status.is_success() {
            bail!("an unsigned {action} was answered {status}; expected a refusal");
        }
        Ok(started.elapsed())
    }
}

/// The text of every `<name>` element, in order.
pub fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(open.as_str()).skip(1).filter_map(|s| s.split(close.as_str()).next()).collect()
}

/// The text of the first `<name>` element.
pub fn first<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

/// A fresh idempotency token, a UUID as the AWS CLI and boto3 send.
pub fn client_token() -> String {
    uuid::Uuid::new_v4().to_string()
}
