//! The online record source: a running controller's admin API
//! (`api::admin`), read page by page with the next page fetched while the
//! current one is folded. Records arrive as stored bytes and are verified
//! here (checksum, position), exactly as when reading the file.

use api::admin::client::AdminClient;
use eventlog::{ReadError, RecordedEvent, decode_record};
use replay_tools::ReplayError;
use replay_tools::source::{Records, Visit};
use std::path::Path;

/// Records per request while reading the log.
const PAGE: usize = 50_000;

pub struct Online {
    pub client: AdminClient,
    handle: tokio::runtime::Handle,
}

fn remote(e: impl std::fmt::Display) -> ReplayError {
    ReplayError::Remote(e.to_string())
}

impl Online {
    /// A source for the controller at `url`, with the admin's credentials
    /// from `DIR/eucarc` if there is one, else from `AWS_ACCESS_KEY_ID`
    /// and `AWS_SECRET_ACCESS_KEY`.
    pub fn connect(url: &str, data_dir: &Path) -> anyhow::Result<Online> {
        let (key, secret) = credentials(data_dir)?;
        let client = AdminClient::new(url, &key, &secret)?;
        Ok(Online { client, handle: tokio::runtime::Handle::current() })
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}

fn credentials(data_dir: &Path) -> anyhow::Result<(String, String)> {
    let eucarc = data_dir.join("eucarc");
    if let Ok(text) = std::fs::read_to_string(&eucarc) {
        let value = |name: &str| {
            text.lines()
                .filter_map(|l| l.strip_prefix("export "))
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.trim().to_owned())
        };
        if let (Some(k), Some(s)) = (value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY")) {
            return Ok((k, s));
        }
    }
    match (std::env::var("AWS_ACCESS_KEY_ID"), std::env::var("AWS_SECRET_ACCESS_KEY")) {
        (Ok(k), Ok(s)) if !k.is_empty() && !s.is_empty() => Ok((k, s)),
        _ => anyhow::bail!(say!(
            "no admin credentials: neither {} nor AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            "管理者の認証情報がありません: {} も AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY もありません",
            eucarc.display()
        )),
    }
}

fn decode_all(records: Vec<(u64, Vec<u8>)>) -> Result<Vec<RecordedEvent>, ReplayError> {
    records
        .iter()
        .map(|(p, b)| decode_record(*p, b).map(|e| e.to_owned()).map_err(ReplayError::from))
        .collect()
}

impl Records for Online {
    fn head(&self) -> Result<u64, ReplayError> {
        self.block_on(self.client.head()).map_err(remote)
    }

    fn visit(&self, from: u64, visit: Visit<'_>) -> Result<(), ReplayError> {
        let head = self.head()?;
        let from = from.max(1);
        if from > head {
            return Ok(());
        }
        let (pages, mut received) = tokio::sync::mpsc::channel(2);
        let client = self.client.clone();
        let fetcher = self.handle.spawn(async move {
            let mut next = from;
            while next <= head {
                let limit = ((head - next + 1) as usize).min(PAGE);
                let page = client.records(next, limit).await;
                let last = page.as_ref().ok().and_then(|p| p.records.last().map(|r| r.0));
                let stop = page.is_err() || last.is_none();
                if pages.send(page).await.is_err() || stop {
                    break;
                }
                next = last.unwrap_or(head) + 1;
            }
        });
        let mut expected = from;
        let result = (|| {
            while let Some(page) = received.blocking_recv() {
                let page = page.map_err(remote)?;
                if page.records.is_empty() {
                    break;
                }
                for (position, bytes) in &page.records {
                    while expected < *position {
                        let missing =
                            ReadError::Corrupt { position: expected, reason: "record is missing".into() };
                        if visit(expected, Err(missing)).is_break() {
                            return Ok(());
                        }
                        expected += 1;
                    }
                    expected = position + 1;
                    if visit(*position, decode_record(*position, bytes)).is_break() {
                        return Ok(());
                    }
                }
            }
            if expected <= head {
                return Err(ReplayError::Remote(format!(
                    "the controller stopped sending at position {expected}"
                )));
            }
            Ok(())
        })();
        fetcher.abort();
        result
    }

    fn read(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, ReplayError> {
        let page = self.block_on(self.client.records(from.max(1), max.max(1))).map_err(remote)?;
        decode_all(page.records)
    }

    fn stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, ReplayError> {
        let page = self.block_on(self.client.stream(stream)).map_err(remote)?;
        decode_all(page.records)
    }

    fn describe(&self) -> String {
        format!("the controller at {}", self.client.url())
    }
}
