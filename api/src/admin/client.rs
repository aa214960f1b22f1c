//! The client side of the admin API, for `yukari replay --controller URL`:
//! signs each call with SigV4 (as boto3 signs EC2 calls) and reads the
//! record frames. It hands back stored bytes; the caller verifies them.

use super::wire::{Decoder, FrameError};
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    #[error("{0} is not an http:// URL of a controller")]
    BadUrl(String),
    #[error("cannot reach the controller at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the controller refused: {status} {message}")]
    Refused { status: u16, message: String },
    #[error("the controller's answer is malformed: {0}")]
    Malformed(String),
    #[error(transparent)]
    Frames(#[from] FrameError),
}

/// Stored records (position, stored bytes) and the head when they were read.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<(u64, Vec<u8>)>,
    pub head: u64,
}

/// A page of a node's feed: its records, the position to ask from next
/// (past records of other nodes too) and the log's head.
#[derive(Debug, Default)]
pub struct FeedPage {
    pub records: Vec<(u64, Vec<u8>)>,
    pub next: u64,
    pub head: u64,
}

#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    /// `http://host:port`, no trailing slash.
    base: String,
    host: String,
    access_key: String,
    secret: String,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminClient({}, {})", self.base, self.access_key)
    }
}

impl AdminClient {
    /// A client for the controller at `url` (`http://HOST:PORT[/…]`).
    pub fn new(url: &str, access_key: &str, secret: &str) -> Result<AdminClient, AdminClientError> {
        let rest = url.strip_prefix("http://").ok_or_else(|| AdminClientError::BadUrl(url.to_owned()))?;
        let host = rest.split('/').next().unwrap_or_default().to_owned();
        if host.is_empty() {
            return Err(AdminClientError::BadUrl(url.to_owned()));
        }
        // A follow waits at most MAX_WAIT_SECS; anything far longer is a
        // controller that went away without closing the connection.
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(super::MAX_WAIT_SECS * 6))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| AdminClientError::BadUrl(format!("{url}: {e}")))?;
        Ok(AdminClient {
            http,
            base: format!("http://{host}"),
            host,
            access_key: access_key.to_owned(),
            secret: secret.to_owned(),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    async fn get(&self, path: &str, query: &str) -> Result<reqwest::Response, AdminClientError> {
        self.call("GET", path, query, Vec::new()).await
    }

    /// A signed call (SigV4 over the body too); a status other than 2xx is
    /// [`AdminClientError::Refused`] with the controller's message.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, AdminClientError> {
        let mut headers = vec![("User-Agent".to_owned(), "yukari".to_owned())];
        let request = V4Request { method, host: &self.host, path, query, body: &body };
        let key = V4Key {
            access_key_id: &self.access_key,
            secret_access_key: &self.secret,
            region: "yukari",
            service: "admin",
        };
        sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
        let url = format!("{}{path}?{query}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| AdminClientError::BadUrl(format!("method {method}")))?;
        let mut builder = self.http.request(method, &url).body(body);
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        let unreachable = |e: reqwest::Error| AdminClientError::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        };
        let response = builder.send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let message = response.text().await.unwrap_or_default();
            return Err(AdminClientError::Refused { status, message });
        }
        Ok(response)
    }

    async fn frames(&self, path: &str, query: &str) -> Result<Page, AdminClientError> {
        let response = self.get(path, query).await?;
        let head = header_u64(&response, "x-yukari-head")?;
        let records = self.read_frames(response).await?;
        Ok(Page { records, head })
    }

    /// The node protocol's feed (signed with the node's key): the records
    /// of this node from `from`, and where to ask next.
    pub async fn node_feed(&self, from: u64, wait_secs: u64) -> Result<FeedPage, AdminClientError> {
        let response = self.get("/node/feed", &format!("from={from}&wait={wait_secs}")).await?;
        let head = header_u64(&response, "x-yukari-head")?;
        let next = header_u64(&response, "x-yukari-next")?;
        let records = self.read_frames(response).await?;
        Ok(FeedPage { records, next, head })
    }

    /// The node protocol's history of an instance placed on this node:
    /// every record of `stream` up to `to`.
    pub async fn node_history(&self, stream: &str, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AdminClientError> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("stream", stream)
            .append_pair("to", &to.to_string())
            .finish();
        let response = self.get("/node/history", &query).await?;
        self.read_frames(response).await
    }

    async fn read_frames(
        &self,
        mut response: reqwest::Response,
    ) -> Result<Vec<(u64, Vec<u8>)>, AdminClientError> {
        let mut decoder = Decoder::default();
        let mut records = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| AdminClientError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
            let Some(chunk) = chunk else { break };
            decoder.push(&chunk);
            while let Some(frame) = decoder.next_frame()? {
                records.push(frame);
            }
        }
        decoder.finish()?;
        Ok(records)
    }

    /// Up to `limit` stored records from `from` (up to the head).
    pub async fn records(&self, from: u64, limit: usize) -> Result<Page, AdminClientError> {
        self.frames("/admin/log", &format!("from={from}&limit={limit}")).await
    }

    /// Records from `from`, waiting up to `wait_secs` for new ones when
    /// there are none yet (for following the log).
    pub async fn follow(&self, from: u64, limit: usize, wait_secs: u64) -> Result<Page, AdminClientError> {
        self.frames("/admin/log", &format!("from={from}&limit={limit}&wait={wait_secs}")).await
    }

    /// The last position.
    pub async fn head(&self) -> Result<u64, AdminClientError> {
        // A read past any head answers at once, with the head, and no records.
        Ok(self.frames("/admin/log", &format!("from={}&limit=1", u64::MAX)).await?.head)
    }

    /// One stream's records.
    pub async fn stream(&self, id: &str) -> Result<Page, AdminClientError> {
        let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        self.frames("/admin/stream", &format!("id={id}")).await
    }

    /// What the log's writer did since the controller started
    /// (`GET /admin/writer`).
    pub async fn writer(&self) -> Result<super::WriterReport, AdminClientError> {
        let response = self.get("/admin/writer", "").await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| AdminClientError::Unreachable { url: self.base.clone(), reason: e.to_string() })?;
        serde_json::from_slice(&body)
            .map_err(|e| AdminClientError::Malformed(format!("not a writer report: {e}")))
    }

    /// The controller's live read models (snapshot encoding) and their position.
    pub async fn models(&self) -> Result<(u64, Vec<u8>), AdminClientError> {
        let response = self.get("/admin/models", "").await?;
        let position = header_u64(&response, "x-yukari-position")?;
        let body = response
            .bytes()
            .await
            .map_err(|e| AdminClientError::Unreachable { url: self.base.clone(), reason: e.to_string() })?;
        Ok((position, body.to_vec()))
    }
}

fn header_u64(response: &reqwest::Response, name: &str) -> Result<u64, AdminClientError> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AdminClientError::Malformed(format!("no {name} header")))
}
