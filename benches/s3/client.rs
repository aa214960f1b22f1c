//! The S3 client the bench drives both servers with: path-style requests
//! signed with SigV4 in the `Authorization` header as boto3 signs them over
//! plain HTTP (`host;x-amz-content-sha256;x-amz-date`, the body's SHA-256),
//! over one keep-alive reqwest connection per client; and, for the 1 GiB
//! transfers, one request written and read by hand on a TCP socket, so
//! that the body streams from a 1 MiB buffer (`UNSIGNED-PAYLOAD`) and the
//! answer is counted and dropped, never held.

use anyhow::{Context, Result, bail};
use api::auth::{V4Key, V4Request, sign_v4_headers};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Where an S3 endpoint is and who signs for it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub port: u16,
    pub access_key: String,
    pub secret: String,
    pub region: String,
}

impl Endpoint {
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Signed headers for `method path` with the given payload hash.
    fn sign(&self, method: &str, path: &str, payload_hash: &str) -> Vec<(String, String)> {
        let host = self.host();
        let mut headers = vec![
            ("User-Agent".to_owned(), "Boto3/1.43.11 (yukari s3 bench)".to_owned()),
            ("X-Amz-Content-SHA256".to_owned(), payload_hash.to_owned()),
        ];
        let request = V4Request { method, host: &host, path, query: "", body: &[] };
        let key = V4Key {
            access_key_id: &self.access_key,
            secret_access_key: &self.secret,
            region: &self.region,
            service: "s3",
        };
        sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
        headers
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One client with its own connection.
pub struct S3Client {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl S3Client {
    pub fn new(endpoint: &Endpoint) -> Result<S3Client> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(S3Client { http, endpoint: endpoint.clone() })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<usize> {
        let hash = body.as_ref().map_or(EMPTY_SHA256, |(_, hash)| hash);
        let headers = self.endpoint.sign(method.as_str(), path, hash);
        let url = format!("http://{}{path}", self.endpoint.host());
        let mut request = self.http.request(method.clone(), &url);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some((bytes, _)) = body {
            request = request.body(bytes);
        }
        let response = request.send().await.with_context(|| format!("{method} {url} failed"))?;
        let status = response.status();
        let bytes = response.bytes().await.with_context(|| format!("{method} {url}: no body"))?;
        if !status.is_success() {
            bail!("{method} {url}: {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(bytes.len())
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        self.send(reqwest::Method::PUT, &format!("/{bucket}"), None).await.map(|_| ())
    }

    /// PutObject of `body`, whose SHA-256 the caller computed once.
    pub async fn put(&self, path: &str, body: &[u8], sha256: &str) -> Result<()> {
        self.send(reqwest::Method::PUT, path, Some((body.to_vec(), sha256))).await.map(|_| ())
    }

    /// GetObject; the number of bytes received.
    pub async fn get(&self, path: &str) -> Result<usize> {
        self.send(reqwest::Method::GET, path, None).await
    }
}

/// Writes a request head with its signed headers.
fn head(method: &str, path: &str, headers: &[(String, String)], length: Option<u64>) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(length) = length {
        text.push_str(&format!("Content-Length: {length}\r\n"));
    }
    text.push_str("Connection: close\r\n\r\n");
    text
}

/// Reads a response's status line and headers; the status and the
/// `Content-Length`.
async fn read_head(reader: &mut BufReader<TcpStream>) -> Result<(u16, Option<u64>)> {
    let mut line = String::new();
    reader.read_line(&mut line).await.context("no status line")?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status {line:?}"))?;
    let mut length = None;
    loop {
        line.clear();
        if reader.read_line(&mut line).await.context("truncated headers")? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    Ok((status, length))
}

async fn fail_with_body(mut reader: BufReader<TcpStream>, what: &str, status: u16) -> Result<Duration> {
    let mut body = String::new();
    let _ = reader.read_to_string(&mut body).await;
    bail!("{what}: HTTP {status}: {body}")
}

/// Streams `length` bytes (the buffer `chunk` over and over) as one
/// PutObject; the time from connecting to the answer.
pub async fn put_stream(endpoint: &Endpoint, path: &str, chunk: &[u8], length: u64) -> Result<Duration> {
    let began = Instant::now();
    let headers = endpoint.sign("PUT", path, "UNSIGNED-PAYLOAD");
    let mut stream = TcpStream::connect(endpoint.host()).await.context("cannot connect")?;
    stream.set_nodelay(true)?;
    stream.write_all(head("PUT", path, &headers, Some(length)).as_bytes()).await?;
    let mut left = length;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n]).await.context("the server stopped reading the body")?;
        left -= n as u64;
    }
    let mut reader = BufReader::new(stream);
    let (status, _) = read_head(&mut reader).await?;
    if !(200..300).contains(&status) {
        return fail_with_body(reader, "streaming PUT", status).await;
    }
    Ok(began.elapsed())
}

/// Streams one GetObject, counting the bytes; the time and the count.
pub async fn get_stream(endpoint: &Endpoint, path: &str) -> Result<(Duration, u64)> {
    let began = Instant::now();
    let headers = endpoint.sign("GET", path, EMPTY_SHA256);
    let mut stream = TcpStream::connect(endpoint.host()).await.context("cannot connect")?;
    stream.set_nodelay(true)?;
    stream.write_all(head("GET", path, &headers, None).as_bytes()).await?;
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let (status, length) = read_head(&mut reader).await?;
    if status != 200 {
        return fail_with_body(reader, "streaming GET", status).await.map(|d| (d, 0));
    }
    let length = length.context("GET answered without Content-Length")?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut received = 0u64;
    while received < length {
        let n = reader.read(&mut buffer).await.context("GET body cut short")?;
        if n == 0 {
            bail!("GET body cut short at {received} of {length} bytes");
        }
        received += n as u64;
    }
    Ok((began.elapsed(), received))
}
